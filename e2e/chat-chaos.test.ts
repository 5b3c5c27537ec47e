/**
 * Chaos: 50 clients send into one channel for a minute while `wrangler dev` is killed with
 * SIGKILL and started again (same persisted state) at 2–3 random moments. The clients are the
 * web app's own ChannelCore (web/src/lib/realtime/channel.ts, driven from Node by
 * bench/lib/chat-client.mjs): partysocket, `hello {lastSeq}` after every reconnect, every
 * unacknowledged message resent with its nonce, failed sends retried as a user would.
 *
 * Afterwards: every message was acknowledged; every acknowledged message is in history
 * (GET /api/channels/:id/messages, all pages) exactly once, with its content; history has
 * nothing else and its seqs are gapless; every client applied each event once, in order, and
 * what it applied matches history seq for seq (from a history page on, after a resync); and
 * every client's window is the latest part of history, or all of it without a resync. With 50
 * sockets the room is "busy" and coalesces its fan-out, so this also covers `events` frames
 * under kills and resumes.
 *
 * It runs its own product on a free port and a fresh state dir, so killing it disturbs no
 * other test. Traffic stays on loopback.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChatClient, fetchHistory, loadChannelCore, openChat } from "../bench/lib/chat-client.mjs";
import { seedChannel, type SeededUser } from "../bench/lib/seed.mjs";
import { freePort, startProduct, type Product } from "../scripts/product.mjs";
import type { Message } from "../workers/shared/chat";

const CLIENTS = 50;
const SEND_MS = 60_000;
/** Mean gap between one client's messages: 50 clients ≈ 25 msg/s, under the 10 per 10 s limit each. */
const MEAN_INTERVAL_MS = 2000;
const SETTLE_MS = 120_000;

let product: Product | undefined;
let persistTo = "";
let channelId = "";
let users: SeededUser[] = [];
const clients: ChatClient[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** 2 or 3 kill moments in (8 s, 52 s), at least 14 s apart, so each restart ends before the next. */
function killMoments(): number[] {
  const count = 2 + Math.floor(Math.random() * 2);
  for (;;) {
    const ts = Array.from({ length: count }, () => 8_000 + Math.random() * 44_000).sort((a, b) => a - b);
    if (ts.every((t, i) => i === 0 || t - ts[i - 1]! >= 14_000)) return ts;
  }
}

beforeAll(async () => {
  persistTo = mkdtempSync(path.join(os.tmpdir(), "woxly-chaos-"));
  const seed = seedChannel({ persistTo, userCount: CLIENTS, prefix: "chaos" });
  channelId = seed.channelId;
  users = seed.users;
  const port = await freePort();
  product = await startProduct({ port, persistTo, livekit: false, quiet: true, build: false });
  await loadChannelCore();
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await product?.stop();
  if (persistTo) rmSync(persistTo, { recursive: true, force: true });
}, 60_000);

describe("chat under kill -9", () => {
  it("loses and doubles nothing while the server is killed and restarted", async () => {
    const base = product!.url;
    for (const u of users) clients.push(await openChat({ baseUrl: base, channelId, userId: u.id, cookie: u.cookie, recordView: true }));
    await Promise.all(clients.map((c) => c.whenLive()));

    // content -> who sent it; and every send's promise, which must resolve (acked).
    const sent = new Map<string, { client: number }>();
    const acks: Promise<{ content: string; ack: Message }>[] = [];
    const restarts: { at: number; tookMs: number }[] = [];
    const t0 = Date.now();

    const senders = clients.map(async (c, i) => {
      let k = 0;
      await sleep(Math.random() * MEAN_INTERVAL_MS);
      while (Date.now() - t0 < SEND_MS) {
        const content = `chaos c${i} m${k++} ${Math.random().toString(36).slice(2, 8)}`;
        sent.set(content, { client: i });
        acks.push(c.send(content).then((ack) => ({ content, ack })));
        await sleep(MEAN_INTERVAL_MS * (0.5 + Math.random()));
      }
    });
    const chaos = (async () => {
      for (const at of killMoments()) {
        await sleep(Math.max(0, t0 + at - Date.now()));
        const t = Date.now();
        await product!.restartWorkers({ hard: true });
        restarts.push({ at: t - t0, tookMs: Date.now() - t });
      }
    })();
    await Promise.all([...senders, chaos]);
    expect(restarts.length).toBeGreaterThanOrEqual(2);

    // Every send is acknowledged in the end (clients resend until they are).
    let timer: NodeJS.Timeout | undefined;
    const acked = await Promise.race([
      Promise.all(acks),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const open = clients.reduce((n, c) => n + c.unacked, 0);
          reject(new Error(`${open} messages still unacknowledged ${SETTLE_MS / 1000} s after sending stopped`));
        }, SETTLE_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    expect(acked.length).toBe(sent.size);

    // History over HTTP, every page.
    const { messages: history, headSeq } = await fetchHistory(base, channelId, users[0]!.cookie);
    // Every client has caught up with the head.
    await until("every client to reach the head", () => clients.every((c) => c.live && c.lastSeq === headSeq), 60_000);

    // History: gapless seqs 1..head (this channel only ever gets message.created events).
    expect(history.map((m) => m.seq)).toEqual(Array.from({ length: headSeq }, (_, i) => i + 1));
    const byId = new Map(history.map((m) => [m.id, m]));
    expect(byId.size).toBe(history.length);
    const contentCount = new Map<string, number>();
    for (const m of history) contentCount.set(m.content, (contentCount.get(m.content) ?? 0) + 1);

    // Every acknowledged message exists exactly once, as acknowledged.
    const problems: string[] = [];
    for (const { content, ack } of acked) {
      const stored = byId.get(ack.id);
      if (!stored) problems.push(`acked message ${ack.id} (seq ${ack.seq}, "${content}") is not in history`);
      else if (stored.seq !== ack.seq || stored.content !== content) problems.push(`message ${ack.id} differs from its ack`);
      const copies = contentCount.get(content) ?? 0;
      if (copies !== 1) problems.push(`"${content}" is in history ${copies} times`);
    }
    // …and history holds nothing that was not sent.
    for (const m of history) if (!sent.has(m.content)) problems.push(`unexpected message in history: seq ${m.seq} "${m.content}"`);
    expect(problems).toEqual([]);
    expect(history.length).toBe(sent.size);

    // Every client: each event applied once, in order, as in history; the window is history's
    // latest part (all of it unless a resync restarted the client from a history page).
    const seqToId = new Map(history.map((m) => [m.seq, m.id]));
    for (const [i, c] of clients.entries()) {
      expect(c.anomalies, `client ${i} saw gaps/duplicates while live`).toEqual([]);
      const seqs = c.view.map((v) => v.seq);
      for (let j = 1; j < c.view.length; j++) {
        const [prev, v] = [c.view[j - 1]!, c.view[j]!];
        // Only a resync (a restart from a newer history page) may skip ahead; nothing goes back.
        if (v.seq !== prev.seq + 1) expect(v.epoch > prev.epoch && v.seq > prev.seq, `client ${i} view: ${prev.seq} then ${v.seq}`).toBe(true);
      }
      if (c.resyncs === 0) expect(seqs, `client ${i} view`).toEqual(Array.from({ length: headSeq }, (_, j) => j + 1));
      const mismatched = c.view.filter((v) => seqToId.get(v.seq) !== v.id);
      expect(mismatched, `client ${i} view differs from history`).toEqual([]);
      const window = c.core.state.messages.map((m) => `${m.seq}:${m.id}`);
      expect(window, `client ${i} window`).toEqual(history.slice(history.length - window.length).map((m) => `${m.seq}:${m.id}`));
      if (c.resyncs === 0) expect(window.length, `client ${i} window size`).toBe(history.length);
    }

    const reconnects = clients.reduce((n, c) => n + c.connects - 1, 0);
    const overlap = clients.reduce((n, c) => n + c.resumeOverlap, 0);
    const resyncs = clients.reduce((n, c) => n + c.resyncs, 0);
    const rateLimited = clients.reduce((n, c) => n + c.errors.filter((e) => e.code === "rate_limited").length, 0);
    // 50 sockets make a busy room: part of the fan-out came as coalesced `events` frames, and
    // the checks above held for them too.
    const batches = clients.reduce((n, c) => n + c.batches, 0);
    expect(batches).toBeGreaterThan(0);
    console.log(
      `[chaos] ${sent.size} messages from ${CLIENTS} clients in ${SEND_MS / 1000} s; restarts at ${restarts
        .map((r) => `${(r.at / 1000).toFixed(1)} s (back in ${(r.tookMs / 1000).toFixed(1)} s)`)
        .join(", ")}; ${reconnects} reconnects, ${resyncs} resyncs, ${overlap} live events overlapping a replay, ${rateLimited} rate-limited resends, ${batches} events frames; head ${headSeq}`,
    );
  }, 420_000);
});
