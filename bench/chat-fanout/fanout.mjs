// The fan-out scenarios, written once against a small "target" interface so that Woxly and the
// Socket.IO baseline get exactly the same load from the same code:
//
//   target = {
//     name, persists,
//     maxRatePerSender,          // msg/s one sending user may sustain (Woxly: under its rate limit)
//     maxSenders,                // distinct sending users available
//     probe() -> serverProbe     // CPU/RSS of the server processes (bench/lib/stats.mjs)
//     connect(i, onMessage) -> client { send(content) -> Promise<message>, reconnect() -> Promise, close() }
//   }
//
// Clients 0..S-1 are the senders (distinct users); every connected client, senders included,
// is a receiver. Each message carries its send time (performance.now() of this process) in its
// content, so latency is measured from the moment the sender handed it to its socket to the
// moment each other client's handler saw it. The sender's own copy (if the server echoes it) is
// not counted. The load is open-loop: messages go out on schedule whether or not earlier ones
// were acknowledged.
import os from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Samples, cpuPct, perProcess, quiesce, round, selfCpuPct, sleep } from "../lib/stats.mjs";

const TAG = "bench";

/** Runs `fn(i)` for i in [0, n) with at most `limit` running at once. */
export async function pool(n, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

/** How many sender clients a rate needs on a target; more sockets than `n` when it needs them. */
export function sendersFor(target, rate, n) {
  const need = Math.ceil(rate / target.maxRatePerSender);
  const senders = Math.max(1, Math.min(need, target.maxSenders));
  return { senders, sockets: Math.max(n, senders), rateCapped: need > target.maxSenders };
}

async function connectAll(target, count, onMessage, concurrency) {
  const clients = new Array(count);
  const t0 = performance.now();
  let failures = 0;
  await pool(count, concurrency, async (i) => {
    for (let attempt = 0; ; attempt++) {
      try {
        clients[i] = await target.connect(i, (m) => onMessage(i, m));
        return;
      } catch (e) {
        failures++;
        if (attempt >= 4) throw new Error(`client ${i} could not connect: ${e?.message ?? e}`);
        await sleep(250 * (attempt + 1));
      }
    }
  });
  return { clients, connectMs: round(performance.now() - t0, 0), connectFailures: failures };
}

async function closeAll(clients) {
  for (const c of clients) {
    try {
      c?.close();
    } catch {}
  }
  await sleep(500);
}

/**
 * One fan-out point: `n` clients in one channel, `rate` messages/s for `sendMs` (the first
 * `warmMs` of which are not measured), then up to `drainMs` for the last deliveries.
 */
export async function fanout(target, { n, rate, sendMs = 10_000, warmMs = 1_000, drainMs = 5_000, connectConcurrency = 50, onConnected, onSent }) {
  const { senders, sockets, rateCapped } = sendersFor(target, rate, n);
  const latency = new Samples(1 << 20);
  const ackLatency = new Samples(1 << 12);
  let receipts = 0;
  let measuredAcked = 0;
  let ackedTotal = 0;
  let lastAckAt = 0;
  const errors = {};
  let outstanding = 0;
  let measuring = false;
  const measuredFrom = { k: Infinity };

  const onMessage = (receiver, m) => {
    const content = m?.content;
    if (typeof content !== "string" || !content.startsWith(TAG)) return;
    const now = performance.now();
    const [, t, sender, k] = content.split("|");
    if (Number(sender) === receiver) return; // the sender's own echo
    if (Number(k) < measuredFrom.k) return; // warm-up
    receipts++;
    latency.add(now - Number(t));
  };

  const probe = target.probe();
  // A point starts on an idle server: an overloaded point before must not bleed into this one.
  const quiesceMs = await quiesce(probe);
  const { clients, connectMs, connectFailures } = await connectAll(target, sockets, onMessage, connectConcurrency);
  await sleep(300);
  await onConnected?.(); // (the profiler starts here: connecting is not part of the measured load)

  const total = Math.round((rate * (warmMs + sendMs)) / 1000);
  const interval = 1000 / rate;
  const eld = monitorEventLoopDelay({ resolution: 5 });
  let maxScheduleLagMs = 0;
  let s0;
  let cpu0;
  let tMeasure = 0;

  const tStart = performance.now();
  await new Promise((resolve) => {
    let k = 0;
    const tick = () => {
      const now = performance.now();
      if (!measuring && now - tStart >= warmMs) {
        measuring = true;
        measuredFrom.k = k;
        tMeasure = now;
        s0 = probe?.sample();
        cpu0 = process.cpuUsage();
        eld.enable();
      }
      while (k < total && tStart + k * interval <= now) {
        maxScheduleLagMs = Math.max(maxScheduleLagMs, now - (tStart + k * interval));
        const sender = k % senders;
        const measured = measuring;
        const t = performance.now();
        const content = `${TAG}|${t.toFixed(3)}|${sender}|${k}`;
        outstanding++;
        clients[sender]
          .send(content)
          .then(() => {
            const at = performance.now();
            ackedTotal++;
            if (measured) {
              measuredAcked++;
              ackLatency.add(at - t);
              lastAckAt = at;
            }
          })
          .catch((e) => {
            const code = e?.code ?? e?.message ?? "error";
            errors[code] = (errors[code] ?? 0) + 1;
          })
          .finally(() => outstanding--);
        k++;
      }
      if (k >= total) return resolve();
      setTimeout(tick, Math.max(0, Math.min(interval, tStart + k * interval - performance.now())));
    };
    tick();
  });
  const sendEnd = performance.now();
  const measuredSent = total - measuredFrom.k;
  await onSent?.();

  // Drain: every acknowledged message should reach every other socket.
  const drainUntil = performance.now() + drainMs;
  while (performance.now() < drainUntil) {
    if (outstanding === 0 && receipts >= measuredSent * (sockets - 1)) break;
    await sleep(20);
  }
  const s1 = probe?.sample();
  const genCpu = selfCpuPct(cpu0, tMeasure);
  eld.disable();
  // Order violations the clients saw (Woxly's clients check seq; the baseline has none).
  const anomalies = clients.reduce((a, c) => a + (c?.anomalies?.() ?? 0), 0);
  // Sends the server refused for the rate limit and the client retried (should stay 0).
  const rateLimited = clients.reduce((a, c) => a + (c?.rateLimited?.() ?? 0), 0);
  // Frames that carried several events (a busy Woxly room coalescing its fan-out).
  const eventsFrames = clients.reduce((a, c) => a + (c?.batches?.() ?? 0), 0);
  await closeAll(clients);

  const measuredSeconds = (sendEnd - tMeasure) / 1000;
  // Every message sent in the measured window should reach every other socket; what has not
  // arrived by the end of the drain counts as infinitely late in the percentiles.
  const expected = measuredSent * (sockets - 1);
  return {
    server: target.name,
    persists: target.persists,
    n,
    sockets,
    senders,
    rate,
    rateCapped,
    sendSeconds: round(measuredSeconds, 1),
    connectMs,
    connectFailures,
    sent: measuredSent,
    acked: measuredAcked,
    ackedPerS: round(measuredAcked / Math.max(measuredSeconds, (lastAckAt - tMeasure) / 1000), 1),
    errors,
    unacked: outstanding,
    receipts,
    expectedReceipts: expected,
    delivered: expected ? round(receipts / expected, 4) : null,
    seqAnomalies: anomalies,
    rateLimitedRetries: rateLimited,
    eventsFrames,
    latencyMs: latency.summary(Math.max(0, expected - receipts)),
    ackLatencyMs: ackLatency.summary(),
    maxScheduleLagMs: round(maxScheduleLagMs, 1),
    generator: { cpuPct: genCpu, eventLoopDelayP99Ms: round(eld.percentile(99) / 1e6, 1) },
    serverCpuPct: cpuPct(s0, s1),
    serverGroupCpuPct: cpuPct(s0, s1, "groupCpu"),
    serverRssMB: s1 ? round(s1.rss / 2 ** 20, 1) : null,
    serverProcesses: perProcess(s0, s1),
    quiesceMs,
    loadAvg: os.loadavg().map((x) => round(x, 2)),
  };
}

/** Server RSS growth for `count` idle sockets, reported per 1,000. */
export async function idleMemory(target, { count = 1000, settleMs = 3000, connectConcurrency = 50 }) {
  const probe = target.probe();
  await quiesce(probe);
  await sleep(settleMs / 2);
  const before = probe?.sample();
  const { clients, connectMs } = await connectAll(target, count, () => {}, connectConcurrency);
  await sleep(settleMs);
  const after = probe?.sample();
  await closeAll(clients);
  const per1000 = before && after ? ((after.rss - before.rss) / count) * 1000 : null;
  return {
    server: target.name,
    sockets: count,
    connectMs,
    rssBeforeMB: before ? round(before.rss / 2 ** 20, 1) : null,
    rssAfterMB: after ? round(after.rss / 2 ** 20, 1) : null,
    per1000MB: per1000 === null ? null : round(per1000 / 2 ** 20, 1),
    processes: (after?.procs ?? []).map((p) => {
      const b = before?.procs.find((x) => x.pid === p.pid);
      return { process: `${p.comm}${p.entry ? " (listener)" : ""}`, pid: p.pid, rssBeforeMB: b ? round(b.rss / 2 ** 20, 1) : null, rssAfterMB: round(p.rss / 2 ** 20, 1) };
    }),
  };
}

/** Time for `count` connected clients to drop and reconnect all at once (and resume, on Woxly). */
export async function reconnectStorm(target, { count = 500, connectConcurrency = 50, timeoutMs = 120_000, onConnected, onReconnected }) {
  await quiesce(target.probe());
  const { clients } = await connectAll(target, count, () => {}, connectConcurrency);
  await sleep(1000);
  await onConnected?.();
  const done = new Samples(count);
  const t0 = performance.now();
  let finished = 0;
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    for (const c of clients) {
      c.reconnect().then(() => {
        done.add(performance.now() - t0);
        if (++finished === count) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
  const timedOut = count - finished;
  const allMs = performance.now() - t0;
  await onReconnected?.();
  await closeAll(clients);
  return { server: target.name, clients: count, allReconnectedMs: round(allMs, 0), perClientMs: done.summary(), timedOut };
}
