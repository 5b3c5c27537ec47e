/**
 * A room whose SQLite has the version-1 tables (a send_log beside rowid nonces and read
 * markers, head_seq written in meta with every event) keeps working after ChannelStore's
 * in-place upgrade: the nonce of a message sent before still answers with that message, the
 * send-rate window carries over, seqs go on without a gap, a replay from before the upgrade
 * returns the same frames, and the sender's read marker stays.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RATE_LIMIT_MESSAGES, type ServerFrame } from "../workers/shared/chat";
import { answer, connectRoom, nonce, roomStub, say, world } from "./chat-fixtures";

const isEvent = (f: ServerFrame) => "seq" in f && f.type !== "read.updated";

/**
 * Puts a room's tables back into their version-1 shape (the DDL of commit 497af4d), rows kept:
 * the room then looks exactly as one written by the code of before.
 */
const TO_V1 = [
  `CREATE INDEX events_message ON events (message_id)`,
  `DROP INDEX IF EXISTS nonces_user_created`,
  `DROP INDEX IF EXISTS nonces_created`,
  `ALTER TABLE nonces RENAME TO nonces_v2`,
  `CREATE TABLE nonces (
     user_id TEXT NOT NULL, nonce TEXT NOT NULL, message_id TEXT NOT NULL, seq INTEGER NOT NULL,
     created_at INTEGER NOT NULL, PRIMARY KEY (user_id, nonce))`,
  `CREATE INDEX nonces_created ON nonces (created_at)`,
  `INSERT INTO nonces SELECT user_id, nonce, message_id, seq, created_at FROM nonces_v2`,
  `CREATE TABLE send_log (user_id TEXT NOT NULL, at INTEGER NOT NULL)`,
  `CREATE INDEX send_log_user ON send_log (user_id, at)`,
  `INSERT INTO send_log (user_id, at) SELECT user_id, created_at FROM nonces_v2`,
  `DROP TABLE nonces_v2`,
  `ALTER TABLE read_markers RENAME TO read_markers_v2`,
  `CREATE TABLE read_markers (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, updated_at INTEGER NOT NULL)`,
  `INSERT INTO read_markers SELECT user_id, seq, updated_at FROM read_markers_v2`,
  `DROP TABLE read_markers_v2`,
  `INSERT INTO meta (key, value) VALUES ('head_seq', (SELECT MAX(seq) FROM events)) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  `DELETE FROM meta WHERE key = 'schema_version'`,
];

function tableSql(channelId: string) {
  return runInDurableObject(roomStub(channelId), (_i, state) =>
    Object.fromEntries(
      state.storage.sql
        .exec<{ name: string; sql: string }>(`SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN ('nonces', 'send_log', 'read_markers')`)
        .toArray()
        .map((r) => [r.name, r.sql]),
    ),
  );
}

describe("ChannelStore schema upgrade (version 1 → 2)", () => {
  it("a version-1 room keeps its nonces, rate window, seqs, replay and read markers after the upgrade", async () => {
    const w = await world();
    const a = await connectRoom(w.channelId, w.owner);
    // A full rate window for the owner: RATE_LIMIT_MESSAGES messages, each with its nonce.
    const nonces: string[] = [];
    const sent = [];
    for (let i = 0; i < RATE_LIMIT_MESSAGES; i++) {
      nonces.push(nonce());
      sent.push(await say(a, `before ${i}`, { nonce: nonces[i] }));
    }
    const head = sent[sent.length - 1]!.seq;
    expect(head).toBe(RATE_LIMIT_MESSAGES);

    await runInDurableObject(roomStub(w.channelId), (_i, state) => {
      for (const s of TO_V1) state.storage.sql.exec(s);
    });
    const v1 = await tableSql(w.channelId);
    expect(v1.send_log).toBeDefined();
    expect(v1.nonces).not.toMatch(/WITHOUT ROWID/);
    const framesBefore = await runInDurableObject(roomStub(w.channelId), (_i, state) =>
      state.storage.sql.exec<{ frame: string }>(`SELECT frame FROM events ORDER BY seq`).toArray().map((r) => r.frame),
    );

    // The instance goes; the next one migrates the tables it finds.
    await evictDurableObject(roomStub(w.channelId), { webSockets: "close" });
    await a.waitClosed();
    const a2 = await connectRoom(w.channelId, w.owner);
    expect(a2.frames[0]).toMatchObject({ type: "ready", headSeq: head, lastReadSeq: head });

    const v2 = await tableSql(w.channelId);
    expect(v2.send_log).toBeUndefined();
    expect(v2.nonces).toMatch(/WITHOUT ROWID/);
    expect(v2.read_markers).toMatch(/WITHOUT ROWID/);
    const eventIndexes = await runInDurableObject(roomStub(w.channelId), (_i, state) =>
      state.storage.sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'events_message'`).toArray().length,
    );
    expect(eventIndexes).toBe(0);

    // A resent nonce from before the upgrade answers with the message it made, and makes none.
    const again = await say(a2, "resent after the upgrade", { nonce: nonces[3] });
    expect(again).toEqual(sent[3]);

    // The window of sends from before still counts: an 11th message now is refused.
    const n11 = nonce();
    a2.send({ type: "message.send", nonce: n11, content: "one too many" });
    expect(await answer(a2, n11)).toMatchObject({ type: "error", code: "rate_limited" });

    // Another member's message takes the next seq: no gap, no reuse.
    const b = await connectRoom(w.channelId, w.member);
    const next = await say(b, "after the upgrade");
    expect(next.seq).toBe(head + 1);

    // A replay from before the upgrade sends the stored frames as they were, then the new one.
    b.send({ type: "hello", lastSeq: 2 });
    expect(await b.next("resumed")).toEqual({ type: "resumed", fromSeq: 3, toSeq: head + 1 });
    const replayed = b.frames.filter(isEvent).filter((f) => "seq" in f && f.seq >= 3 && f.seq <= head);
    expect(replayed.map((f) => JSON.stringify(f))).toEqual(framesBefore.slice(2));

    // And it stays upgraded: the version is recorded, a second start changes nothing.
    await evictDurableObject(roomStub(w.channelId), { webSockets: "close" });
    await b.waitClosed();
    const b2 = await connectRoom(w.channelId, w.member);
    expect(b2.frames[0]).toMatchObject({ type: "ready", headSeq: head + 1, lastReadSeq: head + 1 });
    const version = await runInDurableObject(roomStub(w.channelId), (_i, state) =>
      state.storage.sql.exec<{ value: number }>(`SELECT value FROM meta WHERE key = 'schema_version'`).one().value,
    );
    expect(version).toBe(2);
  });

  it("a new room starts at the current version, with the send-rate window kept in its nonces", async () => {
    const w = await world();
    const a = await connectRoom(w.channelId, w.owner);
    for (let i = 0; i < RATE_LIMIT_MESSAGES; i++) await say(a, `m${i}`);
    const n = nonce();
    a.send({ type: "message.send", nonce: n, content: "one too many" });
    expect(await answer(a, n)).toMatchObject({ type: "error", code: "rate_limited" });
    const t = await tableSql(w.channelId);
    expect(t.send_log).toBeUndefined();
    expect(t.nonces).toMatch(/WITHOUT ROWID/);
    const rows = await runInDurableObject(roomStub(w.channelId), (_i, state) => ({
      nonces: state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM nonces`).one().n,
      headMeta: state.storage.sql.exec(`SELECT 1 FROM meta WHERE key = 'head_seq'`).toArray().length,
    }));
    expect(rows).toEqual({ nonces: RATE_LIMIT_MESSAGES, headMeta: 0 });
  });
});
