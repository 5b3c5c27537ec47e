/**
 * Threat: text that was deleted or edited away comes back. A `hello` with an old `lastSeq`
 * replays stored frames; they must never carry text that no longer exists — not the message's
 * own frames, not the reply previews quoting it, not after a ban clean-up — and neither may
 * the room's rows or its search index. The delivery contract holds meanwhile: the same seqs,
 * no gaps, nothing doubled. History and search over HTTP agree.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { getServerByName } from "partyserver";
import { describe, expect, it } from "vitest";
import type { ChannelEvent, Message, SearchResults } from "../workers/shared/chat";
import { connectRoom, roomStub, say, type RoomSocket, world } from "./chat-fixtures";
import { type User } from "./helpers";

/** A word no other test writes, that the search index keeps as one token. */
const marker = (what: string) => `zqx${what}${Math.random().toString(36).slice(2, 10)}`;

/**
 * Opens a new socket as `user`, sends `hello { lastSeq }` and returns the raw text of every
 * frame the replay sent (up to and including `resumed`) and the events in it.
 */
async function replay(channelId: string, user: User, lastSeq: number) {
  const s = await connectRoom(channelId, user);
  const raw: string[] = [];
  s.ws.addEventListener("message", (e) => {
    raw.push(typeof e.data === "string" ? e.data : "");
  });
  s.send({ type: "hello", lastSeq });
  const resumed = await s.next("resumed");
  const events = s.frames.filter((f): f is ChannelEvent & typeof f => "seq" in f && f.type !== "read.updated");
  s.close();
  return { raw: raw.join("\n"), resumed, events };
}

/** Everywhere the room keeps text: stored frames, message rows, and the search index (its query and its raw pages). */
function storedTraces(channelId: string, text: string) {
  return runInDurableObject(roomStub(channelId), (_i, state) => {
    const sql = state.storage.sql;
    const like = `%${text}%`;
    const count = (q: string, ...b: string[]) => sql.exec<{ n: number }>(q, ...b).one().n;
    return {
      events: count(`SELECT COUNT(*) AS n FROM events WHERE frame LIKE ?`, like),
      messages: count(`SELECT COUNT(*) AS n FROM messages WHERE content LIKE ?`, like),
      search: count(`SELECT COUNT(*) AS n FROM messages_fts WHERE messages_fts MATCH ?`, `"${text}"`),
      indexPages: count(`SELECT COUNT(*) AS n FROM messages_fts_data WHERE instr(block, CAST(? AS BLOB)) > 0`, text),
      indexTerms: count(`SELECT COUNT(*) AS n FROM messages_fts_idx WHERE instr(term, CAST(? AS BLOB)) > 0`, text),
    };
  });
}
const NONE = { events: 0, messages: 0, search: 0, indexPages: 0, indexTerms: 0 };

async function getJson<T>(user: User, path: string): Promise<T> {
  const res = await user.http.fetch(path);
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

/** What HTTP shows of the channel: every history message, and search hits for `text`. */
async function httpText(user: User, channelId: string, text: string) {
  const page = await getJson<{ messages: Message[] }>(user, `/api/channels/${channelId}/messages?limit=50`);
  const hits = await getJson<SearchResults>(user, `/api/channels/${channelId}/search?q=${text}`);
  return { history: JSON.stringify(page.messages), hits: hits.hits.length, messages: page.messages };
}

/** The replay's seqs are exactly lastSeq+1 .. toSeq, each once. */
function expectGapless(events: { seq: number }[], lastSeq: number, toSeq: number) {
  expect(events.map((e) => e.seq)).toEqual(Array.from({ length: toSeq - lastSeq }, (_, i) => lastSeq + 1 + i));
}

describe("replays carry only text that still exists", () => {
  it("edit then replay from before: only the new text, in the message's frames and the replies quoting it", async () => {
    const w = await world();
    const owner = await connectRoom(w.channelId, w.owner);
    const member = await connectRoom(w.channelId, w.member);
    const first = marker("first");
    const second = marker("second");
    const final = marker("final");
    const original = await say(owner, `hello ${first}`);
    const reply = await say(member, "a reply quoting it", { replyTo: original.id });
    expect(reply.replyTo?.content).toContain(first);

    owner.send({ type: "message.edit", ref: "e1", id: original.id, content: `edited ${second}` });
    await owner.next("message.updated", (f) => f.message.id === original.id);
    owner.send({ type: "message.edit", ref: "e2", id: original.id, content: `edited again ${final}` });
    await owner.next("message.updated", (f) => f.message.content.includes(final));
    const head = 4;

    const r = await replay(w.channelId, w.member, 0);
    expect(r.resumed).toEqual({ type: "resumed", fromSeq: 1, toSeq: head });
    expectGapless(r.events, 0, head);
    expect(r.raw).not.toContain(first);
    expect(r.raw).not.toContain(second);
    const created = r.events.find((e) => e.type === "message.created" && e.message.id === original.id) as Extract<ChannelEvent, { type: "message.created" }>;
    expect(created.message.content).toBe(`edited again ${final}`);
    expect(created.message.editedAt).not.toBeNull();
    const replied = r.events.find((e) => e.type === "message.created" && e.message.id === reply.id) as Extract<ChannelEvent, { type: "message.created" }>;
    expect(replied.message.replyTo).toMatchObject({ id: original.id, seq: original.seq, content: `edited again ${final}` });
    // Replaying from the middle works the same way.
    const mid = await replay(w.channelId, w.member, 2);
    expectGapless(mid.events, 2, head);
    expect(mid.raw).not.toContain(first);
    expect(mid.raw).not.toContain(second);

    for (const old of [first, second]) {
      expect(await storedTraces(w.channelId, old)).toEqual(NONE);
      const http = await httpText(w.owner, w.channelId, old);
      expect(http.history).not.toContain(old);
      expect(http.hits).toBe(0);
    }
    const now = await httpText(w.owner, w.channelId, final);
    expect(now.hits).toBe(1);
    expect(now.messages.find((m) => m.id === reply.id)?.replyTo?.content).toBe(`edited again ${final}`);
    // The sockets that were there all along saw every event once.
    expect(member.frames.filter((f) => "seq" in f && f.type !== "read.updated").map((f) => (f as { seq: number }).seq)).toEqual([1, 2, 3, 4]);
  });

  it("delete then replay: the deleted text appears nowhere, reply previews say it is gone", async () => {
    const w = await world();
    const owner = await connectRoom(w.channelId, w.owner);
    const member = await connectRoom(w.channelId, w.member);
    const secret = marker("secret");
    const doomed = await say(member, `oops ${secret} posted here`);
    const reply = await say(owner, "quoting that", { replyTo: doomed.id });
    expect(reply.replyTo?.content).toContain(secret);
    member.send({ type: "message.edit", ref: "e", id: doomed.id, content: `still ${secret} edited` });
    await owner.next("message.updated");
    member.send({ type: "message.delete", ref: "d", id: doomed.id });
    await owner.next("message.deleted");

    const r = await replay(w.channelId, w.owner, 0);
    expectGapless(r.events, 0, 4);
    expect(r.raw).not.toContain(secret);
    const replied = r.events.find((e) => e.type === "message.created" && e.message.id === reply.id) as Extract<ChannelEvent, { type: "message.created" }>;
    expect(replied.message.replyTo).toEqual({ id: doomed.id, seq: null, author: null, content: null });
    expect(r.events.find((e) => e.type === "message.created" && e.message.id === doomed.id)).toMatchObject({ message: { deleted: true, content: "" } });

    expect(await storedTraces(w.channelId, secret)).toEqual(NONE);
    const http = await httpText(w.owner, w.channelId, secret);
    expect(http.history).not.toContain(secret);
    expect(http.hits).toBe(0);
    const one = await getJson<{ message: Message }>(w.owner, `/api/channels/${w.channelId}/messages/${reply.id}`);
    expect(one.message.replyTo).toEqual({ id: doomed.id, seq: null, author: null, content: null });
  });

  it("ban clean-up (deleteMessagesBy) leaves no trace of the removed messages either", async () => {
    const w = await world();
    const owner = await connectRoom(w.channelId, w.owner);
    const member = await connectRoom(w.channelId, w.member);
    const spam = [marker("spama"), marker("spamb")];
    const sent = [await say(member, `buy ${spam[0]} now`), await say(member, `also ${spam[1]}`)];
    await say(owner, "a reply to the spam", { replyTo: sent[0]!.id });
    member.send({ type: "message.edit", ref: "e", id: sent[1]!.id, content: `edited ${spam[1]} again` });
    await owner.next("message.updated");

    const room = await getServerByName(env.ChannelRoom, w.channelId);
    expect(await room.deleteMessagesBy({ userId: w.member.id, sinceMs: 0 })).toEqual({ deleted: 2, more: false });
    await owner.next("message.deleted");
    await owner.next("message.deleted");

    const r = await replay(w.channelId, w.owner, 0);
    expectGapless(r.events, 0, 6);
    for (const s of spam) {
      expect(r.raw).not.toContain(s);
      expect(await storedTraces(w.channelId, s)).toEqual(NONE);
      const http = await httpText(w.owner, w.channelId, s);
      expect(http.history).not.toContain(s);
      expect(http.hits).toBe(0);
    }
  });
});
