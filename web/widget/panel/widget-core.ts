/**
 * The panel's framework-free core: the visitor's session with one desk — config, visitor token
 * (kept in this iframe's localStorage per desk, so a reload continues the same conversation),
 * the ticket and its life (assistant → queued → open → closed / offline), the queue position
 * and calls from the SupportDesk socket, and the assistant's answers. The conversation itself
 * is a ChannelCore (web/src/lib/realtime/channel.ts) made once there is a ticket, with a fresh
 * signed socket ticket on every (re)connect and history from /api/widget/history; `channel`
 * exposes it. Nothing here imports Svelte.
 */
import { DeskServerFrame, type AssistantAnswer, type RequestHumanAnswer, type DeskClientFrame, type DeskLanguage, type QueuePosition, type Ticket, type TicketCall, type WidgetConfig } from "$shared/desk";
import { assertNever } from "$shared/realtime";
import { isApiError } from "$lib/api";
import { ChannelCore } from "$lib/realtime/channel";
import { Core } from "$lib/realtime/core";
import { RealtimeSocket, type SocketConfig } from "$lib/realtime/socket";
import type { WidgetApi } from "./api";

/** One question to the assistant as this panel asked it (shown until the ticket's room has the messages). */
export interface Exchange {
  id: number;
  question: string;
  answer: AssistantAnswer | null;
  error: string | null;
}

export type Screen = "loading" | "unavailable" | "assistant" | "queued" | "chat" | "offline-form" | "offline-sent" | "closed";

export interface PanelState {
  phase: "loading" | "ready" | "unavailable";
  config: WidgetConfig | null;
  visitorId: string | null;
  ticket: Ticket | null;
  queue: QueuePosition | null;
  call: TicketCall | null;
  exchanges: readonly Exchange[];
  /** A request is on its way (ask, request-human, leave message, close, rate). */
  busy: boolean;
  /** The last failed request's code. */
  error: string | null;
  /** The visitor chose to leave a message (or nobody could answer). */
  leavingMessage: boolean;
  rated: boolean;
}

export interface Storage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface WidgetCoreOptions {
  api: WidgetApi;
  language: DeskLanguage;
  /** The embedding page's origin and URL (checked by the server against the desk's list). */
  hostOrigin: string;
  pageUrl?: string;
  storage: Storage | null;
  /** Socket options for both sockets (Node tests pass host/protocol or a fake). */
  socket?: SocketConfig;
}

/** Which screen the state calls for. Pure. */
export function screenOf(s: PanelState): Screen {
  if (s.phase === "loading") return "loading";
  if (s.phase === "unavailable" || !s.config) return "unavailable";
  const status = s.ticket?.status;
  if (status === "offline") return "offline-sent";
  if (status === "closed") return "closed";
  if (s.leavingMessage) return "offline-form";
  if (status === "queued") return "queued";
  if (status === "open") return "chat";
  return "assistant";
}

/** The desk can take a live chat now: within office hours and someone online. Pure. */
export function managersAvailable(config: WidgetConfig | null): boolean {
  return Boolean(config?.open && config.managersOnline > 0);
}

const initial: PanelState = {
  phase: "loading",
  config: null,
  visitorId: null,
  ticket: null,
  queue: null,
  call: null,
  exchanges: [],
  busy: false,
  error: null,
  leavingMessage: false,
  rated: false,
};

export class WidgetCore extends Core<PanelState> {
  readonly #o: WidgetCoreOptions;
  readonly #tokenKey: string;
  #token: string | null = null;
  #desk: RealtimeSocket<DeskServerFrame, DeskClientFrame> | null = null;
  #channel: ChannelCore | null = null;
  readonly #channelListeners = new Set<(c: ChannelCore | null) => void>();
  #exchangeId = 0;

  constructor(o: WidgetCoreOptions) {
    super(initial);
    this.#o = o;
    this.#tokenKey = `woxly.visitor.${o.api.deskId}`;
  }

  /** The visitor token, for the API client. */
  get token(): string | null {
    return this.#token;
  }

  /** The ticket's conversation, once there is a ticket. */
  get channel(): ChannelCore | null {
    return this.#channel;
  }

  /** Calls `fn` now and whenever the conversation core is made or dropped. */
  onChannel(fn: (c: ChannelCore | null) => void): () => void {
    this.#channelListeners.add(fn);
    fn(this.#channel);
    return () => this.#channelListeners.delete(fn);
  }

  #set(patch: Partial<PanelState>): void {
    this.update({ ...this.state, ...patch });
  }

  #saveToken(token: string | null): void {
    this.#token = token;
    try {
      if (token) this.#o.storage?.setItem(this.#tokenKey, token);
      else this.#o.storage?.removeItem(this.#tokenKey);
    } catch {
      // Storage blocked: the conversation lasts as long as this page.
    }
  }

  /**
   * Loads the desk's config and, with a stored token, the visitor's ticket. `prepare` runs
   * between the two (the panel greets the launcher there, which may hand back a kept token).
   */
  async start(prepare?: (config: WidgetConfig) => Promise<void>): Promise<void> {
    let config: WidgetConfig;
    try {
      config = await this.#o.api.config();
    } catch {
      this.#set({ phase: "unavailable" });
      return;
    }
    this.#set({ config });
    if (prepare) await prepare(config);
    try {
      this.#token = this.#o.storage?.getItem(this.#tokenKey) ?? null;
    } catch {
      this.#token = null;
    }
    if (this.#token) {
      try {
        const me = await this.#o.api.me();
        this.#set({ visitorId: me.visitorId, ticket: me.ticket, queue: me.queue });
      } catch (e) {
        // A token the server no longer knows starts afresh; a network failure keeps it for later.
        if (isApiError(e, "unauthorized") || isApiError(e, "not_found")) this.#saveToken(null);
      }
    }
    this.#set({ phase: "ready" });
    this.#follow();
  }

  destroy(): void {
    this.#dropSockets();
  }

  async #ensureVisitor(): Promise<void> {
    if (this.#token) return;
    const session = await this.#o.api.startVisitor({
      origin: this.#o.hostOrigin,
      pageUrl: this.#o.pageUrl?.slice(0, 2000),
      language: this.#o.language,
      timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone?.slice(0, 64),
    });
    this.#saveToken(session.token);
    this.#set({ visitorId: session.visitorId });
  }

  /** Runs a request with `busy` set; its failure's code lands in `error`. */
  async #act(fn: () => Promise<void>): Promise<boolean> {
    if (this.state.busy) return false;
    this.#set({ busy: true, error: null });
    try {
      await fn();
      return true;
    } catch (e) {
      this.#set({ error: isApiError(e) ? e.code : "network_error" });
      return false;
    } finally {
      this.#set({ busy: false });
    }
  }

  /** Asks the assistant (the first question makes the visitor and the ticket). */
  async ask(question: string): Promise<void> {
    const q = question.trim();
    if (!q || this.state.busy) return;
    const ex: Exchange = { id: ++this.#exchangeId, question: q, answer: null, error: null };
    this.#set({ exchanges: [...this.state.exchanges, ex] });
    const replace = (next: Exchange) => this.#set({ exchanges: this.state.exchanges.map((e) => (e.id === ex.id ? next : e)) });
    const ok = await this.#act(async () => {
      await this.#ensureVisitor();
      const answer = await this.#o.api.ask(q, this.#o.language);
      replace({ ...ex, answer });
      this.#setTicket(answer.ticket);
    });
    if (!ok) replace({ ...ex, error: this.state.error });
  }

  /**
   * "Talk to a manager": the server decides with the facts of now (office hours, managers
   * online) — the queue when someone can answer, else the leave-a-message form. The config's
   * `open` and `managersOnline` follow its answer.
   */
  async requestHuman(): Promise<void> {
    await this.#act(async () => {
      await this.#ensureVisitor();
      let answer: RequestHumanAnswer;
      try {
        answer = await this.#o.api.requestHuman(this.#o.language);
      } catch (e) {
        // Refused (the desk changed meanwhile): leaving a message still works.
        if (isApiError(e) && e.status >= 400 && e.status < 500 && !isApiError(e, "rate_limited")) {
          this.#set({ leavingMessage: true });
          return;
        }
        throw e;
      }
      const config = this.state.config;
      if ("leaveMessage" in answer) {
        this.#set({ leavingMessage: true, config: config && { ...config, open: answer.open, managersOnline: answer.managersOnline } });
        return;
      }
      if (config && answer.queue) this.#set({ config: { ...config, open: true, managersOnline: answer.queue.managersOnline } });
      await this.refresh();
    });
  }

  /** Reads the ticket and queue position again (after a request, or when a socket says so). */
  async refresh(): Promise<void> {
    if (!this.#token) return;
    const me = await this.#o.api.me();
    this.#set({ visitorId: me.visitorId, queue: me.queue });
    this.#setTicket(me.ticket);
  }

  async leaveMessage(email: string, message: string): Promise<boolean> {
    return this.#act(async () => {
      await this.#ensureVisitor();
      await this.#o.api.leaveMessage(email, message);
      try {
        await this.refresh();
      } catch {
        // The message is saved; the screen only needs the ticket's new state.
      }
      if (this.state.ticket?.status !== "offline") {
        const t = this.state.ticket;
        this.#setTicket(t ? { ...t, status: "offline" } : null);
      }
      this.#set({ leavingMessage: false });
    });
  }

  cancelLeaveMessage(): void {
    this.#set({ leavingMessage: false });
  }

  /** Ends the conversation (the rating form follows). */
  async closeTicket(): Promise<void> {
    await this.#act(async () => {
      await this.#o.api.close();
      const t = this.state.ticket;
      if (t) this.#setTicket({ ...t, status: "closed", closedAt: Date.now() });
    });
  }

  async rate(rating: number, comment: string): Promise<void> {
    const ok = await this.#act(() => this.#o.api.rate(rating, comment.trim() || undefined));
    if (ok) this.#set({ rated: true });
  }

  /** After a closed ticket: a fresh conversation (the same visitor; the next question makes a new ticket). */
  startOver(): void {
    this.#dropSockets();
    this.#set({ ticket: null, queue: null, call: null, exchanges: [], rated: false, leavingMessage: false, error: null });
  }

  // --- calls ---------------------------------------------------------------------------

  startCall(video: boolean): void {
    const t = this.state.ticket;
    if (t) this.#desk?.send({ type: "call.start", ticketId: t.id, video });
  }
  answerCall(accept: boolean): void {
    const t = this.state.ticket;
    if (t) this.#desk?.send({ type: "call.answer", ticketId: t.id, accept });
  }
  endCall(): void {
    const t = this.state.ticket;
    if (t) this.#desk?.send({ type: "call.end", ticketId: t.id });
    this.#set({ call: null });
  }
  callToken() {
    return this.#o.api.callToken();
  }

  // --- sockets -------------------------------------------------------------------------

  #setTicket(ticket: Ticket | null): void {
    const before = this.state.ticket;
    this.#set({ ticket, queue: ticket?.status === "queued" ? this.state.queue : null });
    if (before?.id !== ticket?.id) this.#dropSockets();
    this.#follow();
  }

  /** Opens the two sockets for a live ticket (once). */
  #follow(): void {
    const t = this.state.ticket;
    if (!t || t.status === "closed" || t.status === "offline" || !this.#token) return;
    if (!this.#desk) {
      this.#desk = new RealtimeSocket<DeskServerFrame, DeskClientFrame>(
        "support-desk",
        this.#o.api.deskId,
        { frames: DeskServerFrame, onFrame: (f) => this.#onDeskFrame(f) },
        { ...this.#o.socket, options: { ...this.#o.socket?.options, query: async () => ({ ticket: (await this.#o.api.sockets()).desk }) } },
      );
    }
    if (!this.#channel && this.state.visitorId) {
      const api = this.#o.api;
      this.#channel = new ChannelCore(t.channelId, `v_${this.state.visitorId}`, {
        history: (_id, at) => api.history(at),
        socket: {
          ...this.#o.socket,
          options: {
            ...this.#o.socket?.options,
            // partysocket asks on every (re)connect: each connection gets a fresh signed ticket.
            query: async () => ({ ticket: (await api.sockets()).room ?? "" }),
          },
        },
      });
      this.#channel.start();
      for (const l of [...this.#channelListeners]) l(this.#channel);
    }
  }

  #dropSockets(): void {
    this.#desk?.close();
    this.#desk = null;
    if (this.#channel) {
      this.#channel.destroy();
      this.#channel = null;
      for (const l of [...this.#channelListeners]) l(null);
    }
  }

  #onDeskFrame(f: DeskServerFrame): void {
    switch (f.type) {
      case "ticket.updated":
        if (!this.state.ticket || f.ticket.id === this.state.ticket.id) this.#setTicket(f.ticket);
        return;
      case "queue.position":
        if (f.queue.ticketId === this.state.ticket?.id) this.#set({ queue: f.queue });
        return;
      case "call.updated":
        if (f.call.ticketId !== this.state.ticket?.id) return;
        this.#set({ call: f.call.state === "ended" ? null : f.call });
        return;
      case "desk.snapshot":
      case "queue.updated":
      case "queue.requested":
      case "managers.updated":
      case "done":
      case "error":
        return; // managers' frames, and answers to frames sent without a ref
      default:
        return assertNever(f);
    }
  }
}
