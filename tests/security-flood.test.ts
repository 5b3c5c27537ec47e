/**
 * Threat: one member floods a room or a hub with frames (edits, reaction toggles, pins,
 * typing, read markers, replays, presence changes, junk) until everyone else is starved or
 * pushed past the resume window. Every client frame type has a budget per socket and per
 * member (durable-objects/frame-budget.ts); over it, the frame gets `rate_limited` with
 * `retryAfterMs`, the socket stays up, and other members are served promptly and in order.
 * Replays pay per frame and are capped per minute, across sockets, restarts and reconnects.
 */
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CHAT_FRAME_BUDGET, REPLAY_BASE_COST, REPLAY_BUDGET } from "../durable-objects/channel-room";
import { HUB_FRAME_BUDGET } from "../durable-objects/community-hub";
import { INBOX_FRAME_BUDGET } from "../durable-objects/user-inbox";
import type { InboxServerFrame } from "../workers/shared/calls";
import type { ServerFrame } from "../workers/shared/chat";
import { RESUME_PARAM } from "../workers/shared/realtime";
import { createCommunity, hubPair, openHub } from "./community-fixtures";
import { answer, connectParty, connectRoom, nonce, roomStub, say, seedMessages, sleep, type RoomSocket, world } from "./chat-fixtures";
import { newUser } from "./helpers";

type ErrorFrame = Extract<ServerFrame, { type: "error" }>;
const BURST = 200;

const isRateLimited = (f: ServerFrame): f is ErrorFrame => f.type === "error" && f.code === "rate_limited";

/** Waits until `pred` holds, polling, or fails after `ms`. */
async function until(pred: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The frames of a burst, by type: each with a ref (`b<i>`) where the type has one. */
function burstFrames(type: string, ids: { own: string; other: string }): unknown[] {
  return Array.from({ length: BURST }, (_, i) => {
    const ref = `b${i}`;
    switch (type) {
      case "typing.start":
        return { type, ref };
      case "read.mark":
        return { type, seq: 0, ref };
      case "reaction.toggle":
        return { type: i % 2 ? "reaction.remove" : "reaction.add", ref, messageId: ids.other, emoji: "👍" };
      case "pin.toggle":
        return { type: i % 2 ? "pin.remove" : "pin.add", ref, messageId: ids.other };
      case "message.edit":
        return { type, ref, id: ids.own, content: `edit number ${i}` };
      case "message.delete":
        return { type, ref, id: `missing${i}` };
      case "hello":
        return { type, ref };
      case "message.send":
        return { type, nonce: `${ref}-${nonce()}`, content: `flood ${i}` };
      case "junk":
        return "{not json";
      default:
        throw new Error(type);
    }
  });
}

describe("socket flood budgets", () => {
  for (const type of ["typing.start", "read.mark", "reaction.toggle", "pin.toggle", "message.edit", "message.delete", "hello", "message.send", "junk"]) {
    it(`a burst of ${type} gets rate_limited; the socket stays, others are served promptly and in order`, async () => {
      const w = await world();
      const flooder = await connectRoom(w.channelId, w.owner);
      const other = await connectRoom(w.channelId, w.member);
      const watcher = await connectRoom(w.channelId, w.member);
      const own = await say(flooder, "the flooder's own message");
      const theirs = await say(other, "someone else's message");
      const sentAt = Date.now();
      for (const f of burstFrames(type, { own: own.id, other: theirs.id })) {
        if (typeof f === "string") flooder.sendRaw(f);
        else flooder.send(f);
      }
      // Another member talks during the flood: everyone gets it within 2 s, in seq order.
      const mine = [await say(other, "still here 1"), await say(other, "still here 2")];
      for (const s of [watcher, flooder]) {
        for (const m of mine) await s.next("message.created", (f) => f.message.id === m.id, 2000);
      }
      expect(Date.now() - sentAt).toBeLessThan(2000);
      for (const s of [watcher, other]) {
        const seqs = s.frames.flatMap((f) => ("seq" in f && f.type !== "read.updated" ? [f.seq] : []));
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        expect(new Set(seqs).size).toBe(seqs.length);
      }
      await until(() => flooder.frames.some(isRateLimited), 5000, "rate_limited");
      const limited = flooder.frames.filter(isRateLimited);
      expect(limited[0]!.retryAfterMs).toBeGreaterThan(0);
      if (type !== "junk") expect(limited[0]!.ref).toMatch(/^b\d+/);
      expect(flooder.closed).toBeNull();
      // Once the budget is back, the same socket is served as before: wait what it says, resend.
      await sleep(Math.max(...limited.map((f) => f.retryAfterMs ?? 0)));
      const n = nonce();
      flooder.send({ type: "message.send", nonce: n, content: "after the flood" });
      let reply = await answer(flooder, n);
      if (reply.type === "error" && reply.code === "rate_limited") {
        await sleep(reply.retryAfterMs ?? 0);
        flooder.send({ type: "message.send", nonce: n, content: "after the flood" });
        reply = await answer(flooder, n);
      }
      expect(reply.type).toBe("message.ack");
    });
  }

  it("two sockets of one member share the member's budget; another member's socket has its own", async () => {
    const w = await world();
    const a = await connectRoom(w.channelId, w.owner);
    const b = await connectRoom(w.channelId, w.owner);
    const stranger = await connectRoom(w.channelId, w.member);
    const started = Date.now();
    /** Sends BURST read markers with refs and counts how many were served (read.updated) before all were answered. */
    const burst = async (s: RoomSocket, tag: string) => {
      for (let i = 0; i < BURST; i++) s.send({ type: "read.mark", seq: 0, ref: `${tag}${i}` });
      await until(() => s.frames.filter((f) => f.type === "read.updated" || (f.type === "error" && f.ref?.startsWith(tag))).length >= BURST, 5000, tag);
      return s.frames.filter((f) => f.type === "read.updated").length;
    };
    const servedA = await burst(a, "a");
    const servedB = await burst(b, "b");
    const elapsed = Date.now() - started;
    const servedStranger = await burst(stranger, "s");
    const refill = (perSecond: number) => Math.ceil((perSecond * elapsed) / 1000) + 1;
    const { connection, user } = CHAT_FRAME_BUDGET;
    // A alone is held by its socket's bucket; B by what A left of the member's bucket.
    expect(servedA).toBeGreaterThanOrEqual(connection.capacity);
    expect(servedA).toBeLessThanOrEqual(connection.capacity + refill(connection.perSecond));
    expect(servedA + servedB).toBeLessThanOrEqual(user.capacity + refill(user.perSecond));
    expect(servedB).toBeLessThan(connection.capacity);
    // Another member's socket gets a full socket's worth.
    expect(servedStranger).toBeGreaterThanOrEqual(connection.capacity);
    for (const s of [a, b, stranger]) expect(s.closed).toBeNull();
  });

  it("the budget survives hibernation: an evicted room still remembers a socket that flooded", async () => {
    const w = await world();
    const a = await connectRoom(w.channelId, w.owner);
    for (let i = 0; i < BURST; i++) a.send({ type: "typing.start", ref: `t${i}` });
    await until(() => a.frames.some(isRateLimited), 5000, "rate_limited");
    await evictDurableObject(roomStub(w.channelId)); // the instance goes; the socket hibernates
    // A frame that costs more than the little refilled since: refused, not "not_found" (which
    // is what a fresh budget would answer for a message that does not exist).
    a.send({ type: "pin.add", ref: "after", messageId: "missing" });
    const f = await a.nextWhere((f) => f.type === "error" && f.ref === "after");
    expect(f).toMatchObject({ code: "rate_limited" });
    expect(a.closed).toBeNull();
  });

  it("hello replays cost what they send and are capped per minute, across sockets, restarts and reconnects", async () => {
    const w = await world();
    const head = await seedMessages(w.channelId, 1000);
    const cost = head + REPLAY_BASE_COST;
    const a = await connectRoom(w.channelId, w.member);
    const started = Date.now();
    let replayed = 0;
    let refused: ErrorFrame | null = null;
    for (let i = 0; i < 10 && !refused; i++) {
      a.send({ type: "hello", lastSeq: 0, ref: `h${i}` });
      const f = await a.nextWhere((f) => f.type === "resumed" || (f.type === "error" && f.ref === `h${i}`), 15_000);
      if (f.type === "resumed") replayed += head;
      else refused = f as ErrorFrame;
    }
    expect(refused).toMatchObject({ code: "rate_limited" });
    expect(refused!.retryAfterMs).toBeGreaterThan(0);
    const allowance = REPLAY_BUDGET.capacity + (REPLAY_BUDGET.perSecond * (Date.now() - started)) / 1000;
    expect(replayed).toBeGreaterThan(0);
    expect((replayed / head) * cost).toBeLessThanOrEqual(allowance);
    // The member's other socket shares the cap.
    const b = await connectRoom(w.channelId, w.member);
    b.send({ type: "hello", lastSeq: 0, ref: "hb" });
    expect(await b.nextWhere((f) => f.type === "error" && f.ref === "hb")).toMatchObject({ code: "rate_limited" });
    // Closing every socket and restarting the room does not reset it.
    a.close();
    b.close();
    await evictDurableObject(roomStub(w.channelId), { webSockets: "close" });
    const c = await connectRoom(w.channelId, w.member);
    c.send({ type: "hello", lastSeq: 0, ref: "hc" });
    expect(await c.nextWhere((f) => f.type === "error" && f.ref === "hc")).toMatchObject({ code: "rate_limited" });
    // A resume on the upgrade (?since=) pays from the same budget: refused (ref null), nothing replayed.
    const d = await connectParty<ServerFrame>(`/parties/channel-room/${w.channelId}?${RESUME_PARAM}=0`, w.member);
    expect(await d.next("error")).toMatchObject({ code: "rate_limited", ref: null });
    expect(d.frames.some((f) => f.type === "message.created" || f.type === "resumed")).toBe(false);
    d.close();
    // Small resumes are cheap and the socket does other work meanwhile.
    await say(c, "still talking");
    expect(c.closed).toBeNull();
    // Another member is not affected.
    const o = await connectRoom(w.channelId, w.owner);
    o.send({ type: "hello", lastSeq: 1 });
    expect(await o.next("resumed", undefined, 15_000)).toEqual({ type: "resumed", fromSeq: 2, toSeq: head + 1 });
  });
});

describe("hub and inbox flood budgets", () => {
  it("a presence.set flood gets rate_limited; the socket stays and others still see changes", async () => {
    const { owner, member, a, b } = await hubPair();
    for (let i = 0; i < BURST / 2; i++) a.send({ type: "presence.set", status: i % 2 ? "dnd" : "online", ref: `p${i}` });
    const limited = await a.next("error", (f) => f.code === "rate_limited", 5000);
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    expect(limited.ref).toMatch(/^p\d+$/);
    // At most a bucket's worth of presence changes went out.
    await sleep(100);
    const seen = b.frames.filter((f) => f.type === "presence.updated" && f.userId === owner.id).length;
    expect(seen).toBeLessThanOrEqual(Math.ceil(HUB_FRAME_BUDGET.connection.capacity / HUB_FRAME_BUDGET.costs["presence.set"]) + 2);
    // Others are still served at once, and so is the flooder once the budget is back.
    b.send({ type: "presence.set", status: "dnd" });
    await a.next("presence.updated", (f) => f.userId === member.id && f.status === "dnd", 2000);
    expect(a.closed).toBeNull();
    const waits = a.frames.flatMap((f) => (f.type === "error" && f.code === "rate_limited" ? [f.retryAfterMs ?? 0] : []));
    await sleep(Math.max(...waits) + 100);
    a.send({ type: "presence.set", status: "invisible" });
    await b.next("presence.updated", (f) => f.userId === owner.id && f.status === "offline", 2000);
  });

  it("junk and channel.read floods on the hub are limited too", async () => {
    const owner = await newUser();
    const { community, channels } = await createCommunity(owner);
    const a = await openHub(owner, community.id);
    await a.next("state.synced");
    for (let i = 0; i < BURST; i++) a.send({ type: "channel.read", channelId: channels[0]!.id, seq: 0, ref: `r${i}` });
    await a.next("error", (f) => f.code === "rate_limited", 5000);
    const b = await openHub(owner, community.id); // the member's second socket: the shared bucket is empty
    await b.next("state.synced");
    for (let i = 0; i < 50; i++) b.send("{junk");
    const f = await b.next("error", (f) => f.code === "rate_limited", 5000);
    expect(f.retryAfterMs).toBeGreaterThan(0);
    expect(a.closed).toBeNull();
    expect(b.closed).toBeNull();
  });

  it("the inbox limits pings per user, across tabs", async () => {
    const u = await newUser();
    const tab1 = await connectParty<InboxServerFrame>(`/parties/user-inbox/${u.id}`, u);
    const tab2 = await connectParty<InboxServerFrame>(`/parties/user-inbox/${u.id}`, u);
    for (let i = 0; i < INBOX_FRAME_BUDGET.user.capacity; i++) tab1.send({ type: "ping" });
    await until(() => tab1.frames.filter((f) => f.type === "pong").length >= INBOX_FRAME_BUDGET.user.capacity - 1, 5000, "pongs");
    for (let i = 0; i < 10; i++) tab2.send({ type: "ping" });
    const limited = await tab2.nextWhere((f) => f.type === "error" && f.code === "rate_limited");
    expect(limited).toMatchObject({ code: "rate_limited" });
    expect(tab2.closed).toBeNull();
  });
});
