// The Socket.IO side of the fan-out benchmark: starts bench/baseline/server.mjs as its own
// process (its own process group, so its CPU and RSS are read from /proc like workerd's) and
// connects socket.io-client sockets to it, one WebSocket each (forceNew, websocket transport).
import { spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { io } from "socket.io-client";
import { serverProbe } from "../lib/stats.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(HERE, "..", "baseline", "server.mjs");

/** Starts the baseline server on loopback; resolves once it listens. */
export async function startBaselineProcess(port) {
  const child = spawn(process.execPath, [SERVER, "--port", String(port), "--host", "127.0.0.1"], {
    detached: true,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const listening = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error("baseline server did not start within 10 s")), 10_000);
    child.once("exit", (code) => reject(new Error(`baseline server exited (${code})`)));
    rl.once("line", (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
  });
  return {
    url: `http://127.0.0.1:${listening.port}`,
    port: listening.port,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          resolve();
        }
        setTimeout(() => {
          try {
            process.kill(-child.pid, "SIGKILL");
          } catch {}
        }, 3000).unref();
      }),
  };
}

/** A fan-out target (see fanout.mjs for the interface) backed by the baseline server. */
export function socketioTarget({ url, port, room = "bench" }) {
  let nonce = 0;
  return {
    name: "socket.io",
    persists: false,
    probe: () => serverProbe({ port }),
    /** Every socket may send at any rate; the baseline has no rate limit. */
    maxSenders: Infinity,
    async connect(i, onMessage) {
      const socket = io(url, {
        transports: ["websocket"],
        forceNew: true,
        reconnection: true,
        reconnectionDelay: 200,
        reconnectionDelayMax: 2000,
        timeout: 30_000,
        query: { room, user: `u${i}` },
      });
      socket.on("message", (m) => onMessage(m));
      await new Promise((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("connect_error", reject);
      });
      return {
        userKey: `u${i}`,
        async send(content) {
          const res = await socket.timeout(30_000).emitWithAck("message", { content, nonce: `n${++nonce}` });
          if (!res?.ok) throw Object.assign(new Error(res?.error ?? "not acked"), { code: res?.error ?? "error" });
          return res.message;
        },
        /** Drops the connection and opens a new one; resolves once it is connected again. */
        reconnect() {
          return new Promise((resolve) => {
            socket.once("connect", resolve);
            socket.disconnect();
            socket.connect();
          });
        },
        close() {
          socket.removeAllListeners();
          socket.disconnect();
        },
      };
    },
  };
}
