import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { getServerByName } from "partyserver";
import { describe, expect, it } from "vitest";
import { P } from "../workers/shared/permissions";
import { CLOSE } from "../workers/shared/close-codes";
import { MAX_FRAME_BYTES } from "../workers/shared/realtime";
import { addMember, createCommunity, createRole, eventually, hubPair, inviteCode, openHub } from "./community-fixtures";
import { ORIGIN, call, newUser, ok } from "./helpers";
import { answer, connectRoom, nonce, say, sleep } from "./chat-fixtures";

const hub = (communityId: string) => getServerByName(env.CommunityHub, communityId);

describe("CommunityHub", () => {
  it("refuses sockets from non-members, without a session or from another origin", async () => {
    const owner = await newUser();
    const outsider = await newUser();
    const { community } = await createCommunity(owner);
    const up = (cookie: string | null, origin = ORIGIN) =>
      exports.default.fetch(
        new Request(`${ORIGIN}/parties/community-hub/${community.id}`, {
          headers: { Upgrade: "websocket", origin, ...(cookie ? { cookie } : {}) },
        }),
      );
    expect((await up(`woxly_session=${outsider.token}`)).status).toBe(404);
    expect((await up(null)).status).toBe(401);
    expect((await up(`woxly_session=${owner.token}`, "https://evil.example")).status).toBe(403);
    const ws = (await up(`woxly_session=${owner.token}`)).webSocket;
    expect(ws).toBeTruthy();
    ws!.accept();
    ws!.close(1000);
  });

  it("sends a snapshot, then presence deltas: online, idle, dnd, invisible, offline", async () => {
    const owner = await newUser();
    const member = await newUser();
    const { community, channels } = await createCommunity(owner);
    await addMember(community.id, member);

    const a = await openHub(owner, community.id);
    const snapA = await a.next("state.synced");
    expect(snapA.me).toEqual({ userId: owner.id, choice: "online", status: "online" });
    expect(snapA.community.id).toBe(community.id);
    expect(snapA.channels.map((c) => c.id).sort()).toEqual(channels.map((c) => c.id).sort());
    expect(snapA.roles.map((r) => r.name)).toEqual(["@everyone"]);
    expect(snapA.presences).toEqual([{ userId: owner.id, status: "online" }]);
    expect(snapA.voiceStates).toEqual([]);

    const b = await openHub(member, community.id);
    const snapB = await b.next("state.synced");
    expect(b.frames[0]!.type).toBe("state.synced"); // nothing before the snapshot
    expect(new Set(snapB.presences.map((p) => p.userId))).toEqual(new Set([owner.id, member.id]));
    await a.next("presence.updated", (f) => f.userId === member.id && f.status === "online");

    b.send({ type: "presence.set", status: "idle" });
    await a.next("presence.updated", (f) => f.userId === member.id && f.status === "idle");
    b.send({ type: "presence.set", status: "dnd" });
    await a.next("presence.updated", (f) => f.userId === member.id && f.status === "dnd");
    await b.next("presence.chosen", (f) => f.choice === "dnd");
    b.send({ type: "presence.set", status: "invisible" });
    await a.next("presence.updated", (f) => f.userId === member.id && f.status === "offline");
    expect(await (await hub(community.id)).presences()).toEqual({ [owner.id]: "online" });
    expect(await (await hub(community.id)).onlineCount()).toBe(1);
    // The member list shows invisible members as offline.
    const list = (await ok(200, owner, "GET", `/api/communities/${community.id}/members`)).members;
    expect(list.find((m: { user: { id: string } }) => m.user.id === member.id).presence).toBe("offline");
    expect(list.find((m: { user: { id: string } }) => m.user.id === owner.id).presence).toBe("online");

    b.send({ type: "presence.set", status: "online" });
    await a.next("presence.updated", (f) => f.userId === member.id && f.status === "online");
    b.close();
    await a.next("presence.updated", (f) => f.userId === member.id && f.status === "offline");
    a.close();
  });

  it("answers bad frames with error frames and keeps the socket up", async () => {
    const owner = await newUser();
    const { community } = await createCommunity(owner);
    const s = await openHub(owner, community.id);
    await s.next("state.synced");
    s.send("{nope");
    expect(await s.next("error")).toMatchObject({ code: "invalid_json", ref: null });
    s.send({ type: "presence.explode", ref: "r1" });
    expect(await s.next("error")).toMatchObject({ code: "unknown_type", ref: "r1" });
    s.send({ type: "presence.set", status: "sleepy", ref: "r2" });
    expect(await s.next("error")).toMatchObject({ code: "validation_failed", ref: "r2" });
    s.send({ type: "presence.set", status: "dnd", userId: "someone-else", ref: "r3" });
    expect(await s.next("error")).toMatchObject({ code: "validation_failed", ref: "r3" });
    s.send({ type: "channel.read", channelId: "nope", seq: 1, ref: "r4" });
    expect(await s.next("error")).toMatchObject({ code: "not_found", ref: "r4" });
    s.send("x".repeat(MAX_FRAME_BYTES + 1));
    expect(await s.next("error")).toMatchObject({ code: "frame_too_large" });
    s.send({ type: "presence.set", status: "dnd" });
    await s.next("presence.chosen", (f) => f.choice === "dnd");
    expect(s.closed).toBeNull();
    s.close();
  });

  it("keeps presence across hibernation and across a restart of the object", async () => {
    const owner = await newUser();
    const member = await newUser();
    const third = await newUser();
    const { community } = await createCommunity(owner);
    await addMember(community.id, member);
    await addMember(community.id, third);
    const a = await openHub(owner, community.id);
    await a.next("state.synced");
    const b = await openHub(member, community.id);
    await b.next("state.synced");
    b.send({ type: "presence.set", status: "dnd" });
    await a.next("presence.updated", (f) => f.userId === member.id && f.status === "dnd");

    // Hibernation: memory is dropped, sockets stay open.
    await evictDurableObject(await hub(community.id));
    const c = await openHub(third, community.id);
    const snap = await c.next("state.synced");
    expect(snap.presences).toEqual(
      expect.arrayContaining([
        { userId: owner.id, status: "online" },
        { userId: member.id, status: "dnd" },
      ]),
    );
    // The hibernated sockets still work and still know who they are.
    // dnd wins over idle (no delta); then back online: the next delta for them is "online".
    b.send({ type: "presence.set", status: "idle" });
    b.send({ type: "presence.set", status: "online" });
    expect((await c.next("presence.updated", (f) => f.userId === member.id)).status).toBe("online");
    b.send({ type: "presence.set", status: "dnd" });
    await c.next("presence.updated", (f) => f.userId === member.id && f.status === "dnd");

    // A restart: memory is dropped and every socket cut; the object starts from its SQLite.
    // (Only this object: abortAllDurableObjects would cut other test files' sockets too.)
    await evictDurableObject(await hub(community.id), { webSockets: "close" });
    await eventually(() => expect(a.closed && b.closed && c.closed).toBeTruthy());
    const b2 = await openHub(member, community.id);
    const snap2 = await b2.next("state.synced");
    expect(snap2.me).toEqual({ userId: member.id, choice: "dnd", status: "dnd" });
    // Users whose sockets died with the old instance are not shown online.
    expect(snap2.presences).toEqual([{ userId: member.id, status: "dnd" }]);
    await runInDurableObject(await hub(community.id), (_instance, state) => {
      const rows = [...state.storage.sql.exec<{ user_id: string; choice: string }>("SELECT user_id, choice FROM presence_choice")];
      expect(rows).toEqual([{ user_id: member.id, choice: "dnd" }]);
    });
    b2.close();
  });

  it("a kick closes the member's socket within 2 s and tells the others", async () => {
    const { owner, member, community, a, b } = await hubPair();
    const t0 = Date.now();
    await ok(204, owner, "POST", `/api/communities/${community.id}/members/${member.id}/kick`);
    const closed = await b.waitClosed(2000);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(closed.code).toBe(CLOSE.ACCESS_LOST);
    await a.next("member.left", (f) => f.userId === member.id && f.reason === "kicked");
    await eventually(() =>
      expect(a.frames).toContainEqual({ type: "presence.updated", userId: member.id, status: "offline" }),
    );
    // And cannot come back.
    await expect(openHub(member, community.id)).rejects.toThrow(/404/);
    a.close();
  });

  it("a ban closes the member's socket too", async () => {
    const owner = await newUser();
    const member = await newUser();
    const { community } = await createCommunity(owner);
    await addMember(community.id, member);
    const b = await openHub(member, community.id);
    await b.next("state.synced");
    await ok(204, owner, "PUT", `/api/communities/${community.id}/bans/${member.id}`, {});
    expect((await b.waitClosed(2000)).code).toBe(CLOSE.ACCESS_LOST);
  });

  it("pushes joins, role and community changes, and exactly the channels each member can see", async () => {
    const { owner, member, community, a, b } = await hubPair();

    const pub = (await ok(201, owner, "POST", `/api/communities/${community.id}/channels`, { kind: "text", name: "news" })).channel;
    await a.next("channel.created", (f) => f.channel.id === pub.id);
    const seen = await b.next("channel.created", (f) => f.channel.id === pub.id);
    expect(BigInt(seen.channel.permissions) & P.MANAGE_CHANNELS).toBe(0n);

    const secret = (await ok(201, owner, "POST", `/api/communities/${community.id}/channels`, { kind: "text", name: "staff", private: true })).channel;
    await a.next("channel.created", (f) => f.channel.id === secret.id);
    await ok(200, owner, "PATCH", `/api/channels/${secret.id}`, { topic: "secret plans" });
    await a.next("channel.updated", (f) => f.channel.id === secret.id && f.channel.topic === "secret plans");
    expect(b.frames.some((f) => JSON.stringify(f).includes(secret.id))).toBe(false);

    // An overwrite lets the member see it; removing it hides it again.
    await ok(200, owner, "PUT", `/api/channels/${secret.id}/overwrites/member/${member.id}`, { allow: String(P.VIEW_CHANNEL), deny: "0" });
    await b.next("channel.created", (f) => f.channel.id === secret.id);
    await ok(204, owner, "DELETE", `/api/channels/${secret.id}/overwrites/member/${member.id}`);
    await b.next("channel.deleted", (f) => f.channelId === secret.id);

    // A role with MANAGE_CHANNELS changes the member's permissions in every channel.
    const role = await createRole(owner, community.id, "Builders", 0n);
    await b.next("role.created", (f) => f.role.id === role.id);
    await ok(204, owner, "PUT", `/api/communities/${community.id}/members/${member.id}/roles/${role.id}`);
    await a.next("member.updated", (f) => f.member.user.id === member.id && f.member.roleIds.includes(role.id));
    await ok(200, owner, "PATCH", `/api/communities/${community.id}/roles/${role.id}`, { permissions: String(P.MANAGE_CHANNELS) });
    await b.next("role.updated", (f) => f.role.id === role.id);
    await b.next("channel.updated", (f) => f.channel.id === pub.id && (BigInt(f.channel.permissions) & P.MANAGE_CHANNELS) !== 0n);

    await ok(204, owner, "DELETE", `/api/channels/${pub.id}`);
    await b.next("channel.deleted", (f) => f.channelId === pub.id);
    await ok(200, owner, "PATCH", `/api/communities/${community.id}`, { name: "New Name" });
    await b.next("community.updated", (f) => f.community.name === "New Name");

    const code = await inviteCode(owner, community.id);
    const joiner = await newUser();
    await ok(201, joiner, "POST", `/api/invites/${code}/redeem`);
    await a.next("member.joined", (f) => f.member.user.id === joiner.id);
    a.close();
    b.close();
  });

  it("fans out unread and mention pings to members who can see the channel", async () => {
    const owner = await newUser();
    const member = await newUser();
    const blind = await newUser();
    const { community, channels } = await createCommunity(owner);
    const general = channels.find((c) => c.name === "general")!;
    const role = await createRole(owner, community.id, "Pinged", 0n);
    await addMember(community.id, member, [role.id]);
    await addMember(community.id, blind);
    await ok(200, owner, "PUT", `/api/channels/${general.id}/overwrites/member/${blind.id}`, { allow: "0", deny: String(P.VIEW_CHANNEL) });
    const m = await openHub(member, community.id);
    await m.next("state.synced");
    const x = await openHub(blind, community.id);
    await x.next("state.synced");

    const stub = await hub(community.id);
    await stub.channelActivity({ channelId: general.id, seq: 1, authorId: owner.id, mentionedUserIds: [], mentionedRoleIds: [], everyone: false, here: false });
    expect((await m.next("unread.updated")).unread).toEqual({ channelId: general.id, lastSeq: 1, readSeq: 0, mentions: 0 });
    await stub.channelActivity({ channelId: general.id, seq: 2, authorId: owner.id, mentionedUserIds: [member.id, blind.id], mentionedRoleIds: [], everyone: false, here: false });
    expect((await m.next("unread.updated")).unread.mentions).toBe(1);
    await stub.channelActivity({ channelId: general.id, seq: 3, authorId: owner.id, mentionedUserIds: [], mentionedRoleIds: [role.id], everyone: false, here: false });
    expect((await m.next("unread.updated")).unread).toEqual({ channelId: general.id, lastSeq: 3, readSeq: 0, mentions: 2 });
    await stub.channelActivity({ channelId: general.id, seq: 4, authorId: owner.id, mentionedUserIds: [], mentionedRoleIds: [], everyone: true, here: false });
    expect((await m.next("unread.updated")).unread.mentions).toBe(3);
    // The member who cannot see the channel hears nothing, not even with a direct mention.
    expect(x.frames.filter((f) => f.type === "unread.updated")).toEqual([]);

    m.send({ type: "channel.read", channelId: general.id, seq: 4 });
    expect((await m.next("unread.updated")).unread).toEqual({ channelId: general.id, lastSeq: 4, readSeq: 4, mentions: 0 });

    // A reconnect gets the unread state in its snapshot.
    await stub.channelActivity({ channelId: general.id, seq: 5, authorId: owner.id, mentionedUserIds: [member.id], mentionedRoleIds: [], everyone: false, here: false });
    m.close();
    const m2 = await openHub(member, community.id);
    expect((await m2.next("state.synced")).unreads).toEqual([{ channelId: general.id, lastSeq: 5, readSeq: 4, mentions: 1 }]);
    const x2 = await openHub(blind, community.id);
    expect((await x2.next("state.synced")).unreads).toEqual([]);
    // Activity for a channel of another community is ignored.
    await stub.channelActivity({ channelId: "elsewhere", seq: 9, authorId: null, mentionedUserIds: [member.id], mentionedRoleIds: [], everyone: true, here: true });
    m2.close();
    x.close();
    x2.close();
  });

  it("stops and resumes unread pings right after visibility changes (the cached per-channel visibility is dropped)", async () => {
    const owner = await newUser();
    const member = await newUser();
    const control = await newUser();
    const { community, channels } = await createCommunity(owner);
    const general = channels.find((c) => c.name === "general")!;
    const role = await createRole(owner, community.id, "Viewers", 0n);
    await addMember(community.id, member);
    await addMember(community.id, control);
    const m = await openHub(member, community.id);
    await m.next("state.synced");
    const c = await openHub(control, community.id);
    await c.next("state.synced");
    // Messages go through the real room, which tells the hub on its own (off the ack path).
    const room = await connectRoom(general.id, owner);
    const unreadAt = (h: typeof m, seq: number) => h.next("unread.updated", (f) => f.unread.channelId === general.id && f.unread.lastSeq === seq);
    const noUnreadFor = async (h: typeof m) => {
      await sleep(100);
      expect(h.frames.filter((f) => f.type === "unread.updated" && f.unread.lastSeq >= seq)).toEqual([]);
    };
    let seq = (await say(room, "one")).seq;
    await unreadAt(m, seq); // the hub has cached who can see #general
    await unreadAt(c, seq);

    // The member loses VIEW_CHANNEL by a member overwrite: the very next message does not ping them.
    await ok(200, owner, "PUT", `/api/channels/${general.id}/overwrites/member/${member.id}`, { allow: "0", deny: String(P.VIEW_CHANNEL) });
    await m.next("channel.deleted", (f) => f.channelId === general.id);
    seq = (await say(room, `two <@${member.id}>`)).seq;
    await unreadAt(c, seq);
    await noUnreadFor(m);

    // Lifting the overwrite: pings resume with the next message...
    await ok(200, owner, "PUT", `/api/channels/${general.id}/overwrites/member/${member.id}`, { allow: "0", deny: "0" });
    await m.next("channel.created", (f) => f.channel.id === general.id);
    seq = (await say(room, "three")).seq;
    await unreadAt(m, seq);

    // ...and @everyone losing it, with a role keeping it for the member: only the role counts.
    await ok(200, owner, "PUT", `/api/channels/${general.id}/overwrites/role/${role.id}`, { allow: String(P.VIEW_CHANNEL), deny: "0" });
    await ok(204, owner, "PUT", `/api/communities/${community.id}/members/${member.id}/roles/${role.id}`);
    const everyoneRole = (await ok<{ roles: { id: string; name: string }[] }>(200, owner, "GET", `/api/communities/${community.id}/roles`)).roles.find(
      (r) => r.name === "@everyone",
    )!;
    await ok(200, owner, "PUT", `/api/channels/${general.id}/overwrites/role/${everyoneRole.id}`, { allow: "0", deny: String(P.VIEW_CHANNEL) });
    await c.next("channel.deleted", (f) => f.channelId === general.id);
    seq = (await say(room, "four")).seq;
    await unreadAt(m, seq);
    await noUnreadFor(c);

    // Taking the role away hides the channel again, at once.
    await ok(204, owner, "DELETE", `/api/communities/${community.id}/members/${member.id}/roles/${role.id}`);
    await m.next("channel.deleted", (f) => f.channelId === general.id);
    seq = (await say(room, "five")).seq;
    await sleep(100);
    expect(m.frames.filter((f) => f.type === "unread.updated" && f.unread.lastSeq >= seq)).toEqual([]);
    expect(c.frames.filter((f) => f.type === "unread.updated" && f.unread.lastSeq >= seq)).toEqual([]);
    room.close();
    m.close();
    c.close();
  });

  it("counts every mention of a burst of messages (the room batches its hub calls)", async () => {
    const owner = await newUser();
    const member = await newUser();
    const { community, channels } = await createCommunity(owner);
    const general = channels.find((c) => c.name === "general")!;
    await addMember(community.id, member);
    const m = await openHub(member, community.id);
    await m.next("state.synced");
    const room = await connectRoom(general.id, owner);
    const nonces = Array.from({ length: 8 }, () => nonce());
    for (const [i, n] of nonces.entries()) room.send({ type: "message.send", nonce: n, content: `ping ${i} <@${member.id}>` });
    const acks = await Promise.all(nonces.map((n) => answer(room, n)));
    const last = Math.max(...acks.map((f) => (f.type === "message.ack" ? f.message.seq : 0)));
    const final = await m.next("unread.updated", (f) => f.unread.channelId === general.id && f.unread.lastSeq === last);
    expect(final.unread).toEqual({ channelId: general.id, lastSeq: last, readSeq: 0, mentions: 8 });
    // Frames only move forward: never an older lastSeq after a newer one.
    const seqs = m.frames.filter((f) => f.type === "unread.updated").map((f) => f.unread.lastSeq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    room.close();
    m.close();
  });

  it("closes every socket when the community is deleted", async () => {
    const owner = await newUser();
    const member = await newUser();
    const { community } = await createCommunity(owner, "Doomed");
    await addMember(community.id, member);
    const b = await openHub(member, community.id);
    await b.next("state.synced");
    await ok(204, owner, "DELETE", `/api/communities/${community.id}`, { confirmName: "Doomed" });
    await b.next("community.deleted");
    expect((await b.waitClosed(2000)).code).toBe(CLOSE.GONE);
    expect((await call(member, "GET", `/api/communities/${community.id}`)).status).toBe(404);
    expect(await (await hub(community.id)).onlineCount()).toBe(0);
  });
});
