/**
 * DeskCore: the snapshot becomes the state, queue and call frames follow the protocol, actions
 * settle on their own `done` or `error`, and a reconnect sends nothing stale (the server's new
 * snapshot replaces everything).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { DeskManager, QueueEntry, Ticket, TicketCall } from "$shared/desk";
import { fakeSockets } from "$lib/realtime/fake-socket";
import { DeskActionError, DeskCore } from "./core";

const ME = "u-me";

const entry = (ticketId: string, requestedAt: number, over: Partial<QueueEntry> = {}): QueueEntry => ({
  ticketId,
  channelId: `ch-${ticketId}`,
  visitorName: `Visitor ${ticketId}`,
  requestedAt,
  language: "en",
  pageUrl: "https://shop.example/cart",
  preview: "Where is my order?",
  ...over,
});

const ticket = (id: string, over: Partial<Ticket> = {}): Ticket => ({
  id,
  deskId: "desk1",
  channelId: `ch-${id}`,
  status: "open",
  visitor: { name: `Visitor ${id}`, email: null, pageUrl: null, language: "en", timeZone: "Asia/Bishkek" },
  assigneeId: ME,
  createdAt: 1,
  requestedAt: 2,
  acceptedAt: 3,
  firstResponseAt: null,
  closedAt: null,
  rating: null,
  ratingComment: null,
  ...over,
});

const manager = (userId: string, online = true): DeskManager => ({ userId, username: userId, displayName: userId.toUpperCase(), online, load: 0 });

const call = (ticketId: string, state: TicketCall["state"], over: Partial<TicketCall> = {}): TicketCall => ({
  ticketId,
  state,
  video: false,
  startedBy: "visitor",
  at: 10,
  ...over,
});

function snapshot(over: Record<string, unknown> = {}) {
  return { type: "desk.snapshot", queue: [], mine: [], managers: [manager(ME)], available: false, calls: [], ...over };
}

function open() {
  const sockets = fakeSockets();
  const core = new DeskCore("desk1", ME, { socket: sockets.config });
  const s = sockets.last();
  s.open();
  return { core, s, sockets };
}

/** Lets promise callbacks run. */
const flush = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => {
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("DeskCore", () => {
  it("connects to the desk's support-desk room and takes the snapshot as its state", () => {
    const { core, s } = open();
    expect(s.options.party).toBe("support-desk");
    expect(s.options.room).toBe("desk1");
    expect(core.state.synced).toBe(false);
    s.receive(
      snapshot({
        queue: [entry("t2", 20), entry("t1", 10)],
        mine: [ticket("t3", { acceptedAt: 9 }), ticket("t4", { acceptedAt: 5 }), ticket("t5", { assigneeId: "u-other" })],
        managers: [manager(ME), manager("u-2", false)],
        available: true,
        calls: [call("t3", "ringing"), call("t4", "ended")],
      }),
    );
    const st = core.state;
    expect(st.connection).toBe("online");
    expect(st.synced).toBe(true);
    expect(st.queue.map((e) => e.ticketId)).toEqual(["t1", "t2"]);
    expect(st.mine.map((t) => t.id)).toEqual(["t4", "t3"]);
    expect(st.managers.map((m) => m.userId)).toEqual([ME, "u-2"]);
    expect(st.available).toBe(true);
    expect([...st.calls.keys()]).toEqual(["t3"]);
    expect(s.sent).toEqual([]);
  });

  it("ignores malformed frames without throwing or changing anything", () => {
    const { core, s } = open();
    s.receive(snapshot({ queue: [entry("t1", 1)] }));
    const before = core.state;
    const bad: unknown[] = ["{", "null", { type: "queue.updated", queue: "all" }, { type: "queue.requested" }, { type: "call.updated", call: { ticketId: "t1", state: "maybe" } }, { type: "surprise" }];
    for (const f of bad) expect(() => s.receive(f)).not.toThrow();
    expect(core.state).toBe(before);
  });

  it("follows queue.updated and queue.requested, and tells request listeners once per new request", () => {
    const { core, s } = open();
    const heard: string[] = [];
    core.onRequest((e) => heard.push(e.ticketId));
    s.receive(snapshot({ queue: [entry("t1", 10)] }));
    expect(heard).toEqual([]);
    s.receive({ type: "queue.requested", entry: entry("t2", 20) });
    s.receive({ type: "queue.requested", entry: entry("t0", 5) });
    s.receive({ type: "queue.requested", entry: entry("t2", 20) }); // a repeat: nothing new
    expect(core.state.queue.map((e) => e.ticketId)).toEqual(["t0", "t1", "t2"]);
    expect(heard).toEqual(["t2", "t0"]);
    s.receive({ type: "queue.updated", queue: [entry("t2", 20)] });
    expect(core.state.queue.map((e) => e.ticketId)).toEqual(["t2"]);
    s.receive({ type: "managers.updated", managers: [manager(ME), manager("u-3")] });
    expect(core.state.managers.map((m) => m.userId)).toEqual([ME, "u-3"]);
  });

  it("accepts: ref'd frame out, busy while waiting, the ticket moves to mine, done resolves", async () => {
    const { core, s } = open();
    s.receive(snapshot({ queue: [entry("t1", 10), entry("t2", 20)] }));
    const accepted = core.accept("t1");
    const [frame] = s.sentOf("ticket.accept");
    expect(frame).toMatchObject({ type: "ticket.accept", ticketId: "t1" });
    expect(typeof frame!.ref).toBe("string");
    expect(core.state.busy.has("t1")).toBe(true);
    s.receive({ type: "ticket.updated", ticket: ticket("t1") });
    s.receive({ type: "done", ref: frame!.ref });
    await expect(accepted).resolves.toBeUndefined();
    expect(core.state.busy.size).toBe(0);
    expect(core.state.queue.map((e) => e.ticketId)).toEqual(["t2"]);
    expect(core.state.mine.map((t) => t.id)).toEqual(["t1"]);
  });

  it("accept lost to another manager: rejects with not_found and the entry leaves the queue", async () => {
    const { core, s } = open();
    s.receive(snapshot({ queue: [entry("t1", 10), entry("t2", 20)] }));
    const accepted = core.accept("t1");
    const ref = s.sentOf("ticket.accept")[0]!.ref as string;
    // An unrelated error (no ref, or another ref) settles nothing.
    s.receive({ type: "error", code: "not_found", message: "gone", ref: null });
    s.receive({ type: "error", code: "not_found", message: "gone", ref: "other" });
    expect(core.state.busy.has("t1")).toBe(true);
    s.receive({ type: "error", code: "not_found", message: "taken", ref });
    const err = await accepted.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeskActionError);
    expect((err as DeskActionError).code).toBe("not_found");
    expect(core.state.busy.size).toBe(0);
    expect(core.state.queue.map((e) => e.ticketId)).toEqual(["t2"]);
    expect(core.state.mine).toEqual([]);
    // The server's own queue.updated agrees and changes nothing further.
    s.receive({ type: "queue.updated", queue: [entry("t2", 20)] });
    expect(core.state.queue.map((e) => e.ticketId)).toEqual(["t2"]);
  });

  it("transfer and close take the ticket out of mine when the server says so", async () => {
    const { core, s } = open();
    s.receive(snapshot({ mine: [ticket("t1"), ticket("t2")], managers: [manager(ME), manager("u-2")] }));
    const moved = core.transfer("t1", "u-2");
    expect(s.sentOf("ticket.transfer")[0]).toMatchObject({ ticketId: "t1", toUserId: "u-2" });
    s.receive({ type: "ticket.updated", ticket: ticket("t1", { assigneeId: "u-2" }) });
    s.receive({ type: "done", ref: s.sentOf("ticket.transfer")[0]!.ref });
    await moved;
    const closed = core.close("t2");
    s.receive({ type: "call.updated", call: call("t2", "active") });
    s.receive({ type: "ticket.updated", ticket: ticket("t2", { status: "closed", closedAt: 50 }) });
    s.receive({ type: "done", ref: s.sentOf("ticket.close")[0]!.ref });
    await closed;
    expect(core.state.mine).toEqual([]);
    expect(core.state.calls.size).toBe(0);
  });

  it("follows call.updated: ringing, active, ended; and sends call frames with refs", async () => {
    const { core, s } = open();
    s.receive(snapshot({ mine: [ticket("t1")] }));
    s.receive({ type: "call.updated", call: call("t1", "ringing", { video: true }) });
    expect(core.state.calls.get("t1")).toMatchObject({ state: "ringing", video: true, startedBy: "visitor" });
    const answered = core.answerCall("t1", true);
    expect(s.sentOf("call.answer")[0]).toMatchObject({ ticketId: "t1", accept: true });
    s.receive({ type: "call.updated", call: call("t1", "active", { video: true }) });
    s.receive({ type: "done", ref: s.sentOf("call.answer")[0]!.ref });
    await answered;
    expect(core.state.calls.get("t1")?.state).toBe("active");
    const before = core.state;
    s.receive({ type: "call.updated", call: call("t9", "ended") }); // a call we never saw end: nothing
    expect(core.state).toBe(before);
    void core.endCall("t1").catch(() => {});
    s.receive({ type: "call.updated", call: call("t1", "ended") });
    expect(core.state.calls.size).toBe(0);
    void core.startCall("t1", false).catch(() => {});
    expect(s.sentOf("call.start")[0]).toMatchObject({ ticketId: "t1", video: false });
  });

  it("availability shows at once and goes back when the server refuses", async () => {
    const { core, s } = open();
    s.receive(snapshot());
    const on = core.setAvailable(true);
    expect(core.state.available).toBe(true);
    s.receive({ type: "done", ref: s.sentOf("status.set")[0]!.ref });
    await on;
    const off = core.setAvailable(false);
    s.receive({ type: "error", code: "rate_limited", message: "slow down", ref: s.sentOf("status.set")[1]!.ref });
    await expect(off).rejects.toMatchObject({ code: "rate_limited" });
    expect(core.state.available).toBe(true);
  });

  it("actions while offline fail at once; in-flight ones fail on a drop", async () => {
    const { core, s } = open();
    s.receive(snapshot({ queue: [entry("t1", 10)] }));
    const waiting = core.accept("t1");
    expect(s.drop(1006)).toBe(true);
    await expect(waiting).rejects.toMatchObject({ code: "disconnected" });
    expect(core.state.connection).toBe("reconnecting");
    expect(core.state.synced).toBe(false);
    expect(core.state.busy.size).toBe(0);
    await expect(core.accept("t1")).rejects.toMatchObject({ code: "disconnected" });
  });

  it("a reconnect sends nothing stale: the new snapshot replaces the old state", async () => {
    const { core, s } = open();
    s.receive(snapshot({ queue: [entry("t1", 10)], mine: [ticket("t2")], available: true, calls: [call("t2", "active")] }));
    const sentBefore = s.sent.length;
    s.drop(1006);
    s.reconnect();
    s.open();
    expect(core.state.connection).toBe("online");
    expect(s.sent.length).toBe(sentBefore);
    // While offline t1 was taken, t2 closed, the call ended, and availability went off.
    s.receive(snapshot({ queue: [entry("t3", 30)], mine: [], available: false, calls: [] }));
    await flush();
    expect(core.state.queue.map((e) => e.ticketId)).toEqual(["t3"]);
    expect(core.state.mine).toEqual([]);
    expect(core.state.available).toBe(false);
    expect(core.state.calls.size).toBe(0);
    expect(s.sent.length).toBe(sentBefore);
  });

  it("a final close ends it; destroy closes the socket for good", () => {
    const { core, s, sockets } = open();
    s.receive(snapshot());
    expect(s.drop(4403)).toBe(false);
    expect(core.state.connection).toBe("closed");
    core.destroy();
    expect(sockets.made.length).toBe(1);
    expect(s.closedByClient).toBe(true);
  });
});
