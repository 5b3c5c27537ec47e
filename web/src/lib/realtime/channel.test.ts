/**
 * ChannelCore in Node with a fake socket and a fake history: the resume handshake, events in
 * seq order whatever the socket does, a gap asked for again with `hello`, a resync past
 * MAX_BUFFERED, final closes — and the outbox under any interleaving of sends, acks,
 * failures, retries, discards and reconnects, against a separately written model.
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, type Mock, vi } from "vitest";
import type { HistoryPage, Message } from "$shared/chat";
import { ChannelCore, GAP_WAIT_MS, type HistoryAt, SEND_TIMEOUT_MS } from "./channel";
import { fakeSockets, type FakeSocket } from "./fake-socket";
import { MAX_BUFFERED } from "./sequencer";

const CHANNEL = "chan1";
const ME = "user-me";
const OTHER = { id: "user-other", username: "other", displayName: "Other" };

function message(seq: number, over: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    channelId: CHANNEL,
    seq,
    author: OTHER,
    content: `message ${seq}`,
    createdAt: 1_700_000_000_000 + seq,
    editedAt: null,
    replyTo: null,
    attachments: [],
    mentions: { users: [], roles: [], everyone: false, here: false },
    reactions: [],
    pinned: false,
    system: null,
    ...over,
  };
}

const created = (seq: number, over: Partial<Message> = {}) => ({ type: "message.created", seq, message: message(seq, over) });
const ready = (headSeq: number) => ({ type: "ready", headSeq, oldestSeq: headSeq ? 1 : null, lastReadSeq: 0, me: { userId: ME, perms: "0" } });
const page = (headSeq: number, count = Math.min(headSeq, 50)): HistoryPage => ({
  messages: Array.from({ length: count }, (_, i) => message(headSeq - count + 1 + i)),
  headSeq,
  hasBefore: headSeq > count,
  hasAfter: false,
});

/** Lets pending promise callbacks (the history load) run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

interface Rig {
  core: ChannelCore;
  socket: () => FakeSocket;
  history: Mock<(channelId: string, at: HistoryAt) => Promise<HistoryPage>>;
  applied: number[];
}

function rig(headSeq = 0): Rig {
  const sockets = fakeSockets();
  const history = vi.fn(async (_channelId: string, _at: HistoryAt) => page(headSeq));
  const applied: number[] = [];
  const core = new ChannelCore(CHANNEL, ME, { socket: sockets.config, history, trace: { applied: (e) => applied.push(e.seq) } });
  core.start();
  return { core, socket: () => sockets.last(), history, applied };
}

/** First connect: ready, the latest page over HTTP, hello from its head, resumed. */
async function goOnline(r: Rig, headSeq: number): Promise<void> {
  const s = r.socket();
  s.open();
  s.receive(ready(headSeq));
  await settle();
  expect(s.sentOf("hello").at(-1)).toEqual({ type: "hello", lastSeq: headSeq });
  s.receive({ type: "resumed", fromSeq: headSeq + 1, toSeq: headSeq });
  expect(r.core.state.connection).toBe("online");
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("ChannelCore: the stream", () => {
  it("connects, loads the latest page and resumes from its head", async () => {
    const r = rig(3);
    expect(r.core.state.connection).toBe("connecting");
    await goOnline(r, 3);
    expect(r.history).toHaveBeenCalledWith(CHANNEL, {});
    expect(r.core.state.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(r.core.state.loadingInitial).toBe(false);
  });

  it("applies events that arrive out of order and twice exactly once, in order", async () => {
    const r = rig(0);
    await goOnline(r, 0);
    for (const seq of [2, 1, 2, 4, 3, 1, 5]) r.socket().receive(created(seq));
    r.socket().receive({ type: "events", events: [created(5), created(6)] });
    expect(r.applied).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.core.state.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.core.state.lastAppended.map((m) => m.seq)).toEqual([6]);
  });

  it("asks for a gap again with hello when it is not filled in time", async () => {
    const r = rig(0);
    await goOnline(r, 0);
    r.socket().receive(created(1));
    r.socket().receive(created(3));
    const hellos = r.socket().sentOf("hello").length;
    vi.advanceTimersByTime(GAP_WAIT_MS - 1);
    expect(r.socket().sentOf("hello").length).toBe(hellos);
    vi.advanceTimersByTime(1);
    expect(r.socket().sentOf("hello").at(-1)).toEqual({ type: "hello", lastSeq: 1 });
    // The replay fills it.
    r.socket().receive(created(2));
    r.socket().receive(created(3));
    expect(r.applied).toEqual([1, 2, 3]);
  });

  it("sends no hello for a gap that fills in time", async () => {
    const r = rig(0);
    await goOnline(r, 0);
    const hellos = r.socket().sentOf("hello").length;
    r.socket().receive(created(2));
    r.socket().receive(created(1));
    vi.advanceTimersByTime(GAP_WAIT_MS * 2);
    expect(r.socket().sentOf("hello").length).toBe(hellos);
  });

  it("reloads over HTTP once more than MAX_BUFFERED events wait behind a gap", async () => {
    const r = rig(0);
    await goOnline(r, 0);
    const head = MAX_BUFFERED + 2;
    r.history.mockImplementation(async () => page(head));
    for (let seq = 2; seq <= head; seq++) r.socket().receive(created(seq));
    expect(r.history).toHaveBeenCalledTimes(2);
    await settle();
    // The window is the latest page, and the stream continues from its head.
    expect(r.socket().sentOf("hello").at(-1)).toEqual({ type: "hello", lastSeq: head });
    expect(r.core.state.messages.at(-1)?.seq).toBe(head);
    expect(r.applied).toEqual([]);
  });

  it("reloads on resync and resumes from the new head", async () => {
    const r = rig(2);
    await goOnline(r, 2);
    r.history.mockImplementation(async () => page(1500));
    r.socket().receive({ type: "resync", reason: "gap_too_large", headSeq: 1500 });
    await settle();
    expect(r.socket().sentOf("hello").at(-1)).toEqual({ type: "hello", lastSeq: 1500 });
    expect(r.core.state.hasBefore).toBe(true);
  });

  it("resumes after a reconnect from the last applied seq, without reloading", async () => {
    const r = rig(0);
    await goOnline(r, 0);
    r.socket().receive(created(1));
    expect(r.socket().drop(1006)).toBe(true);
    expect(r.core.state.connection).toBe("reconnecting");
    r.socket().open();
    r.socket().receive(ready(2));
    expect(r.socket().sentOf("hello").at(-1)).toEqual({ type: "hello", lastSeq: 1 });
    r.socket().receive(created(2));
    r.socket().receive({ type: "resumed", fromSeq: 2, toSeq: 2 });
    expect(r.core.state.connection).toBe("online");
    expect(r.history).toHaveBeenCalledTimes(1);
    expect(r.applied).toEqual([1, 2]);
  });

  it.each([
    [4401, "session_ended"],
    [4403, "access_lost"],
    [4404, "gone"],
    [4400, "session_ended"],
  ] as const)("stops for good on close %i (%s)", async (code, reason) => {
    const r = rig(0);
    await goOnline(r, 0);
    expect(r.socket().drop(code)).toBe(false);
    expect(r.core.state.connection).toBe("closed");
    expect(r.core.state.closedReason).toBe(reason);
    expect(r.socket().closedByClient).toBe(true);
  });

  it("ignores a malformed frame and goes on", async () => {
    const r = rig(0);
    await goOnline(r, 0);
    r.socket().receive("{not json");
    r.socket().receive({ type: "message.created", seq: 1, message: { id: "m1" } });
    r.socket().receive({ type: "nope" });
    r.socket().receiveBinary();
    expect(console.warn).toHaveBeenCalledTimes(4);
    r.socket().receive(created(1));
    expect(r.applied).toEqual([1]);
  });

  it("keeps at most windowLimit messages, the latest ones", async () => {
    const sockets = fakeSockets();
    const core = new ChannelCore(CHANNEL, ME, { socket: sockets.config, history: async () => page(3), windowLimit: 4 });
    core.start();
    const s = sockets.last();
    s.open();
    s.receive(ready(3));
    await settle();
    expect(core.state.hasBefore).toBe(false);
    for (const seq of [4, 5, 6]) s.receive(created(seq));
    expect(core.state.messages.map((m) => m.seq)).toEqual([3, 4, 5, 6]);
    expect(core.state.hasBefore).toBe(true);
    // A dropped message is gone from the index too: an edit of it changes nothing.
    s.receive({ type: "message.updated", seq: 7, message: message(1, { content: "edited" }) });
    expect(core.state.messages.map((m) => m.seq)).toEqual([3, 4, 5, 6]);
  });

  it("shows the user's own message at its ack, once", async () => {
    const r = rig(0);
    await goOnline(r, 0);
    const p = r.core.send("hello there");
    expect(r.core.state.pending.map((x) => x.nonce)).toEqual([p.nonce]);
    const mine = message(1, { author: { id: ME, username: "me", displayName: "Me" }, content: "hello there" });
    r.socket().receive({ type: "message.ack", nonce: p.nonce, message: mine });
    expect(r.core.state.pending).toEqual([]);
    r.socket().receive({ type: "message.created", seq: 1, message: mine });
    expect(r.core.state.messages.map((m) => m.id)).toEqual(["m1"]);
    // Not announced: it is the user's own.
    expect(r.core.state.lastAppended).toEqual([]);
  });
});

// --- the outbox under any interleaving ---------------------------------------------------

type Action =
  | { kind: "send" }
  | { kind: "ack"; pick: number; seqBump: boolean }
  | { kind: "fail"; pick: number; code: "rate_limited" | "forbidden" }
  | { kind: "timeout" }
  | { kind: "retry"; pick: number }
  | { kind: "discard"; pick: number }
  | { kind: "reconnect" };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.constant<Action>({ kind: "send" }),
  fc.record({ kind: fc.constant("ack" as const), pick: fc.nat(), seqBump: fc.boolean() }),
  fc.record({ kind: fc.constant("fail" as const), pick: fc.nat(), code: fc.constantFrom("rate_limited" as const, "forbidden" as const) }),
  fc.constant<Action>({ kind: "timeout" }),
  fc.record({ kind: fc.constant("retry" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("discard" as const), pick: fc.nat() }),
  fc.constant<Action>({ kind: "reconnect" }),
);

/** The model: what each nonce should be, written from the protocol rules, not from the core. */
interface ModelSend {
  content: string;
  status: "sending" | "failed";
  /** Transmitted since it last became `sending` (a timeout can fail it). */
  inFlight: boolean;
}

describe("ChannelCore: the outbox", () => {
  it("confirms each nonce at most once and retries failed sends with the same nonce", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { maxLength: 40 }), async (actions) => {
        vi.clearAllTimers();
        const r = rig(0);
        await goOnline(r, 0);
        const model = new Map<string, ModelSend>();
        const everSent = new Map<string, string>(); // nonce -> content, from every message.send frame
        const confirmed = new Map<string, number>(); // nonce -> times the outbox gave it up to an ack
        let seq = 0;
        let k = 0;
        let online = true;
        let expectedFrames = 0;

        const transmitted = () => r.socket().sentOf("message.send").map((f) => ({ nonce: String(f.nonce), content: String(f.content) }));
        let seen = 0;
        const collect = () => {
          const all = transmitted();
          for (const f of all.slice(seen)) {
            // A nonce always goes out with the content it was made for.
            expect(everSent.get(f.nonce) ?? f.content).toBe(f.content);
            everSent.set(f.nonce, f.content);
          }
          seen = all.length;
        };
        const transmitNow = (nonce: string) => {
          const m = model.get(nonce)!;
          if (online) {
            m.inFlight = true;
            expectedFrames++;
          }
        };

        for (const a of actions) {
          const pending = r.core.state.pending;
          const pick = (i: number) => pending[i % Math.max(1, pending.length)];
          switch (a.kind) {
            case "send": {
              const content = `c${k++}`;
              const p = r.core.send(content);
              model.set(p.nonce, { content, status: "sending", inFlight: false });
              transmitNow(p.nonce);
              break;
            }
            case "ack": {
              // The room acks anything it was sent, also again (a resend of a known nonce).
              const sent = [...everSent.keys()];
              const nonce = sent[a.pick % Math.max(1, sent.length)];
              if (!nonce) break;
              if (a.seqBump || seq === 0) seq++;
              const wasPending = model.has(nonce);
              r.socket().receive({ type: "message.ack", nonce, message: message(seq, { id: `ack-${nonce}`, content: everSent.get(nonce)! }) });
              if (wasPending) {
                model.delete(nonce);
                confirmed.set(nonce, (confirmed.get(nonce) ?? 0) + 1);
              }
              break;
            }
            case "fail": {
              const sent = [...everSent.keys()];
              const nonce = sent[a.pick % Math.max(1, sent.length)];
              if (!nonce) break;
              r.socket().receive({ type: "error", code: a.code, message: "no", ref: nonce, ...(a.code === "rate_limited" ? { retryAfterMs: 500 } : {}) });
              const m = model.get(nonce);
              if (m) {
                m.status = "failed";
                m.inFlight = false;
              }
              break;
            }
            case "timeout":
              vi.advanceTimersByTime(SEND_TIMEOUT_MS);
              for (const m of model.values()) {
                if (m.status === "sending" && m.inFlight) {
                  m.status = "failed";
                  m.inFlight = false;
                }
              }
              break;
            case "retry": {
              const p = pick(a.pick);
              if (!p) break;
              const before = transmitted().length;
              r.core.retry(p.nonce);
              const m = model.get(p.nonce)!;
              m.status = "sending";
              transmitNow(p.nonce);
              const after = transmitted();
              if (online) {
                // The retry went out at once, with the nonce and content it always had.
                expect(after.length).toBe(before + 1);
                expect(after.at(-1)).toEqual({ nonce: p.nonce, content: m.content });
              } else expect(after.length).toBe(before);
              break;
            }
            case "discard": {
              const p = pick(a.pick);
              if (!p) break;
              r.core.discard(p.nonce);
              model.delete(p.nonce);
              break;
            }
            case "reconnect": {
              const s = r.socket();
              s.drop(1006);
              online = false;
              for (const m of model.values()) m.inFlight = false;
              expect(r.core.state.connection).toBe("reconnecting");
              s.open();
              s.receive(ready(seq));
              s.receive({ type: "resumed", fromSeq: seq + 1, toSeq: seq });
              online = true;
              // Everything still `sending` goes out again after the resume; failed ones wait for the user.
              for (const m of model.values()) {
                if (m.status !== "sending") continue;
                m.inFlight = true;
                expectedFrames++;
              }
              break;
            }
          }
          collect();
          expect(transmitted().length).toBe(expectedFrames);
          expect(r.core.state.pending.map((p) => [p.nonce, p.status])).toEqual([...model.entries()].map(([n, m]) => [n, m.status]));
          for (const [nonce, n] of confirmed) {
            expect(n, `nonce ${nonce} confirmed twice`).toBe(1);
            expect(r.core.state.pending.some((p) => p.nonce === nonce)).toBe(false);
          }
          // No message shows twice in the window, however often it was acked.
          const ids = r.core.state.messages.map((m) => m.id);
          expect(new Set(ids).size).toBe(ids.length);
        }
        r.core.destroy();
      }),
      { numRuns: 150 },
    );
  });
});

describe("ChannelCore: connect tickets", () => {
  /** What the socket would connect with now (partysocket asks `query` before every attempt), but the resume's `since`. */
  const query = (s: FakeSocket) => {
    const q = s.options.query;
    const { since: _since, ...rest } = (typeof q === "function" ? q() : q) as Record<string, string>;
    return rest;
  };

  it("reconnects with the ticket from ready while it is good, then by cookie", async () => {
    const r = rig(0);
    expect(query(r.socket())).toEqual({});
    const s = r.socket();
    s.open();
    s.receive({ ...ready(0), ticket: { token: "t1", ttlMs: 60_000 } });
    await settle();
    expect(query(s)).toEqual({ connect_ticket: "t1" });
    vi.advanceTimersByTime(60_001);
    expect(query(s)).toEqual({});
  });

  it("drops the ticket when the room says it is stale (4409, not final) and after an attempt that did not open", async () => {
    const r = rig(0);
    const s = r.socket();
    s.open();
    s.receive({ ...ready(0), ticket: { token: "t1", ttlMs: 600_000 } });
    await settle();
    expect(s.drop(4409)).toBe(true);
    expect(query(s)).toEqual({});
    expect(r.core.state.connection).not.toBe("closed");

    s.open();
    s.receive({ ...ready(0), ticket: { token: "t2", ttlMs: 600_000 } });
    await settle();
    expect(s.drop(1006)).toBe(true);
    // The ticket survives a drop of an open connection ...
    expect(query(s)).toEqual({ connect_ticket: "t2" });
    // ... but not an attempt that never opened (a refused upgrade: 401 invalid_ticket).
    s.drop(1006);
    expect(query(s)).toEqual({});
  });
});

describe("ChannelCore: resume on the upgrade", () => {
  const query = (s: FakeSocket) => {
    const q = s.options.query;
    return typeof q === "function" ? q() : q;
  };

  it("asks for no resume before it has a position, then connects with since = the last applied seq", async () => {
    const r = rig(0);
    const s = r.socket();
    expect(query(s)).toEqual({});
    await goOnline(r, 0);
    s.receive(created(1));
    expect(s.drop(1006)).toBe(true);
    expect(query(s)).toEqual({ since: "1" });
  });

  it("after ready sends no hello: the replay and resumed follow; nothing is lost or applied twice", async () => {
    const r = rig(0);
    await goOnline(r, 0);
    const s = r.socket();
    s.receive(created(1));
    s.drop(1006);
    expect(query(s)).toEqual({ since: "1" });
    const hellos = s.sentOf("hello").length;
    s.open();
    s.receive(ready(3));
    expect(s.sentOf("hello")).toHaveLength(hellos);
    expect(r.core.state.connection).not.toBe("online");
    s.receive(created(2));
    s.receive(created(3));
    // A live event that overlaps the replay is dropped.
    s.receive(created(3));
    s.receive({ type: "resumed", fromSeq: 2, toSeq: 3 });
    expect(r.core.state.connection).toBe("online");
    expect(r.applied).toEqual([1, 2, 3]);
    expect(r.history).toHaveBeenCalledTimes(1);
  });

  it("an attempt made before the first page (no since) says hello once the page is in", async () => {
    const r = rig(0);
    const s = r.socket();
    // The attempt is made before the first page is loaded: no since.
    expect(query(s)).toEqual({});
    s.open();
    s.receive(ready(4));
    await settle();
    expect(s.sentOf("hello")).toEqual([{ type: "hello", lastSeq: 0 }]);
  });

  it("a resync answering the upgrade reloads history, then says hello from the new page", async () => {
    const r = rig(0);
    await goOnline(r, 0);
    const s = r.socket();
    s.drop(1006);
    expect(query(s)).toEqual({ since: "0" });
    r.history.mockImplementation(async () => page(5000));
    s.open();
    s.receive(ready(5000));
    s.receive({ type: "resync", reason: "gap_too_large", headSeq: 5000 });
    await settle();
    expect(s.sentOf("hello").at(-1)).toEqual({ type: "hello", lastSeq: 5000 });
    expect(r.history).toHaveBeenCalledTimes(2);
  });
});
