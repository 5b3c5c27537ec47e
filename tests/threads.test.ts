/**
 * Threads (docs/threads.md) on real workerd, D1 and ChannelRooms: starting one from a message
 * and in a channel, the thread's room keeping the delivery contract (ack, seq, nonce, replay),
 * the parent's `thread.updated`, the list (active and archived), archiving by inactivity and
 * by hand, reopening by a message, joining and leaving, and what stays out of reach.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MyThread, ThreadList, threadArchived } from "../workers/shared/threads";
import { P } from "../workers/shared/permissions";
import { addMember, connectRoom, makeChannel, makeCommunity, say, setOverwrite, world } from "./chat-fixtures";
import { eventually, openHub, createCommunity as createCommunityApi, addMember as addMemberApi } from "./community-fixtures";
import { call, newUser, ok } from "./helpers";

const start = (u: Parameters<typeof ok>[1], channelId: string, body: Record<string, unknown>) =>
  ok<{ thread: MyThread }>(201, u, "POST", `/api/channels/${channelId}/threads`, body).then((r) => MyThread.parse(r.thread));

describe("threads", () => {
  it("starts from a message, keeps the delivery contract, and tells the parent", async () => {
    const { owner, member, channelId } = await world();
    const parent = await connectRoom(channelId, owner);
    const starter = await say(parent, "let's talk about this");
    const t = await start(member, channelId, { name: "  About this  ", messageId: starter.id });
    expect(t).toMatchObject({ name: "About this", parentId: channelId, starterMessageId: starter.id, ownerId: member.id, messageCount: 0, archived: false, joined: true, memberCount: 1 });
    // The parent's sockets hear of it.
    await parent.next("thread.updated", (f) => f.thread.id === t.id);

    // Starting it again from the same message opens the same thread.
    const again = await ok<{ thread: MyThread }>(200, owner, "POST", `/api/channels/${channelId}/threads`, { name: "Other", messageId: starter.id });
    expect(again.thread.id).toBe(t.id);

    // The thread is a room: ack before created, seq from 1, a resent nonce answers the original.
    const s = await connectRoom(t.id, owner);
    const ready = s.frames.find((f) => f.type === "ready");
    expect(ready).toMatchObject({ headSeq: 0 });
    s.send({ type: "message.send", nonce: "thread-nonce-1", content: "first reply" });
    const ack = await s.next("message.ack");
    expect(ack.message).toMatchObject({ seq: 1, channelId: t.id, content: "first reply" });
    await s.next("message.created", (f) => f.seq === 1);
    s.send({ type: "message.send", nonce: "thread-nonce-1", content: "first reply" });
    const dup = await s.next("message.ack");
    expect(dup.message.id).toBe(ack.message.id);
    await say(s, "second reply");

    // The parent shows "2 replies" and who wrote last; the writer joined the thread.
    const upd = await parent.next("thread.updated", (f) => f.thread.id === t.id && f.thread.messageCount === 2);
    expect(upd.thread).toMatchObject({ lastAuthorId: owner.id, memberCount: 2 });

    // Replay on reconnect: a socket that saw seq 1 gets seq 2 again.
    const late = await connectRoom(t.id, member);
    late.send({ type: "hello", lastSeq: 1 });
    const replayed = await late.next("message.created");
    expect(replayed.seq).toBe(2);
    await late.next("resumed");

    // History over HTTP and the starter message through the parent.
    const page = await ok(200, member, "GET", `/api/channels/${t.id}/messages`);
    expect(page.messages.map((m: { content: string }) => m.content)).toEqual(["first reply", "second reply"]);
    const detail = await ok<{ thread: MyThread }>(200, member, "GET", `/api/threads/${t.id}`);
    expect(detail.thread).toMatchObject({ messageCount: 2, joined: true });
    for (const x of [parent, s, late]) x.close();
  });

  it("lists active and archived threads; inactivity archives, a message reopens", async () => {
    const { owner, member, channelId } = await world();
    const a = await start(owner, channelId, { name: "Quiet one", autoArchiveMinutes: 60 });
    const b = await start(owner, channelId, { name: "Busy one" });
    let list = ThreadList.parse(await ok(200, member, "GET", `/api/channels/${channelId}/threads`));
    expect(list.active.map((t) => t.id).sort()).toEqual([a.id, b.id].sort());
    expect(list.archived).toEqual([]);
    expect(list.active.every((t) => !t.joined)).toBe(true);

    // An hour without a message: archived (the clock is moved back rather than waited out).
    await env.DB.prepare(`UPDATE threads SET last_activity_at = ? WHERE id = ?`).bind(Date.now() - 61 * 60_000, a.id).run();
    list = ThreadList.parse(await ok(200, member, "GET", `/api/channels/${channelId}/threads`));
    expect(list.active.map((t) => t.id)).toEqual([b.id]);
    expect(list.archived.map((t) => t.id)).toEqual([a.id]);

    // Someone allowed to write posts: it is active again.
    const s = await connectRoom(a.id, member);
    await say(s, "back to life");
    await eventually(async () => {
      const l = ThreadList.parse(await ok(200, member, "GET", `/api/channels/${channelId}/threads`));
      expect(l.archived).toEqual([]);
      expect(l.active.find((t) => t.id === a.id)).toMatchObject({ messageCount: 1, joined: true });
    });

    // Archived by hand (its starter), then a message reopens it too.
    const archived = await ok<{ thread: MyThread }>(200, owner, "PATCH", `/api/threads/${b.id}`, { archived: true });
    expect(archived.thread.archived).toBe(true);
    // Not the starter, no MANAGE_MESSAGES: 403 (the thread is visible to them).
    expect((await call(member, "PATCH", `/api/threads/${b.id}`, { name: "mine now" })).status).toBe(403);
    const sb = await connectRoom(b.id, member);
    await say(sb, "reopening");
    await eventually(async () => {
      const t = await ok<{ thread: MyThread }>(200, member, "GET", `/api/threads/${b.id}`);
      expect(t.thread.archived).toBe(false);
    });
    s.close();
    sb.close();
  });

  it("a joined thread's list entry says whether it has unread messages", async () => {
    const { owner, member, channelId } = await world();
    const t = await start(owner, channelId, { name: "Unread" });
    await ok(200, member, "PUT", `/api/threads/${t.id}/members/me`);
    const unreadOf = async () => ThreadList.parse(await ok(200, member, "GET", `/api/channels/${channelId}/threads`)).active.find((x) => x.id === t.id)?.unread;
    expect(await unreadOf()).toBe(false);
    const s = await connectRoom(t.id, owner);
    const m = await say(s, "news");
    expect(await unreadOf()).toBe(true);
    const ms = await connectRoom(t.id, member);
    ms.send({ type: "read.mark", seq: m.seq });
    await ms.next("read.updated");
    expect(await unreadOf()).toBe(false);
    // What one wrote oneself is read (the starter, a member since creation).
    expect(ThreadList.parse(await ok(200, owner, "GET", `/api/channels/${channelId}/threads`)).active[0]!.unread).toBe(false);
    s.close();
    ms.close();
  });

  it("joins and leaves; renames by the starter", async () => {
    const { owner, member, channelId } = await world();
    const t = await start(owner, channelId, { name: "Plans" });
    expect((await ok<{ thread: MyThread }>(200, member, "PUT", `/api/threads/${t.id}/members/me`)).thread).toMatchObject({ joined: true, memberCount: 2 });
    expect((await ok<{ thread: MyThread }>(200, member, "PUT", `/api/threads/${t.id}/members/me`)).thread.memberCount).toBe(2);
    expect((await ok<{ thread: MyThread }>(200, member, "DELETE", `/api/threads/${t.id}/members/me`)).thread).toMatchObject({ joined: false, memberCount: 1 });
    expect((await ok<{ thread: MyThread }>(200, owner, "PATCH", `/api/threads/${t.id}`, { name: "Better plans" })).thread.name).toBe("Better plans");
  });

  it("refuses bad input with 4xx and threads where there can be none", async () => {
    const { owner, channelId, community } = await world();
    expect((await call(owner, "POST", `/api/channels/${channelId}/threads`, { name: "" })).status).toBe(400);
    expect((await call(owner, "POST", `/api/channels/${channelId}/threads`, { name: "x".repeat(101) })).status).toBe(400);
    expect((await call(owner, "POST", `/api/channels/${channelId}/threads`, { name: "ok", autoArchiveMinutes: 5 })).status).toBe(400);
    expect((await call(owner, "POST", `/api/channels/${channelId}/threads`, { name: "ok", extra: 1 })).status).toBe(400);
    expect((await call(owner, "PATCH", `/api/threads/NoSuchThread0000000000000`, {})).status).toBe(400);
    // A message that does not exist, a voice channel, a thread inside a thread.
    expect((await call(owner, "POST", `/api/channels/${channelId}/threads`, { name: "ok", messageId: "NoSuchMessage000000000000" })).status).toBe(404);
    const voice = await makeChannel(community, "voice");
    expect((await call(owner, "POST", `/api/channels/${voice}/threads`, { name: "ok" })).status).toBe(404);
    const t = await start(owner, channelId, { name: "Outer" });
    expect((await call(owner, "POST", `/api/channels/${t.id}/threads`, { name: "Inner" })).status).toBe(404);
    // A thread is not a channel to manage.
    expect((await call(owner, "PATCH", `/api/channels/${t.id}`, { name: "renamed" })).status).toBe(404);
    expect((await call(owner, "DELETE", `/api/channels/${t.id}`)).status).toBe(404);
  });

  it("takes SEND_IN_THREADS, not SEND_MESSAGES, to write in a thread", async () => {
    const owner = await newUser();
    // @everyone may write in threads but not in the channel itself.
    const community = await makeCommunity(owner, P.VIEW_CHANNEL | P.READ_HISTORY | P.CREATE_THREADS | P.SEND_IN_THREADS);
    const member = await newUser();
    await addMember(community, member);
    const channelId = await makeChannel(community);
    const t = await start(member, channelId, { name: "Announcement talk" });
    const parent = await connectRoom(channelId, member);
    parent.send({ type: "message.send", nonce: "no-send-here-1", content: "x" });
    expect(await parent.next("error")).toMatchObject({ code: "forbidden" });
    const s = await connectRoom(t.id, member);
    await say(s, "allowed here");
    parent.close();
    s.close();
  });

  it("a mention in a thread reaches the mentioned member's hub (and only theirs); reading the thread clears it", async () => {
    const owner = await newUser();
    const member = await newUser();
    const bystander = await newUser();
    const blind = await newUser();
    const { community, channels } = await createCommunityApi(owner);
    const general = channels.find((c) => c.kind === "text")!.id;
    for (const u of [member, bystander, blind]) await addMemberApi(community.id, u);
    await ok(200, owner, "PUT", `/api/channels/${general}/overwrites/member/${blind.id}`, { allow: "0", deny: String(P.VIEW_CHANNEL) });
    const t = await start(owner, general, { name: "Mentions" });
    const hubs = await Promise.all([member, bystander, blind].map(async (u) => {
      const h = await openHub(u, community.id);
      await h.next("state.synced");
      return h;
    }));
    const s = await connectRoom(t.id, owner);
    await say(s, "no mention here");
    const m = await say(s, `ping <@${member.id}> and <@${blind.id}>`);
    const got = await hubs[0]!.next("unread.updated", (f) => f.unread.channelId === t.id);
    expect(got.unread).toMatchObject({ channelId: t.id, lastSeq: m.seq, mentions: 1 });
    // The parent channel's readers are not told of every thread message, and the blind member not even of a mention.
    await say(await connectRoom(general, owner), "a channel message after it");
    await hubs[1]!.next("unread.updated", (f) => f.unread.channelId === general);
    expect(hubs[1]!.frames.some((f) => f.type === "unread.updated" && f.unread.channelId === t.id)).toBe(false);
    expect(hubs[2]!.frames.some((f) => f.type === "unread.updated" && f.unread.channelId === t.id)).toBe(false);
    // Reading the thread clears the mention.
    const ms = await connectRoom(t.id, member);
    ms.send({ type: "read.mark", seq: m.seq });
    const cleared = await hubs[0]!.next("unread.updated", (f) => f.unread.channelId === t.id && f.unread.mentions === 0);
    expect(cleared.unread.readSeq).toBe(m.seq);
    for (const h of hubs) h.close();
    s.close();
    ms.close();
  });

  it("thread.updated goes only to sockets that may read the channel", async () => {
    const owner = await newUser();
    const community = await makeCommunity(owner);
    const viewer = await newUser();
    const reader = await newUser();
    await addMember(community, viewer);
    await addMember(community, reader);
    const channelId = await makeChannel(community);
    await setOverwrite(channelId, "member", viewer.id, 0n, P.READ_HISTORY);
    const v = await connectRoom(channelId, viewer);
    const r = await connectRoom(channelId, reader);
    const t = await start(owner, channelId, { name: "Readers only" });
    await r.next("thread.updated", (f) => f.thread.id === t.id);
    // The reader heard it, and frames to one room go out in one loop: the viewer heard nothing before a later frame.
    const after = await connectRoom(channelId, owner);
    await say(after, "later");
    await v.next("message.created", (f) => f.message.content === "later");
    expect(v.frames.some((f) => f.type === "thread.updated")).toBe(false);
    for (const x of [v, r, after]) x.close();
  });

  it("archive rule", () => {
    const now = 10_000_000;
    expect(threadArchived({ archivedAt: null, lastActivityAt: now - 59 * 60_000, autoArchiveMinutes: 60 }, now)).toBe(false);
    expect(threadArchived({ archivedAt: null, lastActivityAt: now - 60 * 60_000, autoArchiveMinutes: 60 }, now)).toBe(true);
    expect(threadArchived({ archivedAt: now, lastActivityAt: now, autoArchiveMinutes: 60 }, now)).toBe(true);
  });
});
