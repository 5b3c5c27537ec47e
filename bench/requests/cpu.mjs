// CPU time per request in workerd, for the requests the free plan's 10 ms limit matters most
// for (issue 14): a voice token, a history page of 50 messages, a login, the channel page's
// server render — beside `GET /api/health`, the cheapest route through the same worker.
//
// How: locally, `performance.now()` and `Date.now()` inside a Worker advance with wall time, and
// the per-request `cpuTime` that Cloudflare reports (Tail Workers, Workers Logs) is not measured
// by wrangler dev. So the figure is read from Linux: the CPU time (ns, /proc/<pid>/task/*/schedstat)
// of the workerd process that runs the workers — past wrangler's dev proxy, which production does
// not have — before and after each request, sent one at a time on an otherwise idle product. It
// includes workerd's own HTTP handling and the local D1 (SQLite in the same process), so it is an
// upper bound for what the Worker's JavaScript costs, which production counts alone.
import { readdirSync, readFileSync } from "node:fs";
import { Samples, groupProcesses, listeningPorts, pgrpOf, pidListeningOn, round, sleep } from "../lib/stats.mjs";

/** CPU ns of every thread of `pid` so far. */
export function threadCpuNs(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {}
  }
  return ns;
}

/** The pid of the workerd process behind wrangler dev's proxy (the one listening on `innerUrl`'s port). */
export function innerWorkerdPid(publicPort, innerUrl) {
  const entry = pidListeningOn(publicPort);
  if (!entry) return undefined;
  const port = Number(new URL(innerUrl).port);
  return groupProcesses(pgrpOf(entry), /workerd/).find((p) => listeningPorts(p.pid).includes(port))?.pid;
}

/**
 * Runs each request `runs` times (after `warm` unmeasured ones) and returns per request the
 * median and p95 of workerd CPU ms and of wall ms. `requests`: [{ name, run: () => Promise<Response> }].
 */
export async function requestCpu({ pid, requests, runs = 30, warm = 3 }) {
  const out = [];
  for (const r of requests) {
    const cpu = new Samples(runs);
    const wall = new Samples(runs);
    let status = null;
    for (let i = 0; i < warm + runs; i++) {
      await sleep(15); // let the previous request's background work (waitUntil) settle
      const c0 = threadCpuNs(pid);
      const t0 = performance.now();
      const res = await r.run();
      await res.arrayBuffer();
      const t1 = performance.now();
      status = res.status;
      await sleep(5);
      const c1 = threadCpuNs(pid);
      if (i < warm) continue;
      cpu.add((c1 - c0) / 1e6);
      wall.add(t1 - t0);
    }
    const c = cpu.summary();
    const w = wall.summary();
    out.push({ name: r.name, status, runs, cpuMs: { p50: round(c.p50, 2), p95: round(c.p95, 2) }, wallMs: { p50: round(w.p50, 1), p95: round(w.p95, 1) }, goalMs: r.goalMs ?? null });
  }
  return out;
}

/**
 * The requests of issue 14 against a running product (its inner URL): `owner` (a seeded user's
 * cookie, owner of `communityId`) makes a voice channel, `channelId` gets at least 50 messages
 * (its caller's job), a user is registered for the logins.
 */
export async function issue14Requests({ url, cookie, communityId, channelId }) {
  const origin = url;
  const json = (method, path, body, extra = {}) =>
    fetch(`${url}${path}`, { method, headers: { cookie, origin, "content-type": "application/json", ...extra }, body: body === undefined ? undefined : JSON.stringify(body) });
  const made = await json("POST", `/api/communities/${communityId}/channels`, { name: "voice", kind: "voice" });
  if (!made.ok) throw new Error(`voice channel: ${made.status} ${await made.text()}`);
  const voiceId = (await made.json()).channel.id;
  const username = `cpu_${Date.now().toString(36)}`;
  const password = "correct horse battery staple 42";
  const reg = await fetch(`${url}/api/auth/register`, { method: "POST", headers: { origin, "content-type": "application/json" }, body: JSON.stringify({ username, password }) });
  if (!reg.ok) throw new Error(`register: ${reg.status} ${await reg.text()}`);
  return [
    { name: "GET /api/health (the cheapest route)", run: () => fetch(`${url}/api/health`) },
    { name: "voice token (POST /api/channels/:id/voice/token)", goalMs: 5, run: () => json("POST", `/api/channels/${voiceId}/voice/token`) },
    { name: "history page of 50 (GET /api/channels/:id/messages?limit=50)", goalMs: 5, run: () => fetch(`${url}/api/channels/${channelId}/messages?limit=50`, { headers: { cookie, origin } }) },
    {
      name: "login (POST /api/auth/login)",
      goalMs: 5,
      run: () => fetch(`${url}/api/auth/login`, { method: "POST", headers: { origin, "content-type": "application/json" }, body: JSON.stringify({ username, password }) }),
    },
    { name: "channel page, server render (GET /c/:community/:channel)", goalMs: 5, run: () => fetch(`${url}/c/${communityId}/${channelId}`, { headers: { cookie, accept: "text/html" } }) },
  ];
}
