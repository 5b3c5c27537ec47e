// The "workerd floor" side of the fan-out benchmark: bench/baseline/workerd-floor (the
// Socket.IO baseline's memory-only chat server, written as a bare Durable Object with
// hibernatable WebSockets) under `wrangler dev`, and plain `ws` clients. Clients connect past
// wrangler's dev proxy, like "Woxly (no dev proxy)", so the two differ only in Woxly's own code.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { ROOT, startWranglerDev, stopChild } from "../../scripts/product.mjs";
import { serverProbe } from "../lib/stats.mjs";
import { innerWorkerdUrl } from "./woxly-target.mjs";

const CONFIG = path.join(ROOT, "bench", "baseline", "workerd-floor", "wrangler.jsonc");

/** Starts the floor under `wrangler dev` on `port` (`config`: another config for it); resolves with its inner (past-proxy) URL. */
export async function startFloor(port, config = CONFIG) {
  const persistTo = mkdtempSync(path.join(os.tmpdir(), "woxly-floor-"));
  const child = await startWranglerDev({ name: "floor (wrangler dev)", configs: [config], port, persistTo, quiet: true });
  const inner = (await innerWorkerdUrl(port)) ?? `http://127.0.0.1:${port}`;
  return {
    url: inner,
    port,
    async stop() {
      await stopChild(child);
      rmSync(persistTo, { recursive: true, force: true });
    },
  };
}

/** A fan-out target (see fanout.mjs) for a running floor server. */
export function floorTarget({ url, port, room = "bench" }) {
  let nonce = 0;
  const wsUrl = url.replace(/^http/, "ws");
  return {
    name: "floor",
    persists: false,
    probe: () => serverProbe({ port, comm: /workerd/ }),
    maxSenders: Infinity,
    maxRatePerSender: Infinity,
    async connect(i, onMessage) {
      const pending = new Map();
      let ws;
      const open = () =>
        new Promise((resolve, reject) => {
          ws = new WebSocket(`${wsUrl}/room/${room}?user=u${i}`, { perMessageDeflate: false });
          ws.on("message", (data) => {
            const f = JSON.parse(String(data));
            if (f.type === "message") onMessage(f.message);
            else if (f.type === "ack") {
              pending.get(f.nonce)?.resolve(f.message);
              pending.delete(f.nonce);
            }
          });
          ws.once("open", resolve);
          ws.once("error", reject);
        });
      await open();
      return {
        userKey: `u${i}`,
        send(content) {
          const n = `n${++nonce}`;
          return new Promise((resolve, reject) => {
            pending.set(n, { resolve, reject });
            ws.send(JSON.stringify({ content, nonce: n }));
          });
        },
        async reconnect() {
          ws.removeAllListeners();
          ws.terminate();
          await open();
        },
        close() {
          ws.removeAllListeners();
          ws.on("error", () => {});
          ws.close();
        },
      };
    },
  };
}
