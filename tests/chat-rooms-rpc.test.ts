/**
 * The ChannelRoom RPC that the rest of the worker calls: revalidate after access changes,
 * closing a user's or a session's sockets, system messages, ban clean-up and purge.
 */
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { getServerByName } from "partyserver";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../workers/core/crypto";
import { P } from "../workers/shared/permissions";
import { CLOSE } from "../workers/shared/close-codes";
import { addMember, answer, connectRoom, nonce, removeMember, roomStub, say, setOverwrite, sleep, world } from "./chat-fixtures";
import { newUser } from "./helpers";

const room = (channelId: string) => getServerByName(env.ChannelRoom, channelId);

describe("ChannelRoom RPC", () => {
  it("revalidate closes sockets that lost VIEW_CHANNEL (4403) and updates the perms of the rest", async () => {
    const w = await world();
    const third = await newUser();
    await addMember(w.community, third);
    const owner = await connectRoom(w.channelId, w.owner);
    const kicked = await connectRoom(w.channelId, w.member);
    const muted = await connectRoom(w.channelId, third);

    await removeMember(w.community, w.member);
    await setOverwrite(w.channelId, "member", third.id, 0n, P.SEND_MESSAGES);
    const r = await (await room(w.channelId)).revalidate();
    expect(r).toEqual({ checked: 3, closed: 1, updated: 1 });

    expect((await kicked.waitClosed()).code).toBe(CLOSE.ACCESS_LOST);
    const upd = await muted.next("permissions.updated");
    expect(BigInt(upd.perms) & P.SEND_MESSAGES).toBe(0n);
    expect(BigInt(upd.perms) & P.VIEW_CHANNEL).toBe(P.VIEW_CHANNEL);
    const n = nonce();
    muted.send({ type: "message.send", nonce: n, content: "can I?" });
    expect(await answer(muted, n)).toMatchObject({ type: "error", code: "forbidden" });
    // The updated perms live in the connection's state: they survive hibernation.
    await evictDurableObject(roomStub(w.channelId));
    const n2 = nonce();
    muted.send({ type: "message.send", nonce: n2, content: "and now?" });
    expect(await answer(muted, n2)).toMatchObject({ type: "error", code: "forbidden" });
    expect(owner.closed).toBeNull();
    await say(owner, "owner unaffected");
    // Kicked users cannot reconnect either.
    await expect(connectRoom(w.channelId, w.member)).rejects.toThrow(/404/);
  });

  it("disconnectUser and disconnectSession close exactly those sockets", async () => {
    const w = await world();
    const m1 = await connectRoom(w.channelId, w.member);
    const m2 = await connectRoom(w.channelId, w.member);
    const o = await connectRoom(w.channelId, w.owner);
    expect(await (await room(w.channelId)).disconnectUser(w.member.id)).toBe(2);
    expect((await m1.waitClosed()).code).toBe(CLOSE.ACCESS_LOST);
    expect((await m2.waitClosed()).code).toBe(CLOSE.ACCESS_LOST);
    expect(o.closed).toBeNull();

    expect(await (await room(w.channelId)).disconnectSession(await sha256Hex(w.owner.token))).toBe(1);
    expect((await o.waitClosed()).code).toBe(CLOSE.SESSION_ENDED);
  });

  it("posts system messages with no author, as ordinary events", async () => {
    const w = await world();
    const s = await connectRoom(w.channelId, w.member);
    const msg = await (await room(w.channelId)).postSystem({ kind: "member_joined", userId: w.member.id });
    expect(msg).toMatchObject({ author: null, content: "", system: { kind: "member_joined", userId: w.member.id }, seq: 1 });
    expect((await s.next("message.created")).message.id).toBe(msg.id);
    // Nobody can edit it; only MANAGE_MESSAGES deletes it.
    s.send({ type: "message.edit", ref: "e", id: msg.id, content: "x" });
    expect(await s.next("error")).toMatchObject({ code: "forbidden", ref: "e" });
    s.send({ type: "message.delete", ref: "d", id: msg.id });
    expect(await s.next("error")).toMatchObject({ code: "forbidden", ref: "d" });
    const o = await connectRoom(w.channelId, w.owner);
    o.send({ type: "message.delete", ref: "d", id: msg.id });
    expect(await s.next("message.deleted")).toMatchObject({ id: msg.id, seq: 2 });
  });

  it("deleteMessagesBy removes a user's messages since a time, each as a message.deleted event", async () => {
    const w = await world();
    const m = await connectRoom(w.channelId, w.member);
    const o = await connectRoom(w.channelId, w.owner);
    const old = await say(m, "old message");
    await sleep(5);
    const since = Date.now();
    await sleep(5);
    const recent = [await say(m, "spam 1"), await say(m, "spam 2")];
    const ownerMsg = await say(o, "owner stays");
    const r = await (await room(w.channelId)).deleteMessagesBy({ userId: w.member.id, sinceMs: since });
    expect(r).toEqual({ deleted: 2, more: false });
    const deleted = [await o.next("message.deleted"), await o.next("message.deleted")];
    expect(deleted.map((d) => d.id).sort()).toEqual(recent.map((x) => x.id).sort());
    const hist = await w.owner.http.fetch(`/api/channels/${w.channelId}/messages`);
    const ids = ((await hist.json()) as { messages: { id: string }[] }).messages.map((x) => x.id);
    expect(ids).toEqual([old.id, ownerMsg.id]);
  });

  it("purge closes every socket and drops all of the room's data, files included", async () => {
    const w = await world();
    const s = await connectRoom(w.channelId, w.member);
    const up = await w.member.http.fetch(`/api/uploads/channels/${w.channelId}/attachments?filename=a.txt`, { method: "POST", body: "hello" });
    const { attachment } = (await up.json()) as { attachment: { id: string } };
    await say(s, "to be purged", { attachmentIds: [attachment.id] });
    await (await room(w.channelId)).purge();
    expect((await s.waitClosed()).code).toBe(CLOSE.GONE);
    expect(await env.FILES.head(`attachments/${w.channelId}/${attachment.id}`)).toBeNull();
    expect(await env.DB.prepare(`SELECT 1 FROM attachments WHERE channel_id = ?`).bind(w.channelId).first()).toBeNull();
    const tables = await runInDurableObject(roomStub(w.channelId), (_i, state) =>
      state.storage.sql.exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'`).toArray().map((t) => t.name),
    );
    expect(tables.filter((t) => t === "messages" || t === "events")).toEqual([]);
    // The room still answers (empty) if asked again.
    const page = await (await room(w.channelId)).history({ limit: 50 });
    expect(page).toEqual({ messages: [], headSeq: 0, hasBefore: false, hasAfter: false });
  });
});
