// Tables for the fan-out benchmark: one side-by-side table per scenario while it runs, and
// markdown summaries (the ones docs/benchmarks.md shows) at the end.

const LABEL = {
  woxly: "Woxly (every message persisted before its ack)",
  "woxly-direct": "Woxly past wrangler's dev proxy (persisted)",
  floor: "workerd floor: bare DO, memory only",
  "socket.io": "Socket.IO baseline (memory only)",
};
const SHORT = { woxly: "Woxly", "woxly-direct": "Woxly (no dev proxy)", floor: "workerd floor", "socket.io": "Socket.IO" };
const isWoxly = (s) => s.startsWith("woxly");

export function ms(v) {
  if (v === null || v === undefined) return "–";
  if (v === Infinity || v === "Infinity") return "∞";
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
const pct = (v) => (v === null || v === undefined ? "–" : `${v}%`);
const triple = (l) => (l ? `${ms(l.p50)} / ${ms(l.p95)} / ${ms(l.p99)}` : "–");

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const line = (r) => r.map((v, c) => (c === 0 ? String(v).padEnd(widths[c]) : String(v).padStart(widths[c]))).join("   ");
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("   "), ...rows.slice(1).map(line)].join("\n");
}

/** One scenario (same N and rate), one column per server. */
export function formatScenario(points) {
  const p0 = points[0];
  const head = `\n== ${p0.n} clients, ${p0.rate} msg/s (${p0.sockets} sockets in the channel, ${p0.senders} senders, ${points.map((p) => p.sendSeconds).find(Boolean) ?? "?"} s measured${p0.kind === "knee" ? ", knee search" : ""}) ==`;
  const rows = [["", ...points.map((p) => LABEL[p.server] ?? p.server)]];
  const add = (name, f) => rows.push([name, ...points.map((p) => (p.failed ? (name === "receipt latency p50/p95/p99 ms" ? `failed: ${p.failed}` : "") : f(p)))]);
  add("receipt latency p50/p95/p99 ms", (p) => triple(p.latencyMs));
  add("receipt latency max ms", (p) => ms(p.latencyMs.max));
  add("ack latency p50/p99 ms", (p) => `${ms(p.ackLatencyMs.p50)} / ${ms(p.ackLatencyMs.p99)}`);
  add("acked / sent", (p) => `${p.acked} / ${p.sent}`);
  add("acked msg/s", (p) => p.ackedPerS);
  add("delivered to receivers", (p) => `${(p.delivered * 100).toFixed(2)}%`);
  add("errors", (p) => Object.entries(p.errors).map(([k, v]) => `${k}:${v}`).join(" ") || "none");
  add("seq gaps/duplicates seen", (p) => (isWoxly(p.server) ? p.seqAnomalies : "n/a"));
  add("rate-limited resends", (p) => (isWoxly(p.server) ? p.rateLimitedRetries : "n/a"));
  add("coalesced events frames received", (p) => (isWoxly(p.server) ? (p.eventsFrames ?? "–") : "n/a"));
  add("server CPU (% of a core)", (p) => pct(p.serverCpuPct));
  add("  by process", (p) => (p.serverProcesses ?? []).map((x) => `${x.process.replace(" (listener)", "*")} ${x.cpuPct}%`).join(", "));
  add("  + wrangler/other in its group", (p) => (isWoxly(p.server) ? pct(Math.round((p.serverGroupCpuPct - p.serverCpuPct) * 10) / 10) : "–"));
  add("server RSS MB", (p) => p.serverRssMB ?? "–");
  add("generator CPU (% of a core)", (p) => pct(p.generator.cpuPct));
  add("generator event-loop delay p99 ms", (p) => p.generator.eventLoopDelayP99Ms);
  add("connect all sockets ms", (p) => p.connectMs);
  return `${head}\n${table(rows)}`;
}

function mdTable(rows) {
  return [
    `| ${rows[0].join(" | ")} |`,
    `|${rows[0].map(() => "---").join("|")}|`,
    ...rows.slice(1).map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** Markdown summaries of a whole run (results as written to latest.json). */
export function formatMarkdown(results) {
  const out = [];
  const m = results.machine;
  out.push(`Run ${m.date.slice(0, 10)} on ${m.cpus} vCPU (${m.cpuModel}), ${m.memGB} GB, Node ${m.node}, workerd ${m.workerd}.`);
  // Every server of the run, also when only its idle or reconnect points were taken (--sizes none).
  const servers = [...new Set([...results.fanout, ...results.idle, ...results.reconnect].map((p) => p.server))];
  const key = (p) => `${p.n}/${p.rate}`;
  const byKey = new Map();
  for (const p of results.fanout) {
    if (!byKey.has(key(p))) byKey.set(key(p), {});
    byKey.get(key(p))[p.server] = p;
  }
  const groups = [...byKey.values()];
  const cell = (g, s, f) => (g[s] ? (g[s].failed ? "failed" : f(g[s])) : "–");
  const latencyCell = (p) => {
    const d = p.delivered ?? 1;
    return `${triple(p.latencyMs)}${d < 0.9995 ? ` (${(d * 100).toFixed(1)}% delivered)` : ""}`;
  };
  const section = (title, list) => {
    if (!list.length) return;
    const lat = [["clients", "msg/s", "sockets (senders)", ...servers.map((s) => `${SHORT[s]} p50 / p95 / p99 ms`)]];
    const load = [["clients", "msg/s", `acked msg/s (${servers.map((s) => SHORT[s]).join(" / ")})`, "server CPU", "generator CPU"]];
    for (const g of list) {
      const any = Object.values(g)[0];
      lat.push([any.n, any.rate, `${any.sockets} (${any.senders})`, ...servers.map((s) => cell(g, s, latencyCell))]);
      load.push([
        any.n,
        any.rate,
        servers.map((s) => cell(g, s, (p) => p.ackedPerS)).join(" / "),
        servers.map((s) => cell(g, s, (p) => pct(p.serverCpuPct))).join(" / "),
        servers.map((s) => cell(g, s, (p) => pct(p.generator.cpuPct))).join(" / "),
      ]);
    }
    out.push(`\n${title}\n\n${mdTable(lat)}\n\n${mdTable(load)}`);
  };
  section("Fixed send rates: send-to-receipt latency at every receiver, then throughput and CPU (% of one core; same order of servers):", groups.filter((g) => Object.values(g)[0].kind === "fixed"));
  section("Knee search (extra rates, shorter windows):", groups.filter((g) => Object.values(g)[0].kind !== "fixed"));

  if (results.knee.length) {
    const sizes = [...new Set(results.knee.map((k) => k.n))];
    const rows = [["clients", ...servers.map((s) => `${SHORT[s]}: p99 ≤ 250 ms up to / passes at`)]];
    for (const n of sizes) {
      rows.push([
        n,
        ...servers.map((s) => {
          const k = results.knee.find((x) => x.n === n && x.server === s);
          if (!k) return "–";
          const lo = k.lastUnderMsgPerS === null ? "none tried" : `${k.lastUnderMsgPerS} msg/s`;
          const hi = k.firstOverMsgPerS === null ? `not reached (tried ${k.triedUpTo})` : `${k.firstOverMsgPerS} msg/s`;
          return `${lo} / ${hi}`;
        }),
      ]);
    }
    out.push(`\nKnee (where p99 passes 250 ms):\n\n${mdTable(rows)}`);
  }
  if (results.idle.length || results.reconnect.length) {
    const rows = [["", ...servers.map((s) => SHORT[s])]];
    const idle = (s) => results.idle.find((x) => x.server === s);
    const rec = (s) => results.reconnect.find((x) => x.server === s);
    if (results.idle.length) {
      rows.push([
        `server RSS per 1,000 idle sockets (${idle(servers[0])?.sockets ?? "?"} connected)`,
        ...servers.map((s) => (idle(s)?.failed ? "failed" : idle(s) ? `${idle(s).per1000MB} MB (${idle(s).rssBeforeMB} → ${idle(s).rssAfterMB} MB)` : "–")),
      ]);
      rows.push([
        "  of which wrangler's dev proxy (listener)",
        ...servers.map((s) => {
          const px = idle(s)?.processes?.find((p) => p.process === "workerd (listener)");
          return px ? `${Math.round(((px.rssAfterMB - px.rssBeforeMB) * 1000) / idle(s).sockets)} MB` : "–";
        }),
      ]);
      rows.push(["time to connect them", ...servers.map((s) => (idle(s)?.connectMs !== undefined ? `${idle(s).connectMs} ms` : "–"))]);
    }
    if (results.reconnect.length) {
      rows.push([
        `${rec(servers[0])?.clients ?? "?"} clients reconnecting at once: all back`,
        ...servers.map((s) => (rec(s)?.failed ? "failed" : rec(s) ? `${rec(s).allReconnectedMs} ms${rec(s).timedOut ? ` (${rec(s).timedOut} timed out)` : ""}` : "–")),
      ]);
      rows.push(["  per client p50 / p99", ...servers.map((s) => (rec(s)?.perClientMs ? `${ms(rec(s).perClientMs.p50)} / ${ms(rec(s).perClientMs.p99)} ms` : "–"))]);
    }
    out.push(`\nIdle memory and reconnects:\n\n${mdTable(rows)}`);
  }
  return out.join("\n");
}

const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : null);
const x = (r) => (r === null ? "–" : `${r.toFixed(2)}×`);
const met = (ok) => (ok === null ? "–" : ok ? "✓ met" : "✗ not met");

/**
 * Issue 14's goals, each figure beside its baseline from the same run: chat p99 against the
 * workerd floor (≤ 1.5×) at every point where the floor delivered every message, the reconnect
 * storm (≤ 1.0 s and ≤ 2× the floor), memory per 1,000 idle sockets past the dev proxy
 * (≤ 1.5× the floor), and workerd CPU per request (< 5 ms median). Woxly's figures are the
 * ones past wrangler's dev proxy, as the floor's are.
 */
export function formatGoals(results) {
  const out = [];
  const wx = [...results.fanout, ...results.idle, ...results.reconnect].some((p) => p.server === "woxly-direct") ? "woxly-direct" : "woxly";
  const pts = [...new Set(results.fanout.map((p) => `${p.n}/${p.rate}`))];
  const rows = [["clients", "msg/s", "workerd floor p99 ms", `${SHORT[wx]} p99 ms`, "Socket.IO p99 ms", "ratio to floor", "goal ≤ 1.5×"]];
  for (const k of pts) {
    const at = (s) => results.fanout.find((p) => `${p.n}/${p.rate}` === k && p.server === s);
    const f = at("floor");
    const w = at(wx);
    const io = at("socket.io");
    if (!f || !w) continue;
    const floorAll = !f.failed && (f.delivered ?? 0) >= 0.9995;
    const r = floorAll && !w.failed ? ratio(Number(w.latencyMs.p99), Number(f.latencyMs.p99)) : null;
    rows.push([
      w.n,
      w.rate,
      f.failed ? "failed" : `${ms(f.latencyMs.p99)}${floorAll ? "" : ` (${((f.delivered ?? 0) * 100).toFixed(1)}% delivered)`}`,
      w.failed ? "failed" : ms(w.latencyMs.p99),
      io && !io.failed ? ms(io.latencyMs.p99) : "–",
      floorAll ? x(r) : "–",
      floorAll ? met(r !== null && r <= 1.5) : "not judged: the floor does not deliver every message",
    ]);
  }
  if (rows.length > 1) out.push(`Issue 14, goal 2 — chat p99 against the workerd floor (same run):\n\n${mdTable(rows)}`);

  const rec = (s) => results.reconnect.find((r) => r.server === s && !r.failed);
  const idle = (s) => results.idle.find((r) => r.server === s && !r.failed);
  const g = [["goal", "Woxly (no dev proxy)", "workerd floor", "Socket.IO", "ratio to floor", "goal", "met"]];
  const rw = rec(wx);
  const rf = rec("floor");
  if (rw && rf) {
    const r = ratio(rw.allReconnectedMs, rf.allReconnectedMs);
    g.push([`${rw.clients} clients reconnecting at once: all back`, `${rw.allReconnectedMs} ms`, `${rf.allReconnectedMs} ms`, rec("socket.io") ? `${rec("socket.io").allReconnectedMs} ms` : "–", x(r), "≤ 1,000 ms and ≤ 2×", met(rw.allReconnectedMs <= 1000 && r !== null && r <= 2)]);
  }
  const iw = idle(wx);
  const iff = idle("floor");
  if (iw && iff) {
    const r = ratio(iw.per1000MB, iff.per1000MB);
    g.push(["server RSS per 1,000 idle sockets", `${iw.per1000MB} MB`, `${iff.per1000MB} MB`, idle("socket.io") ? `${idle("socket.io").per1000MB} MB` : "–", x(r), "≤ 1.5×", met(r !== null && r <= 1.5)]);
  }
  if (g.length > 1) out.push(`Issue 14, goals 3 and 4 — reconnects and idle memory (same run; Woxly and the floor past their dev proxies):\n\n${mdTable(g)}`);

  if (results.requests?.length) {
    const rq = [["request", "isolates busy p50 ms (CPU time)", "p95 ms", "whole workerd process p50 ms", "p95 ms", "wall p50 ms", "status", "goal (isolates, p50)", "met"]];
    for (const r of results.requests) {
      const iso = r.isolateMs;
      rq.push([
        r.name,
        iso ? ms(iso.p50) : "–",
        iso ? ms(iso.p95) : "–",
        ms(r.cpuMs.p50),
        ms(r.cpuMs.p95),
        ms(r.wallMs.p50),
        r.status,
        r.goalMs ? `< ${r.goalMs} ms` : "baseline",
        r.goalMs && iso ? met(iso.p50 < r.goalMs) : "–",
      ]);
    }
    out.push(
      `Issue 14, goal 5 — CPU per request (${results.requests[0].runs} requests each, one at a time; isolates: the api and token workers' V8 isolates busy on the request, from a CPU profile per request; process: the whole workerd past the dev proxy, from /proc, an upper bound with local D1 and dev overhead):\n\n${mdTable(rq)}`,
    );
  }
  return out.join("\n\n");
}
