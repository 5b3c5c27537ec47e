/**
 * The fan-out to every socket uses a list of the object's sockets kept between broadcasts
 * (kit.ts): it must stay right when a socket joins after a fan-out, when one closes (by its
 * client or by the room), and when the room hibernates and wakes with a fresh instance.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { connectRoom, roomStub, say, sleep, world } from "./chat-fixtures";

/** How many sockets a broadcast to all reaches now (the room's own count). */
function fanoutSize(channelId: string) {
  return runInDurableObject(roomStub(channelId), (room) => room.broadcast(JSON.stringify({ type: "typing", userId: "probe", displayName: "probe" })));
}

/** Polls until the room's fan-out reaches `n` sockets (a close reaches the room a moment after the client sends it). */
async function fanoutReaches(channelId: string, n: number): Promise<number> {
  let got = -1;
  for (let i = 0; i < 100; i++) {
    got = await fanoutSize(channelId);
    if (got === n) return got;
    await sleep(20);
  }
  return got;
}

describe("ChannelRoom fan-out list", () => {
  it("stays right across joins, closes and hibernation", async () => {
    const w = await world();
    const a = await connectRoom(w.channelId, w.owner);
    const b = await connectRoom(w.channelId, w.member);
    const m1 = await say(a, "one");
    await b.next("message.created", (f) => f.message.id === m1.id);
    expect(await fanoutSize(w.channelId)).toBe(2);

    // A socket that joins after the list was made is in the next fan-out.
    const c = await connectRoom(w.channelId, w.member);
    const m2 = await say(a, "two");
    await c.next("message.created", (f) => f.message.id === m2.id);
    expect(await fanoutSize(w.channelId)).toBe(3);

    // One its client closes leaves it.
    b.close();
    expect(await fanoutReaches(w.channelId, 2)).toBe(2);
    const m3 = await say(a, "three");
    await c.next("message.created", (f) => f.message.id === m3.id);

    // After hibernation a new instance lists the sockets that hibernated, and new ones join.
    await evictDurableObject(roomStub(w.channelId));
    const d = await connectRoom(w.channelId, w.owner);
    const m4 = await say(a, "four");
    await c.next("message.created", (f) => f.message.id === m4.id);
    await d.next("message.created", (f) => f.message.id === m4.id);
    expect(await fanoutSize(w.channelId)).toBe(3);
    expect([a.closed, c.closed, d.closed]).toEqual([null, null, null]);
  });
});
