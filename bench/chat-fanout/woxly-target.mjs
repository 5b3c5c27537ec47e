// The Woxly side of the fan-out benchmark: the web app's own ChannelCore per client
// (bench/lib/chat-client.mjs) against a product started with scripts/product.mjs on a seeded
// channel. Every message a client sends is written to the ChannelRoom's SQLite before the room
// acknowledges or broadcasts it.
import { loadChannelCore, openChat } from "../lib/chat-client.mjs";
import { groupProcesses, listeningPorts, pgrpOf, pidListeningOn, serverProbe } from "../lib/stats.mjs";

// The shared module imports its siblings without extensions, which Node's type stripping cannot
// resolve: the constants come from the same esbuild bundle as the client core.
const { RATE_LIMIT_MESSAGES, RATE_WINDOW_MS } = await loadChannelCore();

/**
 * `wrangler dev` runs two workerd processes: a proxy listening on the public port, and the
 * workers behind it on a random loopback port. This finds that inner port (the one of the
 * other workerd that answers /api/health), so a run can measure what the dev proxy costs.
 * Production has no such proxy.
 */
export async function innerWorkerdUrl(publicPort) {
  const entry = pidListeningOn(publicPort);
  if (!entry) return undefined;
  const others = groupProcesses(pgrpOf(entry), /workerd/).filter((p) => p.pid !== entry);
  for (const { pid } of others) {
    for (const port of listeningPorts(pid)) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return `http://127.0.0.1:${port}`;
      } catch {}
    }
  }
  return undefined;
}

/** Messages each client's core keeps in its window (the rest of the stream flows through). */
const WINDOW_LIMIT = 50;

/**
 * A fan-out target (see fanout.mjs) for a running product and a seeded channel. `port` is
 * the public port (its process group is what gets measured); `url` may point past the proxy.
 */
export function woxlyTarget({ url, port, channelId, users, name = "woxly" }) {
  return {
    name,
    url,
    port,
    persists: true,
    probe: () => serverProbe({ port, comm: /workerd/ }),
    // The per-member send limit is RATE_LIMIT_MESSAGES per RATE_WINDOW_MS (sliding) per
    // channel; each sending user stays at 80 % of it, so the bench never hits it.
    maxRatePerSender: (0.8 * RATE_LIMIT_MESSAGES * 1000) / RATE_WINDOW_MS,
    maxSenders: users.length,
    async connect(i, onMessage) {
      const user = users[i % users.length];
      const client = await openChat({
        baseUrl: url,
        channelId,
        userId: user.id,
        cookie: user.cookie,
        onMessage,
        // Up to a thousand clients share this process: each core keeps a short window, so their
        // memory stays bounded; every event still goes through its sequencer.
        windowLimit: WINDOW_LIMIT,
      });
      const timeout = new Promise((_, reject) => {
        const t = setTimeout(() => reject(new Error("not live within 30 s")), 30_000);
        t.unref();
      });
      try {
        await Promise.race([client.whenLive(), timeout]);
      } catch (e) {
        client.close();
        throw e;
      }
      return {
        userKey: user.id,
        send: (content) => client.send(content),
        reconnect: () => client.reconnect(),
        anomalies: () => client.anomalies.length,
        rateLimited: () => client.errors.filter((e) => e.code === "rate_limited").length,
        batches: () => client.batches,
        close: () => client.close(),
      };
    },
  };
}
