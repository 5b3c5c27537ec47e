/**
 * The storage of one ChannelRoom: messages, the event log, reactions, pins, pinging mentions,
 * nonces, the send-rate log, read markers and the FTS5 index, all in the room's own SQLite.
 * Every method is synchronous: SQLite calls in a Durable Object do not yield, so a method
 * (or several in a row without an `await`) is atomic and nothing interleaves with it.
 *
 * Text that is gone stays gone: editing or deleting a message rewrites, in the same method,
 * every stored frame that carries its text (its own message.created/updated frames and the
 * reply previews quoting it), and the search index deletes for real (FTS5 secure-delete), so
 * neither a replay nor the index returns text that no longer exists.
 *
 * The search index follows the messages a moment later (`indexPending`): a new message is not
 * indexed in the write that stores it, so the commit that must be durable before its ack and
 * fan-out stays small (FTS5 adds a new segment, several pages, per write); the room indexes
 * what is pending in one write shortly after, and always first, in the same synchronous step,
 * before any search, edit or delete reads or changes the index.
 *
 * A message's commit touches as few b-trees as it can (each one is at least a page written and
 * synced before the ack): the event, the message with its id, author and time indexes, the
 * nonce (which is also the send-rate log) with its two indexes, the sender's read marker. The
 * head seq is the events table's last row, not a meta row. Older rooms are upgraded in place
 * (SCHEMA_VERSION, `migrate`).
 */
import { z } from "zod";
import { parseJsonWith } from "../workers/shared/realtime";
import {
  Attachment,
  Author,
  type ChannelEvent,
  MessageCreated,
  MessageUpdated,
  MAX_RESUME_EVENTS,
  Mentions,
  type Message,
  NONCE_TTL_MS,
  RATE_LIMIT_MESSAGES,
  RATE_WINDOW_MS,
  REPLY_PREVIEW_CHARS,
  type ReadState,
  type SearchHit,
  SystemInfo,
} from "../workers/shared/chat";
import { LinkPreview } from "../workers/shared/link-previews";

/** Events kept for resume beyond MAX_RESUME_EVENTS, so a replay of exactly 1,000 always works. */
const EVENT_RETENTION = MAX_RESUME_EVENTS + 200;
/** Housekeeping (pruning events, nonces, the send log) runs every this many events. */
const HOUSEKEEPING_EVERY = 100;

/**
 * The shape of the tables below. 1: a send_log table beside nonces, rowid nonces and
 * read_markers, meta head_seq written with every event. 2: the nonces are the send log,
 * nonces and read_markers WITHOUT ROWID (one b-tree less each), head_seq derived from events,
 * no index on events.message_id.
 */
const SCHEMA_VERSION = 2;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)`,
  // One row per event; `frame` is the exact JSON sent to clients (replayed verbatim).
  `CREATE TABLE IF NOT EXISTS events (
     seq INTEGER PRIMARY KEY, type TEXT NOT NULL, message_id TEXT, frame TEXT NOT NULL, created_at INTEGER NOT NULL)`,
  // No index on message_id: a message's events all come at or after its own seq, so an edit or
  // delete finds them by seq range (the log holds ~EVENT_RETENTION rows), and no message pays
  // for one more b-tree in its commit.
  `CREATE TABLE IF NOT EXISTS messages (
     seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, author_id TEXT, author TEXT, content TEXT NOT NULL,
     reply_to TEXT, attachments TEXT NOT NULL, mentions TEXT NOT NULL, system TEXT, pinned_at INTEGER,
     created_at INTEGER NOT NULL, edited_at INTEGER, has_attachment INTEGER NOT NULL DEFAULT 0)`,
  `CREATE INDEX IF NOT EXISTS messages_author ON messages (author_id, created_at)`,
  `CREATE INDEX IF NOT EXISTS messages_created ON messages (created_at)`,
  `CREATE INDEX IF NOT EXISTS messages_pinned ON messages (pinned_at) WHERE pinned_at IS NOT NULL`,
  // The replies quoting a message, whose stored frames carry its text (rewritten on edit and delete).
  `CREATE INDEX IF NOT EXISTS messages_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL`,
  `CREATE TABLE IF NOT EXISTS reactions (
     message_id TEXT NOT NULL, emoji TEXT NOT NULL, user_id TEXT NOT NULL, created_at INTEGER NOT NULL,
     PRIMARY KEY (message_id, emoji, user_id))`,
  // Mentions that ping, for mention counts: kind user|role|everyone (@everyone and @here).
  `CREATE TABLE IF NOT EXISTS mentions (seq INTEGER NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL, author_id TEXT)`,
  `CREATE INDEX IF NOT EXISTS mentions_target ON mentions (kind, target, seq)`,
  `CREATE INDEX IF NOT EXISTS mentions_seq ON mentions (seq)`,
  // One row per message a member sent (system and desk posts have no nonce): the resend
  // dedupe, and by (user_id, created_at) the send-rate window too.
  `CREATE TABLE IF NOT EXISTS nonces (
     user_id TEXT NOT NULL, nonce TEXT NOT NULL, message_id TEXT NOT NULL, seq INTEGER NOT NULL,
     created_at INTEGER NOT NULL, PRIMARY KEY (user_id, nonce)) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS nonces_user_created ON nonces (user_id, created_at)`,
  `CREATE INDEX IF NOT EXISTS nonces_created ON nonces (created_at)`,
  `CREATE TABLE IF NOT EXISTS read_markers (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS used_attachments (attachment_id TEXT PRIMARY KEY, message_id TEXT NOT NULL)`,
  `CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
     content, content='messages', content_rowid='seq', tokenize='unicode61 remove_diacritics 2')`,
];

const TABLES = ["meta", "events", "messages", "reactions", "mentions", "nonces", "send_log", "read_markers", "used_attachments", "messages_fts"];

type MessageRow = {
  seq: number;
  id: string;
  author_id: string | null;
  author: string | null;
  content: string;
  reply_to: string | null;
  attachments: string;
  mentions: string;
  system: string | null;
  pinned_at: number | null;
  created_at: number;
  edited_at: number | null;
  r_seq: number | null;
  r_author: string | null;
  r_content: string | null;
  previews: string | null;
};

const MESSAGE_SELECT = `SELECT m.seq, m.id, m.author_id, m.author, m.content, m.reply_to, m.attachments, m.mentions,
  m.system, m.pinned_at, m.created_at, m.edited_at, r.seq AS r_seq, r.author AS r_author, r.content AS r_content, m.previews
  FROM messages m LEFT JOIN messages r ON r.id = m.reply_to`;

const NO_MENTIONS: Mentions = { users: [], roles: [], everyone: false, here: false };

const TicketMeta = z.object({ ticketId: z.string(), deskId: z.string(), visitorUserId: z.string() });

/** A stored frame that carries a message (the ones whose text an edit or delete rewrites). */
const StoredMessageFrame = z.discriminatedUnion("type", [MessageCreated, MessageUpdated]);

/** A new message as the room writes it. */
export interface NewMessage {
  id: string;
  author: Author | null;
  content: string;
  replyTo: string | null;
  attachments: Attachment[];
  mentions: Mentions;
  system: SystemInfo | null;
  createdAt: number;
  /** Mentions that ping (for mention counts): user ids, role ids, and whether @everyone/@here pings. */
  pings: { users: string[]; roles: string[]; everyone: boolean };
  nonce: { userId: string; nonce: string } | null;
}

export type NonceHit = { messageId: string; seq: number; createdAt: number };

export class ChannelStore {
  /**
   * The last event's seq, once read. Only this object writes events (appendEvent), after
   * the write, so the copy never runs ahead of SQLite; dropAll forgets it.
   */
  private headSeq: number | undefined;
  /** meta community_id as stored ("" = a DM), once read. */
  private communityIdCache: string | null | undefined;
  /** The connect-ticket floors (meta ticket_floor:*), once read: scope → ms. */
  private ticketFloors: Map<string, number> | undefined;
  /** Seq up to which messages are in the search index (meta fts_upto), once read. */
  private ftsUpto: number | undefined;
  /** The ticket meta as stored, once read (a chat room's hot path asks on every message). */
  private ticketMeta: { ticketId: string; deskId: string; visitorUserId: string } | null | undefined;

  constructor(
    private readonly sql: SqlStorage,
    readonly channelId: string,
  ) {}

  migrate(): void {
    const upgradeFrom = this.storedSchemaVersion();
    if (upgradeFrom === 1) this.setAsideV1();
    if (upgradeFrom === 1) this.sql.exec(`DROP INDEX IF EXISTS events_message`);
    for (const s of SCHEMA) this.sql.exec(s);
    if (upgradeFrom === 1) this.upgradeFromV1();
    if (upgradeFrom !== SCHEMA_VERSION) this.setMeta("schema_version", SCHEMA_VERSION);
    // Link previews (link-preview-store.ts) came later: rooms from before get the column.
    if (!this.sql.exec<{ name: string }>(`PRAGMA table_info(messages)`).toArray().some((c) => c.name === "previews")) {
      this.sql.exec(`ALTER TABLE messages ADD COLUMN previews TEXT`);
    }
    this.secureDeleteIndex();
    // Rooms from before the index followed a moment later had every message indexed at once.
    if (this.meta("fts_upto") === null) this.setMeta("fts_upto", this.sql.exec<{ m: number | null }>(`SELECT MAX(seq) AS m FROM messages`).one().m ?? 0);
  }

  /** The stored tables' shape: SCHEMA_VERSION for an empty room (nothing to upgrade), 1 for a room from before versions. */
  private storedSchemaVersion(): number {
    if (!this.sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'`).toArray().length) return SCHEMA_VERSION;
    const v = this.meta("schema_version");
    return typeof v === "number" ? v : 1;
  }

  /** Version 1's nonces and read markers get out of the way of SCHEMA's new tables (their index names are reused). */
  private setAsideV1(): void {
    this.sql.exec(`DROP INDEX IF EXISTS nonces_created`);
    this.sql.exec(`ALTER TABLE nonces RENAME TO nonces_v1`);
    this.sql.exec(`ALTER TABLE read_markers RENAME TO read_markers_v1`);
  }

  /**
   * Moves version 1's rows into the new tables, in the same synchronous step as migrate (one
   * write: a room is never seen half upgraded). The send log goes: every send it holds has its
   * nonce row, with the same time, so the rate window carries over. head_seq stays in meta
   * as the floor `head` reads (it is the last event's seq).
   */
  private upgradeFromV1(): void {
    this.sql.exec(`INSERT INTO nonces (user_id, nonce, message_id, seq, created_at) SELECT user_id, nonce, message_id, seq, created_at FROM nonces_v1`);
    this.sql.exec(`INSERT INTO read_markers (user_id, seq, updated_at) SELECT user_id, seq, updated_at FROM read_markers_v1`);
    this.sql.exec(`DROP TABLE nonces_v1`);
    this.sql.exec(`DROP TABLE read_markers_v1`);
    this.sql.exec(`DROP TABLE IF EXISTS send_log`);
  }

  /** Whether messages wait to be indexed (indexPending has work). */
  indexBehind(): boolean {
    return this.indexedUpto() < this.head();
  }

  private indexedUpto(): number {
    if (this.ftsUpto === undefined) {
      const v = this.meta("fts_upto");
      this.ftsUpto = typeof v === "number" ? v : 0;
    }
    return this.ftsUpto;
  }

  /**
   * Adds the messages stored since the last call to the search index, in one write. Called a
   * moment after new messages (ChannelRoom), and first thing by everything that reads or
   * changes the index, so that an edit's or a delete's FTS 'delete' always finds the row it
   * removes and a search sees every message.
   */
  indexPending(): number {
    const upto = this.indexedUpto();
    const head = this.head();
    if (upto >= head) return 0;
    this.sql.exec(`INSERT INTO messages_fts (rowid, content) SELECT seq, content FROM messages WHERE seq > ? AND content != '' ORDER BY seq`, upto);
    this.setMeta("fts_upto", head);
    this.ftsUpto = head;
    return head - upto;
  }

  /**
   * FTS5 normally deletes by adding a "delete" marker and keeps the old tokens until a merge:
   * the words of a deleted or edited-away message would stay readable in the index's pages.
   * With secure-delete on (stored in the index's config, so this runs once per room) a delete
   * removes them at once. A room that had it off gets its index merged into one clean segment.
   */
  private secureDeleteIndex(): void {
    const on = this.sql.exec<{ v: number }>(`SELECT v FROM messages_fts_config WHERE k = 'secure-delete'`).toArray()[0]?.v === 1;
    if (on) return;
    this.sql.exec(`INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1)`);
    if (this.sql.exec(`SELECT 1 FROM messages LIMIT 1`).toArray().length) this.sql.exec(`INSERT INTO messages_fts (messages_fts) VALUES ('optimize')`);
  }

  /** Drops every table (the room's data is gone; `migrate` makes an empty room again). */
  dropAll(): void {
    for (const t of TABLES) this.sql.exec(`DROP TABLE IF EXISTS ${t}`);
    this.headSeq = undefined;
    this.ticketMeta = undefined;
    this.ftsUpto = undefined;
    this.communityIdCache = undefined;
    this.ticketFloors = undefined;
  }

  // --- meta ---------------------------------------------------------------------------

  private meta(key: string): string | number | null {
    const row = this.sql.exec<{ value: string | number | null }>(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0];
    return row ? row.value : null;
  }
  private setMeta(key: string, value: string | number): void {
    this.sql.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value);
  }

  /** Seq of the latest event (0 when there is none). */
  head(): number {
    if (this.headSeq === undefined) {
      // Housekeeping keeps the last EVENT_RETENTION events, so the last one is always there.
      // A version-1 room's head_seq (never written since) is the same number, or lower.
      const last = this.sql.exec<{ s: number | null }>(`SELECT MAX(seq) AS s FROM events`).one().s ?? 0;
      const legacy = this.meta("head_seq");
      this.headSeq = Math.max(last, typeof legacy === "number" ? legacy : 0);
    }
    return this.headSeq;
  }

  /** The community this channel belongs to, once known ("" = a DM), or null if not yet recorded. */
  communityId(): string | null {
    // Read once: every connection asks (ready, and a connect ticket's check), only setCommunityId writes it.
    if (this.communityIdCache === undefined) {
      const v = this.meta("community_id");
      this.communityIdCache = typeof v === "string" ? v : null;
    }
    return this.communityIdCache;
  }
  setCommunityId(id: string | null): void {
    this.setMeta("community_id", id ?? "");
    this.communityIdCache = id ?? "";
  }

  // --- connect tickets ----------------------------------------------------------------
  // An access change the room is told of (revalidate, a user's or a session's sockets closed)
  // raises a floor: connect tickets issued before it are stale (ChannelRoom#refuseTicket). Kept
  // in meta, so hibernation and eviction forget none; rows older than a ticket's life go.

  /** The newest access change, ms, that a ticket of this user and session must be newer than (0: none). */
  ticketFloor(userId: string, sessionId: string): number {
    const f = this.floors();
    return Math.max(f.get("*") ?? 0, f.get(`u:${userId}`) ?? 0, f.get(`s:${sessionId}`) ?? 0);
  }
  /** Raises the floor for everyone (`scope` "*"), a user ("u:<id>") or a session ("s:<id>") to `at` (ms). */
  raiseTicketFloor(scope: string, at: number, ticketLifeMs: number): void {
    this.setMeta(`ticket_floor:${scope}`, at);
    this.sql.exec(`DELETE FROM meta WHERE key LIKE 'ticket_floor:%' AND value < ?`, at - 2 * ticketLifeMs);
    this.ticketFloors = undefined;
  }
  private floors(): Map<string, number> {
    this.ticketFloors ??= new Map(
      this.sql
        .exec<{ key: string; value: number }>(`SELECT key, value FROM meta WHERE key LIKE 'ticket_floor:%'`)
        .toArray()
        .map((r) => [r.key.slice("ticket_floor:".length), Number(r.value) || 0]),
    );
    return this.ticketFloors;
  }

  /** A support-desk ticket's room: which ticket, desk and visitor (null for every other room). */
  ticket(): { ticketId: string; deskId: string; visitorUserId: string } | null {
    if (this.ticketMeta === undefined) {
      const v = this.meta("ticket");
      this.ticketMeta = typeof v === "string" ? parseJsonWith(TicketMeta, v) : null;
    }
    return this.ticketMeta;
  }
  setTicket(t: { ticketId: string; deskId: string; visitorUserId: string }): void {
    this.setMeta("ticket", JSON.stringify(t));
    this.ticketMeta = t;
  }
  /** A thread's room: the parent channel's id (docs/threads.md); null for every other room. */
  threadParent(): string | null {
    const v = this.meta("thread_parent");
    return typeof v === "string" ? v : null;
  }
  setThreadParent(parentId: string): void {
    this.setMeta("thread_parent", parentId);
  }
  /** Records a ticket's first manager reply; true the first time only. */
  markFirstResponse(at: number): boolean {
    if (this.meta("first_response_at") !== null) return false;
    this.setMeta("first_response_at", at);
    return true;
  }

  // --- events -------------------------------------------------------------------------

  /**
   * Appends one event: takes the next seq, stores the frame, and returns it as sent to
   * clients. Runs housekeeping every HOUSEKEEPING_EVERY events.
   */
  appendEvent<E extends ChannelEvent>(build: (seq: number) => E, messageId: string | null, now: number): { seq: number; frame: E; json: string } {
    const seq = this.head() + 1;
    const frame = build(seq);
    const json = JSON.stringify(frame);
    this.sql.exec(`INSERT INTO events (seq, type, message_id, frame, created_at) VALUES (?, ?, ?, ?, ?)`, seq, frame.type, messageId, json, now);
    this.headSeq = seq;
    if (seq % HOUSEKEEPING_EVERY === 0) this.housekeeping(seq, now);
    return { seq, frame, json };
  }

  private housekeeping(head: number, now: number): void {
    this.sql.exec(`DELETE FROM events WHERE seq <= ?`, head - EVENT_RETENTION);
    // Nonces outlive the rate window (NONCE_TTL_MS ≥ RATE_WINDOW_MS), so this prunes both.
    this.sql.exec(`DELETE FROM nonces WHERE created_at < ?`, now - Math.max(NONCE_TTL_MS, RATE_WINDOW_MS));
  }

  /** The stored frames of events after `lastSeq`, in order, or null if any of them is gone. */
  eventsAfter(lastSeq: number): string[] | null {
    const head = this.head();
    const rows = this.sql.exec<{ seq: number; frame: string }>(`SELECT seq, frame FROM events WHERE seq > ? ORDER BY seq`, lastSeq).toArray();
    if (rows.length !== head - lastSeq || (rows[0] && rows[0].seq !== lastSeq + 1)) return null;
    return rows.map((r) => r.frame);
  }

  // --- messages -----------------------------------------------------------------------

  private toMessage(row: MessageRow, reactions?: Message["reactions"]): Message {
    return {
      id: row.id,
      channelId: this.channelId,
      seq: row.seq,
      author: parseJsonWith(Author, row.author),
      content: row.content,
      createdAt: row.created_at,
      editedAt: row.edited_at,
      replyTo: row.reply_to
        ? {
            id: row.reply_to,
            seq: row.r_seq,
            author: parseJsonWith(Author, row.r_author),
            content: row.r_content === null ? null : row.r_content.slice(0, REPLY_PREVIEW_CHARS),
          }
        : null,
      attachments: parseJsonWith(z.array(Attachment), row.attachments) ?? [],
      mentions: parseJsonWith(Mentions, row.mentions) ?? NO_MENTIONS,
      reactions: reactions ?? this.reactionsOf(row.id),
      pinned: row.pinned_at !== null,
      system: parseJsonWith(SystemInfo, row.system),
      ...previewsOf(row.previews),
    };
  }

  private reactionsOf(messageId: string): Message["reactions"] {
    const rows = this.sql
      .exec<{ emoji: string; user_id: string }>(`SELECT emoji, user_id FROM reactions WHERE message_id = ? ORDER BY created_at, rowid`, messageId)
      .toArray();
    const byEmoji = new Map<string, string[]>();
    for (const r of rows) {
      const list = byEmoji.get(r.emoji) ?? [];
      list.push(r.user_id);
      byEmoji.set(r.emoji, list);
    }
    return [...byEmoji].map(([emoji, userIds]) => ({ emoji, count: userIds.length, userIds }));
  }

  private rows(where: string, ...bindings: (string | number)[]): Message[] {
    const rows = this.sql.exec<MessageRow>(`${MESSAGE_SELECT} ${where}`, ...bindings).toArray();
    if (rows.length <= 1) return rows.map((r) => this.toMessage(r));
    // A page's reactions in one query, not one per message (a history page is 50 messages).
    const byMessage = new Map<string, Map<string, string[]>>();
    for (let i = 0; i < rows.length; i += 500) {
      const ids = rows.slice(i, i + 500).map((r) => r.id);
      const found = this.sql
        .exec<{ message_id: string; emoji: string; user_id: string }>(
          `SELECT message_id, emoji, user_id FROM reactions WHERE message_id IN (${ids.map(() => "?").join(",")}) ORDER BY created_at, rowid`,
          ...ids,
        )
        .toArray();
      for (const r of found) {
        let byEmoji = byMessage.get(r.message_id);
        if (!byEmoji) byMessage.set(r.message_id, (byEmoji = new Map()));
        const list = byEmoji.get(r.emoji) ?? [];
        list.push(r.user_id);
        byEmoji.set(r.emoji, list);
      }
    }
    return rows.map((r) => this.toMessage(r, [...(byMessage.get(r.id) ?? [])].map(([emoji, userIds]) => ({ emoji, count: userIds.length, userIds }))));
  }

  message(id: string): Message | null {
    return this.rows(`WHERE m.id = ?`, id)[0] ?? null;
  }

  messageBySeq(seq: number): Message | null {
    return this.rows(`WHERE m.seq = ?`, seq)[0] ?? null;
  }

  /** Seq of the oldest message, or null for an empty channel. */
  oldestSeq(): number | null {
    return this.sql.exec<{ s: number | null }>(`SELECT MIN(seq) AS s FROM messages`).one().s;
  }

  /** The author id of a message, or undefined if there is no such message. */
  messageMeta(id: string): { seq: number; authorId: string | null; content: string; attachments: number; system: boolean; pinned: boolean } | undefined {
    const r = this.sql
      .exec<{ seq: number; author_id: string | null; content: string; attachments: string; system: string | null; pinned_at: number | null }>(
        `SELECT seq, author_id, content, attachments, system, pinned_at FROM messages WHERE id = ?`,
        id,
      )
      .toArray()[0];
    if (!r) return undefined;
    return {
      seq: r.seq,
      authorId: r.author_id,
      content: r.content,
      attachments: parseJsonWith(z.array(z.unknown()), r.attachments)?.length ?? 0,
      system: r.system !== null,
      pinned: r.pinned_at !== null,
    };
  }

  /** Writes a message and its message.created event; returns the event. */
  insertMessage(m: NewMessage): { seq: number; message: Message; json: string } {
    const ev = this.appendEvent(
      (seq) => ({
        type: "message.created" as const,
        seq,
        message: {
          id: m.id,
          channelId: this.channelId,
          seq,
          author: m.author,
          content: m.content,
          createdAt: m.createdAt,
          editedAt: null,
          replyTo: m.replyTo ? this.replyPreview(m.replyTo) : null,
          attachments: m.attachments,
          mentions: m.mentions,
          reactions: [],
          pinned: false,
          system: m.system,
        },
      }),
      m.id,
      m.createdAt,
    );
    const seq = ev.seq;
    this.sql.exec(
      `INSERT INTO messages (seq, id, author_id, author, content, reply_to, attachments, mentions, system, created_at, has_attachment)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      seq,
      m.id,
      m.author?.id ?? null,
      m.author ? JSON.stringify(m.author) : null,
      m.content,
      m.replyTo,
      JSON.stringify(m.attachments),
      JSON.stringify(m.mentions),
      m.system ? JSON.stringify(m.system) : null,
      m.createdAt,
      m.attachments.length > 0 ? 1 : 0,
    );
    // Not indexed here: indexPending adds it a moment later (see the header).
    this.writePings(seq, m.author?.id ?? null, m.pings);
    for (const a of m.attachments) this.sql.exec(`INSERT INTO used_attachments (attachment_id, message_id) VALUES (?, ?)`, a.id, m.id);
    if (m.nonce) {
      this.sql.exec(
        `INSERT INTO nonces (user_id, nonce, message_id, seq, created_at) VALUES (?, ?, ?, ?, ?)`,
        m.nonce.userId,
        m.nonce.nonce,
        m.id,
        seq,
        m.createdAt,
      );
    }
    return { seq, message: ev.frame.message, json: ev.json };
  }

  private replyPreview(id: string): Message["replyTo"] {
    const r = this.sql.exec<{ seq: number; author: string | null; content: string }>(`SELECT seq, author, content FROM messages WHERE id = ?`, id).toArray()[0];
    return r
      ? { id, seq: r.seq, author: parseJsonWith(Author, r.author), content: r.content.slice(0, REPLY_PREVIEW_CHARS) }
      : { id, seq: null, author: null, content: null };
  }

  private writePings(seq: number, authorId: string | null, pings: NewMessage["pings"]): void {
    for (const u of pings.users) this.sql.exec(`INSERT INTO mentions (seq, kind, target, author_id) VALUES (?, 'user', ?, ?)`, seq, u, authorId);
    for (const r of pings.roles) this.sql.exec(`INSERT INTO mentions (seq, kind, target, author_id) VALUES (?, 'role', ?, ?)`, seq, r, authorId);
    if (pings.everyone) this.sql.exec(`INSERT INTO mentions (seq, kind, target, author_id) VALUES (?, 'everyone', '', ?)`, seq, authorId);
  }

  /**
   * Replaces a message's content (and its mentions); returns the message.updated event. The
   * old text leaves every stored frame: the message's earlier created/updated frames carry
   * the new text (and edit time) and replies quote the new text, so a replay from before the
   * edit never shows what was edited away. Seqs and the number of events are unchanged.
   */
  editMessage(id: string, content: string, mentions: Mentions, pings: NewMessage["pings"], now: number) {
    const old = this.messageMeta(id);
    if (!old) return null;
    this.indexPending();
    this.sql.exec(`UPDATE messages SET content = ?, mentions = ?, edited_at = ? WHERE id = ?`, content, JSON.stringify(mentions), now, id);
    if (old.content) this.sql.exec(`INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', ?, ?)`, old.seq, old.content);
    if (content) this.sql.exec(`INSERT INTO messages_fts (rowid, content) VALUES (?, ?)`, old.seq, content);
    this.sql.exec(`DELETE FROM mentions WHERE seq = ?`, old.seq);
    const message = this.messageBySeq(old.seq)!;
    this.writePings(old.seq, message.author?.id ?? null, pings);
    this.rewriteFrames(`m.id = ?`, [id], (m) => ({ ...m, content: message.content, mentions: message.mentions, editedAt: message.editedAt }));
    this.rewriteQuotes(id, this.replyPreview(id));
    return this.appendEvent((seq) => ({ type: "message.updated" as const, seq, message }), id, now);
  }

  /**
   * Sets a message's link previews (added after it was sent, or one removed) and appends the
   * message.updated that carries them. Its earlier frames carry the same previews from now on,
   * so a replay never shows a removed one. Null when the message is gone.
   */
  setPreviews(id: string, previews: LinkPreview[], now: number) {
    const old = this.messageMeta(id);
    if (!old) return null;
    this.sql.exec(`UPDATE messages SET previews = ? WHERE id = ?`, previews.length ? JSON.stringify(previews) : null, id);
    const message = this.messageBySeq(old.seq)!;
    this.rewriteFrames(`m.id = ?`, [id], (m) => {
      const { previews: _old, ...rest } = m;
      return message.previews ? { ...rest, previews: message.previews } : rest;
    });
    return this.appendEvent((seq) => ({ type: "message.updated" as const, seq, message }), id, now);
  }

  /**
   * Rewrites the stored message.created/updated frames selected by `where` (over `events e`
   * joined to the frame's message `m`) with `change`; tombstones stay as they are.
   */
  private rewriteFrames(where: string, binds: string[], change: (m: Message) => Message): void {
    const rows = this.sql
      .exec<{ seq: number; type: string; frame: string; message_id: string }>(
        `SELECT e.seq, e.type, e.frame, e.message_id FROM messages m JOIN events e ON e.seq >= m.seq AND e.message_id = m.id
         WHERE e.type IN ('message.created', 'message.updated') AND ${where}`,
        ...binds,
      )
      .toArray();
    for (const row of rows) {
      const f = parseJsonWith(StoredMessageFrame, row.frame);
      if (f?.message.deleted) continue;
      // A frame that does not read back (it never should) is rebuilt from the current row
      // rather than left holding old text.
      const message = f ? change(f.message) : this.message(row.message_id);
      if (!message) continue;
      this.sql.exec(`UPDATE events SET frame = ? WHERE seq = ?`, JSON.stringify({ type: row.type, seq: row.seq, message }), row.seq);
    }
  }

  /** Sets the preview of `id` in the stored frames of every reply quoting it. */
  private rewriteQuotes(id: string, preview: Message["replyTo"]): void {
    this.rewriteFrames(`m.reply_to = ?`, [id], (m) => (m.replyTo?.id === id ? { ...m, replyTo: preview } : m));
  }

  /**
   * Deletes a message with everything hanging off it, redacts the frames of its earlier
   * events (a replay then carries tombstones, never the deleted text) and the reply previews
   * quoting it, and appends message.deleted. Returns the event and the ids of the attachments
   * it held.
   */
  deleteMessage(id: string, now: number): { json: string; seq: number; attachmentIds: string[] } | null {
    const m = this.message(id);
    if (!m) return null;
    this.indexPending();
    this.sql.exec(`DELETE FROM messages WHERE seq = ?`, m.seq);
    if (m.content) this.sql.exec(`INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', ?, ?)`, m.seq, m.content);
    this.sql.exec(`DELETE FROM reactions WHERE message_id = ?`, id);
    this.sql.exec(`DELETE FROM mentions WHERE seq = ?`, m.seq);
    this.sql.exec(`DELETE FROM used_attachments WHERE message_id = ?`, id);
    const tomb = tombstone(m);
    const events = this.sql
      .exec<{ seq: number; type: string }>(`SELECT seq, type FROM events WHERE seq >= ? AND message_id = ? AND type IN ('message.created', 'message.updated')`, m.seq, id)
      .toArray();
    for (const e of events) {
      this.sql.exec(`UPDATE events SET frame = ? WHERE seq = ?`, JSON.stringify({ type: e.type, seq: e.seq, message: tomb }), e.seq);
    }
    // Replies keep quoting it in their stored frames: the preview becomes "deleted", as history shows it.
    this.rewriteQuotes(id, { id, seq: null, author: null, content: null });
    const ev = this.appendEvent((seq) => ({ type: "message.deleted" as const, seq, id }), id, now);
    return { json: ev.json, seq: ev.seq, attachmentIds: m.attachments.map((a) => a.id) };
  }

  /** Ids of messages by `authorId` created at or after `sinceMs`, oldest first. */
  messageIdsBy(authorId: string, sinceMs: number, limit: number): string[] {
    return this.sql
      .exec<{ id: string }>(`SELECT id FROM messages WHERE author_id = ? AND created_at >= ? ORDER BY seq LIMIT ?`, authorId, sinceMs, limit)
      .toArray()
      .map((r) => r.id);
  }

  // --- nonces, rate ------------------------------------------------------------------

  nonce(userId: string, nonce: string): NonceHit | null {
    const r = this.sql
      .exec<{ message_id: string; seq: number; created_at: number }>(`SELECT message_id, seq, created_at FROM nonces WHERE user_id = ? AND nonce = ?`, userId, nonce)
      .toArray()[0];
    return r ? { messageId: r.message_id, seq: r.seq, createdAt: r.created_at } : null;
  }

  /**
   * The send-rate check: ms until `userId` may send again (0 = now). Sliding window of
   * RATE_WINDOW_MS holding at most RATE_LIMIT_MESSAGES sends. A send is its nonce row
   * (insertMessage writes it with the message), so there is no separate log to write.
   */
  rateWait(userId: string, now: number): number {
    const rows = this.sql
      .exec<{ at: number }>(
        `SELECT created_at AS at FROM nonces WHERE user_id = ? AND created_at > ? ORDER BY created_at DESC LIMIT ?`,
        userId,
        now - RATE_WINDOW_MS,
        RATE_LIMIT_MESSAGES,
      )
      .toArray();
    if (rows.length < RATE_LIMIT_MESSAGES) return 0;
    return Math.max(1, rows[rows.length - 1]!.at + RATE_WINDOW_MS - now);
  }

  attachmentUsed(id: string): boolean {
    return this.sql.exec(`SELECT 1 FROM used_attachments WHERE attachment_id = ?`, id).toArray().length > 0;
  }

  // --- reactions, pins ---------------------------------------------------------------

  hasReaction(messageId: string, emoji: string, userId: string): boolean {
    return this.sql.exec(`SELECT 1 FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?`, messageId, emoji, userId).toArray().length > 0;
  }
  distinctEmoji(messageId: string): string[] {
    return this.sql.exec<{ emoji: string }>(`SELECT DISTINCT emoji FROM reactions WHERE message_id = ?`, messageId).toArray().map((r) => r.emoji);
  }
  addReaction(messageId: string, emoji: string, userId: string, now: number) {
    this.sql.exec(`INSERT INTO reactions (message_id, emoji, user_id, created_at) VALUES (?, ?, ?, ?)`, messageId, emoji, userId, now);
    return this.appendEvent((seq) => ({ type: "reaction.added" as const, seq, messageId, emoji, userId }), messageId, now);
  }
  removeReaction(messageId: string, emoji: string, userId: string, now: number) {
    this.sql.exec(`DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?`, messageId, emoji, userId);
    return this.appendEvent((seq) => ({ type: "reaction.removed" as const, seq, messageId, emoji, userId }), messageId, now);
  }
  setPinned(messageId: string, pinned: boolean, now: number) {
    this.sql.exec(`UPDATE messages SET pinned_at = ? WHERE id = ?`, pinned ? now : null, messageId);
    return this.appendEvent((seq) => ({ type: pinned ? ("pin.added" as const) : ("pin.removed" as const), seq, messageId }), messageId, now);
  }
  pins(): Message[] {
    return this.rows(`WHERE m.pinned_at IS NOT NULL ORDER BY m.pinned_at DESC LIMIT 50`);
  }

  // --- read markers --------------------------------------------------------------------

  lastRead(userId: string): number {
    return this.sql.exec<{ seq: number }>(`SELECT seq FROM read_markers WHERE user_id = ?`, userId).toArray()[0]?.seq ?? 0;
  }
  /** Moves a member's marker forward (never back); returns the marker afterwards. */
  markRead(userId: string, seq: number, now: number): number {
    const to = Math.min(seq, this.head());
    this.sql.exec(
      `INSERT INTO read_markers (user_id, seq, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at WHERE excluded.seq > read_markers.seq`,
      userId,
      to,
      now,
    );
    return this.lastRead(userId);
  }
  /**
   * The sender's marker after their own message: `seq` is the head just written, so there
   * is nothing to clamp and nothing to read back. One statement.
   */
  markReadAtHead(userId: string, seq: number, now: number): void {
    this.sql.exec(
      `INSERT INTO read_markers (user_id, seq, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at WHERE excluded.seq > read_markers.seq`,
      userId,
      seq,
      now,
    );
  }
  readState(userId: string, roleIds: string[]): ReadState {
    const lastReadSeq = this.lastRead(userId);
    const others = `(author_id IS NULL OR author_id != ?)`;
    const first = this.sql
      .exec<{ s: number | null }>(`SELECT MIN(seq) AS s FROM messages WHERE seq > ? AND ${others}`, lastReadSeq, userId)
      .one().s;
    const unreadCount = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM messages WHERE seq > ? AND ${others}`, lastReadSeq, userId).one().n;
    const roles = roleIds.slice(0, 90);
    const roleClause = roles.length ? ` OR (kind = 'role' AND target IN (${roles.map(() => "?").join(",")}))` : "";
    const mentionCount = this.sql
      .exec<{ n: number }>(
        `SELECT COUNT(DISTINCT seq) AS n FROM mentions WHERE seq > ? AND ${others}
         AND ((kind = 'user' AND target = ?) OR kind = 'everyone'${roleClause})`,
        lastReadSeq,
        userId,
        userId,
        ...roles,
      )
      .one().n;
    return { lastReadSeq, headSeq: this.head(), firstUnreadSeq: first, unreadCount, mentionCount };
  }

  // --- history, search -----------------------------------------------------------------

  private exists(where: string, ...b: number[]): boolean {
    return this.sql.exec(`SELECT 1 FROM messages WHERE ${where} LIMIT 1`, ...b).toArray().length > 0;
  }

  /** A page of messages, ascending by seq, with whether there is more on either side. */
  history(q: { before?: number; after?: number; around?: number; limit: number }) {
    let messages: Message[];
    if (q.after !== undefined) {
      messages = this.rows(`WHERE m.seq > ? ORDER BY m.seq ASC LIMIT ?`, q.after, q.limit);
    } else if (q.around !== undefined) {
      const older = Math.floor(q.limit / 2);
      const before = this.rows(`WHERE m.seq < ? ORDER BY m.seq DESC LIMIT ?`, q.around, older).reverse();
      const from = this.rows(`WHERE m.seq >= ? ORDER BY m.seq ASC LIMIT ?`, q.around, q.limit - before.length);
      messages = [...before, ...from];
    } else if (q.before !== undefined) {
      messages = this.rows(`WHERE m.seq < ? ORDER BY m.seq DESC LIMIT ?`, q.before, q.limit).reverse();
    } else {
      messages = this.rows(`ORDER BY m.seq DESC LIMIT ?`, q.limit).reverse();
    }
    const first = messages[0]?.seq;
    const last = messages[messages.length - 1]?.seq;
    const edge = q.before ?? q.after ?? q.around;
    const hasBefore = first !== undefined ? this.exists(`seq < ?`, first) : q.after !== undefined ? this.exists(`seq <= ?`, q.after) : false;
    const hasAfter =
      last !== undefined ? this.exists(`seq > ?`, last) : edge !== undefined && q.after === undefined ? this.exists(`seq >= ?`, edge) : false;
    return { messages, headSeq: this.head(), hasBefore, hasAfter };
  }

  /** Full-text search with filters, newest first; each hit with its neighbours for context. */
  search(q: { q?: string; author?: string; before?: number; after?: number; has?: "attachment"; limit: number }): { hits: SearchHit[]; hasMore: boolean } {
    const where: string[] = ["m.author_id IS NOT NULL"];
    const binds: (string | number)[] = [];
    let from = `messages m`;
    if (q.q) {
      const match = ftsQuery(q.q);
      if (!match) return { hits: [], hasMore: false };
      this.indexPending();
      from = `messages_fts f JOIN messages m ON m.seq = f.rowid`;
      where.push(`messages_fts MATCH ?`);
      binds.push(match);
    }
    if (q.author) {
      where.push(`m.author_id = ?`);
      binds.push(q.author);
    }
    if (q.before !== undefined) {
      where.push(`m.created_at < ?`);
      binds.push(q.before);
    }
    if (q.after !== undefined) {
      where.push(`m.created_at > ?`);
      binds.push(q.after);
    }
    if (q.has === "attachment") where.push(`m.has_attachment = 1`);
    let seqs: number[];
    try {
      seqs = this.sql
        .exec<{ seq: number }>(`SELECT m.seq AS seq FROM ${from} WHERE ${where.join(" AND ")} ORDER BY m.seq DESC LIMIT ?`, ...binds, q.limit + 1)
        .toArray()
        .map((r) => r.seq);
    } catch {
      // A query FTS5 cannot parse finds nothing rather than failing the request.
      return { hits: [], hasMore: false };
    }
    const hasMore = seqs.length > q.limit;
    const hits = seqs.slice(0, q.limit).map((seq) => ({
      message: this.messageBySeq(seq)!,
      before: this.rows(`WHERE m.seq < ? ORDER BY m.seq DESC LIMIT 1`, seq)[0] ?? null,
      after: this.rows(`WHERE m.seq > ? ORDER BY m.seq ASC LIMIT 1`, seq)[0] ?? null,
    }));
    return { hits, hasMore };
  }
}

/** The `previews` field of a message from its stored column (absent when there are none). */
function previewsOf(raw: string | null): { previews?: LinkPreview[] } {
  const list = raw ? parseJsonWith(z.array(LinkPreview), raw) : null;
  return list?.length ? { previews: list } : {};
}

/** A deleted message as replays and late acks show it: no text, no files, no mentions. */
export function tombstone(m: Pick<Message, "id" | "channelId" | "seq" | "author" | "createdAt" | "system">): Message {
  return {
    id: m.id,
    channelId: m.channelId,
    seq: m.seq,
    author: m.author,
    content: "",
    createdAt: m.createdAt,
    editedAt: null,
    replyTo: null,
    attachments: [],
    mentions: NO_MENTIONS,
    reactions: [],
    pinned: false,
    system: m.system,
    deleted: true,
  };
}

/**
 * Turns what a person typed into an FTS5 query: every word must occur, the last may be a
 * prefix. Words are quoted, so FTS5 operators in the input are plain text.
 */
export function ftsQuery(input: string): string | null {
  const words = input
    .split(/\s+/)
    .filter((w) => /[\p{L}\p{N}]/u.test(w))
    .slice(0, 16);
  if (!words.length) return null;
  return words.map((w, i) => `"${w.replace(/"/g, '""')}"${i === words.length - 1 ? "*" : ""}`).join(" ");
}
