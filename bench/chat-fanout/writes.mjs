// What a chat message costs the disk in workerd: starts the product (fresh state, seeded like
// the benchmark), attaches `strace` to the workers' workerd (the one behind the dev proxy) and
// counts `pwrite64` (pages written, 4 KiB each) and `fsync`/`fdatasync` calls per file over a
// fixed number of messages at one fan-out point. Counts, not times: the machine's load does not
// change them. Needs strace and ptrace rights over one's own processes (ptrace_scope ≤ 1).
//
//   node bench/chat-fanout/writes.mjs [--n 50] [--rate 50] [--seconds 6]
//
// Files are grouped by name with the object's id taken out (`<id>.sqlite-wal` and so on), so
// the room's and the hub's files show apart from D1's. Per message = count / messages sent.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { freePort, say, startProduct } from "../../scripts/product.mjs";
import { seedChannel } from "../lib/seed.mjs";
import { groupProcesses, listeningPorts, pgrpOf, pidListeningOn, sleep } from "../lib/stats.mjs";
import { fanout } from "./fanout.mjs";
import { woxlyTarget } from "./woxly-target.mjs";

const { values: flags } = parseArgs({
  options: {
    n: { type: "string", default: "50" },
    rate: { type: "string", default: "50" },
    seconds: { type: "string", default: "6" },
  },
});
const n = Number(flags.n);
const rate = Number(flags.rate);

/** The workers' workerd (not the proxy on the public port): its pid and loopback URL. */
async function innerWorkerd(publicPort) {
  const entry = pidListeningOn(publicPort);
  for (const { pid } of groupProcesses(pgrpOf(entry), /workerd/).filter((p) => p.pid !== entry)) {
    for (const port of listeningPorts(pid)) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return { pid, url: `http://127.0.0.1:${port}` };
      } catch {}
    }
  }
  throw new Error("no inner workerd found");
}

/** Which store a path is: the directory it sits in (the binding) and its suffix. */
function fileKind(p) {
  const dir = path.basename(path.dirname(p));
  const base = path.basename(p).replace(/^[0-9a-f]{16,}/, "<id>");
  // SQLite's temporary files (statement journals, sorts), deleted at once: one line for all.
  return /^etilqs_/.test(base) ? `${dir}/etilqs_* (SQLite temporary files)` : `${dir}/${base}`;
}

const persistTo = mkdtempSync(path.join(os.tmpdir(), "woxly-writes-"));
const traceFile = path.join(persistTo, "strace.txt");
let product;
let tracer;
try {
  const seed = seedChannel({ persistTo, userCount: Math.max(2, Math.ceil(rate / 0.8)) });
  const port = await freePort();
  product = await startProduct({ port, persistTo, livekit: false, quiet: true, build: false, localTraces: process.env.X_LOCAL_OBSERVABILITY === "true" });
  const inner = await innerWorkerd(port);
  const target = woxlyTarget({ url: inner.url, port, channelId: seed.channelId, users: seed.users, name: "woxly-direct" });
  // Warm-up first (the room's and the hub's first wake-up, their schema), then the traced point.
  await fanout(target, { n, rate, sendMs: 2000, warmMs: 500, drainMs: 2000 });
  const r = await fanout(target, {
    n,
    rate,
    warmMs: 0,
    sendMs: Number(flags.seconds) * 1000,
    drainMs: 3000,
    onConnected: async () => {
      tracer = spawn("strace", ["-f", "-y", "-qq", "-e", "trace=fsync,fdatasync,pwrite64", "-o", traceFile, "-p", String(inner.pid)], { stdio: "ignore" });
      await sleep(500); // attached
    },
    onSent: async () => {
      await sleep(1500); // the hub's batch and the search index's write, both due ≤ 1 s after
      tracer.kill("SIGINT");
      await new Promise((res) => tracer.once("exit", res));
    },
  });
  const per = new Map();
  for (const line of readFileSync(traceFile, "utf8").split("\n")) {
    const m = /(pwrite64|fsync|fdatasync)\(\d+<([^>]+)>.*= (\d+)$/.exec(line);
    if (!m) continue;
    const k = fileKind(m[2]);
    const e = per.get(k) ?? { pwrite64: 0, kib: 0, fsync: 0 };
    if (m[1] === "pwrite64") {
      e.pwrite64++;
      e.kib += Number(m[3]) / 1024;
    } else e.fsync++;
    per.set(k, e);
  }
  const msgs = r.sent;
  say(`${n} clients × ${rate} msg/s: ${msgs} messages traced (acked ${r.acked}, delivered ${r.delivered})`);
  // A WAL frame is two writes (its 24-byte header, then the page), so KiB / 4 counts pages.
  const row = (k, e) =>
    console.log(
      `${k.padEnd(58)} ${String(e.pwrite64).padStart(8)} ${(e.pwrite64 / msgs).toFixed(2).padStart(7)} ${(e.kib / 4 / msgs).toFixed(2).padStart(8)} ${String(e.fsync).padStart(6)} ${(e.fsync / msgs).toFixed(2).padStart(7)}`,
    );
  console.log(`\n${"file".padEnd(58)} ${"pwrite64".padStart(8)} ${"per msg".padStart(7)} ${"4K/msg".padStart(8)} ${"fsync".padStart(6)} ${"per msg".padStart(7)}`);
  const total = { pwrite64: 0, kib: 0, fsync: 0 };
  for (const [k, e] of [...per].sort((a, b) => b[1].kib - a[1].kib)) {
    for (const f of Object.keys(total)) total[f] += e[f];
    row(k, e);
  }
  row("total", total);
} finally {
  if (tracer && tracer.exitCode === null) tracer.kill("SIGINT");
  await product?.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
process.exit(0);
