/**
 * ChannelRoom: one per text channel, DM and ticket. Holds the channel's messages, reactions,
 * pins, read markers and search index in its own SQLite (see channel-store.ts) and relays
 * every change to the channel's hibernating WebSockets as events with a gapless `seq`.
 *
 * The delivery contract (docs/chat-protocol.md): an event is written to SQLite before it is
 * acknowledged or broadcast — the writes happen synchronously before `send`, and the
 * runtime's output gate holds every outgoing frame until the writes before it are durable.
 * A resent nonce answers with the original message. A reconnecting client says its last seq
 * and gets exactly the events after it, or `resync` when it missed more than 1,000.
 *
 * Sockets come through the realtime kit (kit.ts): identity from the worker (x-woxly-identity,
 * set after it checked the session and channel access) kept in each connection's state, so it
 * survives hibernation; frames parsed with the shared schema and paid for from the frame
 * budget. Ids and names inside frames are never trusted.
 */
import { and, eq, inArray, isNull } from "drizzle-orm";
import { ApiError } from "../workers/shared/errors";
import { newId } from "../workers/shared/ids";
import { P, formatPermissions, has, parsePermissions } from "../workers/shared/permissions";
import { CLOSE } from "../workers/shared/close-codes";
import { CONNECT_TICKET_TTL_MS, type ConnectionIdentity, RESUME_PARAM, assertNever, readResumeSince } from "../workers/shared/realtime";
import {
  type Attachment,
  type ChannelActivity,
  ClientFrame,
  MAX_REACTIONS_PER_MESSAGE,
  MAX_RESUME_EVENTS,
  type Mentions,
  type Message,
  type ReadState,
  type SearchResults,
  type ServerFrame,
  type SystemKind,
  TYPING_THROTTLE_MS,
  CUSTOM_EMOJI_REACTION,
  attachmentUrl,
  parseMentions,
} from "../workers/shared/chat";
import { attachments as attachmentsTable, channelRecipients, channels, roles, tickets as ticketsTable } from "../workers/core/schema";
import { canMentionEveryone, canPingRole, canSeeChannel, canUseCustomEmoji, slowmodeWait, visitorRoomPerms } from "../workers/core/policy";
import { timedOut } from "../workers/shared/moderation";
import { RoomModeration, nextTimeoutEnd } from "./room-moderation";
import { loadTicket } from "../workers/core/desk";
import { ASSISTANT_AUTHOR_ID, type TranscriptLine } from "../workers/shared/desk";
import { log } from "../workers/core/log";
import { makeDb } from "../workers/core/db";
import type { DmCall } from "../workers/shared/calls";
import type { UserSummary } from "../workers/shared/communities";
import { ChannelStore, tombstone, type NewMessage } from "./channel-store";
import { ChannelPreviews } from "./channel-previews";
import { DmCalls, type CallResult } from "./dm-call";
import { FrameBudget, StoredBuckets, type FrameBudgetSpec } from "./frame-budget";
import { ClientFrames, FrameError, RealtimeServer, type Socket, type SocketState } from "./kit";
import { tellParentOfThread } from "./thread-activity";
import type { Thread } from "../workers/shared/threads";
import { inboxOf } from "./user-inbox";
import type { CommunityHub } from "./community-hub";
import { getServerByName } from "partyserver";

/**
 * What each client frame costs (frame-budget.ts). A member's sockets share 90 tokens that
 * refill at 10/s; each socket alone holds 60 (8/s). Cheap frames cost 1; frames that write
 * an event and fan it out to every socket cost more, so one member cannot flood a room with
 * events (about 2.5 reactions/s sustained); `message.send` is further held to
 * RATE_LIMIT_MESSAGES per RATE_WINDOW_MS. Both buckets refill in under 10 s (see
 * frame-budget.ts for why that matters). `invalid`: a frame that does not parse.
 */
export const CHAT_FRAME_BUDGET = {
  connection: { capacity: 60, perSecond: 8 },
  user: { capacity: 90, perSecond: 10 },
  costs: {
    hello: 3,
    "message.send": 2,
    "message.edit": 6,
    "message.delete": 4,
    "reaction.add": 4,
    "reaction.remove": 4,
    "pin.add": 6,
    "pin.remove": 6,
    "typing.start": 1,
    "read.mark": 1,
    "preview.remove": 6,
    // Answered to the sender alone, after at most 16 KiB of JSON.parse: cheaper than a frame that fans out.
    invalid: 0.5,
  },
} satisfies FrameBudgetSpec<ClientFrame["type"] | "invalid">;

/**
 * Replays, per member and room: a `hello` that replays n events takes n + REPLAY_BASE_COST
 * from a bucket of 3,000 that refills 3,000 a minute, kept in SQLite so that neither closing
 * every socket nor hibernation resets it. (At most 1,000 events per replay: MAX_RESUME_EVENTS.)
 */
export const REPLAY_BUDGET = { capacity: 3000, perSecond: 50 };
export const REPLAY_BASE_COST = 20;

/**
 * DM call requests (HTTP, forwarded here over RPC) per member and DM: each one pushes a frame
 * to every member's inbox. They come without a socket, so only the member's bucket applies
 * (in memory: an eviction forgets it, which an attacker cannot cause; the ring cooldown that
 * matters more is in storage, dm-call.ts RING_COOLDOWN_MS).
 */
export const CALL_BUDGET = {
  connection: { capacity: 20, perSecond: 0.5 },
  user: { capacity: 20, perSecond: 0.5 },
  costs: { start: 2, answer: 1 },
} satisfies FrameBudgetSpec<"start" | "answer">;

/**
 * Fan-out coalescing (#publish). A room with fewer sockets than this always sends at once.
 * A bigger room that fanned out less than `busyWindowMs` ago is busy: it queues the event
 * and sends the queue a moment later (CHAT_COALESCE_WAIT_MS, default 0: on the next turn of
 * the event loop, after the frames that are already waiting have been handled — so the
 * batches are exactly as big as the backlog, and a quiet room adds no delay).
 */
const COALESCE_MIN_SOCKETS = 32;
/**
 * A send costs workerd ~45 µs per socket on the benchmark machine (docs/benchmarks.md); a
 * room whose last fan-out was less than ~2 fan-outs ago counts as busy. CHAT_COALESCE_US_PER_SOCKET
 * overrides the 90 (0 turns coalescing off).
 */
export const DEFAULT_COALESCE_US_PER_SOCKET = 90;
/** The most events one `events` frame carries; a fuller queue is sent at once. */
const COALESCE_MAX_EVENTS = 100;
export function busyWindowMs(sockets: number, usPerSocket = DEFAULT_COALESCE_US_PER_SOCKET): number {
  return sockets < COALESCE_MIN_SOCKETS ? 0 : (sockets * usPerSocket) / 1000;
}
function numberVar(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return raw !== undefined && raw !== "" && Number.isFinite(n) && n >= 0 ? n : fallback;
}

/**
 * A connect ticket issued less than this after an access change the room saw is stale too, ms:
 * the worker that signed it and this object may read different clocks in production.
 */
const TICKET_CLOCK_SKEW_MS = 1_000;

/** How long a hub notification waits after the frames of the change that caused it, ms. */
const HUB_NOTIFY_DELAY_MS = 2;
/**
 * After a hub call returns, how long what arrived meanwhile keeps gathering before the next
 * call, ms: a busy channel tells its hub at most ~10 times a second (each call is an RPC and a
 * commit of the hub's SQLite), a quiet one at once. Badges lag a busy channel by at most this.
 */
const HUB_BATCH_GAP_MS = 100;
/**
 * How long new messages wait to be added to the search index, ms (ChannelStore.indexPending):
 * one index write per this instead of one per message, off the write that gates the ack.
 * Search, edit and delete index what is pending first, so none of them sees the lag.
 */
const SEARCH_INDEX_DELAY_MS = 1000;

type RoleMentionRow = { id: string; mentionable: boolean; isEveryone: boolean };

/** Whether a message's mentions need the community's roles from D1 (an await before the write). */
function needsRoleLookup(found: ReturnType<typeof parseMentions>, communityId: string | null): boolean {
  return found.roles.length > 0 && !!communityId;
}

/** Mentions as stored and the ones that ping, given the mentioned roles that exist in the community (`rows`); the rules are the policy's. */
function mentionsFrom(found: ReturnType<typeof parseMentions>, perms: bigint, rows: RoleMentionRow[]): { mentions: Mentions; pings: NewMessage["pings"] } {
  const mayEveryone = canMentionEveryone(perms);
  const pingRoles = rows.filter((r) => canPingRole(perms, r)).map((r) => r.id);
  const everyone = found.everyone && mayEveryone;
  const here = found.here && mayEveryone;
  return {
    mentions: { users: found.users, roles: pingRoles, everyone, here },
    pings: { users: found.users, roles: pingRoles, everyone: everyone || here },
  };
}

export class ChannelRoom extends RealtimeServer<ClientFrame, ServerFrame> {
  protected readonly frames = new ClientFrames(ClientFrame, CHAT_FRAME_BUDGET);
  protected readonly logName = "channel_room";

  /** DM call requests per member (no socket: the member's bucket only). */
  #callBudget = new FrameBudget(CALL_BUDGET);
  #replayBuckets: StoredBuckets | undefined;
  get #replays(): StoredBuckets {
    this.#replayBuckets ??= new StoredBuckets(this.ctx.storage.sql, REPLAY_BUDGET);
    return this.#replayBuckets;
  }

  #store: ChannelStore | undefined;
  /** Hub notifications waiting for the call in flight to that community (present while one is). */
  #hubQueue = new Map<string, ChannelActivity[]>();
  /** Last relayed typing per user, ms. Ephemeral by design: losing it costs one extra typing frame. */
  #typingAt = new Map<string, number>();
  /** Events written but not yet sent (see #publish); they are in SQLite, so a restart loses none. */
  #outbox: string[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | null = null;
  #indexTimer: ReturnType<typeof setTimeout> | null = null;
  #lastFanoutAt = 0;
  #lastFanoutSockets = 0;

  /** The room's storage, created on first use in any entry point (fetch, socket, RPC). */
  get #room(): ChannelStore {
    if (!this.#store) {
      const s = new ChannelStore(this.ctx.storage.sql, this.name);
      s.migrate();
      this.#store = s;
    }
    return this.#store;
  }

  override onStart(): void {
    void this.#room;
  }

  // --- moderation (room-moderation.ts, docs/moderation.md) --------------------------------

  #modStore: RoomModeration | undefined;
  get #mod(): RoomModeration {
    this.#modStore ??= new RoomModeration(this.ctx.storage.sql);
    return this.#modStore;
  }

  /** The channel's slowmode, seconds: from this room's storage, or D1 the first time. */
  async #slowmodeSeconds(): Promise<number> {
    const known = this.#mod.slowmode();
    if (known !== null) return known;
    const row = (await makeDb(this.env.DB).select({ s: channels.slowmodeSeconds }).from(channels).where(eq(channels.id, this.name)).limit(1))[0];
    this.#mod.setSlowmode(row?.s ?? 0);
    return row?.s ?? 0;
  }

  /** Wakes the room when the first timeout among its sockets ends, to give them their permissions back (onAlarm). */
  async #armTimeoutAlarm(): Promise<void> {
    const next = nextTimeoutEnd(this.#identities(), Date.now());
    if (next === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next) await this.ctx.storage.setAlarm(next);
  }

  *#identities(): Iterable<ConnectionIdentity> {
    for (const conn of this.getConnections<SocketState>()) {
      const id = this.stateOf(conn)?.identity;
      if (id) yield id;
    }
  }

  /** Re-reads the access of `userIds` (timed out, or whose timeout has ended) and updates their sockets (permissions.updated). */
  async #timeoutsEnded(userIds: string[]): Promise<void> {
    const db = makeDb(this.env.DB);
    for (const userId of new Set(userIds)) {
      let a;
      try {
        a = await canSeeChannel(db, userId, this.name);
      } catch (e) {
        if (e instanceof ApiError && e.code === "not_found") this.closeUser(userId, CLOSE.ACCESS_LOST);
        else log({ event: "channel_room.timeout_refresh_failed", channelId: this.name, userId, error: String(e) });
        continue;
      }
      this.#setAccess(userId, formatPermissions(a.perms), a.community?.timeoutUntil ?? null);
    }
  }

  /** Stores a member's permissions and timeout on each of their sockets and tells them when it changed. Returns how many changed. */
  #setAccess(userId: string, perms: string, timeoutUntil: number | null): number {
    const until = timedOut(timeoutUntil, Date.now()) ? timeoutUntil! : undefined;
    let updated = 0;
    for (const conn of this.getConnections<SocketState>()) {
      const state = this.stateOf(conn);
      if (!state || state.identity.userId !== userId) continue;
      if (perms === state.identity.perms && until === state.identity.timeoutUntil) continue;
      const { timeoutUntil: _old, ...rest } = state.identity;
      conn.setState({ ...state, identity: until === undefined ? { ...rest, perms } : { ...rest, perms, timeoutUntil: until } });
      this.send(conn, until === undefined ? { type: "permissions.updated", perms } : { type: "permissions.updated", perms, timeoutUntil: until });
      updated++;
    }
    return updated;
  }

  /** Deletes one message (a moderator resolving a report over HTTP; callers check MANAGE_MESSAGES). Whether it was there. */
  async deleteMessage(id: string): Promise<boolean> {
    return this.#deleteAndBroadcast(id);
  }

  /** Sets the channel's slowmode, seconds (the api calls it after writing D1). */
  async setSlowmode(seconds: number): Promise<void> {
    this.#mod.setSlowmode(seconds);
  }

  /** Link previews (channel-previews.ts): unfurled after a message is stored, removed by frame. */
  #linkPreviews: ChannelPreviews | undefined;
  get #previews(): ChannelPreviews {
    this.#linkPreviews ??= new ChannelPreviews({
      channelId: this.name,
      room: () => this.#room,
      sql: this.ctx.storage.sql,
      env: this.env,
      publish: (json) => this.#publish(json),
      waitUntil: (p) => this.ctx.waitUntil(p),
    });
    return this.#linkPreviews;
  }

  // --- connections ---------------------------------------------------------------------

  protected welcome(conn: Socket, identity: ConnectionIdentity, via: { newTicket: string | null }): void {
    if (this.#room.communityId() === null) this.#room.setCommunityId(identity.communityId);
    if (identity.timeoutUntil !== undefined) this.ctx.waitUntil(this.#armTimeoutAlarm());
    // Queued events go out first: `ready.headSeq` covers them, and a client ignores events
    // before `ready`, so none arrives after it that the new socket should not apply.
    this.#flush();
    this.send(conn, {
      type: "ready",
      headSeq: this.#room.head(),
      oldestSeq: this.#room.oldestSeq(),
      lastReadSeq: this.#room.lastRead(identity.userId),
      me: { userId: identity.userId, perms: identity.perms, ...(identity.timeoutUntil ? { timeoutUntil: identity.timeoutUntil } : {}) },
      // Handed back a little before it expires, so a reconnect never races its expiry.
      ...(via.newTicket ? { ticket: { token: via.newTicket, ttlMs: CONNECT_TICKET_TTL_MS - 60_000 } } : {}),
    });
  }

  /**
   * A reconnect's resume on the upgrade (`?since=<seq>`, checked by the worker): the socket is
   * answered as if its first frame were `hello` with that `lastSeq` — the missed events and
   * `resumed` (or `resync`) right after `ready`, with the same budgets and READ_HISTORY check.
   */
  protected override upgradeFrame(url: string): ClientFrame | null {
    const q = url.indexOf("?");
    const since = q < 0 ? undefined : readResumeSince(new URLSearchParams(url.slice(q + 1)).get(RESUME_PARAM));
    return typeof since === "number" ? { type: "hello", lastSeq: since } : null;
  }

  /**
   * A connect ticket (checked by the worker on its signature alone) is stale when it was
   * issued before the last access change this room was told of for everyone (revalidate),
   * for the user or for the session — or when the room does not know its channel yet (a new
   * or purged room: only a full check may open it). The client then connects without it.
   */
  protected override refuseTicket(me: ConnectionIdentity, issuedAt: number): typeof CLOSE.TICKET_STALE | null {
    if (this.#room.communityId() === null) return CLOSE.TICKET_STALE;
    return issuedAt <= this.#room.ticketFloor(me.userId, me.sessionId) + TICKET_CLOCK_SKEW_MS ? CLOSE.TICKET_STALE : null;
  }

  /** Tickets issued until now for `scope` ("*", "u:<id>", "s:<id>") are stale from now on. */
  #ticketsStale(scope: string): void {
    this.#room.raiseTicketFloor(scope, Date.now(), CONNECT_TICKET_TTL_MS);
  }

  /**
   * Sends an event (already written) to every socket, in seq order. A busy room (see
   * busyWindowMs) queues it instead, and the queue goes out as one `events` frame per socket
   * on the next turn: under load each socket gets fewer, bigger frames (what a frame costs
   * workerd barely depends on its size), so the room spends its time on messages rather
   * than on sends. A quiet room, or a small one, sends at once.
   */
  #publish(json: string): void {
    this.#indexSoon();
    this.#outbox.push(json);
    if (this.#flushTimer !== null) {
      if (this.#outbox.length >= COALESCE_MAX_EVENTS) this.#flush();
      return;
    }
    const busyUntil = this.#lastFanoutAt + busyWindowMs(this.#lastFanoutSockets, numberVar(this.env.CHAT_COALESCE_US_PER_SOCKET, DEFAULT_COALESCE_US_PER_SOCKET));
    if (Date.now() >= busyUntil) this.#flush();
    else this.#flushTimer = setTimeout(() => this.#flush(), numberVar(this.env.CHAT_COALESCE_WAIT_MS, 0));
  }

  /** Adds new messages to the search index a moment later, in one write (see SEARCH_INDEX_DELAY_MS). */
  #indexSoon(): void {
    if (this.#indexTimer !== null || !this.#room.indexBehind()) return;
    this.#indexTimer = setTimeout(() => {
      this.#indexTimer = null;
      try {
        this.#store?.indexPending();
      } catch (e) {
        log({ event: "channel_room.index_failed", channelId: this.name, error: String(e) });
      }
    }, SEARCH_INDEX_DELAY_MS);
  }

  /** Sends the queued events: the frame itself when there is one, else one `events` frame. */
  #flush(): void {
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    const queued = this.#outbox;
    if (!queued.length) return;
    this.#outbox = [];
    const data = queued.length === 1 ? queued[0]! : `{"type":"events","events":[${queued.join(",")}]}`;
    this.#lastFanoutSockets = this.broadcast(data);
    this.#lastFanoutAt = Date.now();
  }

  protected async handle(conn: Socket, f: ClientFrame, state: SocketState): Promise<void> {
    // A timeout that ended while the room slept (or that a connect ticket still carries): re-read access first.
    if (state.identity.timeoutUntil !== undefined && !timedOut(state.identity.timeoutUntil, Date.now())) {
      await this.#timeoutsEnded([state.identity.userId]);
      state = this.stateOf(conn) ?? state;
    }
    const me = state.identity;
    const perms = parsePermissions(me.perms);
    switch (f.type) {
      case "hello":
        return this.#resume(conn, me, perms, f.lastSeq);
      case "message.send":
        return this.#sendMessage(conn, me, perms, f);
      case "message.edit":
        return this.#edit(me, perms, f.id, f.content);
      case "message.delete":
        return this.#delete(me, perms, f.id);
      case "reaction.add":
        return this.#react(me, perms, f.messageId, await this.#reactionEmoji(f.emoji), true);
      case "reaction.remove":
        return this.#react(me, perms, f.messageId, f.emoji, false);
      case "pin.add":
        return this.#pin(me, perms, f.messageId, true);
      case "pin.remove":
        return this.#pin(me, perms, f.messageId, false);
      case "typing.start":
        return this.#typing(me, perms);
      case "read.mark":
        return this.#markRead(conn, me, f.seq);
      case "preview.remove":
        return this.#previews.remove(me, perms, f.messageId, f.url);
      default:
        return assertNever(f);
    }
  }

  // --- frames ---------------------------------------------------------------------------

  #resume(conn: Socket, me: ConnectionIdentity, perms: bigint, lastSeq: number | undefined): void {
    // Queued events go out first, so nothing live arrives after `resumed` that the replay had.
    this.#flush();
    const head = this.#room.head();
    if (lastSeq === undefined || lastSeq === head) {
      this.send(conn, { type: "resumed", fromSeq: head + 1, toSeq: head });
      return;
    }
    if (lastSeq > head) {
      this.send(conn, { type: "resync", reason: "reset", headSeq: head });
      return;
    }
    if (!has(perms, P.READ_HISTORY)) throw new FrameError("forbidden", "You may not read this channel's history.");
    if (head - lastSeq > MAX_RESUME_EVENTS) {
      this.send(conn, { type: "resync", reason: "gap_too_large", headSeq: head });
      return;
    }
    // A replay costs what it sends (capped per minute, per member), paid before any row is read.
    const wait = this.#replays.take(me.userId, head - lastSeq + REPLAY_BASE_COST, Date.now());
    if (wait > 0) throw new FrameError("rate_limited", "You are asking for replays too often.", { retryAfterMs: wait });
    const frames = this.#room.eventsAfter(lastSeq);
    if (!frames) {
      this.send(conn, { type: "resync", reason: "gap_too_large", headSeq: head });
      return;
    }
    for (const f of frames) this.send(conn, f);
    this.send(conn, { type: "resumed", fromSeq: lastSeq + 1, toSeq: head });
  }

  #ackFromNonce(conn: Socket, me: ConnectionIdentity, nonce: string): boolean {
    const hit = this.#room.nonce(me.userId, nonce);
    if (!hit) return false;
    const message =
      this.#room.message(hit.messageId) ??
      tombstone({
        id: hit.messageId,
        channelId: this.name,
        seq: hit.seq,
        author: { id: me.userId, username: me.username, displayName: me.displayName },
        createdAt: hit.createdAt,
        system: null,
      });
    this.send(conn, { type: "message.ack", nonce, message });
    return true;
  }

  async #sendMessage(conn: Socket, me: ConnectionIdentity, perms: bigint, f: Extract<ClientFrame, { type: "message.send" }>): Promise<void> {
    if (!has(perms, P.SEND_MESSAGES)) throw new FrameError("forbidden", "You may not send messages in this channel.");
    if (this.#ackFromNonce(conn, me, f.nonce)) return;
    const now = Date.now();
    const wait = this.#room.rateWait(me.userId, now);
    if (wait > 0) throw new FrameError("rate_limited", "You are sending messages too fast.", { retryAfterMs: wait });
    if (f.replyTo && !this.#room.messageMeta(f.replyTo)) throw new FrameError("not_found", "The message you reply to does not exist.");

    // The awaits (D1) come before the write; when there were any, everything checked above is
    // re-checked synchronously after them (other frames may have run in between). Without
    // attachments or role mentions nothing is awaited, so the checks above still hold.
    const files = f.attachmentIds?.length ? await this.#loadAttachments(me, perms, [...new Set(f.attachmentIds)]) : [];
    const found = parseMentions(f.content);
    const roleLookup = needsRoleLookup(found, me.communityId);
    const { mentions, pings } = roleLookup ? await this.#mentions(f.content, perms, me.communityId, found) : mentionsFrom(found, perms, []);

    if (files.length || roleLookup) {
      if (this.#ackFromNonce(conn, me, f.nonce)) return;
      const waitNow = this.#room.rateWait(me.userId, Date.now());
      if (waitNow > 0) throw new FrameError("rate_limited", "You are sending messages too fast.", { retryAfterMs: waitNow });
      if (f.replyTo && !this.#room.messageMeta(f.replyTo)) throw new FrameError("not_found", "The message you reply to does not exist.");
      if (files.some((a) => this.#room.attachmentUsed(a.id))) throw new FrameError("invalid_attachment", "An attachment is already part of another message.");
    }

    // Slowmode last, with nothing awaited between the check and the write.
    const slowmode = me.communityId ? (this.#mod.slowmode() ?? (await this.#slowmodeSeconds())) : 0;
    if (this.#ackFromNonce(conn, me, f.nonce)) return;
    const slowWait = slowmodeWait(perms, slowmode, this.#mod.lastSent(me.userId), Date.now());
    if (slowWait > 0) throw new FrameError("slowmode", `Slowmode is on: you can send again in ${Math.ceil(slowWait / 1000)} s.`, { retryAfterMs: slowWait });

    const createdAt = Date.now();
    const written = this.#room.insertMessage({
      id: newId(createdAt),
      author: { id: me.userId, username: me.username, displayName: me.displayName },
      content: f.content,
      replyTo: f.replyTo ?? null,
      attachments: files,
      mentions,
      system: null,
      createdAt,
      pings,
      nonce: { userId: me.userId, nonce: f.nonce },
    });
    if (slowmode > 0) this.#mod.recordSent(me.userId, createdAt);
    // What you wrote yourself is read: the sender's marker moves with their message (written.seq is the head).
    this.#room.markReadAtHead(me.userId, written.seq, createdAt);
    this.send(conn, { type: "message.ack", nonce: f.nonce, message: written.message });
    this.#publish(written.json);
    this.#previews.afterWrite(written.message.id, written.message.content, false);
    if (me.kind !== "visitor") this.#managerWrote(me.userId, createdAt);
    // No per-message log line: under `wrangler dev` each one costs milliseconds of CPU in the
    // log pipe. Errors and security events are still logged.
    this.#notifyHub(me.communityId, {
      channelId: this.name,
      seq: written.seq,
      authorId: me.userId,
      mentionedUserIds: pings.users,
      mentionedRoleIds: pings.roles,
      everyone: mentions.everyone,
      here: mentions.here,
    });
  }

  /** The uploads a message may carry: this channel's, by this member, not used by another message. */
  async #loadAttachments(me: ConnectionIdentity, perms: bigint, ids: string[]): Promise<Attachment[]> {
    if (!has(perms, P.ATTACH_FILES)) throw new FrameError("forbidden", "You may not attach files in this channel.");
    if (ids.some((id) => this.#room.attachmentUsed(id))) throw new FrameError("invalid_attachment", "An attachment is already part of another message.");
    const rows = await makeDb(this.env.DB)
      .select()
      .from(attachmentsTable)
      .where(and(inArray(attachmentsTable.id, ids), eq(attachmentsTable.channelId, this.name), eq(attachmentsTable.uploaderId, me.userId)));
    if (rows.length !== ids.length) throw new FrameError("invalid_attachment", "An attachment does not exist or was not uploaded by you to this channel.");
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => {
      const r = byId.get(id)!;
      return {
        id: r.id,
        filename: r.filename,
        contentType: r.contentType,
        size: r.size,
        width: r.width,
        height: r.height,
        url: attachmentUrl(this.name, r.id, r.filename),
      };
    });
  }

  /**
   * Mentions as stored, which are the ones that ping: roles of this community that are
   * mentionable or mentioned by a MENTION_EVERYONE holder; @everyone/@here only with it.
   */
  async #mentions(
    content: string,
    perms: bigint,
    communityId: string | null,
    found: ReturnType<typeof parseMentions> = parseMentions(content),
  ): Promise<{ mentions: Mentions; pings: NewMessage["pings"] }> {
    let rows: RoleMentionRow[] = [];
    if (needsRoleLookup(found, communityId)) {
      rows = await makeDb(this.env.DB)
        .select({ id: roles.id, mentionable: roles.mentionable, isEveryone: roles.isEveryone })
        .from(roles)
        .where(and(eq(roles.communityId, communityId!), inArray(roles.id, found.roles.slice(0, 50))));
    }
    return mentionsFrom(found, perms, rows);
  }

  async #edit(me: ConnectionIdentity, perms: bigint, id: string, content: string): Promise<void> {
    // An edit is a new message in all but seq (new text, new mentions that ping): it needs
    // SEND_MESSAGES now. `perms` are the socket's current ones — revalidate() updates them on
    // role, overwrite and block changes (a block leaves a 1:1 DM read-only).
    if (!has(perms, P.SEND_MESSAGES)) throw new FrameError("forbidden", "You may not send messages in this channel.");
    const m = this.#room.messageMeta(id);
    if (!m) throw new FrameError("not_found", "No such message.");
    if (m.authorId !== me.userId || m.system) throw new FrameError("forbidden", "You can only edit your own messages.");
    if (!content && m.attachments === 0) throw new FrameError("validation_failed", "A message needs content or an attachment.");
    if (content === m.content) return;
    const { mentions, pings } = await this.#mentions(content, perms, me.communityId);
    const ev = this.#room.editMessage(id, content, mentions, pings, Date.now());
    if (!ev) throw new FrameError("not_found", "No such message.");
    this.#publish(ev.json);
    this.#previews.afterWrite(id, ev.frame.message.content, (ev.frame.message.previews?.length ?? 0) > 0);
  }

  #delete(me: ConnectionIdentity, perms: bigint, id: string): void {
    const m = this.#room.messageMeta(id);
    if (!m) throw new FrameError("not_found", "No such message.");
    const own = m.authorId === me.userId && !m.system;
    if (!own && !has(perms, P.MANAGE_MESSAGES)) throw new FrameError("forbidden", "You can only delete your own messages.");
    this.#deleteAndBroadcast(id);
  }

  #deleteAndBroadcast(id: string): boolean {
    const ev = this.#room.deleteMessage(id, Date.now());
    if (!ev) return false;
    this.#publish(ev.json);
    this.#previews.forget(id);
    if (ev.attachmentIds.length) this.ctx.waitUntil(this.#dropFiles(ev.attachmentIds));
    return true;
  }

  /** Removes a deleted message's files from R2 and their rows from D1. */
  async #dropFiles(ids: string[]): Promise<void> {
    try {
      await this.env.FILES.delete(ids.map((id) => `attachments/${this.name}/${id}`));
      await makeDb(this.env.DB).delete(attachmentsTable).where(and(inArray(attachmentsTable.id, ids), eq(attachmentsTable.channelId, this.name)));
    } catch (e) {
      log({ event: "channel_room.drop_files_failed", channelId: this.name, error: String(e) });
    }
  }

  /**
   * A custom emoji (`<:name:id>`) may only be added in a channel of its own community
   * (policy.ts canUseCustomEmoji); it is stored under its current name. Unicode passes as is.
   */
  async #reactionEmoji(emoji: string): Promise<string> {
    const custom = CUSTOM_EMOJI_REACTION.exec(emoji);
    if (!custom) return emoji;
    try {
      const { name } = await canUseCustomEmoji(makeDb(this.env.DB), this.name, custom[2]!);
      return `<:${name}:${custom[2]}>`;
    } catch (e) {
      if (e instanceof ApiError) throw new FrameError("not_found", "No such emoji here.");
      throw e;
    }
  }

  #react(me: ConnectionIdentity, perms: bigint, messageId: string, emoji: string, add: boolean): void {
    if (!this.#room.messageMeta(messageId)) throw new FrameError("not_found", "No such message.");
    const mine = this.#room.hasReaction(messageId, emoji, me.userId);
    const now = Date.now();
    if (add) {
      if (!has(perms, P.ADD_REACTIONS)) throw new FrameError("forbidden", "You may not add reactions in this channel.");
      if (mine) return;
      const present = this.#room.distinctEmoji(messageId);
      if (!present.includes(emoji) && present.length >= MAX_REACTIONS_PER_MESSAGE) {
        throw new FrameError("too_many_reactions", `A message can have at most ${MAX_REACTIONS_PER_MESSAGE} different reactions.`);
      }
      this.#publish(this.#room.addReaction(messageId, emoji, me.userId, now).json);
    } else {
      if (!mine) return;
      this.#publish(this.#room.removeReaction(messageId, emoji, me.userId, now).json);
    }
  }

  #pin(me: ConnectionIdentity, perms: bigint, messageId: string, pin: boolean): void {
    // In communities it takes MANAGE_MESSAGES; in DMs every participant who may write there
    // (so not across a block, which leaves a 1:1 DM read-only).
    // Tickets have no pins: nobody there holds MANAGE_MESSAGES.
    const may = me.communityId !== null || this.#room.ticket() ? has(perms, P.MANAGE_MESSAGES) : has(perms, P.SEND_MESSAGES);
    if (!may) throw new FrameError("forbidden", "You may not pin messages in this channel.");
    const m = this.#room.messageMeta(messageId);
    if (!m) throw new FrameError("not_found", "No such message.");
    if (m.pinned === pin) return;
    this.#publish(this.#room.setPinned(messageId, pin, Date.now()).json);
  }

  #typing(me: ConnectionIdentity, perms: bigint): void {
    if (!has(perms, P.SEND_MESSAGES)) throw new FrameError("forbidden", "You may not send messages in this channel.");
    const now = Date.now();
    if (now - (this.#typingAt.get(me.userId) ?? 0) < TYPING_THROTTLE_MS) return;
    this.#typingAt.set(me.userId, now);
    if (this.#typingAt.size > 1000) for (const [u, t] of this.#typingAt) if (now - t > TYPING_THROTTLE_MS) this.#typingAt.delete(u);
    this.broadcast({ type: "typing", userId: me.userId, displayName: me.displayName }, { notUser: me.userId });
  }

  #markRead(conn: Socket, me: ConnectionIdentity, seq: number): void {
    const before = this.#room.lastRead(me.userId);
    const after = this.#room.markRead(me.userId, seq, Date.now());
    const frame = JSON.stringify({ type: "read.updated", seq: after } satisfies ServerFrame);
    if (after === before) {
      this.send(conn, frame);
      return;
    }
    this.broadcast(frame, { user: me.userId });
    // A ticket's two sides see how far the other has read (read receipts).
    if (this.#room.ticket()) this.broadcast({ type: "read.receipt", userId: me.userId, seq: after }, { notUser: me.userId });
    if (me.communityId) this.#toHub(me.communityId, "mark_read", async (hub) => hub.markRead({ userId: me.userId, channelId: this.name, seq: after }));
  }

  /** Tells the community's CommunityHub (unread badges, pings) without delaying the caller. */
  #notifyHub(communityId: string | null, activity: ChannelActivity): void {
    if (this.#room.ticket()) return; // a ticket's people are told by its SupportDesk
    const parentId = this.#room.threadParent();
    if (parentId) {
      // docs/threads.md: the parent's sockets hear of every message; the hub only of mentions.
      this.ctx.waitUntil(tellParentOfThread(this.env, this.name, parentId, activity));
      const pings = activity.mentionedUserIds.length || activity.mentionedRoleIds.length || activity.everyone || activity.here;
      if (!pings) return;
      activity = { ...activity, threadOf: parentId };
    }
    if (!communityId) return this.#notifyInboxes(activity); // DMs have no CommunityHub
    // At most one call in flight per community: what arrives meanwhile goes out as one batch
    // when it returns (in seq order). A quiet channel sends each message at once; a busy one
    // sends fewer, bigger calls instead of one RPC (and one hub write) per message.
    const queued = this.#hubQueue.get(communityId);
    if (queued) {
      queued.push(activity);
      return;
    }
    this.#hubQueue.set(communityId, [activity]);
    this.#toHub(communityId, "channel_activity", async (hub) => {
      try {
        for (let batch = this.#hubQueue.get(communityId); batch?.length; batch = this.#hubQueue.get(communityId)) {
          this.#hubQueue.set(communityId, []);
          try {
            await hub.channelActivities(batch);
          } catch (e) {
            log({ event: "channel_room.hub_call_failed", what: "channel_activity", channelId: this.name, communityId, count: batch.length, error: String(e) });
          }
          // What arrived during the call, and in the gap after it, goes as the next batch.
          if (this.#hubQueue.get(communityId)?.length) await new Promise((r) => setTimeout(r, HUB_BATCH_GAP_MS));
        }
      } finally {
        this.#hubQueue.delete(communityId);
      }
    });
  }

  /** The DM's people, read once from D1 (DMs do not change hands; `revalidate` forgets it). */
  #dmMembers: Promise<string[]> | undefined;

  /**
   * A DM message: each other member's UserInbox tells their open tabs at once (the DM list's
   * unread badge, a new conversation), so nobody waits for the list's poll. Unread counts
   * themselves stay with this room and are read over HTTP.
   */
  #notifyInboxes(activity: ChannelActivity): void {
    this.ctx.waitUntil(
      (async () => {
        try {
          this.#dmMembers ??= makeDb(this.env.DB)
            .select({ userId: channelRecipients.userId })
            .from(channelRecipients)
            .where(eq(channelRecipients.channelId, this.name))
            .then((rows) => rows.map((r) => r.userId));
          const members = await this.#dmMembers;
          await Promise.all(
            members
              .filter((id) => id !== activity.authorId)
              .map((id) =>
                inboxOf(this.env, id).dmActivity({
                  channelId: this.name,
                  seq: activity.seq,
                  authorId: activity.authorId,
                  mentioned: activity.mentionedUserIds.includes(id),
                }),
              ),
          );
        } catch (e) {
          this.#dmMembers = undefined;
          log({ event: "channel_room.inbox_call_failed", channelId: this.name, error: String(e) });
        }
      })(),
    );
  }

  #toHub(communityId: string, what: string, call: (hub: DurableObjectStub<CommunityHub>) => Promise<unknown>): void {
    this.ctx.waitUntil(
      (async () => {
        // The hub runs on the same thread; starting its work a moment later lets the frames
        // just sent reach their sockets first (~1 ms off the p50 at 50 sockets, docs/benchmarks.md).
        await new Promise((r) => setTimeout(r, HUB_NOTIFY_DELAY_MS));
        try {
          // A plain stub by name: one RPC a call. getServerByName would first make a second
          // RPC (setName) every time; the hub's RPC methods set up their own storage instead.
          await call(this.env.CommunityHub.get(this.env.CommunityHub.idFromName(communityId)));
        } catch (e) {
          log({ event: "channel_room.hub_call_failed", what, channelId: this.name, communityId, error: String(e) });
        }
      })(),
    );
  }

  async #communityId(): Promise<string | null> {
    const known = this.#room.communityId();
    if (known !== null) return known || null;
    const row = (await makeDb(this.env.DB).select({ c: channels.communityId }).from(channels).where(eq(channels.id, this.name)).limit(1))[0];
    if (row) this.#room.setCommunityId(row.c);
    return row?.c ?? null;
  }

  // --- RPC (called by the worker and other Durable Objects) ------------------------------

  /** A page of messages, ascending by seq. Callers check READ_HISTORY first. */
  async history(q: { before?: number; after?: number; around?: number; limit: number }) {
    return this.#room.history(q);
  }

  /** One message, or null. Callers check READ_HISTORY first. */
  async message(id: string): Promise<Message | null> {
    return this.#room.message(id);
  }

  /** Which of these uploads a message of this room carries (for the upload quota and clean-up, lib/pending-uploads.ts). */
  async attachmentsInUse(ids: string[]): Promise<string[]> {
    return ids.filter((id) => this.#room.attachmentUsed(id));
  }

  /** Pinned messages, most recently pinned first (at most 50). */
  async pins(): Promise<Message[]> {
    return this.#room.pins();
  }

  /** Full-text search with filters, newest first, each hit with its neighbours. */
  async search(q: { q?: string; author?: string; before?: number; after?: number; has?: "attachment"; limit: number }): Promise<SearchResults> {
    return this.#room.search(q);
  }

  /** A member's unread state; `roleIds` (from the policy's canChat) count role mentions. */
  async readState(userId: string, roleIds: string[]): Promise<ReadState> {
    return this.#room.readState(userId, roleIds);
  }

  /**
   * Re-checks every connection's access in D1 (after kicks, bans, role or overwrite changes):
   * closes those that lost VIEW_CHANNEL (4403) and updates the stored perms of the rest.
   */
  async revalidate(): Promise<{ checked: number; closed: number; updated: number }> {
    this.#dmMembers = undefined;
    // Whoever connects next with a ticket issued before this goes through the full check again.
    this.#ticketsStale("*");
    const byUser = new Map<string, Socket[]>();
    for (const conn of this.getConnections<SocketState>()) {
      const id = this.stateOf(conn)?.identity;
      if (id) byUser.set(id.userId, [...(byUser.get(id.userId) ?? []), conn]);
    }
    const db = makeDb(this.env.DB);
    let closed = 0;
    let updated = 0;
    const ticket = this.#room.ticket();
    for (const [userId, conns] of byUser) {
      let perms: string | null;
      let timeoutUntil: number | null = null;
      try {
        const visitor = conns.some((c) => this.stateOf(c)?.identity.kind === "visitor");
        if (visitor) perms = await this.#visitorPerms(db, userId, ticket);
        else {
          const a = await canSeeChannel(db, userId, this.name);
          perms = formatPermissions(a.perms);
          timeoutUntil = a.community?.timeoutUntil ?? null;
        }
      } catch (e) {
        if (!(e instanceof ApiError && e.code === "not_found")) {
          log({ event: "channel_room.revalidate_failed", channelId: this.name, userId, error: String(e) });
          continue;
        }
        perms = null;
      }
      if (perms === null) {
        closed += this.closeUser(userId, CLOSE.ACCESS_LOST);
        continue;
      }
      updated += this.#setAccess(userId, perms, timeoutUntil);
    }
    await this.#armTimeoutAlarm();
    return { checked: byUser.size, closed, updated };
  }

  /** A visitor's permissions in this ticket's room, or null when it is not their ticket. */
  async #visitorPerms(db: ReturnType<typeof makeDb>, userId: string, ticket: { visitorUserId: string } | null): Promise<string | null> {
    if (!ticket || ticket.visitorUserId !== userId) return null;
    const t = await loadTicket(db, { channelId: this.name });
    return t ? formatPermissions(visitorRoomPerms(t.ticket.status)) : null;
  }

  // --- threads (docs/threads.md) ------------------------------------------------------------

  /** Marks this room as a thread of `parentId` (the threads route calls it when it creates the thread). */
  async openThread(parentId: string): Promise<void> {
    this.#room.setThreadParent(parentId);
  }

  /**
   * A thread of this channel changed (thread-activity.ts, the threads routes): every socket that
   * may read the channel (READ_HISTORY, as its thread list asks) hears it. Not an event: no seq.
   */
  async threadUpdated(thread: Thread): Promise<void> {
    this.broadcast({ type: "thread.updated", thread }, { where: (s) => has(parsePermissions(s.identity.perms), P.READ_HISTORY) });
  }

  // --- tickets (support desk): the room of one ticket ------------------------------------------

  /** Marks this room as a ticket's (the SupportDesk calls it when it creates the ticket). */
  async openTicket(input: { ticketId: string; deskId: string; visitorUserId: string }): Promise<void> {
    this.#room.setTicket(input);
    this.#room.setCommunityId(null);
  }

  /**
   * A message by a named author without a socket: the visitor's question to the assistant
   * (sent over HTTP) or the assistant's answer (author id ASSISTANT_AUTHOR_ID). Ticket rooms only.
   */
  async postAs(input: { author: { id: string; username: string; displayName: string }; content: string }): Promise<Message> {
    if (!this.#room.ticket()) throw new Error("postAs is for ticket rooms");
    const createdAt = Date.now();
    const written = this.#room.insertMessage({
      id: newId(createdAt),
      author: input.author,
      content: input.content,
      replyTo: null,
      attachments: [],
      mentions: { users: [], roles: [], everyone: false, here: false },
      system: null,
      createdAt,
      pings: { users: [], roles: [], everyone: false },
      nonce: null,
    });
    this.#room.markReadAtHead(input.author.id, written.seq, createdAt);
    this.#publish(written.json);
    return written.message;
  }

  /** A manager wrote in the ticket: the first time sets D1's firstResponseAt; the desk learns it is answered. */
  #managerWrote(userId: string, at: number): void {
    const ticket = this.#room.ticket();
    if (!ticket) return;
    const first = this.#room.markFirstResponse(at);
    this.ctx.waitUntil(
      (async () => {
        try {
          if (first) {
            const db = makeDb(this.env.DB);
            await db.update(ticketsTable).set({ firstResponseAt: at }).where(and(eq(ticketsTable.id, ticket.ticketId), isNull(ticketsTable.firstResponseAt)));
          }
          await (await getServerByName(this.env.SupportDesk, ticket.deskId)).ticketAnswered(ticket.ticketId, userId);
        } catch (e) {
          log({ event: "channel_room.ticket_answered_failed", channelId: this.name, error: String(e) });
        }
      })(),
    );
  }

  /**
   * The ticket's conversation as transcript lines, oldest first: `visitorUserId` is the
   * ticket's visitor; the assistant's id is ASSISTANT_AUTHOR_ID; other authors are managers;
   * system messages (no author) are system lines. At most 10,000 messages.
   */
  async transcript(visitorUserId: string): Promise<TranscriptLine[]> {
    const out: TranscriptLine[] = [];
    let after = 0;
    for (;;) {
      const page = this.#room.history({ after, limit: 500 });
      for (const m of page.messages) out.push(transcriptLine(m, visitorUserId));
      const last = page.messages[page.messages.length - 1];
      if (!last || !page.hasAfter || out.length >= 10_000) return out;
      after = last.seq;
    }
  }

  /** Closes every socket of a user (4403). Returns how many. */
  async disconnectUser(userId: string): Promise<number> {
    this.#ticketsStale(`u:${userId}`);
    return this.closeUser(userId, CLOSE.ACCESS_LOST);
  }

  /** A call link was ended (workers/api/src/lib/call-links.ts): its chat's sockets close (4404); the messages stay for its host. Returns how many. */
  async closeCall(): Promise<number> {
    this.#ticketsStale("*");
    return this.closeAll(CLOSE.GONE);
  }

  /** Closes every socket of one session (4401), e.g. on logout. Returns how many. */
  async disconnectSession(sessionId: string): Promise<number> {
    this.#ticketsStale(`s:${sessionId}`);
    return this.closeSession(sessionId, CLOSE.SESSION_ENDED);
  }

  /** Writes a system message (author null) and broadcasts it. `userId` is whom it is about. */
  async postSystem(input: { kind: SystemKind; userId: string; name?: string }): Promise<Message> {
    const communityId = await this.#communityId();
    const createdAt = Date.now();
    const written = this.#room.insertMessage({
      id: newId(createdAt),
      author: null,
      content: "",
      replyTo: null,
      attachments: [],
      mentions: { users: [], roles: [], everyone: false, here: false },
      system: input.name === undefined ? { kind: input.kind, userId: input.userId } : { kind: input.kind, userId: input.userId, name: input.name },
      createdAt,
      pings: { users: [], roles: [], everyone: false },
      nonce: null,
    });
    this.#publish(written.json);
    this.#notifyHub(communityId, {
      channelId: this.name,
      seq: written.seq,
      authorId: input.userId,
      mentionedUserIds: [],
      mentionedRoleIds: [],
      everyone: false,
      here: false,
    });
    return written.message;
  }

  /**
   * Deletes a user's messages created at or after `sinceMs` (ms since the epoch), e.g. when
   * they are banned; each is a message.deleted event. At most 5,000 a call; `more` says
   * whether to call again.
   */
  async deleteMessagesBy(input: { userId: string; sinceMs: number }): Promise<{ deleted: number; more: boolean }> {
    const LIMIT = 5000;
    const ids = this.#room.messageIdsBy(input.userId, input.sinceMs, LIMIT + 1);
    let deleted = 0;
    for (const id of ids.slice(0, LIMIT)) if (this.#deleteAndBroadcast(id)) deleted++;
    return { deleted, more: ids.length > LIMIT };
  }

  /** The channel is gone (its community was deleted): closes sockets and drops every byte it held. */
  async purge(): Promise<void> {
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    if (this.#indexTimer !== null) clearTimeout(this.#indexTimer);
    this.#indexTimer = null;
    this.#outbox = [];
    this.closeAll(CLOSE.GONE);
    this.#room.dropAll();
    this.#store = undefined;
    this.#modStore = undefined;
    this.#replayBuckets = undefined;
    this.#linkPreviews = undefined;
    await this.ctx.storage.deleteAll();
    const prefix = `attachments/${this.name}/`;
    let cursor: string | undefined;
    do {
      const page = await this.env.FILES.list({ prefix, cursor });
      if (page.objects.length) await this.env.FILES.delete(page.objects.map((o) => o.key));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    await makeDb(this.env.DB).delete(attachmentsTable).where(eq(attachmentsTable.channelId, this.name));
    log({ event: "channel_room.purged", channelId: this.name });
  }

  // --- DM calls (dm-call.ts; only DMs and group DMs have one) ------------------------------

  #dmCalls: DmCalls | undefined;
  get #calls(): DmCalls {
    this.#dmCalls ??= new DmCalls({
      storage: this.ctx.storage,
      env: this.env,
      channelId: this.name,
      postSystem: (kind, userId) => this.postSystem({ kind, userId }),
    });
    return this.#dmCalls;
  }

  async call(): Promise<DmCall | null> {
    return this.#calls.current();
  }

  /**
   * Starts (or joins) the DM's call. `retryAfterMs` instead when the member asks too often
   * (CALL_BUDGET) or rang this DM a moment ago without an answer (RING_COOLDOWN_MS).
   */
  async callStart(input: { caller: UserSummary; members: string[]; kind: DmCall["kind"] }): Promise<CallResult> {
    const wait = this.#chargeCall(input.caller.id, "start");
    if (wait > 0) return { retryAfterMs: wait };
    return this.#calls.start(input);
  }

  async callAnswer(input: { userId: string; accept: boolean }): Promise<CallResult> {
    const wait = this.#chargeCall(input.userId, "answer");
    if (wait > 0) return { retryAfterMs: wait };
    return { call: await this.#calls.answer(input.userId, input.accept) };
  }

  /** Never refused: hanging up must always work, and it changes something only once per join (which start and answer pay for). */
  async callLeave(userId: string): Promise<CallResult> {
    return { call: await this.#calls.leave(userId) };
  }

  /** A DM call request's cost from the member's budget: 0 when paid, else ms to wait. */
  #chargeCall(userId: string, type: keyof typeof CALL_BUDGET.costs): number {
    const r = this.#callBudget.charge(userId, type, null, () => [], Date.now());
    return r.ok ? 0 : r.retryAfterMs;
  }

  /** From LiveKit's webhooks for the DM's room. */
  async callMedia(input: { event: "joined" | "left" | "finished"; userId: string | null }): Promise<void> {
    if (input.event === "finished") await this.#calls.end();
    else if (input.userId) await (input.event === "joined" ? this.#calls.joined(input.userId) : this.#calls.leave(input.userId));
  }

  override async onAlarm(): Promise<void> {
    // Community rooms wake for timeouts ending (DMs have no timeouts; their alarm is the call's).
    if (this.#room.communityId()) {
      // Everyone still marked timed out is re-read: D1 says whether it ended (or was lifted or changed).
      await this.#timeoutsEnded([...this.#identities()].filter((id) => id.timeoutUntil !== undefined).map((id) => id.userId));
      await this.#armTimeoutAlarm();
      return;
    }
    await this.#calls.alarm();
  }
}

/** What a system message says in a transcript (English; the apps render their own words). */
const SYSTEM_TEXT: Record<SystemKind, string> = {
  member_joined: "Joined",
  call_started: "Call started",
  call_missed: "Call declined",
  manager_joined: "A manager has joined",
  call_ended: "Call ended",
  ticket_closed: "Ticket closed",
  call_joined: "Joined the call",
  call_left: "Left the call",
  screen_share_started: "Started sharing their screen",
};

function transcriptLine(m: Message, visitorUserId: string): TranscriptLine {
  const files = m.attachments.map((a) => `[file: ${a.filename}]`).join(" ");
  const content = m.system ? SYSTEM_TEXT[m.system.kind] : [m.content, files].filter(Boolean).join("\n");
  const kind = !m.author ? "system" : m.author.id === visitorUserId ? "visitor" : m.author.id === ASSISTANT_AUTHOR_ID ? "assistant" : "manager";
  const id = m.author?.id ?? null;
  return { seq: m.seq, author: { kind, id: kind === "visitor" || kind === "system" ? null : id, name: m.author?.displayName ?? "System" }, content, createdAt: m.createdAt };
}
