/**
 * The outbox across a reload, in Node with a Map in place of sessionStorage: a send that the
 * page lost before its ack comes back as pending, goes out again with the same nonce once the
 * room has answered hello, and leaves the store when acknowledged; what the store holds is
 * checked (bad, foreign and too old entries are dropped).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NONCE_TTL_MS, type Message } from "$shared/chat";
import { ChannelCore } from "./channel";
import { fakeSockets } from "./fake-socket";
import { OUTBOX_MAX_AGE_MS, sessionOutboxStore } from "./outbox-store";

const CHANNEL = "chan1";
const ME = "user-me";

/** A Storage over a Map (what sessionStorage does, for one tab). */
function memoryStorage(): Storage {
  const m = new Map<string, string>();
  return {
    get length() {
      return m.size;
    },
    clear: () => m.clear(),
    getItem: (k) => m.get(k) ?? null,
    key: (i) => [...m.keys()][i] ?? null,
    removeItem: (k) => void m.delete(k),
    setItem: (k, v) => void m.set(k, String(v)),
  };
}

const settle = () => new Promise<void>((r) => setImmediate(r));
const emptyPage = async () => ({ messages: [], headSeq: 0, hasBefore: false, hasAfter: false });

function mine(seq: number, content: string): Message {
  return {
    id: `m${seq}`,
    channelId: CHANNEL,
    seq,
    author: { id: ME, username: "me", displayName: "Me" },
    content,
    createdAt: Date.now(),
    editedAt: null,
    replyTo: null,
    attachments: [],
    mentions: { users: [], roles: [], everyone: false, here: false },
    reactions: [],
    pinned: false,
    system: null,
  };
}

/** A page load: a new core on the same tab storage, online with the room at `headSeq`. */
async function page(storage: Storage) {
  const sockets = fakeSockets();
  const core = new ChannelCore(CHANNEL, ME, { socket: sockets.config, history: emptyPage, outboxStore: sessionOutboxStore(() => storage) });
  core.start();
  const online = async () => {
    const s = sockets.last();
    s.open();
    s.receive({ type: "ready", headSeq: 0, oldestSeq: null, lastReadSeq: 0, me: { userId: ME, perms: "0" } });
    await settle();
    s.receive({ type: "resumed", fromSeq: 1, toSeq: 0 });
  };
  return { core, socket: () => sockets.last(), online };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("the outbox survives a reload", () => {
  it("a send cut off before its ack is shown again, resent with its nonce after hello, and forgotten once acknowledged", async () => {
    const storage = memoryStorage();
    const first = await page(storage);
    // Enter pressed while the socket is still connecting, then the page goes away.
    const sent = first.core.send("typed just before the reload");
    expect(first.socket().sentOf("message.send")).toEqual([]);
    first.core.destroy();

    const second = await page(storage);
    expect(second.core.state.pending.map((p) => [p.nonce, p.content, p.status])).toEqual([[sent.nonce, "typed just before the reload", "sending"]]);
    // Nothing goes out before the room has answered hello (the order of the stream is kept).
    expect(second.socket().sentOf("message.send")).toEqual([]);
    await second.online();
    expect(second.socket().sentOf("message.send")).toEqual([{ type: "message.send", nonce: sent.nonce, content: "typed just before the reload" }]);
    second.socket().receive({ type: "message.ack", nonce: sent.nonce, message: mine(1, "typed just before the reload") });
    expect(second.core.state.pending).toEqual([]);
    second.core.destroy();

    // A third load has nothing left to send.
    const third = await page(storage);
    expect(third.core.state.pending).toEqual([]);
    await third.online();
    expect(third.socket().sentOf("message.send")).toEqual([]);
  });

  it("a failed send stays failed (to retry or discard) after the reload; discarding forgets it", async () => {
    const storage = memoryStorage();
    const first = await page(storage);
    await first.online();
    const p = first.core.send("refused once");
    first.socket().receive({ type: "error", code: "rate_limited", message: "slow down", ref: p.nonce, retryAfterMs: 1000 });
    expect(first.core.state.pending[0]?.status).toBe("failed");
    first.core.destroy();

    const second = await page(storage);
    expect(second.core.state.pending.map((x) => [x.nonce, x.status, x.error])).toEqual([[p.nonce, "failed", "rate_limited"]]);
    await second.online();
    expect(second.socket().sentOf("message.send")).toEqual([]);
    second.core.discard(p.nonce);
    second.core.destroy();
    expect((await page(storage)).core.state.pending).toEqual([]);
  });
});

describe("what the store reads back", () => {
  it("keeps each user's and channel's sends apart", () => {
    const storage = memoryStorage();
    const store = sessionOutboxStore(() => storage);
    const send = { nonce: "n1", content: "hi", replyTo: null, attachments: [], createdAt: Date.now(), status: "sending" as const, error: null, retryAt: null };
    store.save("chan1", "alice", [send]);
    expect(store.load("chan1", "alice")).toEqual([send]);
    expect(store.load("chan1", "bob")).toEqual([]);
    expect(store.load("chan2", "alice")).toEqual([]);
    store.save("chan1", "alice", []);
    expect(storage.length).toBe(0);
  });

  it("drops what is not a send, and sends older than the room's nonce memory allows", () => {
    const storage = memoryStorage();
    let now = 10 * NONCE_TTL_MS;
    const store = sessionOutboxStore(() => storage, () => now);
    const ok = { nonce: "ok", content: "fine", replyTo: null, attachments: [], createdAt: now, status: "sending", error: null, retryAt: null };
    storage.setItem(
      `woxly.outbox.alice.chan1`,
      JSON.stringify([ok, { nonce: 1, content: "x", createdAt: now, attachments: [] }, null, "text", { ...ok, nonce: "old", createdAt: now - OUTBOX_MAX_AGE_MS - 1 }]),
    );
    expect(store.load("chan1", "alice").map((p) => p.nonce)).toEqual(["ok"]);
    expect(OUTBOX_MAX_AGE_MS).toBeLessThan(NONCE_TTL_MS);
    storage.setItem(`woxly.outbox.alice.chan1`, "{not json");
    expect(store.load("chan1", "alice")).toEqual([]);
  });

  it("works without storage (server rendering, a refusing browser)", () => {
    const store = sessionOutboxStore(() => null);
    store.save("c", "u", [{ nonce: "n", content: "x", replyTo: null, attachments: [], createdAt: 0, status: "sending", error: null, retryAt: null }]);
    expect(store.load("c", "u")).toEqual([]);
    const throwing = sessionOutboxStore(() => {
      throw new Error("SecurityError");
    });
    expect(throwing.load("c", "u")).toEqual([]);
  });
});
