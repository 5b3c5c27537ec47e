/**
 * The client of one channel's ChannelRoom, framework-free (channel.svelte.ts wraps it in
 * runes). It keeps a contiguous window of the channel's messages and applies the room's
 * events strictly in `seq` order: out-of-order frames wait in a buffer, duplicates are
 * ignored, a gap is asked for again with `hello`, and `resync` reloads history over HTTP.
 * Sends are optimistic and reconciled by nonce; a failed send stays until retried (same
 * nonce, so the room never stores it twice) or discarded. See docs/chat-protocol.md.
 */
import PartySocket from "partysocket";
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
import { api, isApiError } from "$lib/api";

export type ConnectionState = "connecting" | "online" | "reconnecting" | "offline" | "closed";

/** Why a channel connection ended for good (the room's close codes). */
export type ClosedReason = "session_ended" | "access_lost" | "gone";

export interface PendingSend {
  nonce: string;
  content: string;
  replyTo: ReplyPreview | null;
  attachments: Attachment[];
  /** ms since the epoch, when the user pressed send */
  createdAt: number;
  status: "sending" | "failed";
  /** Error code of the last failure (`rate_limited`, `timeout`, `forbidden`, …). */
  error: string | null;
  /** rate_limited only: when a retry will be accepted, ms since the epoch. */
  retryAt: number | null;
}

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

/** What changed in the last notification, for the list's announcements and pill. */
export interface ChannelChange {
  /** Messages appended at the live end (not the user's own). */
  appended: Message[];
  /** The window was replaced (first load, jump, resync). */
  replaced: boolean;
}

export interface ChannelTransport {
  /** Opens the socket; defaults to partysocket on this origin. */
  open(channelId: string): PartySocket;
  /** GET a history page. */
  history(channelId: string, query: string): Promise<HistoryPage>;
}

const defaultTransport: ChannelTransport = {
  open: (channelId) =>
    new PartySocket({
      host: location.host,
      protocol: location.protocol === "https:" ? "wss" : "ws",
      party: "channel-room",
      room: channelId,
      // Frames are only sent once the room has answered `hello`; nothing is queued blindly.
      maxEnqueuedMessages: 0,
      minReconnectionDelay: 500 + Math.random() * 1000,
      maxReconnectionDelay: 10_000,
    }),
  history: (channelId, query) => api.get(`/api/channels/${encodeURIComponent(channelId)}/messages${query}`, HistoryPage),
};

/** Close codes the room uses for "do not come back". */
const FINAL_CLOSES: Record<number, ClosedReason> = { 4401: "session_ended", 4403: "access_lost", 4404: "gone" };
/** Events kept to replay onto history pages fetched while the stream moved on. */
const RECENT_EVENTS = 1000;
/** A send without ack this long after it went out is shown as failed, ms. */
const SEND_TIMEOUT_MS = 15_000;
/** A gap in seq not filled by then is asked for again, ms. */
const GAP_WAIT_MS = 1500;
/** Buffered events past which a resync over HTTP is cheaper. */
const MAX_BUFFERED = 2000;
/** How long a typing indicator lasts after the last frame, ms. */
const TYPING_SHOWN_MS = TYPING_THROTTLE_MS + 3000;

/** Frames that carry a required `ref` (their failures come back as error frames with it). */
type RefFrame = Extract<ClientFrame, { ref: string }>;
type WithoutRef<T> = T extends unknown ? Omit<T, "ref"> : never;

function randomId(): string {
  return crypto.randomUUID();
}

function preview(m: Message): ReplyPreview {
  return { id: m.id, seq: m.seq, author: m.author, content: m.content.slice(0, REPLY_PREVIEW_CHARS) };
}

export class ChannelClient {
  readonly channelId: string;
  readonly meId: string;

  /** The window: consecutive messages of the channel, ascending by seq. */
  messages: readonly Message[] = [];
  /** There are older messages than the window's first. */
  hasBefore = false;
  /** There are newer messages than the window's last (the window is not at the live end). */
  hasAfter = false;
  pending: readonly PendingSend[] = [];
  connection: ConnectionState = "connecting";
  closedReason: ClosedReason | null = null;
  /** Seq of the latest event known. */
  headSeq = 0;
  /** This member's read marker as the room has it. */
  lastReadSeq = 0;
  /** The read marker when the channel was opened: the unread divider stays put while reading. */
  unreadAfterSeq: number | null = null;
  /** Permissions in this channel from the room (updated live); null until `ready`. */
  perms: string | null = null;
  typing: readonly TypingUser[] = [];
  loadingOlder = false;
  loadingNewer = false;
  /** The first page is being loaded. */
  loadingInitial = true;
  /** Code of the last history failure (e.g. `forbidden` without READ_HISTORY). */
  historyError: string | null = null;
  notices: readonly ChannelNotice[] = [];
  /** Bumped on every pin change, so a pins list knows to reload. */
  pinsVersion = 0;

  #transport: ChannelTransport;
  #socket: PartySocket | null = null;
  #applied: number | null = null;
  #buffer = new Map<number, ChannelEvent>();
  #recent: ChannelEvent[] = [];
  #byId = new Map<string, Message>();
  #listeners = new Set<(change: ChannelChange) => void>();
  #change: ChannelChange = { appended: [], replaced: false };
  #notifyQueued = false;
  #baseLoad: Promise<void> | null = null;
  /** Bumped per socket connection; async work for an older one is dropped. */
  #generation = 0;
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
    if (this.connection === "offline") this.#setConnection("reconnecting");
    this.#socket?.reconnect();
  };
  #onOffline = () => {
    this.#resumed = false;
    this.#setConnection("offline");
    // A socket may look open for a long while on a dead network; start over when it returns.
    this.#socket?.close();
  };

  constructor(channelId: string, meId: string, transport: ChannelTransport = defaultTransport) {
    this.channelId = channelId;
    this.meId = meId;
    this.#transport = transport;
  }

  /** Opens the connection. Call once. */
  start(): void {
    if (typeof window !== "undefined") {
      window.addEventListener("online", this.#onOnline);
      window.addEventListener("offline", this.#onOffline);
      if (navigator.onLine === false) this.connection = "offline";
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
    this.#listeners.clear();
  }

  subscribe(fn: (change: ChannelChange) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The message with this id if it is in the window. */
  get(id: string): Message | undefined {
    return this.#byId.get(id);
  }

  // --- connection ------------------------------------------------------------------------

  #connect(): void {
    const socket = this.#transport.open(this.channelId);
    this.#socket = socket;
    socket.addEventListener("open", () => {
      this.#generation++;
      this.#resumed = false;
    });
    socket.addEventListener("message", (event: MessageEvent) => this.#onFrame(event.data));
    socket.addEventListener("close", (event: CloseEvent) => {
      this.#resumed = false;
      const final = FINAL_CLOSES[event.code];
      if (final) {
        this.closedReason = final;
        this.#setConnection("closed");
        socket.close();
        return;
      }
      if (this.#destroyed || this.connection === "closed") return;
      this.#setConnection(typeof navigator !== "undefined" && navigator.onLine === false ? "offline" : this.connection === "connecting" ? "connecting" : "reconnecting");
    });
  }

  #setConnection(state: ConnectionState): void {
    if (this.connection === state) return;
    this.connection = state;
    this.#notify();
  }

  #sendFrame(frame: ClientFrame): boolean {
    if (!this.#socket || this.#socket.readyState !== WebSocket.OPEN) return false;
    this.#socket.send(JSON.stringify(frame));
    return true;
  }

  #onFrame(data: unknown): void {
    if (typeof data !== "string") return;
    let raw: unknown;
    try {
      raw = JSON.parse(data);
    } catch {
      return;
    }
    const parsed = ServerFrame.safeParse(raw);
    if (!parsed.success) return;
    const f = parsed.data;
    switch (f.type) {
      case "ready":
        return this.#onReady(f);
      case "resumed":
        this.#resumed = true;
        this.headSeq = Math.max(this.headSeq, f.toSeq);
        this.#setConnection("online");
        this.#flushPending();
        this.#notify();
        return;
      case "resync":
        this.#resync();
        return;
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
        this.lastReadSeq = f.seq;
        this.#notify();
        return;
      case "permissions.updated":
        this.perms = f.perms;
        this.#notify();
        return;
      case "error":
        return this.#onError(f);
      default:
        return assertNever(f);
    }
  }

  #onReady(f: Extract<ServerFrame, { type: "ready" }>): void {
    this.perms = f.me.perms;
    this.headSeq = Math.max(this.headSeq, f.headSeq);
    this.lastReadSeq = f.lastReadSeq;
    if (!this.#greeted) {
      this.#greeted = true;
      // Never opened (marker 0): no divider; the channel opens at its latest messages.
      if (f.lastReadSeq > 0) this.unreadAfterSeq = f.lastReadSeq;
    }
    const generation = this.#generation;
    if (this.#applied !== null) {
      this.#sendFrame({ type: "hello", lastSeq: this.#applied });
      return;
    }
    void this.#loadBase(f.headSeq).then(() => {
      if (generation === this.#generation && this.#applied !== null) this.#sendFrame({ type: "hello", lastSeq: this.#applied });
    });
  }

  /** Loads the latest page as the window and makes its headSeq the stream's position. */
  #loadBase(readyHead: number): Promise<void> {
    this.#baseLoad ??= (async () => {
      this.loadingInitial = true;
      this.#notify();
      try {
        const page = await this.#transport.history(this.channelId, "");
        this.historyError = null;
        this.#replaceWindow(page, true);
      } catch (e) {
        // Without READ_HISTORY the channel starts empty and shows what happens from now on.
        this.historyError = isApiError(e) ? e.code : "network_error";
        if (isApiError(e, "forbidden")) {
          this.#replaceWindow({ messages: [], headSeq: readyHead, hasBefore: false, hasAfter: false }, true);
        }
      } finally {
        this.loadingInitial = false;
        this.#baseLoad = null;
        this.#notify();
      }
    })();
    return this.#baseLoad;
  }

  #resync(): void {
    this.#applied = null;
    this.#buffer.clear();
    this.#recent = [];
    const generation = this.#generation;
    void this.#loadBase(this.headSeq).then(() => {
      if (generation === this.#generation && this.#applied !== null) this.#sendFrame({ type: "hello", lastSeq: this.#applied });
    });
  }

  // --- events ----------------------------------------------------------------------------

  #onEvent(ev: ChannelEvent): void {
    this.headSeq = Math.max(this.headSeq, ev.seq);
    if (this.#applied === null) {
      this.#buffer.set(ev.seq, ev);
      return;
    }
    if (ev.seq <= this.#applied) return;
    this.#buffer.set(ev.seq, ev);
    this.#drain();
  }

  #drain(): void {
    if (this.#applied === null) return;
    for (const seq of this.#buffer.keys()) if (seq <= this.#applied) this.#buffer.delete(seq);
    let next = this.#buffer.get(this.#applied + 1);
    while (next) {
      this.#buffer.delete(next.seq);
      this.#apply(next, true);
      this.#applied = next.seq;
      this.#recent.push(next);
      if (this.#recent.length > RECENT_EVENTS) this.#recent.splice(0, this.#recent.length - RECENT_EVENTS);
      next = this.#buffer.get(this.#applied + 1);
    }
    if (this.#buffer.size > MAX_BUFFERED) {
      this.#resync();
      return;
    }
    if (this.#buffer.size && !this.#gapTimer) {
      this.#gapTimer = setTimeout(() => {
        this.#gapTimer = null;
        if (this.#buffer.size && this.#applied !== null) this.#sendFrame({ type: "hello", lastSeq: this.#applied });
      }, GAP_WAIT_MS);
    }
    this.#notify();
  }

  /** Applies one event to the window. Idempotent, so replaying onto newer pages is safe. */
  #apply(ev: ChannelEvent, live: boolean): void {
    switch (ev.type) {
      case "message.created": {
        const m = ev.message;
        if (m.deleted) return;
        if (m.author) this.#clearTyping(m.author.id);
        if (this.#byId.has(m.id)) return this.#replace(m);
        const last = this.messages[this.messages.length - 1];
        if (this.hasAfter && (!last || m.seq > last.seq)) return; // beyond the window: "jump to present" shows it
        this.#insert(m);
        if (live && m.author?.id !== this.meId) this.#change.appended.push(m);
        return;
      }
      case "message.updated":
        if (ev.message.deleted) return;
        this.#replace(ev.message);
        this.#updatePreviews(ev.message.id, preview(ev.message));
        return;
      case "message.deleted": {
        if (!this.#byId.has(ev.id)) return this.#updatePreviews(ev.id, { id: ev.id, seq: null, author: null, content: null });
        this.#byId.delete(ev.id);
        this.messages = this.messages.filter((m) => m.id !== ev.id);
        this.#updatePreviews(ev.id, { id: ev.id, seq: null, author: null, content: null });
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
        this.pinsVersion++;
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
    const list = this.messages;
    const last = list[list.length - 1];
    if (!last || last.seq < m.seq) {
      this.messages = [...list, m];
      return;
    }
    let i = list.length;
    while (i > 0 && list[i - 1]!.seq > m.seq) i--;
    this.messages = [...list.slice(0, i), m, ...list.slice(i)];
  }

  #replace(m: Message): void {
    if (!this.#byId.has(m.id)) return;
    this.#byId.set(m.id, m);
    this.messages = this.messages.map((x) => (x.id === m.id ? m : x));
  }

  #updatePreviews(id: string, next: ReplyPreview): void {
    if (!this.messages.some((m) => m.replyTo?.id === id)) return;
    this.messages = this.messages.map((m) => {
      if (m.replyTo?.id !== id) return m;
      const updated = { ...m, replyTo: next };
      this.#byId.set(m.id, updated);
      return updated;
    });
  }

  // --- history ---------------------------------------------------------------------------

  #replaceWindow(page: HistoryPage, base: boolean): void {
    this.messages = page.messages.filter((m) => !m.deleted);
    this.#byId = new Map(this.messages.map((m) => [m.id, m]));
    this.hasBefore = page.hasBefore;
    this.hasAfter = page.hasAfter;
    this.headSeq = Math.max(this.headSeq, page.headSeq);
    this.#change.replaced = true;
    if (base) {
      this.#applied = page.headSeq;
      this.#recent = [];
      this.#drain();
    } else {
      this.#replayOnto(page.headSeq);
    }
    this.#notify();
  }

  /** A page reflects the channel at its headSeq; events applied since are replayed onto it. */
  #replayOnto(pageHead: number): void {
    for (const ev of this.#recent) if (ev.seq > pageHead) this.#apply(ev, false);
  }

  /** Loads the page before the window's first message. */
  async loadOlder(): Promise<void> {
    const first = this.messages[0];
    if (!this.hasBefore || this.loadingOlder || !first) return;
    this.loadingOlder = true;
    this.#notify();
    try {
      const page = await this.#transport.history(this.channelId, `?before=${first.seq}`);
      if (this.messages[0]?.id !== first.id) return; // the window moved meanwhile
      const older = page.messages.filter((m) => !m.deleted && m.seq < first.seq && !this.#byId.has(m.id));
      for (const m of older) this.#byId.set(m.id, m);
      this.messages = [...older, ...this.messages];
      this.hasBefore = page.hasBefore;
      this.#replayOnto(page.headSeq);
    } catch {
      this.#pushNotice("history_failed", null);
    } finally {
      this.loadingOlder = false;
      this.#notify();
    }
  }

  /** Loads the page after the window's last message (when it is not at the live end). */
  async loadNewer(): Promise<void> {
    const last = this.messages[this.messages.length - 1];
    if (!this.hasAfter || this.loadingNewer || !last) return;
    this.loadingNewer = true;
    this.#notify();
    try {
      const page = await this.#transport.history(this.channelId, `?after=${last.seq}`);
      if (this.messages[this.messages.length - 1]?.id !== last.id) return;
      const newer = page.messages.filter((m) => !m.deleted && m.seq > last.seq && !this.#byId.has(m.id));
      for (const m of newer) this.#byId.set(m.id, m);
      this.messages = [...this.messages, ...newer];
      this.hasAfter = page.hasAfter;
      this.#replayOnto(page.headSeq);
    } catch {
      this.#pushNotice("history_failed", null);
    } finally {
      this.loadingNewer = false;
      this.#notify();
    }
  }

  /**
   * Makes sure the message with `seq` (or the first after it) is in the window, loading the
   * page around it if needed. Returns its id, or null when there is no such message.
   */
  async jumpTo(seq: number): Promise<string | null> {
    const first = this.messages[0];
    const last = this.messages[this.messages.length - 1];
    if (first && last && (seq >= first.seq || !this.hasBefore) && (seq <= last.seq || !this.hasAfter)) {
      return this.messages.find((m) => m.seq >= seq)?.id ?? last.id;
    }
    try {
      const page = await this.#transport.history(this.channelId, `?around=${seq}`);
      if (this.#applied === null) return null;
      this.#replaceWindow(page, false);
      return this.messages.find((m) => m.seq >= seq)?.id ?? this.messages[this.messages.length - 1]?.id ?? null;
    } catch {
      this.#pushNotice("history_failed", null);
      return null;
    }
  }

  /** Back to the live end (the latest page), if the window is not there. */
  async jumpToPresent(): Promise<void> {
    if (!this.hasAfter) return;
    try {
      const page = await this.#transport.history(this.channelId, "");
      this.#replaceWindow(page, false);
    } catch {
      this.#pushNotice("history_failed", null);
    }
  }

  // --- sending ---------------------------------------------------------------------------

  /** Sends a message optimistically; it shows at once and is reconciled by its nonce. */
  send(content: string, opts: { replyTo?: Message | null; attachments?: Attachment[] } = {}): PendingSend {
    const p: PendingSend = {
      nonce: randomId(),
      content,
      replyTo: opts.replyTo ? preview(opts.replyTo) : null,
      attachments: opts.attachments ?? [],
      createdAt: Date.now(),
      status: "sending",
      error: null,
      retryAt: null,
    };
    this.pending = [...this.pending, p];
    // Writing means you have read what is there: the divider goes.
    this.unreadAfterSeq = null;
    this.#transmit(p);
    this.#notify();
    return p;
  }

  /** Sends a failed message again with the same nonce. */
  retry(nonce: string): void {
    const p = this.pending.find((x) => x.nonce === nonce);
    if (!p) return;
    const next: PendingSend = { ...p, status: "sending", error: null, retryAt: null };
    this.pending = this.pending.map((x) => (x.nonce === nonce ? next : x));
    this.#transmit(next);
    this.#notify();
  }

  /** Drops a failed send from the list. */
  discard(nonce: string): void {
    this.#clearSendTimer(nonce);
    this.pending = this.pending.filter((x) => x.nonce !== nonce);
    this.#notify();
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
    for (const p of this.pending) if (p.status === "sending") this.#transmit(p);
  }

  #clearSendTimer(nonce: string): void {
    const t = this.#sendTimers.get(nonce);
    if (t) clearTimeout(t);
    this.#sendTimers.delete(nonce);
  }

  #fail(nonce: string, code: string, retryAfterMs: number | null): void {
    this.#clearSendTimer(nonce);
    if (!this.pending.some((x) => x.nonce === nonce)) return;
    this.pending = this.pending.map((x) =>
      x.nonce === nonce ? { ...x, status: "failed", error: code, retryAt: retryAfterMs === null ? null : Date.now() + retryAfterMs } : x,
    );
    this.#notify();
  }

  #onAck(nonce: string, message: Message): void {
    this.#clearSendTimer(nonce);
    this.pending = this.pending.filter((x) => x.nonce !== nonce);
    // The created event follows; showing the message now keeps it from flickering away.
    if (!message.deleted && this.#applied !== null && message.seq > this.#applied && !this.#byId.has(message.id) && !this.hasAfter) {
      this.#insert(message);
    }
    this.#notify();
  }

  #onError(f: Extract<ServerFrame, { type: "error" }>): void {
    const ref = f.ref;
    if (ref && this.pending.some((p) => p.nonce === ref)) {
      this.#fail(ref, f.code, f.retryAfterMs ?? null);
      return;
    }
    const action = ref ? (this.#refActions.get(ref) ?? null) : null;
    if (ref) this.#refActions.delete(ref);
    // A `hello` refused (no READ_HISTORY for a gap) leaves the live stream as it is.
    this.#pushNotice(f.code, action, f.retryAfterMs);
  }

  #pushNotice(code: string, action: string | null, retryAfterMs?: number): void {
    const notice: ChannelNotice = { id: ++this.#noticeId, code, action, retryAfterMs };
    this.notices = [...this.notices.slice(-3), notice];
    this.#notify();
  }

  dismissNotice(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
    this.#notify();
  }

  #withRef(frame: WithoutRef<RefFrame>): void {
    const ref = randomId().slice(0, 12);
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

  /** Call on composer input; sends `typing.start` at most once per TYPING_THROTTLE_MS. */
  typingStart(): void {
    const now = Date.now();
    if (now - this.#lastTypingSent < TYPING_THROTTLE_MS || !this.#resumed) return;
    this.#lastTypingSent = now;
    this.#sendFrame({ type: "typing.start" });
  }

  /** Moves the read marker to `seq` (the room never moves it back). */
  markRead(seq: number = this.#applied ?? 0): void {
    if (seq <= this.lastReadSeq || seq <= this.#lastMarkSent || !this.#resumed) return;
    if (this.#sendFrame({ type: "read.mark", seq })) this.#lastMarkSent = seq;
  }

  /** Whether there is anything newer than the read marker. */
  get hasUnread(): boolean {
    return (this.#applied ?? 0) > this.lastReadSeq;
  }

  // --- typing ----------------------------------------------------------------------------

  #onTyping(userId: string, displayName: string): void {
    if (userId === this.meId) return;
    const until = Date.now() + TYPING_SHOWN_MS;
    this.typing = [...this.typing.filter((t) => t.userId !== userId), { userId, displayName, until }];
    this.#scheduleTypingSweep();
    this.#notify();
  }

  #clearTyping(userId: string): void {
    if (!this.typing.some((t) => t.userId === userId)) return;
    this.typing = this.typing.filter((t) => t.userId !== userId);
  }

  #scheduleTypingSweep(): void {
    if (this.#typingTimer) clearTimeout(this.#typingTimer);
    if (!this.typing.length) return;
    const next = Math.min(...this.typing.map((t) => t.until)) - Date.now();
    this.#typingTimer = setTimeout(() => {
      this.#typingTimer = null;
      const now = Date.now();
      this.typing = this.typing.filter((t) => t.until > now);
      this.#notify();
      this.#scheduleTypingSweep();
    }, Math.max(50, next));
  }

  // --- notification ----------------------------------------------------------------------

  /** Coalesces the frames of one task (a replay burst) into one notification. */
  #notify(): void {
    if (this.#notifyQueued || this.#destroyed) return;
    this.#notifyQueued = true;
    queueMicrotask(() => {
      this.#notifyQueued = false;
      const change = this.#change;
      this.#change = { appended: [], replaced: false };
      for (const fn of this.#listeners) fn(change);
    });
  }
}

function assertNever(x: never): never {
  throw new Error(`unhandled frame ${JSON.stringify(x)}`);
}
