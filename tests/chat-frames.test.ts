/**
 * What a ChannelRoom does with each client frame: permissions, the send rate limit, the frame
 * size cap, malformed frames (fuzzed with fast-check), mentions, replies, edits, deletes,
 * reactions, typing and read markers. A refused frame gets an error frame; the socket stays.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RATE_LIMIT_MESSAGES, type ServerFrame } from "../workers/shared/chat";
import { MAX_FRAME_BYTES } from "../workers/shared/realtime";
import { DEFAULT_EVERYONE, P } from "../workers/shared/permissions";
import { addMember, answer, connectRoom, makeRole, nonce, say, setOverwrite, sleep, world, type RoomSocket } from "./chat-fixtures";
import { newUser } from "./helpers";

type ErrorFrame = Extract<ServerFrame, { type: "error" }>;

async function expectError(s: RoomSocket, ref: string, code: ErrorFrame["code"]) {
  const f = await s.nextWhere((f) => f.type === "error" && f.ref === ref);
  expect(f).toMatchObject({ type: "error", code, ref });
  return f as ErrorFrame;
}

describe("ChannelRoom frames", () => {
  it("refuses what permissions do not allow with error frames, and the socket stays usable", async () => {
    const w = await world();
    await setOverwrite(w.channelId, "member", w.member.id, 0n, P.SEND_MESSAGES | P.ADD_REACTIONS);
    const owner = await connectRoom(w.channelId, w.owner);
    const m = await connectRoom(w.channelId, w.member);
    const msg = await say(owner, "owner's message");

    const n = nonce();
    m.send({ type: "message.send", nonce: n, content: "nope" });
    await expectError(m, n, "forbidden");
    m.send({ type: "reaction.add", ref: "r", messageId: msg.id, emoji: "🎉" });
    await expectError(m, "r", "forbidden");
    m.send({ type: "message.delete", ref: "d", id: msg.id });
    await expectError(m, "d", "forbidden");
    m.send({ type: "message.edit", ref: "e", id: msg.id, content: "hijack" });
    await expectError(m, "e", "forbidden");
    m.send({ type: "pin.add", ref: "p", messageId: msg.id });
    await expectError(m, "p", "forbidden");
    m.send({ type: "typing.start", ref: "t" });
    await expectError(m, "t", "forbidden");
    m.send({ type: "message.delete", ref: "x", id: "nosuchmessage" });
    await expectError(m, "x", "not_found");

    // Still connected and served: reading and resuming work.
    m.send({ type: "hello", lastSeq: 0 });
    expect(await m.next("resumed")).toEqual({ type: "resumed", fromSeq: 1, toSeq: 1 });
    expect(m.closed).toBeNull();
    // Nothing was written by the refused frames.
    expect(owner.frames.filter((f) => "seq" in f && f.type !== "read.updated")).toHaveLength(1);
  });

  it("lets authors edit and delete their own messages, and MANAGE_MESSAGES delete others'", async () => {
    const w = await world();
    const owner = await connectRoom(w.channelId, w.owner);
    const m = await connectRoom(w.channelId, w.member);
    const mine = await say(m, "typo");
    m.send({ type: "message.edit", ref: "e", id: mine.id, content: "  fixed  " });
    const upd = await owner.next("message.updated");
    expect(upd.message).toMatchObject({ id: mine.id, content: "fixed", seq: mine.seq });
    expect(upd.message.editedAt).toBeGreaterThanOrEqual(mine.createdAt);
    // The owner may not edit it, but may delete it (MANAGE_MESSAGES).
    owner.send({ type: "message.edit", ref: "oe", id: mine.id, content: "owner edit" });
    await expectError(owner, "oe", "forbidden");
    owner.send({ type: "message.delete", ref: "od", id: mine.id });
    expect(await m.next("message.deleted")).toMatchObject({ id: mine.id, seq: upd.seq + 1 });
    // Deleting again: not found.
    owner.send({ type: "message.delete", ref: "od2", id: mine.id });
    await expectError(owner, "od2", "not_found");
  });

  it("limits each member to 10 messages per 10 s per channel, answering every extra send", async () => {
    const w = await world();
    const s = await connectRoom(w.channelId, w.member);
    const other = await connectRoom(w.channelId, w.owner);
    const nonces = Array.from({ length: RATE_LIMIT_MESSAGES + 3 }, () => nonce());
    for (const n of nonces) s.send({ type: "message.send", nonce: n, content: `burst ${n}` });
    const answers = await Promise.all(nonces.map((n) => answer(s, n)));
    expect(answers.slice(0, RATE_LIMIT_MESSAGES).every((a) => a.type === "message.ack")).toBe(true);
    for (const a of answers.slice(RATE_LIMIT_MESSAGES)) {
      expect(a).toMatchObject({ type: "error", code: "rate_limited" });
      const retry = (a as ErrorFrame).retryAfterMs!;
      expect(retry).toBeGreaterThan(0);
      expect(retry).toBeLessThanOrEqual(10_000);
    }
    // A resend of an acknowledged nonce is not a new send: it answers, even while limited.
    const again = await say(s, "dup", { nonce: nonces[0] });
    expect(again.content).toBe(`burst ${nonces[0]}`);
    // Other members are not affected.
    await say(other, "the owner can still talk");
  });

  it("caps frame size, refuses binary frames, and keeps going", async () => {
    const w = await world();
    const s = await connectRoom(w.channelId, w.member);
    s.send({ type: "message.send", nonce: nonce(), content: "x".repeat(MAX_FRAME_BYTES) });
    expect(await s.next("error")).toMatchObject({ code: "frame_too_large", ref: null });
    s.send({ type: "message.send", nonce: "n-multibyte", content: "ж".repeat(Math.ceil(MAX_FRAME_BYTES / 2) + 10) });
    expect(await s.next("error")).toMatchObject({ code: "frame_too_large" });
    s.sendRaw(new Uint8Array([1, 2, 3]).buffer);
    expect(await s.next("error")).toMatchObject({ code: "unsupported_frame" });
    const n = nonce();
    s.send({ type: "message.send", nonce: n, content: "y".repeat(4001) });
    await expectError(s, n, "validation_failed");
    expect((await say(s, "y".repeat(4000))).content).toHaveLength(4000);
  });

  it("answers malformed frames of every type with error frames, never dropping the socket (fast-check)", async () => {
    const w = await world();
    const s = await connectRoom(w.channelId, w.member);
    const target = await say(s, "a target");

    const wrongForString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }));
    const wrongForNumber = fc.oneof(fc.string({ maxLength: 10 }), fc.constant(-1), fc.double({ min: 0.1, max: 1e6, noInteger: true }), fc.constant(null), fc.boolean());
    const valid: Record<string, Record<string, unknown>> = {
      hello: { type: "hello", lastSeq: 0 },
      "message.send": { type: "message.send", nonce: "nonce-fuzz-1", content: "ok" },
      "message.edit": { type: "message.edit", ref: "r-edit", id: target.id, content: "ok" },
      "message.delete": { type: "message.delete", ref: "r-del", id: target.id },
      "reaction.add": { type: "reaction.add", ref: "r-ra", messageId: target.id, emoji: "👍" },
      "reaction.remove": { type: "reaction.remove", ref: "r-rr", messageId: target.id, emoji: "👍" },
      "pin.add": { type: "pin.add", ref: "r-pa", messageId: target.id },
      "pin.remove": { type: "pin.remove", ref: "r-pr", messageId: target.id },
      "typing.start": { type: "typing.start" },
      "read.mark": { type: "read.mark", seq: 0 },
    };
    const numberFields = new Set(["lastSeq", "seq"]);
    const required: Record<string, string[]> = {
      hello: [],
      "message.send": ["nonce", "content"],
      "message.edit": ["ref", "id", "content"],
      "message.delete": ["ref", "id"],
      "reaction.add": ["ref", "messageId", "emoji"],
      "reaction.remove": ["ref", "messageId", "emoji"],
      "pin.add": ["ref", "messageId"],
      "pin.remove": ["ref", "messageId"],
      "typing.start": [],
      "read.mark": ["seq"],
    };

    // Each case is a frame that is invalid by construction, and the ref it should echo
    // (undefined: the ref field itself is what was broken, so any echo is fine).
    type Case = { raw: string; ref: string | null | undefined };
    const corrupted = fc.constantFrom(...Object.keys(valid)).chain((type) => {
      const base = valid[type]!;
      const fields = Object.keys(base).filter((k) => k !== "type");
      const cases: fc.Arbitrary<Case>[] = [
        // an unknown extra field
        fc.tuple(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !(k in base) && !["ref", "nonce", "__proto__"].includes(k)), fc.jsonValue()).map(([k, v]) => {
          const f = { ...base, [k]: v };
          return { raw: JSON.stringify(f), ref: (base.ref ?? base.nonce ?? null) as string | null };
        }),
      ];
      if (fields.length) {
        // a field of the wrong type or out of range
        cases.push(
          fc.constantFrom(...fields).chain((k) =>
            (numberFields.has(k) ? wrongForNumber : k === "emoji" ? fc.oneof(wrongForString, fc.string({ maxLength: 10 })) : k === "nonce" ? fc.oneof(wrongForString, fc.string({ maxLength: 7 }), fc.string({ minLength: 65, maxLength: 80 })) : wrongForString).map((v) => {
              const f = { ...base, [k]: v };
              return { raw: JSON.stringify(f), ref: k === "ref" || k === "nonce" ? undefined : ((base.ref ?? base.nonce ?? null) as string | null) };
            }),
          ),
        );
      }
      if (required[type]!.length) {
        // a required field missing
        cases.push(
          fc.constantFrom(...required[type]!).map((k) => {
            const f: Record<string, unknown> = { ...base };
            delete f[k];
            return { raw: JSON.stringify(f), ref: k === "ref" || k === "nonce" ? null : ((base.ref ?? base.nonce ?? null) as string | null) };
          }),
        );
      }
      return fc.oneof(...cases);
    });
    const junk = fc.oneof(
      fc.string({ maxLength: 40 }).filter((t) => !(t in valid)).map((t): Case => ({ raw: JSON.stringify({ type: t, ref: "junk-ref" }), ref: "junk-ref" })),
      fc.jsonValue().filter((v) => !(v && typeof v === "object" && !Array.isArray(v))).map((v): Case => ({ raw: JSON.stringify(v), ref: null })),
      fc.string({ maxLength: 60 }).filter((t) => { try { JSON.parse(t); return false; } catch { return true; } }).map((t): Case => ({ raw: t, ref: null })),
    );

    let sent = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(corrupted, junk), async ({ raw, ref }) => {
        s.sendRaw(raw);
        sent++;
        let e = (await s.next("error")) as ErrorFrame;
        // Malformed frames pay from the socket's frame budget too (durable-objects/frame-budget.ts):
        // past it the answer is rate_limited; resend after the wait it names, as a client would.
        while (e.code === "rate_limited") {
          await sleep(e.retryAfterMs ?? 0);
          s.sendRaw(raw);
          e = (await s.next("error")) as ErrorFrame;
        }
        expect(["invalid_json", "unknown_type", "validation_failed"]).toContain(e.code);
        if (ref !== undefined) expect(e.ref).toBe(ref);
        expect(s.closed).toBeNull();
      }),
      { numRuns: 150 },
    );
    expect(sent).toBe(150);
    // Every bad frame got exactly one error (besides rate_limited), and nothing else was written.
    expect(s.frames.filter((f) => f.type === "error" && f.code !== "rate_limited")).toHaveLength(150);
    expect(s.frames.filter((f) => f.type === "message.created")).toHaveLength(1);
    // Afterwards (once the budget has a send's worth again) a valid send still works.
    await sleep(500);
    expect((await say(s, "still here")).seq).toBe(2);
  });

  it("parses mentions server-side; @everyone pings only with MENTION_EVERYONE", async () => {
    const w = await world();
    const mentionable = await makeRole(w.community, 0n, { mentionable: true });
    const quiet = await makeRole(w.community, 0n);
    const owner = await connectRoom(w.channelId, w.owner);
    const m = await connectRoom(w.channelId, w.member);
    const text = `hi <@${w.owner.id}> <@&${mentionable}> <@&${quiet}> <@&nosuchrole> @everyone @here \`<@${w.member.id}>\``;
    const byMember = await say(m, text);
    // The quiet role is not mentionable and the member may not MENTION_EVERYONE: it stays text.
    expect(byMember.mentions).toEqual({ users: [w.owner.id], roles: [mentionable], everyone: false, here: false });
    const byOwner = await say(owner, text);
    expect(byOwner.mentions).toEqual({ users: [w.owner.id], roles: [mentionable, quiet], everyone: true, here: true });

    // Mention counts: the member's role is mentioned by the owner.
    const third = await newUser();
    await addMember(w.community, third, [quiet]);
    const res = await third.http.fetch(`/api/channels/${w.channelId}/read-state`);
    const rs = (await res.json()) as { mentionCount: number; unreadCount: number; firstUnreadSeq: number | null };
    // byOwner pings @everyone (and the quiet role through MENTION_EVERYONE); byMember pings no one of theirs.
    expect(rs).toMatchObject({ unreadCount: 2, mentionCount: 1, firstUnreadSeq: byMember.seq });
  });

  it("replies carry a quoted preview; replying to a missing message is refused", async () => {
    const w = await world();
    const s = await connectRoom(w.channelId, w.member);
    const original = await say(s, "the original ".repeat(30));
    const reply = await say(s, "a reply", { replyTo: original.id });
    expect(reply.replyTo).toMatchObject({ id: original.id, seq: original.seq, author: { id: w.member.id } });
    expect(reply.replyTo!.content).toHaveLength(200);
    const n = nonce();
    s.send({ type: "message.send", nonce: n, content: "to nothing", replyTo: "missingmessage" });
    await expectError(s, n, "not_found");
  });

  it("reactions: any emoji, one per user and emoji, removed only by their author", async () => {
    const w = await world();
    const a = await connectRoom(w.channelId, w.owner);
    const b = await connectRoom(w.channelId, w.member);
    const msg = await say(a, "react to me");
    for (const emoji of ["👍", "👨‍👩‍👧‍👦", "🇰🇬", "1️⃣"]) {
      b.send({ type: "reaction.add", ref: `r${emoji}`, messageId: msg.id, emoji });
      expect(await a.next("reaction.added")).toMatchObject({ messageId: msg.id, emoji, userId: w.member.id });
    }
    // Adding the same again does nothing; a non-emoji is refused.
    b.send({ type: "reaction.add", ref: "dup", messageId: msg.id, emoji: "👍" });
    b.send({ type: "reaction.add", ref: "bad", messageId: msg.id, emoji: "lol" });
    await expectError(b, "bad", "validation_failed");
    a.send({ type: "reaction.add", ref: "a1", messageId: msg.id, emoji: "👍" });
    a.send({ type: "reaction.remove", ref: "a2", messageId: msg.id, emoji: "👍" });
    const removed = await b.next("reaction.removed");
    expect(removed).toMatchObject({ emoji: "👍", userId: w.owner.id });
    const res = await w.member.http.fetch(`/api/channels/${w.channelId}/messages/${msg.id}`);
    const { message } = (await res.json()) as { message: { reactions: { emoji: string; count: number; userIds: string[] }[] } };
    expect(message.reactions).toEqual([
      { emoji: "👍", count: 1, userIds: [w.member.id] },
      { emoji: "👨‍👩‍👧‍👦", count: 1, userIds: [w.member.id] },
      { emoji: "🇰🇬", count: 1, userIds: [w.member.id] },
      { emoji: "1️⃣", count: 1, userIds: [w.member.id] },
    ]);
    expect(b.frames.filter((f) => f.type === "reaction.added")).toHaveLength(5);
  });

  it("relays typing to others at most once per 3 s per user, storing nothing", async () => {
    const w = await world();
    const a = await connectRoom(w.channelId, w.member);
    const a2 = await connectRoom(w.channelId, w.member);
    const b = await connectRoom(w.channelId, w.owner);
    a.send({ type: "typing.start" });
    a.send({ type: "typing.start" });
    a2.send({ type: "typing.start" });
    expect(await b.next("typing")).toEqual({ type: "typing", userId: w.member.id, displayName: w.member.displayName });
    await sleep(150);
    expect(b.frames.filter((f) => f.type === "typing")).toHaveLength(1);
    expect([...a.frames, ...a2.frames].filter((f) => f.type === "typing")).toHaveLength(0);
    b.send({ type: "hello", lastSeq: 0 });
    expect(await b.next("resumed")).toEqual({ type: "resumed", fromSeq: 1, toSeq: 0 });
  });

  it("read markers move forward only, reach all of the member's sockets, and come back in ready", async () => {
    const w = await world(DEFAULT_EVERYONE);
    const a = await connectRoom(w.channelId, w.member);
    const a2 = await connectRoom(w.channelId, w.member);
    const o = await connectRoom(w.channelId, w.owner);
    await say(o, "one");
    const two = await say(o, "two");
    a.send({ type: "read.mark", seq: two.seq });
    expect(await a2.next("read.updated")).toEqual({ type: "read.updated", seq: two.seq });
    expect(await a.next("read.updated")).toEqual({ type: "read.updated", seq: two.seq });
    expect(o.frames.some((f) => f.type === "read.updated")).toBe(false);
    // Backwards is ignored (the current marker is repeated to the sender); beyond the head is clamped.
    a.send({ type: "read.mark", seq: 1 });
    expect(await a.next("read.updated")).toEqual({ type: "read.updated", seq: two.seq });
    a.send({ type: "read.mark", seq: 999 });
    expect(await a.next("read.updated")).toEqual({ type: "read.updated", seq: two.seq });
    const again = await connectRoom(w.channelId, w.member);
    expect(again.frames[0]).toMatchObject({ type: "ready", lastReadSeq: two.seq, headSeq: two.seq });
  });
});
