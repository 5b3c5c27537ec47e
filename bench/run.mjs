// `npm run bench [-- flags]`: the chat fan-out benchmark, Woxly against a plain Node +
// Socket.IO server, in the same run, on this machine, over loopback only.
//
//   --quick              50 and 200 clients only, shorter windows, no memory/reconnect runs at 1,000
//   --sizes 50,200,1000  client counts
//   --rates 10,100       the fixed send rates reported for every size (msg/s)
//   --knee 25,50,200,400 extra rates tried per size to find where p99 passes 250 ms (--knee none: skip)
//   --seconds 10         measured sending time of the fixed-rate points (plus 1 s warm-up)
//   --knee-seconds 5     measured sending time of the extra knee points
//   --only woxly|woxly-direct|floor|socket.io (comma-separated for several)
//   --direct             also run Woxly past wrangler dev's proxy (on by default; --no-direct leaves it out)
//   --skip-floor         leave out the workerd floor (bench/baseline/workerd-floor: the baseline's
//                        memory-only server as a bare Durable Object, past the dev proxy)
//   --skip-idle --skip-reconnect --skip-requests
//   --chat-only          only the chat sections (no CPU per request, voice or desk benchmarks): for iterating
//   --out bench/results/latest.json
//
// Woxly runs under `wrangler dev` (local workerd) on a fresh temporary state, seeded with
// users, a community and a text channel; the baseline is bench/baseline/server.mjs. Its local
// trace store (wrangler.toml [observability]) is off, as the floor has none and production's
// does not run in the object's thread: X_LOCAL_OBSERVABILITY=true turns it back on.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { ROOT, buildWeb, freePort, say, startProduct } from "../scripts/product.mjs";
import { fanout, idleMemory, reconnectStorm, sendersFor } from "./chat-fanout/fanout.mjs";
import { socketioTarget, startBaselineProcess } from "./chat-fanout/socketio-target.mjs";
import { innerWorkerdUrl, woxlyTarget } from "./chat-fanout/woxly-target.mjs";
import { floorTarget, startFloor } from "./chat-fanout/floor-target.mjs";
import { formatGoals, formatMarkdown, formatScenario } from "./chat-fanout/report.mjs";
import { innerWorkerdPid, issue14Requests, requestCpu } from "./requests/cpu.mjs";
import { isolates } from "./lib/inspector.mjs";
import { seedChannel } from "./lib/seed.mjs";
import { sleep } from "./lib/stats.mjs";

const KNEE_MS = 250;

const { values: flags } = parseArgs({
  allowNegative: true,
  options: {
    quick: { type: "boolean", default: false },
    sizes: { type: "string" },
    rates: { type: "string" },
    knee: { type: "string" },
    seconds: { type: "string" },
    "knee-seconds": { type: "string" },
    only: { type: "string" },
    direct: { type: "boolean", default: true },
    "chat-only": { type: "boolean", default: false },
    "skip-requests": { type: "boolean", default: false },
    "skip-floor": { type: "boolean", default: false },
    "skip-idle": { type: "boolean", default: false },
    "skip-reconnect": { type: "boolean", default: false },
    out: { type: "string", default: path.join(ROOT, "bench", "results", "latest.json") },
  },
});

const list = (s, d) => (s === undefined ? d : s === "none" ? [] : s.split(",").map((x) => Number(x.trim())).filter((x) => x > 0));
const quick = flags.quick;
const sizes = list(flags.sizes, quick ? [50, 200] : [50, 200, 1000]);
const rates = list(flags.rates, [10, 100]);
const kneeRates = list(flags.knee, quick ? [50, 200] : [25, 50, 200, 400]);
const sendMs = Number(flags.seconds ?? (quick ? 5 : 10)) * 1000;
const kneeSendMs = Number(flags["knee-seconds"] ?? (quick ? 4 : 5)) * 1000;
const idleCount = quick ? 500 : 1000;
const stormCount = quick ? 200 : 500;
const ladder = [...new Set([...rates, ...kneeRates])].sort((a, b) => a - b);
const servers = flags.only ? flags.only.split(",").map((s) => s.trim()) : ["woxly", ...(flags["skip-floor"] ? [] : ["floor"]), "socket.io"];

function machine() {
  let workerd = null;
  try {
    workerd = JSON.parse(readFileSync(path.join(ROOT, "node_modules", "workerd", "package.json"), "utf8")).version;
  } catch {}
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? null,
    memGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    workerd,
    platform: `${os.type()} ${os.release()}`,
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

const cleanups = [];
async function cleanup() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch {}
  }
}
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    await cleanup();
    process.exit(130);
  });
}

async function quiesceWoxly(t) {
  const { quiesce } = await import("./lib/stats.mjs");
  await quiesce(t.probe());
}

async function main() {
  const info = machine();
  say(`chat fan-out benchmark: sizes ${sizes.join(", ")}; rates ${rates.join(", ")} msg/s; knee ladder ${ladder.join(", ")}; ${info.cpus} CPUs, Node ${info.node}, workerd ${info.workerd}`);
  const targets = {};

  if (servers.includes("socket.io")) {
    const port = await freePort();
    const srv = await startBaselineProcess(port);
    cleanups.push(() => srv.stop());
    targets["socket.io"] = socketioTarget({ url: srv.url, port });
    say(`socket.io baseline on ${srv.url} (pid ${srv.pid})`);
  }
  if (servers.includes("floor")) {
    const port = await freePort();
    const floor = await startFloor(port);
    cleanups.push(() => floor.stop());
    targets.floor = floorTarget({ url: floor.url, port });
    say(`workerd floor (wrangler dev) answers past its dev proxy on ${floor.url}`);
  }
  if (servers.includes("woxly") || servers.includes("woxly-direct")) {
    if (!existsSync(path.join(ROOT, "web", ".svelte-kit", "cloudflare", "_worker.js"))) buildWeb();
    const persistTo = mkdtempSync(path.join(os.tmpdir(), "woxly-bench-"));
    cleanups.push(() => rmSync(persistTo, { recursive: true, force: true }));
    // Enough distinct senders for the highest rate under the per-member limit.
    const probeTarget = woxlyTarget({ url: "", port: 0, channelId: "", users: [] });
    const userCount = Math.max(...ladder.map((r) => Math.ceil(r / probeTarget.maxRatePerSender)), 2);
    say(`seeding ${userCount} users, a community and a text channel into ${persistTo}`);
    const seed = seedChannel({ persistTo, userCount });
    const port = await freePort();
    // No LiveKit, but a URL for the token worker (a port nothing listens on), so the voice token route answers (CPU per request).
    process.env.LIVEKIT_URL ??= "ws://127.0.0.1:9";
    const inspectorPort = await freePort();
    const product = await startProduct({ port, persistTo, livekit: false, quiet: true, build: false, localTraces: process.env.X_LOCAL_OBSERVABILITY === "true", inspectorPort });
    cleanups.push(() => product.stop());
    targets.woxly = woxlyTarget({ url: product.url, port, channelId: seed.channelId, users: seed.users });
    targets.woxly.seed = seed;
    targets.woxly.inspectorPort = inspectorPort;
    say(`woxly (wrangler dev) on ${product.url}, channel ${seed.channelId}`);
    if (flags.direct || servers.includes("woxly-direct")) {
      const inner = await innerWorkerdUrl(port);
      if (inner) {
        targets["woxly-direct"] = woxlyTarget({ url: inner, port, channelId: seed.channelId, users: seed.users, name: "woxly-direct" });
        say(`woxly-direct: the workers behind wrangler's dev proxy answer on ${inner}`);
      } else say("woxly-direct: could not find the inner workerd's port; skipped");
    }
  }
  if (info.loadAvgAtStart[0] > 1) say(`warning: load average ${info.loadAvgAtStart.join(" ")} before the run; other work on this machine will distort the numbers`);
  // Baseline targets may use as many senders as Woxly needs, so all get the same topology.
  for (const s of ["floor", "socket.io"]) {
    if (!targets[s]) continue;
    targets[s].maxRatePerSender = targets.woxly?.maxRatePerSender ?? 0.8;
    targets[s].maxSenders = targets.woxly?.maxSenders ?? 1e6;
  }
  const order = ["woxly", "woxly-direct", "floor", "socket.io"].filter((s) => targets[s] && (servers.includes(s) || (s === "woxly-direct" && servers.includes("woxly"))));

  const results = { machine: info, config: { sizes, rates, ladder, sendMs, kneeSendMs, kneeMs: KNEE_MS, quick }, fanout: [], knee: [], idle: [], reconnect: [], requests: [] };
  const save = () => {
    mkdirSync(path.dirname(flags.out), { recursive: true });
    writeFileSync(flags.out, JSON.stringify(results, (_k, v) => (v === Infinity ? "Infinity" : v), 2) + "\n");
  };

  // Idle memory first, while the servers are fresh: after the load points their heaps have
  // grown and new sockets would reuse freed memory.
  if (!flags["skip-idle"]) {
    // Woxly past the dev proxy first (the figure the goal is judged on), while its workerd is fresh.
    const idleOrder = [...order.filter((x) => x === "woxly-direct"), ...order.filter((x) => x !== "woxly-direct")];
    for (const s of idleOrder) {
      say(`${s}: memory of ${idleCount} idle sockets…`);
      try {
        results.idle.push(await idleMemory(targets[s], { count: idleCount }));
      } catch (e) {
        results.idle.push({ server: s, failed: String(e?.message ?? e) });
      }
      save();
      await sleep(1500);
    }
  }

  for (const n of sizes) {
    const past = Object.fromEntries(order.map((s) => [s, null])); // first rate whose p99 > 250 ms
    const below = Object.fromEntries(order.map((s) => [s, null])); // last rate under it
    for (const rate of ladder) {
      const main = rates.includes(rate);
      const points = [];
      for (const s of order) {
        if (!main && past[s] !== null) continue; // this server is already past its knee
        const t = targets[s];
        const { senders, sockets, rateCapped } = sendersFor(t, rate, n);
        if (rateCapped) continue;
        say(`${s}: ${n} clients (${sockets} sockets, ${senders} senders), ${rate} msg/s…`);
        let r;
        try {
          r = await fanout(t, { n, rate, sendMs: main ? sendMs : kneeSendMs });
        } catch (e) {
          r = { server: s, n, rate, sockets, senders, failed: String(e?.message ?? e) };
          say(`${s}: failed: ${r.failed}`);
        }
        r.kind = main ? "fixed" : "knee";
        points.push(r);
        const p99 = r.latencyMs?.p99;
        const over = r.failed || p99 === null || p99 === undefined || p99 > KNEE_MS;
        if (over && past[s] === null) past[s] = rate;
        if (!over && past[s] === null) below[s] = rate;
        await sleep(1500);
      }
      if (points.length) {
        for (const p of points) results.fanout.push(p);
        console.log(formatScenario(points));
        save();
      }
    }
    for (const s of order) results.knee.push({ server: s, n, lastUnderMsgPerS: below[s], firstOverMsgPerS: past[s], triedUpTo: ladder[ladder.length - 1] });
    save();
  }

  if (!flags["skip-reconnect"]) {
    for (const s of order) {
      say(`${s}: ${stormCount} clients reconnecting at once…`);
      try {
        results.reconnect.push(await reconnectStorm(targets[s], { count: stormCount }));
      } catch (e) {
        results.reconnect.push({ server: s, failed: String(e?.message ?? e) });
      }
      save();
      await sleep(1500);
    }
  }

  // CPU per request in the workerd that runs the workers (past the dev proxy), on the now idle product.
  if (!flags["skip-requests"] && !flags["chat-only"] && targets["woxly-direct"] && targets.woxly?.seed) {
    say("woxly: CPU per request (voice token, history page, login, channel page)…");
    try {
      const inner = targets["woxly-direct"].url;
      const pid = innerWorkerdPid(targets.woxly.port, inner);
      const seed = targets.woxly.seed;
      if (!pid) throw new Error("could not find the inner workerd's pid");
      await quiesceWoxly(targets.woxly);
      const requests = await issue14Requests({ url: inner, cookie: seed.users[0].cookie, communityId: seed.communityId, channelId: seed.channelId, users: seed.users });
      const inspectors = await isolates(targets.woxly.inspectorPort).catch(() => []);
      results.requests = await requestCpu({ pid, requests, runs: quick ? 15 : 30, inspectors });
      for (const c of inspectors) c.close();
    } catch (e) {
      say(`CPU per request failed: ${e?.message ?? e}`);
    }
    save();
  }

  results.machine.loadAvgAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  save();
  console.log("\n" + formatMarkdown(results));
  console.log("\n" + formatGoals(results));
  say(`results written to ${path.relative(ROOT, flags.out)}`);
}

try {
  await main();
} finally {
  await cleanup();
}
// Then the voice benchmarks (bench/voice/run.mjs), in a process of their own; WOXLY_BENCH_VOICE=0 skips them.
if (process.env.WOXLY_BENCH_VOICE !== "0" && !flags["chat-only"]) {
  const { spawnSync } = await import("node:child_process");
  spawnSync(process.execPath, [path.join(ROOT, "bench", "voice", "run.mjs"), ...(quick ? ["--quick"] : [])], { cwd: ROOT, stdio: "inherit" });
}
// Then the support desk benchmarks (bench/desk/run.mjs: request to panel, widget weight); WOXLY_BENCH_DESK=0 skips them.
if (process.env.WOXLY_BENCH_DESK !== "0" && !flags["chat-only"]) {
  const { spawnSync } = await import("node:child_process");
  spawnSync(process.execPath, [path.join(ROOT, "bench", "desk", "run.mjs"), ...(quick ? ["--quick"] : [])], { cwd: ROOT, stdio: "inherit" });
}
// Then the first load (bench/first-load/run.mjs: the channel and invite pages' JavaScript before
// they are usable, this build beside the "before" commit's, Chrome's "Fast 4G"); alone:
// `node bench/first-load/run.mjs`. WOXLY_BENCH_FIRST_LOAD=0 skips it.
if (process.env.WOXLY_BENCH_FIRST_LOAD !== "0" && !flags["chat-only"]) {
  const { spawnSync } = await import("node:child_process");
  spawnSync(process.execPath, [path.join(ROOT, "bench", "first-load", "run.mjs"), ...(quick ? ["--quick"] : [])], { cwd: ROOT, stdio: "inherit" });
}
process.exit(0);
