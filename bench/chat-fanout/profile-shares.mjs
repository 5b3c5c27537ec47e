// Shares of saved storm profiles (profile.mjs --storm N --save f.cpuprofile), weighted by sample time:
// the busy time (not idle), GC apart, and the inclusive share of each reconnect step of the busy time without GC.
//   node bench/chat-fanout/profile-shares.mjs before.cpuprofile after.cpuprofile
import { readFileSync } from "node:fs";
const FUNCS = ["routePartykitRequest", "routeRealtime", "identify", "openPayload", "retryDurableObjectOperation", "retried", "onConnect", "welcome", "webSocketMessage", "#resume", "webSocketClose", "tryGetPartyServerMeta", "(program)"];
for (const f of process.argv.slice(2)) {
  const p = JSON.parse(readFileSync(f, "utf8"));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const dt = p.timeDeltas;
  let total = 0, idle = 0;
  const incl = new Map();
  p.samples.forEach((s, i) => {
    const w = dt[i + 1] ?? dt[i] ?? 0; // time until next sample
    total += w;
    const seen = new Set();
    for (let cur = s; cur !== undefined; cur = parent.get(cur)) {
      const nd = byId.get(cur);
      let name = nd.callFrame.functionName || "(anonymous)";
      if (seen.has(name)) continue;
      seen.add(name);
      incl.set(name, (incl.get(name) ?? 0) + w);
    }
    if (byId.get(s).callFrame.functionName === "(idle)") idle += w;
  });
  const busy = total - idle;
  const gc = incl.get("(garbage collector)") ?? 0;
  console.log(`${f}: window ${(total / 1000).toFixed(0)} ms, busy ${(busy / 1000).toFixed(0)} ms (${((busy / total) * 100).toFixed(0)} %), GC ${(gc / 1000).toFixed(0)} ms; shares of busy-without-GC (${((busy - gc) / 1000).toFixed(0)} ms):`);
  console.log("  " + FUNCS.filter((k) => incl.has(k) && k !== "(garbage collector)").map((k) => `${k} ${((incl.get(k) / (busy - gc)) * 100).toFixed(1)}% (${(incl.get(k) / 1000).toFixed(0)} ms)`).join(", "));
}
