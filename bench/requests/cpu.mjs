// CPU time per request in workerd, for the requests the free plan's 10 ms limit matters most
// for (issue 14): a voice token, a history page of 50 messages, a login, the channel page's
// server render (the shell with the channel's first screen: header and 30 latest messages) — beside `GET /api/health`, the cheapest route through the same worker.
//
// How: locally, `performance.now()` and `Date.now()` inside a Worker advance with wall time, and
// the per-request `cpuTime` that Cloudflare reports (Tail Workers, Workers Logs) is not measured
// by wrangler dev. So two figures per request, each the median of requests sent one at a time:
//  - isolate: the time the workers' V8 isolates (the api worker and the token worker) were busy
//    on the request — JavaScript and the native code it calls (WebCrypto, the ChannelRoom's
//    SQLite) — from V8 CPU profiles taken through wrangler dev's inspector over the runs, sent
//    120 ms apart so that each run is one burst of busy samples (bench/lib/inspector.mjs
//    busyBursts). This is what Cloudflare counts as a request's CPU time. It is sampled every
//    50 µs and, on a loaded machine, includes time the thread waited for a core.
//  - process: the CPU time (/proc/<pid>/task/*/schedstat, ns) of the whole workerd process that
//    runs the workers — past wrangler's dev proxy — before and after the request: an upper bound
//    that adds workerd's own HTTP handling, the local D1 (SQLite in the same process; elsewhere
//    in production), subrequest plumbing and the dev inspector (~3.5 ms for `GET /api/health`).
import { readdirSync, readFileSync } from "node:fs";
import { busyBursts } from "../lib/inspector.mjs";
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
export async function requestCpu({ pid, requests, runs = 30, warm = 3, inspectors = [] }) {
  const out = [];
  for (const c of inspectors) {
    await c.send("Profiler.enable");
    await c.send("Profiler.setSamplingInterval", { interval: 50 });
  }
  for (const r of requests) {
    const cpu = new Samples(runs);
    const wall = new Samples(runs);
    let status = null;
    for (let i = 0; i < warm; i++) await (await r.run()).arrayBuffer();
    // One profile per isolate over all the runs; the runs are 120 ms apart, so each is one burst.
    for (const c of inspectors) await c.send("Profiler.start");
    for (let i = 0; i < runs; i++) {
      await sleep(120); // the previous request's background work (waitUntil) settles; bursts stay apart
      const c0 = threadCpuNs(pid);
      const t0 = performance.now();
      const res = await r.run();
      await res.arrayBuffer();
      const t1 = performance.now();
      status = res.status;
      await sleep(5);
      const c1 = threadCpuNs(pid);
      cpu.add((c1 - c0) / 1e6);
      wall.add(t1 - t0);
    }
    // Per isolate the median (and p95) of its bursts, one burst per run; the api worker's and the
    // token worker's add up (a request that reaches both runs in both).
    let isolate = null;
    if (inspectors.length) {
      let p50 = 0;
      let p95 = 0;
      const bursts = [];
      for (const c of inspectors) {
        const b = busyBursts((await c.send("Profiler.stop")).result.profile).filter((x) => x.ms > 0);
        bursts.push(b.length);
        if (b.length < runs / 2) continue; // an isolate the request does not reach (a stray timer or two)
        const s = new Samples(b.length);
        for (const x of b) s.add(x.ms);
        const q = s.summary();
        p50 += q.p50;
        p95 += q.p95;
      }
      isolate = { p50: round(p50, 2), p95: round(p95, 2), bursts };
    }
    const c = cpu.summary();
    const w = wall.summary();
    out.push({ name: r.name, status, runs, isolateMs: isolate, cpuMs: { p50: round(c.p50, 2), p95: round(c.p95, 2) }, wallMs: { p50: round(w.p50, 1), p95: round(w.p95, 1) }, goalMs: r.goalMs ?? null });
  }
  return out;
}

/**
 * The requests of issue 14 against a running product (its inner URL): `owner` (a seeded user's
 * cookie, owner of `communityId`) makes a voice channel, `channelId` gets at least 50 messages
 * (its caller's job), a user is registered for the logins.
 */
export async function issue14Requests({ url, cookie, communityId, channelId, users = [] }) {
  const origin = url;
  // A full page of history: top the channel up to 50 messages (5 per seeded user, under the send limit).
  const head = await (await fetch(`${url}/api/channels/${channelId}/messages?limit=50`, { headers: { cookie, origin } })).json();
  if ((head.messages?.length ?? 0) < 50 && users.length) {
    const { openChat } = await import("../lib/chat-client.mjs");
    let missing = 50 - (head.messages?.length ?? 0);
    for (const u of users) {
      if (missing <= 0) break;
      const chat = await openChat({ baseUrl: url, channelId, userId: u.id, cookie: u.cookie });
      await chat.whenLive();
      for (let i = 0; i < 5 && missing > 0; i++, missing--) await chat.send(`history page message ${missing}: a few words to index and render`);
      chat.close();
    }
  }
  const json = (method, path, body, extra = {}) =>
    fetch(`${url}${path}`, { method, headers: { cookie, origin, "content-type": "application/json", ...extra }, body: body === undefined ? undefined : JSON.stringify(body) });
  const made = await json("POST", `/api/communities/${communityId}/channels`, { name: "voice", kind: "voice" });
  if (!made.ok) throw new Error(`voice channel: ${made.status} ${await made.text()}`);
  const voiceId = (await made.json()).channel.id;
  const username = `cpu_${Date.now().toString(36)}`;
  const password = "correct horse battery staple 42";
  const reg = await fetch(`${url}/api/auth/register`, { method: "POST", headers: { origin, "content-type": "application/json" }, body: JSON.stringify({ username, password }) });
  if (!reg.ok) throw new Error(`register: ${reg.status} ${await reg.text()}`);
  // The channel page is measured with what a member gets: the shell with the channel's
  // server-rendered first screen (web/src/hooks.server.ts), not the bare shell.
  const page = await (await fetch(`${url}/c/${communityId}/${channelId}`, { headers: { cookie, accept: "text/html" } })).text();
  if (!page.includes('id="first-screen"')) throw new Error("the channel page came without its first screen: is the seeded user a member who may read it?");
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
