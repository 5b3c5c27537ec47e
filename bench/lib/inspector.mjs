// The V8 inspector of the workers under `wrangler dev` (started with `--inspector-port`), over
// the Chrome DevTools protocol: enough to take CPU profiles of each worker's isolate.
import WebSocket from "ws";

/** A minimal CDP client over one target's WebSocket. */
export async function cdp(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((res, rej) => (ws.once("open", res), ws.once("error", rej)));
  let id = 0;
  const waiting = new Map();
  ws.on("message", (d) => {
    const m = JSON.parse(String(d));
    if (m.id && waiting.has(m.id)) {
      waiting.get(m.id)(m);
      waiting.delete(m.id);
    }
  });
  return {
    send(method, params = {}) {
      const i = ++id;
      ws.send(JSON.stringify({ id: i, method, params }));
      return new Promise((res) => waiting.set(i, res));
    },
    close: () => ws.close(),
  };
}

/** Every worker's isolate behind the inspector on `port` (the api worker and the token worker). */
export async function isolates(port) {
  const list = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  return Promise.all(list.map(async (t) => Object.assign(await cdp(t.webSocketDebuggerUrl), { title: t.title ?? t.id })));
}

/** Time (ms) the isolate was busy during a profile: every sample that is not "(idle)", by its time delta. */
export function busyMs(profile) {
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
  let us = 0;
  for (let i = 0; i < profile.samples.length; i++) if (!idle.has(profile.samples[i])) us += profile.timeDeltas[i] ?? 0;
  return us / 1000;
}

/**
 * Busy time per burst (ms): the profile's samples in JavaScript (with the native calls it makes
 * and garbage collection) grouped into bursts separated by at
 * least `gapMs` of idle time. Requests sent one at a time with a pause longer than `gapMs`
 * between them each make one burst (their own waits on I/O inside are shorter), so this is
 * each request's CPU time in that isolate.
 */
export function busyBursts(profile, gapMs = 40, intervalMs = 0.05) {
  // "(program)" is the runtime's own native work between JavaScript (and, in workerd, much of
  // its waiting): not counted, like "(idle)"; JavaScript, the native calls it makes and GC are.
  const idle = new Set(profile.nodes.filter((n) => ["(idle)", "(program)", "(root)"].includes(n.callFrame.functionName)).map((n) => n.id));
  const bursts = [];
  let t = 0;
  let lastBusy = -Infinity;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    t += dt;
    if (idle.has(profile.samples[i])) continue;
    if (t - lastBusy > gapMs) bursts.push({ at: t, ms: 0 });
    // No samples are taken while the isolate is not entered: a sample after a pause carries the
    // pause in its delta. Each sample stands for at most 1.5 sampling intervals.
    bursts[bursts.length - 1].ms += Math.min(dt, 1.5 * intervalMs);
    lastBusy = t;
  }
  return bursts;
}
