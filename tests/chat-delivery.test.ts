/**
 * The ChannelRoom delivery contract over real WebSockets: seq order, ack after write, nonce
 * idempotency across restarts, resume with a gap and with too large a gap, and hibernation
 * keeping identity and permissions.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChannelEvent, ServerFrame } from "../workers/shared/chat";
import { P } from "../workers/shared/permissions";
import { exports } from "cloudflare:workers";
import { RESUME_PARAM } from "../workers/shared/realtime";
import { addRecipient, answer, connectParty, connectRoom, makeChannel, nonce, roomStub, say, seedMessages, setOverwrite, sleep, world } from "./chat-fixtures";
import { ORIGIN, newUser } from "./helpers";

const isEvent = (f: ServerFrame): f is ChannelEvent & ServerFrame => "seq" in f && f.type !== "read.updated";

function messageCount(channelId: string, where = "1=1", ...binds: string[]) {
  return runInDurableObject(roomStub(channelId), (_i, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM messages WHERE ${where}`, ...binds).one().n);
}

describe("ChannelRoom delivery contract", () => {
  it("says ready with the head, assigns gapless seqs, and every socket sees the same order", async () => {
    const w = await world();
    const a = await connectRoom(w.channelId, w.owner);
    const b = await connectRoom(w.channelId, w.member);
    expect(a.frames[0]).toMatchObject({ type: "ready", headSeq: 0, oldestSeq: null, lastReadSeq: 0, me: { userId: w.owner.id } });

    // Interleave sends from both sockets without waiting for acks.
    const sent: string[] = [];
    for (let i = 0; i < 8; i++) {
      const s = i % 2 ? b : a;
      const content = `m${i}`;
      sent.push(content);
      s.send({ type: "message.send", nonce: nonce(), content });
    }
    const seen = async (s: typeof a) => {
      const out: { seq: number; content: string }[] = [];
      for (let i = 0; i < 8; i++) {
        const f = await s.next("message.created");
        out.push({ seq: f.seq, content: f.message.content });
      }
      return out;
    };
    const [fromA, fromB] = await Promise.all([seen(a), seen(b)]);
    expect(fromA.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(fromB).toEqual(fromA);
    expect(new Set(fromA.map((x) => x.content))).toEqual(new Set(sent));
    // One socket's own frames keep their order.
    const aOrder = fromA.filter((x) => ["m0", "m2", "m4", "m6"].includes(x.content)).map((x) => x.content);
    expect(aOrder).toEqual(["m0", "m2", "m4", "m6"]);
    // Each message's seq is the seq of its creation event.
    for (let i = 0; i < 4; i++) {
      const ack = await a.next("message.ack");
      expect(fromA.find((x) => x.content === ack.message.content)!.seq).toBe(ack.message.seq);
    }
  });

  it("acknowledges only after the message is in the room's SQLite", async () => {
    const w = await world();
    const a = await connectRoom(w.channelId, w.owner);
    for (let i = 0; i < 3; i++) {
      const n = nonce();
      a.send({ type: "message.send", nonce: n, content: `durable ${i}` });
      const ack = await answer(a, n);
      expect(ack.type).toBe("message.ack");
      if (ack.type !== "message.ack") return;
      const row = await runInDurableObject(roomStub(w.channelId), (_i, state) => {
        const m = state.storage.sql.exec<{ seq: number; content: string }>(`SELECT seq, content FROM messages WHERE id = ?`, ack.message.id).toArray()[0];
        const e = state.storage.sql.exec<{ type: string }>(`SELECT type FROM events WHERE seq = ?`, ack.message.seq).toArray()[0];
        const nn = state.storage.sql.exec(`SELECT 1 FROM nonces WHERE nonce = ?`, n).toArray().length;
        return { m, e, nn };
      });
      expect(row.m).toEqual({ seq: ack.message.seq, content: `durable ${i}` });
      expect(row.e?.type).toBe("message.created");
      expect(row.nn).toBe(1);
    }
  });

  it("a nonce sent three times, once after the room restarts, makes exactly one message", async () => {
    const w = await world();
    const a = await connectRoom(w.channelId, w.owner);
    const b = await connectRoom(w.channelId, w.member);
    const n = nonce();
    const first = await say(a, "only once", { nonce: n });
    const second = await say(a, "only once", { nonce: n });
    expect(second).toEqual(first);

    await evictDurableObject(roomStub(w.channelId), { webSockets: "close" });
    await a.waitClosed();
    const a2 = await connectRoom(w.channelId, w.owner);
    const third = await say(a2, "only once (retry after restart)", { nonce: n });
    expect(third.id).toBe(first.id);
    expect(third.seq).toBe(first.seq);
    expect(third.content).toBe("only once");

    expect(await messageCount(w.channelId)).toBe(1);
    expect(b.frames.filter((f) => f.type === "message.created")).toHaveLength(1);
    // The same nonce from another user is their own message.
    const other = await connectRoom(w.channelId, w.member);
    const theirs = await say(other, "mine", { nonce: n });
    expect(theirs.id).not.toBe(first.id);
    expect(await messageCount(w.channelId)).toBe(2);
  });

  it("resumes with exactly the missed events, in order, edits, reactions, pins and deletes included", async () => {
    const w = await world();
    const a = await connectRoom(w.channelId, w.owner);
    const keep = await say(a, "before the gap");
    const b = await connectRoom(w.channelId, w.member);
    const lastSeq = (b.frames[0] as Extract<ServerFrame, { type: "ready" }>).headSeq;
    expect(lastSeq).toBe(keep.seq);
    b.close();
    await sleep(20);

    const m1 = await say(a, "missed one");
    const m2 = await say(a, "missed two, deleted later");
    a.send({ type: "message.edit", ref: "e1", id: m1.id, content: "missed one (edited)" });
    await a.next("message.updated");
    a.send({ type: "reaction.add", ref: "r1", messageId: keep.id, emoji: "👍🏽" });
    await a.next("reaction.added");
    a.send({ type: "pin.add", ref: "p1", messageId: keep.id });
    await a.next("pin.added");
    a.send({ type: "message.delete", ref: "d1", id: m2.id });
    await a.next("message.deleted");

    const b2 = await connectRoom(w.channelId, w.member);
    b2.send({ type: "hello", lastSeq });
    const resumed = await b2.next("resumed");
    const replay = b2.frames.filter((f) => isEvent(f) && f.seq > lastSeq) as ChannelEvent[];
    expect(resumed).toEqual({ type: "resumed", fromSeq: lastSeq + 1, toSeq: lastSeq + 6 });
    expect(replay.map((f) => [f.seq, f.type])).toEqual([
      [lastSeq + 1, "message.created"],
      [lastSeq + 2, "message.created"],
      [lastSeq + 3, "message.updated"],
      [lastSeq + 4, "reaction.added"],
      [lastSeq + 5, "pin.added"],
      [lastSeq + 6, "message.deleted"],
    ]);
    // The deleted message replays as a tombstone: its text is not sent again.
    const created2 = replay[1] as Extract<ChannelEvent, { type: "message.created" }>;
    expect(created2.message).toMatchObject({ id: m2.id, deleted: true, content: "" });
    expect(JSON.stringify(b2.frames)).not.toContain("deleted later");
    expect((replay[2] as Extract<ChannelEvent, { type: "message.updated" }>).message.content).toBe("missed one (edited)");
    expect(replay[3]).toMatchObject({ messageId: keep.id, emoji: "👍🏽", userId: w.owner.id });

    // Up to date: an empty resume. Nothing is doubled.
    b2.send({ type: "hello", lastSeq: lastSeq + 6 });
    expect(await b2.next("resumed")).toEqual({ type: "resumed", fromSeq: lastSeq + 7, toSeq: lastSeq + 6 });
    expect(b2.frames.filter(isEvent)).toHaveLength(6);
  });

  it("replays exactly 1,000 missed events, and says resync beyond that or ahead of the head", async () => {
    const w = await world();
    const head = await seedMessages(w.channelId, 1002);
    expect(head).toBe(1002);
    const b = await connectRoom(w.channelId, w.member);
    expect(b.frames[0]).toMatchObject({ type: "ready", headSeq: 1002, oldestSeq: 1 });

    b.send({ type: "hello", lastSeq: 2 });
    const resumed = await b.next("resumed", undefined, 15_000);
    expect(resumed).toEqual({ type: "resumed", fromSeq: 3, toSeq: 1002 });
    const seqs = b.frames.filter(isEvent).map((f) => f.seq);
    expect(seqs).toEqual(Array.from({ length: 1000 }, (_, i) => i + 3));

    b.send({ type: "hello", lastSeq: 1 });
    expect(await b.next("resync")).toEqual({ type: "resync", reason: "gap_too_large", headSeq: 1002 });
    b.send({ type: "hello", lastSeq: 5000 });
    expect(await b.next("resync")).toEqual({ type: "resync", reason: "reset", headSeq: 1002 });
    // No replay was sent for either.
    expect(b.frames.filter(isEvent)).toHaveLength(1000);
  });

  it("hibernation keeps identity and permissions: frames after eviction still work as the same user", async () => {
    const w = await world();
    await setOverwrite(w.channelId, "member", w.member.id, 0n, P.SEND_MESSAGES);
    const a = await connectRoom(w.channelId, w.owner);
    const b = await connectRoom(w.channelId, w.member);
    await say(a, "before eviction");

    await evictDurableObject(roomStub(w.channelId)); // sockets hibernate, the instance goes
    await sleep(20);
    expect(a.closed).toBeNull();

    const after = await say(a, "after eviction");
    expect(after.author).toEqual({ id: w.owner.id, username: w.owner.username, displayName: w.owner.displayName });
    expect(after.seq).toBe(2);
    expect((await b.next("message.created", (f) => f.seq === 2)).message.content).toBe("after eviction");

    const n = nonce();
    b.send({ type: "message.send", nonce: n, content: "still not allowed" });
    expect(await answer(b, n)).toMatchObject({ type: "error", code: "forbidden", ref: n });

    await evictDurableObject(roomStub(w.channelId));
    b.send({ type: "hello", lastSeq: 0 });
    await b.next("resumed");
    expect(b.closed).toBeNull();
  });

  it("works in DMs (no community): send, pin, and no hub", async () => {
    const u1 = await newUser();
    const u2 = await newUser();
    const dm = await makeChannel(null, "dm", "dm");
    for (const u of [u1, u2]) await addRecipient(dm, u);
    const a = await connectRoom(dm, u1);
    const b = await connectRoom(dm, u2);
    const m = await say(a, "hi in a DM");
    expect((await b.next("message.created")).message.id).toBe(m.id);
    b.send({ type: "pin.add", ref: "pin", messageId: m.id });
    expect(await a.next("pin.added")).toMatchObject({ messageId: m.id, seq: 2 });
    // A stranger cannot connect.
    const stranger = await newUser();
    await expect(connectRoom(dm, stranger)).rejects.toThrow(/404/);
  });
});

/** A socket into the room that asks, on its upgrade, to resume after `since` (waits for `ready`). */
const resumeOnUpgrade = (channelId: string, user: { token: string }, since: string | number) =>
  connectParty<ServerFrame>(`/parties/channel-room/${channelId}?${RESUME_PARAM}=${encodeURIComponent(String(since))}`, user);

describe("resume on the upgrade (?since=)", () => {
  it("answers ready with the missed events and resumed at once, no hello; live events follow without a gap or a duplicate", async () => {
    const w = await world();
    const a = await connectRoom(w.channelId, w.owner);
    const keep = await say(a, "seen before the drop");
    const m1 = await say(a, "missed one");
    a.send({ type: "message.edit", ref: "e1", id: m1.id, content: "missed one (edited)" });
    await a.next("message.updated");
    a.send({ type: "message.delete", ref: "d1", id: keep.id });
    await a.next("message.deleted");

    const b = await resumeOnUpgrade(w.channelId, w.member, keep.seq);
    expect(await b.next("resumed")).toEqual({ type: "resumed", fromSeq: keep.seq + 1, toSeq: keep.seq + 3 });
    // ready, the replay, resumed: in that order, and nothing the client did not ask for.
    expect(b.frames.map((f) => ("seq" in f && f.type !== "read.updated" ? `${f.type}@${f.seq}` : f.type))).toEqual([
      "ready",
      `message.created@${keep.seq + 1}`,
      `message.updated@${keep.seq + 2}`,
      `message.deleted@${keep.seq + 3}`,
      "resumed",
    ]);
    const live = await say(a, "after the resume");
    expect((await b.next("message.created", (f) => f.seq === live.seq)).message.content).toBe("after the resume");
    expect(b.frames.filter(isEvent).map((f) => f.seq)).toEqual([keep.seq + 1, keep.seq + 2, keep.seq + 3, live.seq]);
    // An explicit hello still works on the same socket (old clients).
    b.send({ type: "hello", lastSeq: live.seq });
    expect(await b.next("resumed", (f) => f.toSeq === live.seq && f.fromSeq === live.seq + 1)).toBeTruthy();
    expect(b.frames.filter(isEvent)).toHaveLength(4);
  });

  it("up to date: an empty resumed; from the future: resync reset; too old: resync gap_too_large, and no replay", async () => {
    const w = await world();
    const head = await seedMessages(w.channelId, 1002);
    const now = await resumeOnUpgrade(w.channelId, w.member, head);
    expect(await now.next("resumed")).toEqual({ type: "resumed", fromSeq: head + 1, toSeq: head });
    const ahead = await resumeOnUpgrade(w.channelId, w.member, head + 1);
    expect(await ahead.next("resync")).toEqual({ type: "resync", reason: "reset", headSeq: head });
    const old = await resumeOnUpgrade(w.channelId, w.member, 1);
    expect(await old.next("resync")).toEqual({ type: "resync", reason: "gap_too_large", headSeq: head });
    const edge = await resumeOnUpgrade(w.channelId, w.owner, 2);
    expect(await edge.next("resumed", undefined, 15_000)).toEqual({ type: "resumed", fromSeq: 3, toSeq: head });
    expect(edge.frames.filter(isEvent).map((f) => f.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 3));
    await sleep(20);
    for (const s of [now, ahead, old]) expect(s.frames.filter(isEvent)).toHaveLength(0);
  });

  it.each(["", "abc", "-1", "01", "1.5", "1e3", " 1", "0x10", "9007199254740992", "99999999999999999999"])(
    "refuses since=%j with 400 validation_failed before the upgrade, signed in or not",
    async (bogus) => {
      const w = await world();
      const url = `${ORIGIN}/parties/channel-room/${w.channelId}?${RESUME_PARAM}=${encodeURIComponent(bogus)}`;
      for (const cookie of [`woxly_session=${w.member.token}`, null]) {
        const res = await exports.default.fetch(new Request(url, { headers: { Upgrade: "websocket", origin: ORIGIN, ...(cookie ? { cookie } : {}) } }));
        expect(res.webSocket).toBeNull();
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ error: { code: "validation_failed", message: expect.any(String) } });
      }
    },
  );

  it("the largest seq is taken (and is from the future)", async () => {
    const w = await world();
    const s = await resumeOnUpgrade(w.channelId, w.member, Number.MAX_SAFE_INTEGER);
    expect(await s.next("resync")).toEqual({ type: "resync", reason: "reset", headSeq: 0 });
  });

  it("without READ_HISTORY a gap is refused with a forbidden error frame (ref null) and the socket stays live", async () => {
    const w = await world();
    await setOverwrite(w.channelId, "member", w.member.id, 0n, P.READ_HISTORY);
    const a = await connectRoom(w.channelId, w.owner);
    await say(a, "one");
    await say(a, "two");
    const b = await resumeOnUpgrade(w.channelId, w.member, 1);
    expect(await b.next("error")).toMatchObject({ code: "forbidden", ref: null });
    expect(b.frames.filter(isEvent)).toHaveLength(0);
    const live = await say(a, "three");
    expect((await b.next("message.created")).seq).toBe(live.seq);
    expect(b.closed).toBeNull();
  });
});
