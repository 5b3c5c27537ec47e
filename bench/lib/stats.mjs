// Measuring helpers for the benchmarks: latency samples with exact percentiles, and CPU/RSS
// of server processes read from /proc (Linux), so workerd and node are measured the same way.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Latency samples in ms, kept in a growing Float64Array; percentiles are exact (sorted). */
export class Samples {
  constructor(initial = 1 << 16) {
    this.buf = new Float64Array(initial);
    this.n = 0;
  }
  add(v) {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = v;
  }
  /**
   * Percentiles over the samples plus `missing` samples that never arrived (counted as
   * infinitely late, so a p99 is only finite when at least 99 % arrived).
   */
  summary(missing = 0) {
    const a = this.buf.subarray(0, this.n).slice().sort();
    const total = a.length + Math.max(0, missing);
    const q = (p) => {
      if (!total) return null;
      const i = Math.min(total - 1, Math.max(0, Math.ceil(p * total) - 1));
      return i < a.length ? a[i] : Infinity;
    };
    let sum = 0;
    for (const v of a) sum += v;
    return {
      count: a.length,
      missing: Math.max(0, missing),
      mean: a.length ? round(sum / a.length) : null,
      p50: round(q(0.5)),
      p95: round(q(0.95)),
      p99: round(q(0.99)),
      max: missing > 0 ? Infinity : round(a.length ? a[a.length - 1] : null),
    };
  }
}

export function round(v, digits = 2) {
  if (v === null || v === undefined || !Number.isFinite(v)) return v ?? null; // Infinity stays
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

const CLK_TCK = 100; // USER_HZ on Linux
const PAGE = 4096;

/** Parses /proc/<pid>/stat: comm may contain spaces and parens, so split after the last ')'. */
function readStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = s.lastIndexOf(")");
    const comm = s.slice(s.indexOf("(") + 1, close);
    const f = s.slice(close + 2).split(" ");
    // f[0] = state (field 3); pgrp = field 5 → f[2]; utime = 14 → f[11]; stime = 15 → f[12]; rss = 24 → f[21]
    return { pid: Number(pid), comm, pgrp: Number(f[2]), utime: Number(f[11]), stime: Number(f[12]), rss: Number(f[21]) * PAGE };
  } catch {
    return undefined;
  }
}

function allPids() {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d));
}

/** The pid that owns the TCP socket listening on 127.0.0.1:port (or any address), if visible. */
export function pidListeningOn(port) {
  const inodes = new Set();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const localPort = parseInt(cols[1].split(":")[1], 16);
      if (localPort === port && cols[3] === "0A") inodes.add(cols[9]); // 0A = LISTEN
    }
  }
  if (!inodes.size) return undefined;
  for (const pid of allPids()) {
    let fds;
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m && inodes.has(m[1])) return Number(pid);
      } catch {}
    }
  }
  return undefined;
}

/** The process group of a pid. */
export function pgrpOf(pid) {
  return readStat(pid)?.pgrp;
}

/** Processes of one process group, optionally only those whose comm matches. */
export function groupProcesses(pgrp, commFilter) {
  const out = [];
  for (const pid of allPids()) {
    const st = readStat(pid);
    if (st && st.pgrp === pgrp && (!commFilter || commFilter.test(st.comm))) out.push(st);
  }
  return out;
}

/**
 * A probe for a server's processes: `sample()` returns CPU seconds and RSS bytes of the
 * processes matching `comm` in the process group of the port's listener (`cpu`, `rss`), of
 * the whole group (`groupCpu`: for wrangler dev that adds wrangler's own node process, which
 * receives the workers' logs), and per process (`procs`). The listener is marked `entry`.
 */
export function serverProbe({ port, comm }) {
  const pid = pidListeningOn(port);
  if (!pid) return undefined;
  const st = readStat(pid);
  if (!st) return undefined;
  const pgrp = st.pgrp;
  return {
    pid,
    pgrp,
    sample() {
      const all = groupProcesses(pgrp);
      let cpu = 0;
      let rss = 0;
      let groupCpu = 0;
      const procs = [];
      for (const p of all) {
        const c = (p.utime + p.stime) / CLK_TCK;
        groupCpu += c;
        if (comm && !comm.test(p.comm)) continue;
        cpu += c;
        rss += p.rss;
        procs.push({ pid: p.pid, comm: p.comm, entry: p.pid === pid, cpu: c, rss: p.rss });
      }
      return { t: performance.now(), cpu, rss, groupCpu, procs };
    },
  };
}

/** CPU use between two probe samples, in % of one core (`field`: cpu or groupCpu). */
export function cpuPct(a, b, field = "cpu") {
  if (!a || !b) return null;
  const wall = (b.t - a.t) / 1000;
  return wall > 0 ? round(((b[field] - a[field]) / wall) * 100, 1) : null;
}

/** Per-process CPU % and RSS MB between two samples. */
export function perProcess(a, b) {
  if (!a || !b) return [];
  const wall = (b.t - a.t) / 1000;
  return b.procs.map((p) => {
    const before = a.procs.find((x) => x.pid === p.pid);
    return {
      process: `${p.comm}${p.entry ? " (listener)" : ""}`,
      pid: p.pid,
      cpuPct: before && wall > 0 ? round(((p.cpu - before.cpu) / wall) * 100, 1) : null,
      rssMB: round(p.rss / 2 ** 20, 1),
    };
  });
}

/** Waits until the server's CPU stays under `pct` % of a core for a second (max `maxMs`). */
export async function quiesce(probe, { pct = 8, maxMs = 60_000 } = {}) {
  if (!probe) return 0;
  const t0 = performance.now();
  let a = probe.sample();
  while (performance.now() - t0 < maxMs) {
    await sleep(1000);
    const b = probe.sample();
    if (cpuPct(a, b) < pct) break;
    a = b;
  }
  return Math.round(performance.now() - t0);
}

/** The load generator's own CPU between two process.cpuUsage() readings, in % of one core. */
export function selfCpuPct(start, startT) {
  const d = process.cpuUsage(start);
  const wall = (performance.now() - startT) * 1000; // µs
  return wall > 0 ? round(((d.user + d.system) / wall) * 100, 1) : null;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** TCP ports a process listens on (loopback or any address). */
export function listeningPorts(pid) {
  const inodes = new Set();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {}
    }
  } catch {
    return [];
  }
  const ports = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length >= 10 && cols[3] === "0A" && inodes.has(cols[9])) ports.push(parseInt(cols[1].split(":")[1], 16));
    }
  }
  return ports;
}
