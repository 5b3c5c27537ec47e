// Where the memory of idle sockets goes (issue 14, goal 4): the JS heap of every isolate of the
// workerd that runs the workers (Runtime.getHeapUsage over workerd's own inspector, the main
// worker's over wrangler's inspector proxy; workerd does not answer HeapProfiler.collectGarbage,
// so these include garbage and are upper bounds) against that process's native memory
// (/proc/<pid>/status VmRSS, smaps_rollup Anonymous), before and after `count` sockets, for one
// way of connecting at a time. Each variant runs on a fresh `wrangler dev` (RSS hardly ever
// shrinks after sockets close: a second variant in the same process would reuse their pages).
// Results are per socket, KB. docs/benchmarks.md "Idle memory (goal 4)" has what they showed.
//
//   node bench/idle/split.mjs [--count 600] [--variants floor,floor-assets,cookie,ticket,cookie-hello,core,x-d1]
//
// Variants (all past the dev proxy, straight into the workers' workerd):
//   floor         bench/baseline/workerd-floor: a bare hibernatable socket in a Durable Object
//   floor-assets  the floor with an [assets] directory and run_worker_first (Woxly's routing in front)
//   cookie        a raw `ws` upgrade into one ChannelRoom with the session cookie (D1 on the upgrade)
//   ticket        the same with a connect ticket (signature only, no D1), signed here as the worker does
//   cookie-hello  `cookie`, then the client's hello (and the room's resumed) as the web app does
//   core          the web app's ChannelCore per client (what bench/run.mjs's idle point connects)
//   noobs         `cookie`, with wrangler.toml's [observability] turned off
//   x-d1, x-self, x-self-fetch: `ticket` with subrequests added before the upgrade (experimentConfig)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import WebSocket from "ws";
import { ROOT, ensureDevVars, freePort, say, startWranglerDev, stopChild, writeTokenDevVars } from "../../scripts/product.mjs";
import { openChat } from "../lib/chat-client.mjs";
import { cdp } from "../lib/inspector.mjs";
import { seedChannel } from "../lib/seed.mjs";
import { groupProcesses, listeningPorts, pgrpOf, pidListeningOn, sleep } from "../lib/stats.mjs";
import { startFloor } from "../chat-fanout/floor-target.mjs";
import { innerWorkerdUrl } from "../chat-fanout/woxly-target.mjs";

const { values: flags } = parseArgs({
  options: {
    count: { type: "string", default: "600" },
    variants: { type: "string", default: "floor,cookie,ticket,cookie-hello,core" },
    users: { type: "string", default: "500" },
  },
});
const count = Number(flags.count);
const variants = flags.variants.split(",").map((s) => s.trim());

const MB = 2 ** 20;
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function innerPid(publicPort, innerUrl) {
  const entry = pidListeningOn(publicPort);
  const port = Number(new URL(innerUrl).port);
  return groupProcesses(pgrpOf(entry), /workerd/).find((p) => listeningPorts(p.pid).includes(port))?.pid;
}

/** VmRSS and smaps_rollup's anonymous memory of one process, bytes. */
function native(pid) {
  const kb = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) * 1024;
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  return { rss: kb(status, "VmRSS"), anon: kb(rollup, "Anonymous"), privateDirty: kb(rollup, "Private_Dirty") };
}

/**
 * JS heap used by every isolate of a workerd (bytes), over workerd's own inspector (which lists
 * each worker, miniflare's internal ones too; wrangler's inspector proxy shows only the main
 * one). No GC first: workerd's inspector does not answer HeapProfiler.collectGarbage.
 */
async function heaps(clients) {
  const out = {};
  for (const c of clients) {
    const r = await Promise.race([c.send("Runtime.getHeapUsage"), sleep(5000).then(() => ({ error: "timeout" }))]);
    out[c.title] = r.result ? { used: r.result.usedSize + (r.result.embedderHeapUsedSize ?? 0) } : { error: JSON.stringify(r.error ?? r) };
  }
  return out;
}

/** workerd's own inspector (started with --inspector-addr=127.0.0.1:0): the port of `pid` whose /json lists workers. */
async function workerdInspectors(pid, skip = "") {
  for (const port of listeningPorts(pid)) {
    try {
      const list = await (await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(2000) })).json();
      if (!Array.isArray(list)) continue;
      const out = [];
      for (const t of list) if (t.id !== skip) out.push(Object.assign(await cdp(t.webSocketDebuggerUrl), { title: t.id }));
      return out;
    } catch {}
  }
  return [];
}

/** Opens a raw socket; resolves with it and the frames it got within `waitFor(frames)`. */
function openRaw(url, headers, { onFrame } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    const frames = [];
    ws.on("message", (d) => {
      const f = JSON.parse(String(d));
      frames.push(f);
      onFrame?.(ws, f);
    });
    ws.once("open", () => resolve({ ws, frames }));
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

async function inBatches(n, size, fn) {
  const out = [];
  for (let i = 0; i < n; i += size) out.push(...(await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, k) => fn(i + k)))));
  return out;
}

async function measureWith({ pid, inspectors, connect, settleMs = 4000 }) {
  await sleep(2000);
  const h0 = inspectors ? await heaps(inspectors) : {};
  const n0 = native(pid);
  const t0 = performance.now();
  const closers = await connect();
  const connectMs = performance.now() - t0;
  await sleep(settleMs);
  const h1 = inspectors ? await heaps(inspectors) : {};
  const n1 = native(pid);
  const per = (a, b) => round(((b - a) / count) / 1024, 1);
  const heap = {};
  for (const k of Object.keys(h1)) {
    const d = h0[k]?.used !== undefined && h1[k].used !== undefined ? per(h0[k].used, h1[k].used) : h1[k];
    if (typeof d !== "number" || Math.abs(d) >= 0.5) heap[k] = d;
  }
  const result = {
    connectMs: Math.round(connectMs),
    rssMB: [round(n0.rss / MB), round(n1.rss / MB)],
    perSocketKB: { rss: per(n0.rss, n1.rss), anon: per(n0.anon, n1.anon), privateDirty: per(n0.privateDirty, n1.privateDirty), heap },
  };
  for (const c of closers) c();
  await sleep(500);
  return result;
}

/** The floor's config with an [assets] directory and run_worker_first, as Woxly's wrangler.toml has. */
function floorWithAssets() {
  const dir = path.join(ROOT, "bench", "baseline", "workerd-floor");
  const assets = mkdtempSync(path.join(os.tmpdir(), "woxly-floor-assets-"));
  writeFileSync(path.join(assets, "index.html"), "<!doctype html><title>floor</title>");
  const config = JSON.parse(readFileSync(path.join(dir, "wrangler.jsonc"), "utf8").replace(/^\s*\/\/.*$/gm, ""));
  config.assets = { directory: assets, binding: "ASSETS", run_worker_first: ["/room/*", "/api/*"] };
  const file = path.join(dir, ".split-assets.jsonc");
  writeFileSync(file, JSON.stringify(config));
  process.on("exit", () => (rmSync(file, { force: true }), rmSync(assets, { recursive: true, force: true })));
  return file;
}

async function runFloor(variant) {
  const port = await freePort();
  const floor = await startFloor(port, variant === "floor-assets" ? floorWithAssets() : undefined);
  try {
    const pid = innerPid(port, floor.url);
    const ws = floor.url.replace(/^http/, "ws");
    return await measureWith({
      pid,
      inspectors: await workerdInspectors(pid),
      connect: async () => (await inBatches(count, 50, (i) => openRaw(`${ws}/room/bench?user=u${i}`, {}))).map(({ ws }) => () => ws.terminate()),
    });
  } finally {
    await floor.stop();
  }
}

/** The worker's connect-ticket signer, bundled for Node. */
async function ticketSigner() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "woxly-split-signer-"));
  const outfile = path.join(dir, "signer.mjs");
  try {
    await build({
      stdin: {
        contents: 'export { signConnectTicket } from "./workers/api/src/lib/connect-tickets";\nexport { formatPermissions, DEFAULT_EVERYONE } from "./workers/shared/permissions";\n',
        resolveDir: ROOT,
        loader: "ts",
      },
      bundle: true,
      platform: "node",
      format: "esm",
      outfile,
      logLevel: "warning",
    });
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Experiments (variants x-*): wrangler.toml with its `main` replaced by a wrapper of the worker
 * that does something more before the upgrade (which then goes through by ticket):
 *   x-d1      two D1 queries (SELECT 1) in the upgrade's request
 *   x-self    the same two queries in a WorkerEntrypoint reached over RPC (its own request)
 *   x-self-fetch  the same, the entrypoint reached by fetch (its response read to the end)
 */
function experimentConfig(variant) {
  const entry = `// generated by bench/idle/split.mjs
import { WorkerEntrypoint } from "cloudflare:workers";
import worker from "./workers/api/src/index";
export * from "./workers/api/src/index";
const VARIANT = ${JSON.stringify(variant)};
async function two(env: Env) {
  await env.DB.prepare("SELECT 1 AS x").first();
  await env.DB.prepare("SELECT 2 AS x").first();
}
export class SplitSelf extends WorkerEntrypoint<Env> {
  async two(): Promise<number> {
    await two(this.env);
    return 1;
  }
  async fetch(): Promise<Response> {
    await two(this.env);
    return new Response("ok");
  }
}
export default {
  async fetch(request: Request, env: Env & { SELF: Service<SplitSelf> }, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/parties/channel-room/")) {
      if (VARIANT === "x-d1") await two(env);
      if (VARIANT === "x-self") await env.SELF.two();
      if (VARIANT === "x-self-fetch") await (await env.SELF.fetch("http://self/two")).text();
    }
    return worker.fetch(request, env, ctx);
  },
  scheduled: worker.scheduled,
};
`;
  writeFileSync(path.join(ROOT, ".split-entry.ts"), entry);
  let text = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8").replace(/^main = .*$/m, 'main = ".split-entry.ts"');
  text += '\n[[services]]\nbinding = "SELF"\nservice = "woxly"\nentrypoint = "SplitSelf"\n';
  const file = path.join(ROOT, ".split-wrangler.toml");
  writeFileSync(file, text);
  process.on("exit", () => (rmSync(file, { force: true }), rmSync(path.join(ROOT, ".split-entry.ts"), { force: true })));
  return file;
}

/** wrangler.toml with `[observability] enabled = false`, beside it (its paths are relative). */
function noObservabilityConfig() {
  const text = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8").replace(/\[observability\]\nenabled = true/, "[observability]\nenabled = false");
  if (!text.includes("enabled = false")) throw new Error("no [observability] section to turn off");
  const file = path.join(ROOT, ".wrangler-split-noobs.toml");
  writeFileSync(file, text);
  process.on("exit", () => rmSync(file, { force: true }));
  return file;
}

async function runWoxly(variant) {
  const persistTo = mkdtempSync(path.join(os.tmpdir(), "woxly-split-"));
  const seed = seedChannel({ persistTo, userCount: Number(flags.users) });
  const port = await freePort();
  ensureDevVars();
  writeTokenDevVars("ws://127.0.0.1:9");
  const configs = [variant === "noobs" ? noObservabilityConfig() : variant.startsWith("x-") ? experimentConfig(variant) : "wrangler.toml", "workers/token/wrangler.toml"];
  const inspectorPort = await freePort();
  const wr = await startWranglerDev({ configs, port, persistTo, quiet: true, inspectorPort });
  const product = { stop: () => stopChild(wr) };
  try {
    const inner = await innerWorkerdUrl(port);
    const pid = innerPid(port, inner);
    // The main worker's isolate answers only wrangler's inspector proxy (which holds workerd's session to it).
    const inspectors = await workerdInspectors(pid, "core:user:woxly");
    const [mainTarget] = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
    inspectors.push(Object.assign(await cdp(mainTarget.webSocketDebuggerUrl), { title: "core:user:woxly (wrangler's proxy)" }));
    const ws = inner.replace(/^http/, "ws");
    const origin = inner;
    const roomUrl = (channelId) => `${ws}/parties/channel-room/${channelId}`;
    const users = seed.users;
    // A ticket per user, signed here as the worker signs them (one cookie connect first: a room
    // that has never had a full check refuses tickets). Connecting 500 sockets to fetch them
    // would grow the process before the measurement.
    const tickets = new Map();
    if (variant === "ticket" || variant.startsWith("x-")) {
      const first = await openRaw(roomUrl(seed.channelId), { cookie: users[0].cookie, origin });
      for (let k = 0; k < 100 && !first.frames.some((f) => f.type === "ready"); k++) await sleep(20);
      first.ws.close();
      const { signConnectTicket, formatPermissions, DEFAULT_EVERYONE } = await ticketSigner();
      const pepper = /^PASSWORD_PEPPER=(.*)$/m.exec(readFileSync(path.join(ROOT, ".dev.vars"), "utf8"))?.[1].trim().replace(/^"|"$/g, "");
      for (const u of users) {
        const sessionId = createHash("sha256").update(u.cookie.slice(u.cookie.indexOf("=") + 1)).digest("hex");
        const identity = { userId: u.id, username: u.username, displayName: u.username, sessionId, communityId: seed.communityId, perms: formatPermissions(DEFAULT_EVERYONE) };
        tickets.set(u.id, await signConnectTicket(pepper, seed.channelId, identity, Date.now()));
      }
    }
    const result = await measureWith({
      pid,
      inspectors,
      connect: async () => {
        if (variant === "core") {
          const clients = await inBatches(count, 50, async (i) => {
            const u = users[i % users.length];
            const c = await openChat({ baseUrl: inner, channelId: seed.channelId, userId: u.id, cookie: u.cookie, windowLimit: 50 });
            await c.whenLive();
            return c;
          });
          return clients.map((c) => () => c.close());
        }
        const sockets = await inBatches(count, 50, async (i) => {
          const u = users[i % users.length];
          if (variant === "cookie" || variant === "noobs") return openRaw(roomUrl(seed.channelId), { cookie: u.cookie, origin });
          if (variant === "cookie-hello") {
            return openRaw(roomUrl(seed.channelId), { cookie: u.cookie, origin }, { onFrame: (s, f) => f.type === "ready" && s.send(JSON.stringify({ type: "hello", lastSeq: f.headSeq })) });
          }
          const t = tickets.get(u.id);
          if (!t) throw new Error("no ticket");
          return openRaw(`${roomUrl(seed.channelId)}?connect_ticket=${encodeURIComponent(t)}`, { origin });
        });
        return sockets.map(({ ws }) => () => ws.terminate());
      },
    });
    for (const c of inspectors) c.close();
    return result;
  } finally {
    await product.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}

const results = {};
for (const v of variants) {
  say(`${v}: ${count} sockets (load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")})`);
  try {
    results[v] = v.startsWith("floor") ? await runFloor(v) : await runWoxly(v);
  } catch (e) {
    results[v] = { failed: String(e?.stack ?? e) };
  }
  console.log(JSON.stringify({ variant: v, count, ...results[v] }));
}
say(`done (load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")})`);
process.exit(0);
