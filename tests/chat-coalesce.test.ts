/**
 * Fan-out coalescing in a busy room (ChannelRoom #publish): with 32 or more sockets, events
 * written within the room's window go out together as one `events` frame per socket. The
 * delivery contract must not notice: every socket gets every event once, in seq order, and a
 * socket that resumes while events are queued gets them before `resumed`, never after it.
 * vitest.config.ts slows coalescing down (busy for 5,000 µs per socket — 200 ms for 40 — and
 * a queue held for 200 ms) so the queue is certain to be non-empty where the tests need it.
 */
import { describe, expect, it } from "vitest";
import { busyWindowMs } from "../durable-objects/channel-room";
import { connectRoom, nonce, world, type RoomSocket } from "./chat-fixtures";

const SOCKETS = 40;

async function crowd(channelId: string, user: { token: string }, n: number): Promise<RoomSocket[]> {
  const out: RoomSocket[] = [];
  for (let i = 0; i < n; i++) out.push(await connectRoom(channelId, user));
  return out;
}

/** A channel with SOCKETS listeners and a sender; `primed`: one message has fanned out, so the room is busy. */
async function busyRoom(primed: boolean) {
  const w = await world();
  const sockets = await crowd(w.channelId, w.member, SOCKETS);
  const sender = await connectRoom(w.channelId, w.owner);
  if (primed) {
    sender.send({ type: "message.send", nonce: nonce(), content: "first" }); // fans out at once
    await sender.next("message.ack");
  }
  return { w, sockets, sender };
}

async function createdSeqs(s: RoomSocket, count: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < count; i++) seqs.push((await s.next("message.created")).seq);
  return seqs;
}

describe("fan-out coalescing", () => {
  it("small rooms are never busy; big ones for ~90 µs per socket after a fan-out", () => {
    expect(busyWindowMs(1)).toBe(0);
    expect(busyWindowMs(31)).toBe(0);
    expect(busyWindowMs(40)).toBeCloseTo(3.6);
    expect(busyWindowMs(1000)).toBe(90);
    expect(busyWindowMs(40, 5000)).toBe(200); // what vitest.config.ts sets for these tests
    expect(busyWindowMs(40, 0)).toBe(0);
  });

  it("a burst reaches every socket once, in order, partly as events frames", async () => {
    const { sockets, sender } = await busyRoom(false);
    // The first message fans out at once and sets the window; the next nine arrive inside it.
    for (let i = 0; i < 10; i++) sender.send({ type: "message.send", nonce: nonce(), content: `burst ${i}` });
    for (let i = 0; i < 10; i++) await sender.next("message.ack");
    for (const s of [...sockets, sender]) expect(await createdSeqs(s, 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Unpacked, the frames are exactly the events: no extra copy arrived.
    for (const s of sockets) expect(s.frames.filter((f) => f.type === "message.created")).toHaveLength(10);
    expect(sockets.reduce((n, s) => n + s.batches, 0)).toBeGreaterThan(0);
    for (const s of [...sockets, sender]) s.close();
  });

  it("a socket that connects while events are queued gets them before ready, never after it", async () => {
    const { w, sockets, sender } = await busyRoom(true);
    for (let i = 0; i < 3; i++) sender.send({ type: "message.send", nonce: nonce(), content: `queued ${i}` });
    for (let i = 0; i < 3; i++) await sender.next("message.ack"); // written (and queued)
    const late = await connectRoom(w.channelId, w.member);
    const ready = late.frames.find((f) => f.type === "ready") as Extract<(typeof late.frames)[number], { type: "ready" }>;
    expect(ready.headSeq).toBe(4);
    // One more message: it goes out with whatever was still queued.
    sender.send({ type: "message.send", nonce: nonce(), content: "after" });
    await late.next("message.created", (f) => f.seq === 5);
    const after = late.frames.slice(late.frames.indexOf(ready) + 1).filter((f) => "seq" in f && f.type !== "read.updated") as { seq: number }[];
    expect(after.map((f) => f.seq)).toEqual([5]);
    for (const s of [...sockets, sender, late]) s.close();
  });

  it("a hello while events are queued gets them before resumed, and nothing it had after it", async () => {
    const { w, sockets, sender } = await busyRoom(true);
    const late = sockets[0]!;
    for (let i = 0; i < 5; i++) sender.send({ type: "message.send", nonce: nonce(), content: `queued ${i}` });
    for (let i = 0; i < 5; i++) await sender.next("message.ack"); // written (and queued)
    late.send({ type: "hello", lastSeq: 1 });
    const resumed = await late.next("resumed");
    expect(resumed).toMatchObject({ fromSeq: 2, toSeq: 6 });
    // One more message after the resume: it goes out with whatever was still queued.
    sender.send({ type: "message.send", nonce: nonce(), content: "after" });
    await late.next("message.created", (f) => f.seq === 7);
    const at = late.frames.indexOf(resumed as (typeof late.frames)[number]);
    const after = late.frames.slice(at + 1).filter((f) => "seq" in f && f.type !== "read.updated") as { seq: number }[];
    expect(after.map((f) => f.seq)).toEqual([7]);
    // Applying the client rule (skip seq <= last) gives exactly 1..7 with no gap.
    let last = 0;
    const applied: number[] = [];
    for (const f of late.frames) {
      if (!("seq" in f) || f.type === "read.updated" || f.seq <= last) continue;
      last = f.seq;
      applied.push(f.seq);
    }
    expect(applied).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const s of [...sockets, sender]) s.close();
  });
});
