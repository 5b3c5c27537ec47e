/**
 * Threats around DMs and blocks: a blocked user rewriting old DMs (new text, new mentions
 * that ping), pinning across a block, ringing someone over and over by starting and leaving
 * calls, and getting around a block through a group DM. Editing anywhere needs
 * SEND_MESSAGES now, as sending does.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RING_COOLDOWN_MS } from "../durable-objects/dm-call";
import type { DmCall, InboxServerFrame } from "../workers/shared/calls";
import type { Message, ServerFrame } from "../workers/shared/chat";
import { P } from "../workers/shared/permissions";
import { addMember, connectParty, connectRoom, dmPair, makeCommunity, roomStub, say, setOverwrite, type RoomSocket, world } from "./chat-fixtures";
import { newUser, type User } from "./helpers";
import { getServerByName } from "partyserver";

type ErrorFrame = Extract<ServerFrame, { type: "error" }>;

async function refusal(s: RoomSocket, ref: string): Promise<ErrorFrame> {
  return (await s.nextWhere((f) => f.type === "error" && f.ref === ref)) as ErrorFrame;
}

async function block(who: User, whom: User, on = true): Promise<void> {
  const res = await who.http.fetch(`/api/me/blocks/${whom.id}`, { method: on ? "PUT" : "DELETE" });
  expect(res.status).toBe(204);
}

function storedMessage(channelId: string, id: string) {
  return runInDurableObject(roomStub(channelId), (_i, state) => {
    const sql = state.storage.sql;
    const m = sql.exec<{ content: string; seq: number }>(`SELECT content, seq FROM messages WHERE id = ?`, id).one();
    const pings = sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM mentions WHERE seq = ?`, m.seq).one().n;
    return { content: m.content, pings };
  });
}

async function post(u: User, path: string, json?: unknown) {
  const res = await u.http.fetch(path, { method: "POST", ...(json === undefined ? {} : { json }) });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: (await res.json()) as { call?: DmCall | null; error?: { code: string } } };
}

describe("edits and pins across a block", () => {
  it("a blocked user cannot edit old DMs (no new text, no new mentions), either way round; unblocking restores it", async () => {
    const { a, b, dm } = await dmPair();
    const sa = await connectRoom(dm, a);
    const sb = await connectRoom(dm, b);
    const fromA = await say(sa, "an old message from a");
    const fromB = await say(sb, "an old message from b");

    await block(b, a);
    // The room took the block in: both sockets are read-only now.
    for (const s of [sa, sb]) expect(BigInt((await s.next("permissions.updated")).perms) & P.SEND_MESSAGES).toBe(0n);
    sa.send({ type: "message.edit", ref: "ea", id: fromA.id, content: `rewritten, pinging <@${b.id}>` });
    expect(await refusal(sa, "ea")).toMatchObject({ code: "forbidden" });
    sb.send({ type: "message.edit", ref: "eb", id: fromB.id, content: `rewritten, pinging <@${a.id}>` });
    expect(await refusal(sb, "eb")).toMatchObject({ code: "forbidden" });
    expect(await storedMessage(dm, fromA.id)).toEqual({ content: "an old message from a", pings: 0 });
    expect(await storedMessage(dm, fromB.id)).toEqual({ content: "an old message from b", pings: 0 });
    expect([...sa.frames, ...sb.frames].some((f) => f.type === "message.updated")).toBe(false);

    await block(b, a, false);
    await sa.next("permissions.updated");
    sa.send({ type: "message.edit", ref: "ok", id: fromA.id, content: "fixed a typo" });
    expect((await sb.next("message.updated")).message.content).toBe("fixed a typo");
  });

  it("editing needs SEND_MESSAGES in community channels too (taken away after the message was sent)", async () => {
    const w = await world();
    const s = await connectRoom(w.channelId, w.member);
    const mine = await say(s, "said while allowed");
    await setOverwrite(w.channelId, "member", w.member.id, 0n, P.SEND_MESSAGES);
    await (await getServerByName(env.ChannelRoom, w.channelId)).revalidate();
    await s.next("permissions.updated");
    s.send({ type: "message.edit", ref: "e", id: mine.id, content: "said while muted @everyone" });
    expect(await refusal(s, "e")).toMatchObject({ code: "forbidden" });
    expect((await storedMessage(w.channelId, mine.id)).content).toBe("said while allowed");
  });

  it("pins in a blocked DM are refused, pin and unpin, both sides", async () => {
    const { a, b, dm } = await dmPair();
    const sa = await connectRoom(dm, a);
    const sb = await connectRoom(dm, b);
    const m = await say(sa, "pin me");
    const pinned = await say(sa, "already pinned");
    sb.send({ type: "pin.add", ref: "p0", messageId: pinned.id });
    await sa.next("pin.added");

    await block(a, b);
    await sa.next("permissions.updated");
    await sb.next("permissions.updated");
    for (const [s, who] of [
      [sa, "a"],
      [sb, "b"],
    ] as const) {
      s.send({ type: "pin.add", ref: `add-${who}`, messageId: m.id });
      expect(await refusal(s, `add-${who}`)).toMatchObject({ code: "forbidden" });
      s.send({ type: "pin.remove", ref: `rm-${who}`, messageId: pinned.id });
      expect(await refusal(s, `rm-${who}`)).toMatchObject({ code: "forbidden" });
    }
    const pins = (await (await a.http.fetch(`/api/channels/${dm}/pins`)).json()) as { messages: Message[] };
    expect(pins.messages.map((x) => x.id)).toEqual([pinned.id]);
  });
});

describe("DM call ringing", () => {
  it("starting and leaving over and over rings the other side once within the cooldown", async () => {
    const { a, b, dm } = await dmPair();
    const tab = await connectParty<InboxServerFrame>(`/parties/user-inbox/${b.id}`, b);
    const first = await post(a, `/api/dms/${dm}/call`);
    expect(first.status).toBe(200);
    for (let i = 0; i < 4; i++) {
      expect((await post(a, `/api/dms/${dm}/call/leave`)).status).toBe(200);
      const again = await post(a, `/api/dms/${dm}/call`);
      expect(again.status).toBe(429);
      expect(again.body.error?.code).toBe("rate_limited");
      expect(Number(again.retryAfter)).toBeGreaterThan(0);
      expect(Number(again.retryAfter)).toBeLessThanOrEqual(RING_COOLDOWN_MS / 1000);
    }
    await tab.next("call.ended");
    const rings = tab.frames.filter((f) => f.type === "call" && f.call.ringing.includes(b.id));
    expect(rings).toHaveLength(1);
    const kinds = ((await (await a.http.fetch(`/api/channels/${dm}/messages`)).json()) as { messages: Message[] }).messages.map((m) => m.system?.kind);
    expect(kinds).toEqual(["call_started", "call_missed"]);

    // The other side may still call back at once; and after the cooldown the caller rings again.
    const back = await post(b, `/api/dms/${dm}/call`);
    expect(back.status).toBe(200);
    expect((await post(b, `/api/dms/${dm}/call/leave`)).status).toBe(200);
    await runInDurableObject(roomStub(dm), async (_o, state) => {
      await state.storage.put(`dm_call_rang:${a.id}`, Date.now() - RING_COOLDOWN_MS - 1);
    });
    const later = await post(a, `/api/dms/${dm}/call`);
    expect(later.status).toBe(200);
    expect(later.body.call?.ringing).toEqual([b.id]);
  });
});

describe("group DMs and blocks", () => {
  it("a group DM cannot put two people together when one blocked the other, nor include anyone blocked either way", async () => {
    const a = await newUser();
    const b = await newUser();
    const c = await newUser();
    const community = await makeCommunity(a);
    await addMember(community, b);
    await addMember(community, c);
    await block(b, c);
    const create = (u: User, userIds: string[]) => u.http.fetch(`/api/dms`, { method: "POST", json: { userIds } });

    // A blocked no one and no one blocked A, but B blocked C: no group of the three.
    const three = await create(a, [b.id, c.id]);
    expect(three.status).toBe(403);
    expect(((await three.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    // Nor can C (blocked by B) start one with B in it, or B with C.
    expect((await create(c, [a.id, b.id])).status).toBe(403);
    expect((await create(b, [a.id, c.id])).status).toBe(403);
    // Groups without the blocked pair are fine.
    expect((await create(a, [b.id])).status).toBe(201);
    const d = await newUser();
    await addMember(community, d);
    expect((await create(a, [b.id, d.id])).status).toBe(201);
    // Unblocking lifts it.
    await block(b, c, false);
    expect((await create(a, [b.id, c.id])).status).toBe(201);
  });
});
