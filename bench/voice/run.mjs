// Voice benchmarks, on this machine over loopback only: (a) join time, beside the floor (a
// bare livekit-client page, bare.mjs, joined right before) and the token route's cost, (b) mouth-to-ear
// latency, (c) participants per room under 1 % loss. `npm run bench` runs it after the chat
// benchmark; alone:
//
//   node bench/voice/run.mjs [--quick] [--joins 30] [--cold 10] [--latency-seconds 20]
//        [--steps 1,2,4,6,8,10,12,16,20,24] [--budget 300] [--skip join,latency,capacity]
//        [--out bench/results/voice-latest.json] [--no-docs] [--date YYYY-MM-DD] [--machine "2 vCPU, 24 GB"]
//
// It starts the product (wrangler dev + livekit-server in dev mode, scripts/product.mjs) on a
// fresh temporary state, registers two members and a community through the HTTP API, drives
// headless Chromium with fake devices through the real call page, prints tables, writes JSON
// and appends the run under "## Voice" in docs/benchmarks.md.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { ROOT, buildWeb, freePort, say, startProduct } from "../../scripts/product.mjs";
import { startBarePage } from "./bare.mjs";
import { launch } from "./browser.mjs";
import { capacity } from "./capacity.mjs";
import { joinTime } from "./join-time.mjs";
import { mouthToEar } from "./latency.mjs";
import { Samples } from "../lib/stats.mjs";
import { appendToDocs, formatCapacity, formatFloor, formatJoin, formatLatency } from "./report.mjs";
import { beeps, voiceLike, writeWav } from "./wav.mjs";

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    joins: { type: "string" },
    cold: { type: "string" },
    "latency-seconds": { type: "string" },
    steps: { type: "string" },
    budget: { type: "string" },
    skip: { type: "string", default: "" },
    out: { type: "string", default: path.join(ROOT, "bench", "results", "voice-latest.json") },
    "no-docs": { type: "boolean", default: false },
    date: { type: "string" },
    machine: { type: "string" },
  },
});
const quick = flags.quick;
const skip = new Set(flags.skip.split(",").filter(Boolean));
const joins = Number(flags.joins ?? (quick ? 10 : 30));
const cold = Number(flags.cold ?? (quick ? 3 : 10));
const latencySeconds = Number(flags["latency-seconds"] ?? (quick ? 10 : 20));
const steps = (flags.steps ?? (quick ? "1,2,4,6" : "1,2,4,6,8,10,12,16,20,24")).split(",").map(Number).filter((n) => n > 0);
const budget = Number(flags.budget ?? (quick ? 90 : 300));

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

/** A member: registered over HTTP in a throwaway browser context, kept as a storage state. */
async function member(browser, base, prefix) {
  const context = await browser.newContext();
  const username = `${prefix}_${Date.now().toString(36)}`;
  const res = await context.request.post(`${base}/api/auth/register`, { data: { username, password: "violet lantern river 93" }, headers: { origin: base } });
  if (!res.ok()) throw new Error(`register ${username}: ${res.status()} ${await res.text()}`);
  const { user } = await res.json();
  const api = async (method, p, data = {}) => {
    const r = await context.request.fetch(base + p, { method, data, headers: { origin: base } });
    if (!r.ok()) throw new Error(`${method} ${p}: ${r.status()} ${await r.text()}`);
    return r.json();
  };
  const m = { id: user.id, username, api, state: await context.storageState(), close: () => context.close() };
  return m;
}

/** Every workerd process started by this one (the product's wrangler dev), by pid. */
function workerdPids() {
  const parent = new Map();
  const comm = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      comm.set(Number(d), stat.slice(stat.indexOf("(") + 1, close));
      parent.set(Number(d), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {}
  }
  const mine = (pid) => {
    for (let p = pid, i = 0; p > 1 && i < 64; p = parent.get(p) ?? 0, i++) if (p === process.pid) return true;
    return false;
  };
  return [...comm].filter(([pid, c]) => c === "workerd" && mine(pid)).map(([pid]) => pid);
}

/** CPU seconds (user + system) used so far by `pids`. */
function cpuSeconds(pids) {
  const tick = 100; // USER_HZ on Linux
  let t = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      t += (Number(f[11]) + Number(f[12])) / tick;
    } catch {}
  }
  return t;
}

/**
 * The token route alone: `n` requests one after the other from Node with the member's cookie
 * (after a few not counted): wall time per request, and the CPU all of the product's workerd
 * processes spent per request (the api worker, the token worker and the dev proxy together;
 * an upper bound for the route's own CPU time).
 */
async function tokenCost({ base, state, channelId, n = 40 }) {
  const cookie = state.cookies.map((c) => `${c.name}=${c.value}`).join("; ");
  const ask = async () => {
    const r = await fetch(`${base}/api/channels/${channelId}/voice/token`, { method: "POST", headers: { cookie, origin: base } });
    if (!r.ok) throw new Error(`token: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
  };
  for (let i = 0; i < 5; i++) await ask();
  const pids = workerdPids();
  const wall = new Samples(n);
  const cpu0 = cpuSeconds(pids);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await ask();
    wall.add(performance.now() - t);
  }
  const cpuMs = pids.length ? Math.round(((cpuSeconds(pids) - cpu0) * 1000 * 10) / n) / 10 : null;
  return { requests: n, wallMs: wall.summary(), workerdCpuMsPerRequest: cpuMs, workerdProcesses: pids.length };
}

async function main() {
  const cpus = os.cpus();
  const info = {
    date: flags.date ?? new Date().toISOString().slice(0, 10),
    machine: flags.machine ?? `${cpus.length} vCPU, ${Math.round(os.totalmem() / 2 ** 30)} GB`,
    cpuModel: cpus[0]?.model ?? null,
    node: process.version,
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
  say(`voice benchmarks on ${info.machine} (${info.cpuModel}); load average ${info.loadAvgAtStart.join(" ")}`);
  if (info.loadAvgAtStart[0] > 1) say("warning: the machine is busy; other work distorts these numbers");

  if (!existsSync(path.join(ROOT, "web", ".svelte-kit", "cloudflare", "_worker.js"))) buildWeb();
  const persistTo = mkdtempSync(path.join(os.tmpdir(), "woxly-bench-voice-"));
  cleanups.push(() => rmSync(persistTo, { recursive: true, force: true }));
  const port = await freePort();
  const product = await startProduct({ port, persistTo, requireLivekit: true, quiet: true, build: false });
  cleanups.push(() => product.stop());
  const base = product.url;
  say(`product on ${base}, LiveKit on ${product.livekitUrl}`);

  const wavDir = mkdtempSync(path.join(os.tmpdir(), "woxly-bench-wav-"));
  cleanups.push(() => rmSync(wavDir, { recursive: true, force: true }));
  const speechWav = writeWav(path.join(wavDir, "speech.wav"), voiceLike(4));
  const beepWav = writeWav(path.join(wavDir, "beeps.wav"), beeps({ seconds: 10, periodMs: 1000, beepMs: 60 }));

  const plain = await launch();
  cleanups.push(() => plain.close());
  const alice = await member(plain, base, "vbench_a");
  const bob = await member(plain, base, "vbench_b");
  const created = await alice.api("POST", "/api/communities", { name: "Voice bench" });
  const channelId = created.channels.find((c) => c.kind === "voice").id;
  const { invite } = await alice.api("POST", `/api/communities/${created.community.id}/invites`, {});
  await bob.api("POST", `/api/invites/${invite.code}/redeem`);
  const url = `${base}/c/${created.community.id}/${channelId}`;

  const results = { info, config: { joins, cold, latencySeconds, steps, budget, quick, skip: [...skip] } };
  const save = () => {
    mkdirSync(path.dirname(flags.out), { recursive: true });
    writeFileSync(flags.out, JSON.stringify(results, (_k, v) => (v === Infinity ? "Infinity" : v), 2) + "\n");
  };

  if (!skip.has("join")) {
    say(`(a) join time: ${joins} warm and ${cold} cold joins`);
    const speech = await launch({ wav: speechWav });
    const bare = await startBarePage({ livekitUrl: product.livekitUrl, roomName: `floor-${channelId}` });
    try {
      results.join = await joinTime({ browser: plain, speakerBrowser: speech, joinerState: bob.state, speakerState: alice.state, url, bareUrl: bare.url, joins, cold, say });
    } catch (e) {
      results.join = { failed: String(e?.message ?? e) };
    } finally {
      await speech.close();
      await bare.close();
    }
    try {
      results.token = await tokenCost({ base, state: bob.state, channelId });
    } catch (e) {
      results.token = { failed: String(e?.message ?? e) };
    }
    save();
    console.log("\n" + formatJoin(results.join));
    console.log("\n" + formatFloor(results.join, results.token));
  }

  if (!skip.has("latency")) {
    say(`(b) mouth-to-ear latency: ${latencySeconds} s of marked audio`);
    const beeper = await launch({ wav: beepWav });
    try {
      results.latency = await mouthToEar({ senderBrowser: beeper, receiverBrowser: plain, senderState: alice.state, receiverState: bob.state, url, seconds: latencySeconds, say });
    } catch (e) {
      results.latency = { failed: String(e?.message ?? e) };
    } finally {
      await beeper.close();
    }
    save();
    console.log("\n" + formatLatency(results.latency));
  }

  if (!skip.has("capacity")) {
    say(`(c) participants in one room: steps ${steps.join(", ")}, at most ${budget} s`);
    try {
      // Each synthetic participant is a member with a token from Woxly (the admission webhook
      // removes identities Woxly did not issue).
      const tokenFor = async (i) => {
        const m = await member(plain, base, `vbench_s${i}`);
        try {
          await m.api("POST", `/api/invites/${invite.code}/redeem`);
          return (await m.api("POST", `/api/channels/${channelId}/voice/token`)).token;
        } finally {
          await m.close();
        }
      };
      results.capacity = await capacity({ browser: plain, observerState: alice.state, url, livekitUrl: product.livekitUrl, tokenFor, steps, budgetSeconds: budget, say });
    } catch (e) {
      results.capacity = { failed: String(e?.message ?? e) };
    }
    save();
    console.log("\n" + formatCapacity(results.capacity));
  }

  results.info.loadAvgAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  save();
  if (!flags["no-docs"]) {
    appendToDocs(path.join(ROOT, "docs", "benchmarks.md"), results);
    say("appended to docs/benchmarks.md under \"## Voice\"");
  }
  say(`results written to ${path.relative(ROOT, flags.out)}`);
}

try {
  await main();
} finally {
  await cleanup();
}
process.exit(0);
