/**
 * The client of one channel's ChannelRoom, framework-free: a Core whose snapshot holds a
 * contiguous window of the channel's messages, the outbox, typing, notices and the connection.
 * Events go through the Sequencer (strictly in `seq` order: out-of-order frames wait,
 * duplicates are dropped, a gap is asked for again with `hello`, `resync` reloads history over
 * HTTP). Sends are optimistic and reconciled by nonce through the outbox; a failed send stays
 * until retried (same nonce, so the room never stores it twice) or discarded. See
 * docs/chat-protocol.md. Components bind it with `bind(core)`; the benchmark and the chaos
 * test drive this same class from Node.
 */
import {
  HistoryPage,
  ServerFrame,
  TYPING_THROTTLE_MS,
  type Attachment,
  type ChannelEvent,
  type ClientFrame,
  type Message,
  type ReplyPreview,
  REPLY_PREVIEW_CHARS,
} from "$shared/chat";
import type { Thread } from "$shared/threads";
import { CLOSE, type CloseName } from "$shared/close-codes";
import { CONNECT_TICKET_PARAM, RESUME_PARAM, assertNever } from "$shared/realtime";
import { client, isApiError, read } from "$lib/api";
import { Core } from "./core";
import * as outbox from "./outbox";
import type { PendingSend } from "./outbox";
import type { OutboxStore } from "./outbox-store";
import { Sequencer, type Sequenced } from "./sequencer";
import { RealtimeSocket, type SocketConfig } from "./socket";

export type { PendingSend } from "./outbox";

export type ConnectionState = "connecting" | "online" | "reconnecting" | "offline" | "closed";

/** Why a channel connection ended for good (the room's final close codes). */
export type ClosedReason = "session_ended" | "access_lost" | "gone";

/** A failure of a frame that has no place in the list (edit, delete, reaction, pin). */
export interface ChannelNotice {
  id: number;
  code: string;
  /** The frame type that failed, when known. */
  action: string | null;
  retryAfterMs?: number;
}

export interface TypingUser {
  userId: string;
  displayName: string;
  /** ms since the epoch after which the indicator goes away */
  until: number;
}

export interface ChannelState {
  /** The window: consecutive messages of the channel, ascending by seq. */
  messages: readonly Message[];
  /** There are older messages than the window's first. */
  hasBefore: boolean;
  /** There are newer messages than the window's last (the window is not at the live end). */
  hasAfter: boolean;
  /** Sends the room has not acknowledged yet, oldest first. */
  pending: readonly PendingSend[];
  connection: ConnectionState;
  closedReason: ClosedReason | null;
  /** Seq of the latest event known. */
  headSeq: number;
  /** This member's read marker as the room has it. */
  lastReadSeq: number;
  /** The read marker when the channel was opened: the unread divider stays put while reading. */
  unreadAfterSeq: number | null;
  /** Permissions in this channel from the room (updated live); null until `ready`. */
  perms: string | null;
  /** Timed out in the community until then (ms since the epoch; docs/moderation.md), or null. */
  timeoutUntil: number | null;
  typing: readonly TypingUser[];
  loadingOlder: boolean;
  loadingNewer: boolean;
  /** The first page is being loaded. */
  loadingInitial: boolean;
  /** Code of the last history failure (e.g. `forbidden` without READ_HISTORY). */
  historyError: string | null;
  notices: readonly ChannelNotice[];
  /** Bumped on every pin change, so a pins list knows to reload. */
  pinsVersion: number;
  /**
   * Others' messages that arrived at the live end in the last frame (or burst), for the list's
   * announcements and "new messages" pill: a new array per arrival, the same one otherwise.
   */
  lastAppended: readonly Message[];
  /** Ticket rooms (support desk): how far each other reader has read, seq by user id (read receipts). */
  readReceipts: Readonly<Record<string, number>>;
}

/** Watches the stream without changing it (the benchmark and the chaos test record with it). */
export interface ChannelTrace {
  /** Every frame that passed the schema, before it is handled. */
  frame?(frame: ServerFrame): void;
  /** Every event as it is applied, in seq order, exactly once. */
  applied?(event: ChannelEvent): void;
}

/** Which history page: the latest (`{}`), or the one just before, after or around a seq. */
export type HistoryAt = { before?: number; after?: number; around?: number };

export interface ChannelOptions {
  socket?: SocketConfig;
  /** GET a history page; the API by default. */
  history?: (channelId: string, at: HistoryAt) => Promise<HistoryPage>;
  trace?: ChannelTrace;
  /**
   * Most messages the window holds (default: no limit). Past it the oldest leave as new ones
   * arrive at the live end (`hasBefore` turns true; `loadOlder` brings them back), and no
   * more events than this are kept to replay onto fetched pages. For many clients in one
   * process: the benchmark.
   */
  windowLimit?: number;
  /** Where unacknowledged sends outlive the page (the tab's sessionStorage in the app); none by default. */
  outboxStore?: OutboxStore;
  /** Hears `thread.updated` (not an event: no seq) and every `ready`, after which a thread list reloads (lib/threads). */
  threads?: { updated(thread: Thread): void; connected(): void };
}

const apiHistory = (channelId: string, at: HistoryAt) =>
  read(client.channels[":id"].messages.$get({ param: { id: channelId }, query: Object.fromEntries(Object.entries(at).map(([k, v]) => [k, String(v)])) }), HistoryPage);

const CLOSED_REASONS: Record<CloseName, ClosedReason> = {
  NO_IDENTITY: "session_ended",
  SESSION_ENDED: "session_ended",
  ACCESS_LOST: "access_lost",
  GONE: "gone",
  // Never final (the core connects again without its ticket); here for the table's sake.
  TICKET_STALE: "session_ended",
};
/** Events kept to replay onto history pages fetched while the stream moved on. */
const RECENT_EVENTS = 1000;
/** A send without ack this long after it went out is shown as failed, ms. */
export const SEND_TIMEOUT_MS = 15_000;
/** A gap in seq not filled by then is asked for again, ms. */
export const GAP_WAIT_MS = 1500;
/** How long a typing indicator lasts after the last frame, ms. */
const TYPING_SHOWN_MS = TYPING_THROTTLE_MS + 3000;

/** Frames that carry a required `ref` (their failures come back as error frames with it). */
type RefFrame = Extract<ClientFrame, { ref: string }>;
type WithoutRef<T> = T extends unknown ? Omit<T, "ref"> : never;

function preview(m: Message): ReplyPreview {
  return { id: m.id, seq: m.seq, author: m.author, content: m.content.slice(0, REPLY_PREVIEW_CHARS) };
}

function initialState(): ChannelState {
  return {
    messages: [],
    hasBefore: false,
    hasAfter: false,
    pending: [],
    connection: "connecting",
    closedReason: null,
    headSeq: 0,
    lastReadSeq: 0,
    unreadAfterSeq: null,
    perms: null,
    timeoutUntil: null,
    typing: [],
    loadingOlder: false,
    loadingNewer: false,
    loadingInitial: true,
    historyError: null,
    notices: [],
    pinsVersion: 0,
    lastAppended: [],
    readReceipts: {},
  };
}

export class ChannelCore extends Core<ChannelState> {
  readonly channelId: string;
  readonly meId: string;

  readonly #options: ChannelOptions;
  readonly #history: (channelId: string, at: HistoryAt) => Promise<HistoryPage>;
  readonly #windowLimit: number;
  readonly #recentLimit: number;
  #socket: RealtimeSocket<ServerFrame, ClientFrame> | null = null;
  readonly #sequence = new Sequencer<ChannelEvent>();
  #recent: ChannelEvent[] = [];
  /** The window by id (an index over `state.messages`). */
  #byId = new Map<string, Message>();
  /** The snapshot being built while one frame is handled; published once at its end. */
  #draft: ChannelState | null = null;
  #appended: Message[] | null = null;
  #baseLoad: Promise<void> | null = null;
  /** Bumped per socket connection; async work for an older one is dropped. */
  #generation = 0;
  /**
   * The room's connect ticket (from `ready`) and until when to use it (ms, this clock): a
   * reconnect with it skips the worker's database checks. Dropped after a connection attempt
   * that did not open, and when the room says it is stale; the next attempt goes by cookie.
   */
  #ticket: { token: string; until: number } | null = null;
  #openedSinceAttempt = false;
  /**
   * The seq the latest connection attempt asked the room to resume after (`?since=`), or null:
   * its `ready` is then followed by the replay and `resumed` with no `hello` — unless the
   * stream has moved since (a resync), when `hello` asks again.
   */
  #since: number | null = null;
  #resumed = false;
  /** The first `ready` has been seen (the unread divider is placed once). */
  #greeted = false;
  #gapTimer: ReturnType<typeof setTimeout> | null = null;
  #typingTimer: ReturnType<typeof setTimeout> | null = null;
  #sendTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #lastTypingSent = 0;
  #lastMarkSent = 0;
  #noticeId = 0;
  #refActions = new Map<string, string>();
  #destroyed = false;
  #onOnline = () => {
    if (this.#s.connection === "offline") this.#set({ connection: "reconnecting" });
    this.#socket?.reconnect();
  };
  #onOffline = () => {
    this.#resumed = false;
    this.#set({ connection: "offline" });
    // A socket may look open for a long while on a dead network; start over when it returns.
    this.#socket?.suspend();
  };

  constructor(channelId: string, meId: string, options: ChannelOptions = {}) {
    super(initialState());
    this.channelId = channelId;
    this.meId = meId;
    this.#options = options;
    this.#history = options.history ?? apiHistory;
    this.#windowLimit = options.windowLimit ?? Infinity;
    this.#recentLimit = Math.min(RECENT_EVENTS, this.#windowLimit);
    // Sends a reload cut off before their ack: shown as pending and sent again after hello.
    const restored = options.outboxStore?.load(channelId, meId) ?? [];
    if (restored.length) this.update({ ...this.state, pending: restored });
  }

  /** Seq the stream is applied up to (the last event, or the history page it continues from); null before the first page. */
  get appliedSeq(): number | null {
    return this.#sequence.position;
  }

  /** Opens the connection. Call once. */
  start(): void {
    if (typeof window !== "undefined") {
      window.addEventListener("online", this.#onOnline);
      window.addEventListener("offline", this.#onOffline);
      if (navigator.onLine === false) this.#set({ connection: "offline" });
    }
    this.#connect();
  }

  destroy(): void {
    this.#destroyed = true;
    if (typeof window !== "undefined") {
      window.removeEventListener("online", this.#onOnline);
      window.removeEventListener("offline", this.#onOffline);
    }
    this.#socket?.close();
    this.#socket = null;
    for (const t of this.#sendTimers.values()) clearTimeout(t);
    this.#sendTimers.clear();
    if (this.#gapTimer) clearTimeout(this.#gapTimer);
    if (this.#typingTimer) clearTimeout(this.#typingTimer);
  }

  /** Drops the connection and connects again (it resumes from the last applied seq). */
  reconnect(): void {
    this.#socket?.reconnect();
  }

  // --- state -----------------------------------------------------------------------------

  /** The snapshot as it stands, including changes of the frame being handled. */
  get #s(): ChannelState {
    return this.#draft ?? this.state;
  }

  #set(patch: Partial<ChannelState>): void {
    const s = this.#s;
    if ((Object.keys(patch) as (keyof ChannelState)[]).every((k) => s[k] === patch[k])) return;
    if (patch.pending && patch.pending !== s.pending) this.#options.outboxStore?.save(this.channelId, this.meId, patch.pending);
    if (this.#draft) this.#draft = { ...this.#draft, ...patch };
    else this.update({ ...this.state, ...patch });
  }

  /** Runs `fn` and publishes what it changed as one snapshot (a replay burst is one change). */
  #batch(fn: () => void): void {
    if (this.#draft) return fn();
    this.#draft = this.state;
    this.#appended = [];
    try {
      fn();
    } finally {
      const appended = this.#appended;
      let next = this.#draft;
      this.#draft = null;
      this.#appended = null;
      if (appended.length) next = { ...next, lastAppended: appended };
      this.update(next);
    }
  }

  // --- connection ------------------------------------------------------------------------

  #connect(): void {
    this.#socket = new RealtimeSocket<ServerFrame, ClientFrame>(
      "channel-room",
      this.channelId,
      {
        frames: ServerFrame,
        onOpen: () => {
          this.#generation++;
          this.#resumed = false;
          this.#openedSinceAttempt = true;
        },
        onFrame: (f) => {
          this.#options.trace?.frame?.(f);
          this.#batch(() => this.#onFrame(f));
        },
        onClose: (code, final) => {
          this.#resumed = false;
          if (code === CLOSE.TICKET_STALE || !this.#openedSinceAttempt) this.#ticket = null;
          this.#openedSinceAttempt = false;
          if (final) {
            this.#set({ closedReason: CLOSED_REASONS[final], connection: "closed" });
            return;
          }
          if (this.#destroyed || this.#s.connection === "closed") return;
          const offline = typeof navigator !== "undefined" && navigator.onLine === false;
          this.#set({ connection: offline ? "offline" : this.#s.connection === "connecting" ? "connecting" : "reconnecting" });
        },
      },
      {
        ...this.#options.socket,
        options: {
          minReconnectionDelay: 500 + Math.random() * 1000,
          maxReconnectionDelay: 10_000,
          // Asked before every attempt: the connect ticket while it is good, else nothing (the cookie).
          // With them, the seq to resume after: the room answers the upgrade as it would `hello`.
          query: () => {
            const q: Record<string, string> = this.#ticket && Date.now() < this.#ticket.until ? { [CONNECT_TICKET_PARAM]: this.#ticket.token } : {};
            this.#since = this.#sequence.position;
            if (this.#since !== null) q[RESUME_PARAM] = String(this.#since);
            return q;
          },
          ...this.#options.socket?.options,
        },
      },
    );
  }

  #sendFrame(frame: ClientFrame): boolean {
    return this.#socket?.send(frame) ?? false;
  }

  #onFrame(f: ServerFrame): void {
    switch (f.type) {
      case "ready":
        return this.#onReady(f);
      case "resumed":
        this.#resumed = true;
        this.#set({ headSeq: Math.max(this.#s.headSeq, f.toSeq), connection: "online" });
        this.#flushPending();
        return;
      case "resync":
        return this.#resync();
      case "message.ack":
        return this.#onAck(f.nonce, f.message);
      case "message.created":
      case "message.updated":
      case "message.deleted":
      case "reaction.added":
      case "reaction.removed":
      case "pin.added":
      case "pin.removed":
        return this.#onEvent(f);
      case "events":
        for (const e of f.events) this.#onEvent(e);
        return;
      case "typing":
        return this.#onTyping(f.userId, f.displayName);
      case "read.updated":
        return this.#set({ lastReadSeq: f.seq });
      case "permissions.updated":
        return this.#set({ perms: f.perms, timeoutUntil: f.timeoutUntil ?? null });
      case "read.receipt":
        return this.#set({ readReceipts: { ...this.#s.readReceipts, [f.userId]: Math.max(f.seq, this.#s.readReceipts[f.userId] ?? 0) } });
      case "thread.updated":
        return this.#options.threads?.updated(f.thread);
      case "error":
        return this.#onError(f);
      default:
        return assertNever(f);
    }
  }

  #onReady(f: Extract<ServerFrame, { type: "ready" }>): void {
    if (f.ticket) this.#ticket = { token: f.ticket.token, until: Date.now() + f.ticket.ttlMs };
    this.#options.threads?.connected();
    this.#set({ perms: f.me.perms, timeoutUntil: f.me.timeoutUntil ?? null, headSeq: Math.max(this.#s.headSeq, f.headSeq), lastReadSeq: f.lastReadSeq });
    if (!this.#greeted) {
      this.#greeted = true;
      // Never opened (marker 0): no divider; the channel opens at its latest messages.
      if (f.lastReadSeq > 0) this.#set({ unreadAfterSeq: f.lastReadSeq });
    }
    const position = this.#sequence.position;
    const since = this.#since;
    this.#since = null;
    // Resumed on the upgrade: the replay and `resumed` follow this frame.
    if (position !== null && position === since) return;
    if (position !== null) {
      this.#sendFrame({ type: "hello", lastSeq: position });
      return;
    }
    this.#loadBaseThenHello(f.headSeq);
  }

  #loadBaseThenHello(readyHead: number): void {
    const generation = this.#generation;
    void this.#loadBase(readyHead).then(() => {
      const position = this.#sequence.position;
      if (generation === this.#generation && position !== null) this.#sendFrame({ type: "hello", lastSeq: position });
    });
  }

  /** Loads the latest page as the window and makes its headSeq the stream's position. */
  #loadBase(readyHead: number): Promise<void> {
    this.#baseLoad ??= (async () => {
      this.#set({ loadingInitial: true });
      let page: HistoryPage | null = null;
      let error: unknown = null;
      try {
        page = await this.#history(this.channelId, {});
      } catch (e) {
        error = e;
      }
      this.#batch(() => {
        if (page) {
          this.#set({ historyError: null });
          this.#replaceWindow(page, true);
        } else {
          // Without READ_HISTORY the channel starts empty and shows what happens from now on.
          this.#set({ historyError: isApiError(error) ? error.code : "network_error" });
          if (isApiError(error, "forbidden")) this.#replaceWindow({ messages: [], headSeq: readyHead, hasBefore: false, hasAfter: false }, true);
        }
        this.#set({ loadingInitial: false });
      });
      this.#baseLoad = null;
    })();
    return this.#baseLoad;
  }

  #resync(): void {
    this.#sequence.reset();
    this.#recent = [];
    this.#loadBaseThenHello(this.#s.headSeq);
  }

  // --- events ----------------------------------------------------------------------------

  #onEvent(ev: ChannelEvent): void {
    this.#set({ headSeq: Math.max(this.#s.headSeq, ev.seq) });
    this.#follow(this.#sequence.accept(ev));
  }

  /** Applies what the sequencer let through; asks for a gap again if one stays open. */
  #follow(result: Sequenced<ChannelEvent>): void {
    if (result.kind === "overflow") return this.#resync();
    if (result.kind === "apply") {
      for (const ev of result.events) {
        this.#apply(ev, true);
        this.#recent.push(ev);
        this.#options.trace?.applied?.(ev);
      }
      if (this.#recent.length > this.#recentLimit) this.#recent.splice(0, this.#recent.length - this.#recentLimit);
    }
    if (this.#sequence.waiting && !this.#gapTimer) {
      this.#gapTimer = setTimeout(() => {
        this.#gapTimer = null;
        const position = this.#sequence.position;
        if (this.#sequence.waiting && position !== null) this.#sendFrame({ type: "hello", lastSeq: position });
      }, GAP_WAIT_MS);
    }
  }

  /** Applies one event to the window. Idempotent, so replaying onto newer pages is safe. */
  #apply(ev: ChannelEvent, live: boolean): void {
    switch (ev.type) {
      case "message.created": {
        const m = ev.message;
        if (m.deleted) return;
        if (m.author) this.#clearTyping(m.author.id);
        if (this.#byId.has(m.id)) return this.#replace(m);
        const { messages, hasAfter } = this.#s;
        const last = messages[messages.length - 1];
        if (hasAfter && (!last || m.seq > last.seq)) return; // beyond the window: "jump to present" shows it
        this.#insert(m);
        if (live && m.author?.id !== this.meId) this.#appended?.push(m);
        return;
      }
      case "message.updated":
        if (ev.message.deleted) return;
        this.#replace(ev.message);
        this.#updatePreviews(ev.message.id, preview(ev.message));
        return;
      case "message.deleted": {
        const gone: ReplyPreview = { id: ev.id, seq: null, author: null, content: null };
        if (this.#byId.delete(ev.id)) this.#set({ messages: this.#s.messages.filter((m) => m.id !== ev.id) });
        this.#updatePreviews(ev.id, gone);
        return;
      }
      case "reaction.added":
      case "reaction.removed": {
        const m = this.#byId.get(ev.messageId);
        if (!m) return;
        const add = ev.type === "reaction.added";
        const reactions = m.reactions.map((r) => ({ ...r, userIds: [...r.userIds] }));
        let r = reactions.find((x) => x.emoji === ev.emoji);
        if (add) {
          if (r?.userIds.includes(ev.userId)) return;
          if (!r) reactions.push((r = { emoji: ev.emoji, count: 0, userIds: [] }));
          r.userIds.push(ev.userId);
          r.count = r.userIds.length;
        } else {
          if (!r || !r.userIds.includes(ev.userId)) return;
          r.userIds = r.userIds.filter((u) => u !== ev.userId);
          r.count = r.userIds.length;
        }
        this.#replace({ ...m, reactions: reactions.filter((x) => x.count > 0) });
        return;
      }
      case "pin.added":
      case "pin.removed": {
        this.#set({ pinsVersion: this.#s.pinsVersion + 1 });
        const m = this.#byId.get(ev.messageId);
        if (m) this.#replace({ ...m, pinned: ev.type === "pin.added" });
        return;
      }
      default:
        return assertNever(ev);
    }
  }

  #insert(m: Message): void {
    this.#byId.set(m.id, m);
    const list = this.#s.messages;
    const last = list[list.length - 1];
    if (!last || last.seq < m.seq) return this.#setWindow([...list, m]);
    let i = list.length;
    while (i > 0 && list[i - 1]!.seq > m.seq) i--;
    this.#set({ messages: [...list.slice(0, i), m, ...list.slice(i)] });
  }

  /** The window grown at its live end, its oldest messages dropped past `windowLimit`. */
  #setWindow(messages: readonly Message[]): void {
    const over = messages.length - this.#windowLimit;
    if (over <= 0) return this.#set({ messages });
    for (const m of messages.slice(0, over)) this.#byId.delete(m.id);
    this.#set({ messages: messages.slice(over), hasBefore: true });
  }

  #replace(m: Message): void {
    if (!this.#byId.has(m.id)) return;
    this.#byId.set(m.id, m);
    this.#set({ messages: this.#s.messages.map((x) => (x.id === m.id ? m : x)) });
  }

  #updatePreviews(id: string, next: ReplyPreview): void {
    const list = this.#s.messages;
    if (!list.some((m) => m.replyTo?.id === id)) return;
    this.#set({
      messages: list.map((m) => {
        if (m.replyTo?.id !== id) return m;
        const updated = { ...m, replyTo: next };
        this.#byId.set(m.id, updated);
        return updated;
      }),
    });
  }

  // --- history ---------------------------------------------------------------------------

  #replaceWindow(page: HistoryPage, base: boolean): void {
    const messages = page.messages.filter((m) => !m.deleted);
    this.#byId = new Map(messages.map((m) => [m.id, m]));
    this.#set({ hasBefore: page.hasBefore, hasAfter: page.hasAfter, headSeq: Math.max(this.#s.headSeq, page.headSeq) });
    this.#setWindow(messages);
    if (base) {
      this.#recent = [];
      this.#follow(this.#sequence.startAt(page.headSeq));
    } else {
      this.#replayOnto(page.headSeq);
    }
  }

  /** A page reflects the channel at its headSeq; events applied since are replayed onto it. */
  #replayOnto(pageHead: number): void {
    for (const ev of this.#recent) if (ev.seq > pageHead) this.#apply(ev, false);
  }

  /** Loads the page before the window's first message. */
  async loadOlder(): Promise<void> {
    const first = this.#s.messages[0];
    if (!this.#s.hasBefore || this.#s.loadingOlder || !first) return;
    this.#set({ loadingOlder: true });
    try {
      const page = await this.#history(this.channelId, { before: first.seq });
      if (this.#s.messages[0]?.id !== first.id) return; // the window moved meanwhile
      const older = page.messages.filter((m) => !m.deleted && m.seq < first.seq && !this.#byId.has(m.id));
      for (const m of older) this.#byId.set(m.id, m);
      this.#batch(() => {
        this.#set({ messages: [...older, ...this.#s.messages], hasBefore: page.hasBefore });
        this.#replayOnto(page.headSeq);
      });
    } catch {
      this.#pushNotice("history_failed", null);
    } finally {
      this.#set({ loadingOlder: false });
    }
  }

  /** Loads the page after the window's last message (when it is not at the live end). */
  async loadNewer(): Promise<void> {
    const last = this.#s.messages[this.#s.messages.length - 1];
    if (!this.#s.hasAfter || this.#s.loadingNewer || !last) return;
    this.#set({ loadingNewer: true });
    try {
      const page = await this.#history(this.channelId, { after: last.seq });
      if (this.#s.messages[this.#s.messages.length - 1]?.id !== last.id) return;
      const newer = page.messages.filter((m) => !m.deleted && m.seq > last.seq && !this.#byId.has(m.id));
      for (const m of newer) this.#byId.set(m.id, m);
      this.#batch(() => {
        this.#set({ messages: [...this.#s.messages, ...newer], hasAfter: page.hasAfter });
        this.#replayOnto(page.headSeq);
      });
    } catch {
      this.#pushNotice("history_failed", null);
    } finally {
      this.#set({ loadingNewer: false });
    }
  }

  /**
   * Makes sure the message with `seq` (or the first after it) is in the window, loading the
   * page around it if needed. Returns its id, or null when there is no such message.
   */
  async jumpTo(seq: number): Promise<string | null> {
    const { messages, hasBefore, hasAfter } = this.#s;
    const first = messages[0];
    const last = messages[messages.length - 1];
    if (first && last && (seq >= first.seq || !hasBefore) && (seq <= last.seq || !hasAfter)) {
      return messages.find((m) => m.seq >= seq)?.id ?? last.id;
    }
    try {
      const page = await this.#history(this.channelId, { around: seq });
      if (this.#sequence.position === null) return null;
      this.#batch(() => this.#replaceWindow(page, false));
      const now = this.#s.messages;
      return now.find((m) => m.seq >= seq)?.id ?? now[now.length - 1]?.id ?? null;
    } catch {
      this.#pushNotice("history_failed", null);
      return null;
    }
  }

  /** Back to the live end (the latest page), if the window is not there. */
  async jumpToPresent(): Promise<void> {
    if (!this.#s.hasAfter) return;
    try {
      const page = await this.#history(this.channelId, {});
      this.#batch(() => this.#replaceWindow(page, false));
    } catch {
      this.#pushNotice("history_failed", null);
    }
  }

  // --- sending ---------------------------------------------------------------------------

  /** Sends a message optimistically; it shows at once and is reconciled by its nonce. */
  send(content: string, opts: { replyTo?: Message | null; attachments?: Attachment[] } = {}): PendingSend {
    const p: PendingSend = {
      nonce: crypto.randomUUID(),
      content,
      replyTo: opts.replyTo ? preview(opts.replyTo) : null,
      attachments: opts.attachments ?? [],
      createdAt: Date.now(),
      status: "sending",
      error: null,
      retryAt: null,
    };
    // Writing means you have read what is there: the divider goes.
    this.#set({ pending: outbox.enqueue(this.#s.pending, p), unreadAfterSeq: null });
    this.#transmit(p);
    return p;
  }

  /** Sends a failed message again with the same nonce. */
  retry(nonce: string): void {
    const { outbox: pending, send } = outbox.retry(this.#s.pending, nonce);
    if (!send) return;
    this.#set({ pending });
    this.#transmit(send);
  }

  /** Drops a failed send from the list. */
  discard(nonce: string): void {
    this.#clearSendTimer(nonce);
    this.#set({ pending: outbox.discard(this.#s.pending, nonce) });
  }

  #transmit(p: PendingSend): void {
    if (!this.#resumed) return; // sent by #flushPending once the room has answered hello
    const frame: ClientFrame = { type: "message.send", nonce: p.nonce, content: p.content };
    if (p.replyTo) frame.replyTo = p.replyTo.id;
    if (p.attachments.length) frame.attachmentIds = p.attachments.map((a) => a.id);
    if (!this.#sendFrame(frame)) return;
    this.#clearSendTimer(p.nonce);
    this.#sendTimers.set(
      p.nonce,
      setTimeout(() => this.#fail(p.nonce, "timeout", null), SEND_TIMEOUT_MS),
    );
  }

  #flushPending(): void {
    for (const p of outbox.unsent(this.#s.pending)) this.#transmit(p);
  }

  #clearSendTimer(nonce: string): void {
    const t = this.#sendTimers.get(nonce);
    if (t) clearTimeout(t);
    this.#sendTimers.delete(nonce);
  }

  #fail(nonce: string, code: string, retryAfterMs: number | null): void {
    this.#clearSendTimer(nonce);
    this.#set({ pending: outbox.fail(this.#s.pending, nonce, code, retryAfterMs === null ? null : Date.now() + retryAfterMs) });
  }

  #onAck(nonce: string, message: Message): void {
    this.#clearSendTimer(nonce);
    this.#set({ pending: outbox.confirm(this.#s.pending, nonce).outbox });
    // The created event follows; showing the message now keeps it from flickering away.
    const position = this.#sequence.position;
    if (!message.deleted && position !== null && message.seq > position && !this.#byId.has(message.id) && !this.#s.hasAfter) {
      this.#insert(message);
    }
  }

  #onError(f: Extract<ServerFrame, { type: "error" }>): void {
    const ref = f.ref;
    if (ref && outbox.find(this.#s.pending, ref)) return this.#fail(ref, f.code, f.retryAfterMs ?? null);
    const action = ref ? (this.#refActions.get(ref) ?? null) : null;
    if (ref) this.#refActions.delete(ref);
    // Before `resumed` only `hello` is sent: a replay over the room's budget is asked again
    // when the room says, rather than leaving the channel waiting for a resume.
    if (f.code === "rate_limited" && ref === null && !this.#resumed) {
      const generation = this.#generation;
      setTimeout(() => {
        const position = this.#sequence.position;
        if (generation === this.#generation && !this.#resumed && position !== null) this.#sendFrame({ type: "hello", lastSeq: position });
      }, f.retryAfterMs ?? 1000);
      return;
    }
    // A `hello` refused (no READ_HISTORY for a gap) leaves the live stream as it is.
    this.#pushNotice(f.code, action, f.retryAfterMs);
  }

  #pushNotice(code: string, action: string | null, retryAfterMs?: number): void {
    const notice: ChannelNotice = { id: ++this.#noticeId, code, action, retryAfterMs };
    this.#set({ notices: [...this.#s.notices.slice(-3), notice] });
  }

  dismissNotice(id: number): void {
    this.#set({ notices: this.#s.notices.filter((n) => n.id !== id) });
  }

  #withRef(frame: WithoutRef<RefFrame>): void {
    const ref = crypto.randomUUID().slice(0, 12);
    this.#refActions.set(ref, frame.type);
    if (this.#refActions.size > 200) this.#refActions.delete(this.#refActions.keys().next().value!);
    if (!this.#sendFrame({ ...frame, ref } as RefFrame)) this.#pushNotice("offline", frame.type);
  }

  edit(id: string, content: string): void {
    this.#withRef({ type: "message.edit", id, content });
  }
  remove(id: string): void {
    this.#withRef({ type: "message.delete", id });
  }
  react(messageId: string, emoji: string, add: boolean): void {
    if (add) this.#withRef({ type: "reaction.add", messageId, emoji });
    else this.#withRef({ type: "reaction.remove", messageId, emoji });
  }
  pin(messageId: string, pinned: boolean): void {
    if (pinned) this.#withRef({ type: "pin.add", messageId });
    else this.#withRef({ type: "pin.remove", messageId });
  }

  /** Removes one link preview from a message (docs/link-previews.md); a `message.updated` follows. */
  removePreview(messageId: string, url: string): void {
    this.#withRef({ type: "preview.remove", messageId, url });
  }

  /** Call on composer input; sends `typing.start` at most once per TYPING_THROTTLE_MS. */
  typingStart(): void {
    const now = Date.now();
    if (now - this.#lastTypingSent < TYPING_THROTTLE_MS || !this.#resumed) return;
    this.#lastTypingSent = now;
    this.#sendFrame({ type: "typing.start" });
  }

  /** Moves the read marker to `seq` (the room never moves it back). */
  markRead(seq: number = this.#sequence.position ?? 0): void {
    if (seq <= this.#s.lastReadSeq || seq <= this.#lastMarkSent || !this.#resumed) return;
    if (this.#sendFrame({ type: "read.mark", seq })) this.#lastMarkSent = seq;
  }

  // --- typing ----------------------------------------------------------------------------

  #onTyping(userId: string, displayName: string): void {
    if (userId === this.meId) return;
    const until = Date.now() + TYPING_SHOWN_MS;
    this.#set({ typing: [...this.#s.typing.filter((t) => t.userId !== userId), { userId, displayName, until }] });
    this.#scheduleTypingSweep();
  }

  #clearTyping(userId: string): void {
    if (!this.#s.typing.some((t) => t.userId === userId)) return;
    this.#set({ typing: this.#s.typing.filter((t) => t.userId !== userId) });
  }

  #scheduleTypingSweep(): void {
    if (this.#typingTimer) clearTimeout(this.#typingTimer);
    const typing = this.#s.typing;
    if (!typing.length) return;
    const next = Math.min(...typing.map((t) => t.until)) - Date.now();
    this.#typingTimer = setTimeout(() => {
      this.#typingTimer = null;
      const now = Date.now();
      this.#set({ typing: this.#s.typing.filter((t) => t.until > now) });
      this.#scheduleTypingSweep();
    }, Math.max(50, next));
  }
}
