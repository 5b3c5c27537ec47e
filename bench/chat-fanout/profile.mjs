// Where a chat message's time goes in workerd: starts the product (fresh state, seeded like the
// benchmark) with wrangler dev's inspector on, drives one fan-out point past the dev proxy, and
// takes a V8 CPU profile of the workers' isolate (ChannelRoom, CommunityHub and the worker run
// in it) over the measured window. Prints self time by function, time under a few functions
// that matter (inclusive), and the share of native work ("(program)") and GC.
//
//   node bench/chat-fanout/profile.mjs [--n 50] [--rate 100] [--seconds 8] [--save out.cpuprofile]
//   node bench/chat-fanout/profile.mjs --storm 300 [--save out.cpuprofile]
//     a reconnect storm instead (run.mjs's): after one warm-up storm, the profile covers the
//     second, from the moment every client drops its connection until the last has resumed.
//
// A profile costs CPU itself (sampling every 200 µs), so its figures are shares, not latencies.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { cdp } from "../lib/inspector.mjs";
import { freePort, say, startProduct } from "../../scripts/product.mjs";
import { seedChannel } from "../lib/seed.mjs";
import { fanout, reconnectStorm } from "./fanout.mjs";
import { innerWorkerdUrl, woxlyTarget } from "./woxly-target.mjs";

const { values: flags } = parseArgs({
  options: {
    n: { type: "string", default: "50" },
    rate: { type: "string", default: "100" },
    seconds: { type: "string", default: "8" },
    save: { type: "string" },
    top: { type: "string", default: "35" },
    storm: { type: "string" },
  },
});
const n = Number(flags.n);
const rate = Number(flags.rate);

/** Self and inclusive sample counts per function (name:line), and the total. */
function summarize(profile) {
  const byId = new Map(profile.nodes.map((nd) => [nd.id, nd]));
  const parent = new Map();
  for (const nd of profile.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id);
  const key = (nd) => `${nd.callFrame.functionName || "(anonymous)"}:${nd.callFrame.lineNumber + 1}`;
  const self = new Map();
  const incl = new Map();
  const counts = new Map();
  for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  let total = 0;
  for (const [nodeId, c] of counts) {
    total += c;
    const nd = byId.get(nodeId);
    self.set(key(nd), (self.get(key(nd)) ?? 0) + c);
    const seen = new Set();
    for (let cur = nodeId; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur));
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + c);
    }
  }
  return { self, incl, total };
}

const persistTo = mkdtempSync(path.join(os.tmpdir(), "woxly-profile-"));
let product;
try {
  const seed = seedChannel({ persistTo, userCount: Math.max(2, Math.ceil(rate / 0.8)) });
  const port = await freePort();
  const inspectorPort = await freePort();
  product = await startProduct({ port, persistTo, livekit: false, quiet: true, build: false, localTraces: process.env.X_LOCAL_OBSERVABILITY === "true", inspectorPort });
  const inner = await innerWorkerdUrl(port);
  const target = woxlyTarget({ url: inner ?? product.url, port, channelId: seed.channelId, users: seed.users, name: "woxly-direct" });
  const list = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  say(`inspector targets: ${list.map((t) => t.title ?? t.id).join(", ")}`);
  const t = list.find((x) => /woxly/.test(x.title ?? "") && !/token/.test(x.title ?? "")) ?? list[0];
  const c = await cdp(t.webSocketDebuggerUrl);
  await c.send("Profiler.enable");
  await c.send("Profiler.setSamplingInterval", { interval: 200 });
  let result;
  if (flags.storm) {
    const count = Number(flags.storm);
    await reconnectStorm(target, { count });
    const r = await reconnectStorm(target, {
      count,
      // After the idle second before a storm the profiler takes no samples until the isolate
      // has run something: one request wakes it.
      onConnected: async () => {
        await c.send("Profiler.start");
        await (await fetch(`${inner ?? product.url}/api/health`)).arrayBuffer();
      },
      onReconnected: async () => {
        result = (await c.send("Profiler.stop")).result;
      },
    });
    c.close();
    if (flags.save) writeFileSync(flags.save, JSON.stringify(result.profile));
    const { self, incl, total } = summarize(result.profile);
    const idle = self.get("(idle):0") ?? 0;
    const ms = (cnt) => ((cnt / total) * ((result.profile.endTime - result.profile.startTime) / 1000)).toFixed(0);
    const pct = (cnt) => `${((cnt / total) * 100).toFixed(1)} %`;
    console.log(`\n${count} clients reconnecting at once: all back in ${r.allReconnectedMs} ms (p50 ${r.perClientMs.p50}); ${total} samples, busy ${pct(total - idle)}`);
    console.log(`\nself time (share of samples):`);
    for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(flags.top))) console.log(`  ${pct(v).padStart(8)}  ${ms(v).padStart(6)} ms  ${k}`);
    console.log(`\ninclusive:`);
    for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, Number(flags.top))) console.log(`  ${pct(v).padStart(8)}  ${ms(v).padStart(6)} ms  ${k}`);
  } else {
    // A short warm-up point first (JIT, the room's first wake-up), then the profiled one.
    await fanout(target, { n, rate, sendMs: 2000, warmMs: 500, drainMs: 2000 });
    const r = await fanout(target, {
      n,
      rate,
      sendMs: Number(flags.seconds) * 1000,
      onConnected: () => c.send("Profiler.start"),
      onSent: async () => {
        result = (await c.send("Profiler.stop")).result;
      },
    });
    c.close();
    if (flags.save) writeFileSync(flags.save, JSON.stringify(result.profile));
    const { self, incl, total } = summarize(result.profile);
    const ms = (cnt) => ((cnt / total) * ((result.profile.endTime - result.profile.startTime) / 1000)).toFixed(0);
    const pct = (cnt) => `${((cnt / total) * 100).toFixed(1)} %`;
    console.log(`\n${n} clients × ${rate} msg/s: p50/p99 ${r.latencyMs.p50}/${r.latencyMs.p99} ms, server CPU ${r.serverCpuPct} %, ${r.sent} messages profiled; ${total} samples`);
    console.log(`\nself time (share of samples; "(idle)" is the isolate waiting):`);
    for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(flags.top))) console.log(`  ${pct(v).padStart(8)}  ${ms(v).padStart(6)} ms  ${k}`);
    console.log(`\ninclusive (time in the function and everything it called):`);
    for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, Number(flags.top))) console.log(`  ${pct(v).padStart(8)}  ${ms(v).padStart(6)} ms  ${k}`);
  }
} finally {
  await product?.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
process.exit(0);
