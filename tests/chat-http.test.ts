/**
 * The chat HTTP routes: history pages by seq in both directions and around a message, one
 * message, pins, channel and community search with filters and context, read state, 404s
 * for channels a user cannot see, and malformed queries (never a 500).
 */
import { env, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChannelStore } from "../durable-objects/channel-store";
import type { HistoryPage, Message, ReadState, SearchResults } from "../workers/shared/chat";
import { newId } from "../workers/shared/ids";
import { P } from "../workers/shared/permissions";
import { addMember, connectRoom, makeChannel, roomStub, say, setOverwrite, world } from "./chat-fixtures";
import { client, newUser, type User } from "./helpers";

/** Writes messages straight into a room's store (no rate limit). */
function seed(channelId: string, items: { author: User; content: string; createdAt: number; attachment?: boolean }[]) {
  return runInDurableObject(roomStub(channelId), (_i, state) => {
    const store = new ChannelStore(state.storage.sql, channelId);
    store.migrate();
    return items.map((it) =>
      store.insertMessage({
        id: newId(it.createdAt),
        author: { id: it.author.id, username: it.author.username, displayName: it.author.displayName },
        content: it.content,
        replyTo: null,
        attachments: it.attachment
          ? [{ id: newId(), filename: "f.txt", contentType: "text/plain", size: 1, width: null, height: null, url: "/attachments/x/y/f.txt" }]
          : [],
        mentions: { users: [], roles: [], everyone: false, here: false },
        system: null,
        createdAt: it.createdAt,
        pings: { users: [], roles: [], everyone: false },
        nonce: null,
      }).message,
    );
  });
}

async function get<T>(u: User, path: string): Promise<{ status: number; body: T }> {
  const res = await u.http.fetch(path);
  return { status: res.status, body: (await res.json()) as T };
}

describe("chat HTTP routes", () => {
  it("pages history by seq backwards, forwards and around a message", async () => {
    const w = await world();
    const t0 = Date.now() - 1_000_000;
    await seed(w.channelId, Array.from({ length: 120 }, (_, i) => ({ author: w.owner, content: `message ${i + 1}`, createdAt: t0 + i })));
    const base = `/api/channels/${w.channelId}/messages`;

    const latest = await get<HistoryPage>(w.member, base);
    expect(latest.status).toBe(200);
    expect(latest.body.messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 71 + i));
    expect(latest.body).toMatchObject({ headSeq: 120, hasBefore: true, hasAfter: false });

    // Scroll up until the start.
    const seen: number[] = [...latest.body.messages.map((m) => m.seq)];
    let page = latest.body;
    while (page.hasBefore) {
      page = (await get<HistoryPage>(w.member, `${base}?before=${page.messages[0]!.seq}`)).body;
      seen.unshift(...page.messages.map((m) => m.seq));
      expect(page.hasAfter).toBe(true);
    }
    expect(seen).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));

    // Forwards from the start.
    const fwd = await get<HistoryPage>(w.member, `${base}?after=0&limit=30`);
    expect(fwd.body.messages.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(fwd.body).toMatchObject({ hasBefore: false, hasAfter: true });
    const end = await get<HistoryPage>(w.member, `${base}?after=110`);
    expect(end.body.messages.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 111));
    expect(end.body).toMatchObject({ hasBefore: true, hasAfter: false });

    // Around a message (jump to it): it is in the page, with context on both sides.
    const around = await get<HistoryPage>(w.member, `${base}?around=60&limit=20`);
    expect(around.body.messages.map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 50));
    expect(around.body).toMatchObject({ hasBefore: true, hasAfter: true });

    // One message by id.
    const one = await get<{ message: Message }>(w.member, `/api/channels/${w.channelId}/messages/${latest.body.messages[0]!.id}`);
    expect(one.body.message).toMatchObject({ seq: 71, content: "message 71", author: { id: w.owner.id } });
    expect((await w.member.http.fetch(`/api/channels/${w.channelId}/messages/nosuch`)).status).toBe(404);

    // Bad queries are 400s.
    for (const q of ["?limit=51", "?limit=0", "?before=-1", "?before=1&after=2", "?around=abc", "?bogus=1"]) {
      const r = await w.member.http.fetch(base + q);
      expect(r.status, q).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
    }
  });

  it("returns pins and keeps history in step with edits, deletes and reactions", async () => {
    const w = await world();
    const s = await connectRoom(w.channelId, w.owner);
    const a = await say(s, "pin me");
    const b = await say(s, "delete me");
    s.send({ type: "pin.add", ref: "p", messageId: a.id });
    await s.next("pin.added");
    s.send({ type: "message.delete", ref: "d", id: b.id });
    await s.next("message.deleted");
    s.send({ type: "reaction.add", ref: "r", messageId: a.id, emoji: "🔥" });
    await s.next("reaction.added");

    const pins = await get<{ messages: Message[] }>(w.member, `/api/channels/${w.channelId}/pins`);
    expect(pins.body.messages.map((m) => m.id)).toEqual([a.id]);
    const hist = await get<HistoryPage>(w.member, `/api/channels/${w.channelId}/messages`);
    expect(hist.body.messages).toHaveLength(1);
    expect(hist.body.messages[0]).toMatchObject({ id: a.id, pinned: true, reactions: [{ emoji: "🔥", count: 1, userIds: [w.owner.id] }] });
    expect(hist.body.headSeq).toBe(5);
  });

  it("searches a channel with words, prefixes, author, dates and has=attachment, with context", async () => {
    const w = await world();
    const t0 = Date.UTC(2026, 0, 1);
    const msgs = await seed(w.channelId, [
      { author: w.owner, content: "The quick brown fox", createdAt: t0 },
      { author: w.member, content: "jumps over the lazy dog", createdAt: t0 + 1000 },
      { author: w.owner, content: "Foxes are quick; café au lait", createdAt: t0 + 2000 },
      { author: w.member, content: "a quick note with a file", createdAt: t0 + 3000, attachment: true },
      { author: w.owner, content: "nothing to see", createdAt: t0 + 4000 },
    ]);
    const search = (q: string) => get<SearchResults>(w.member, `/api/channels/${w.channelId}/search?${q}`);

    const quick = await search("q=quick");
    expect(quick.body.hits.map((h) => h.message.seq)).toEqual([4, 3, 1]); // newest first
    const first = quick.body.hits[2]!;
    expect(first.before).toBeNull();
    expect(first.after?.id).toBe(msgs[1]!.id);
    expect(quick.body.hits[0]!.before?.seq).toBe(3);
    expect(quick.body.hits[0]!.after?.seq).toBe(5);

    expect((await search("q=fox")).body.hits.map((h) => h.message.seq)).toEqual([3, 1]); // prefix: fox, foxes
    expect((await search("q=quick+fox")).body.hits.map((h) => h.message.seq)).toEqual([3, 1]);
    expect((await search("q=CAFE")).body.hits.map((h) => h.message.seq)).toEqual([3]); // case and diacritics
    expect((await search(`q=quick&author=${w.member.id}`)).body.hits.map((h) => h.message.seq)).toEqual([4]);
    expect((await search(`q=quick&before=${t0 + 2500}&after=${t0 - 1}`)).body.hits.map((h) => h.message.seq)).toEqual([3, 1]);
    expect((await search("has=attachment")).body.hits.map((h) => h.message.seq)).toEqual([4]);
    expect((await search(`author=${w.owner.id}&limit=2`)).body).toMatchObject({ hasMore: true });
    // FTS5 syntax in the input is text, not operators.
    expect((await search('q="quick" OR NEAR(fox')).status).toBe(200);
    expect((await search("q=***")).body.hits).toEqual([]);
    expect((await search("has=image")).status).toBe(400);
  });

  it("searches across a community only in channels the member may read", async () => {
    const w = await world();
    const hidden = await makeChannel(w.community, "text", "staff");
    const noHistory = await makeChannel(w.community, "text", "announcements");
    await setOverwrite(hidden, "role", w.community.everyoneRoleId, 0n, P.VIEW_CHANNEL);
    await setOverwrite(noHistory, "member", w.member.id, 0n, P.READ_HISTORY);
    const t = Date.now() - 10_000;
    await seed(w.channelId, [{ author: w.owner, content: "launch plan public", createdAt: t }]);
    await seed(hidden, [{ author: w.owner, content: "launch plan secret", createdAt: t + 1 }]);
    await seed(noHistory, [{ author: w.owner, content: "launch plan announced", createdAt: t + 2 }]);

    const member = await get<SearchResults>(w.member, `/api/communities/${w.community.id}/search?q=launch`);
    expect(member.status).toBe(200);
    expect(member.body.hits.map((h) => h.message.content)).toEqual(["launch plan public"]);
    expect(member.body.hits[0]!.message.channelId).toBe(w.channelId);
    const owner = await get<SearchResults>(w.owner, `/api/communities/${w.community.id}/search?q=launch`);
    expect(owner.body.hits.map((h) => h.message.content)).toEqual(["launch plan announced", "launch plan secret", "launch plan public"]);

    const stranger = await newUser();
    expect((await stranger.http.fetch(`/api/communities/${w.community.id}/search?q=launch`)).status).toBe(404);
  });

  it("reports read state with the first unread message and mention counts", async () => {
    const w = await world();
    const o = await connectRoom(w.channelId, w.owner);
    const m = await connectRoom(w.channelId, w.member);
    await say(m, "my own message");
    const a = await say(o, "hello");
    await say(o, `hey <@${w.member.id}>`);
    await say(o, "@everyone meeting");
    const rs = await get<ReadState>(w.member, `/api/channels/${w.channelId}/read-state`);
    // Sending moved the member's own marker past their message.
    expect(rs.body).toEqual({ lastReadSeq: 1, headSeq: 4, firstUnreadSeq: a.seq, unreadCount: 3, mentionCount: 2 });
    const mine = await get<ReadState>(w.owner, `/api/channels/${w.channelId}/read-state`);
    expect(mine.body).toMatchObject({ lastReadSeq: 4, headSeq: 4, unreadCount: 0 });
    m.send({ type: "read.mark", seq: 3 });
    await m.next("read.updated");
    const after = await get<ReadState>(w.member, `/api/channels/${w.channelId}/read-state`);
    expect(after.body).toEqual({ lastReadSeq: 3, headSeq: 4, firstUnreadSeq: 4, unreadCount: 1, mentionCount: 1 });
  });

  it("answers 404 for channels a user cannot see, 403 without READ_HISTORY, 401 when logged out", async () => {
    const w = await world();
    const outsider = await newUser();
    const hidden = await makeChannel(w.community, "text", "hidden");
    await setOverwrite(hidden, "member", w.member.id, 0n, P.VIEW_CHANNEL);
    const category = await makeChannel(w.community, "text", "x");
    await env.DB.prepare(`UPDATE channels SET kind = 'category' WHERE id = ?`).bind(category).run();
    const paths = (id: string) => [`/api/channels/${id}/messages`, `/api/channels/${id}/messages/x`, `/api/channels/${id}/search?q=a`, `/api/channels/${id}/read-state`, `/api/channels/${id}/pins`];
    for (const p of [...paths(w.channelId)]) expect((await outsider.http.fetch(p)).status, p).toBe(404);
    for (const p of [...paths(hidden), ...paths(category), ...paths("nosuchchannel")]) expect((await w.member.http.fetch(p)).status, p).toBe(404);
    const noHist = await makeChannel(w.community, "text", "nohist");
    await setOverwrite(noHist, "member", w.member.id, 0n, P.READ_HISTORY);
    expect((await w.member.http.fetch(`/api/channels/${noHist}/messages`)).status).toBe(403);
    expect((await w.member.http.fetch(`/api/channels/${noHist}/read-state`)).status).toBe(200);
    const anon = await client().fetch(`/api/channels/${w.channelId}/messages`);
    expect(anon.status).toBe(401);
    // And the WebSocket route refuses them too.
    await expect(connectRoom(hidden, w.member)).rejects.toThrow(/404/);
    await expect(connectRoom(w.channelId, outsider)).rejects.toThrow(/404/);
    await addMember(w.community, outsider);
    await connectRoom(w.channelId, outsider);
  });

  it("never answers a malformed history or search query with a 5xx (fast-check)", async () => {
    const w = await world();
    const keys = ["before", "after", "around", "limit", "q", "author", "has", "x", "__proto__"];
    const value = fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String), fc.double().map(String), fc.constantFrom("", "-0", "1e400", "NaN", "%00", "[]", "{}"));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("messages", "search"), fc.array(fc.tuple(fc.constantFrom(...keys), value), { maxLength: 4 }), async (route, pairs) => {
        const qs = new URLSearchParams(pairs).toString();
        const res = await w.member.http.fetch(`/api/channels/${w.channelId}/${route}?${qs}`);
        expect(res.status, qs).toBeLessThan(500);
        await res.body?.cancel();
      }),
      { numRuns: 80 },
    );
    const res = await w.member.http.fetch(`/api/communities/${w.community.id}/search?q=${encodeURIComponent("\"*'(")}&before=abc`);
    expect(res.status).toBe(400);
  });
});
