/**
 * The manager panel's state as runes, in one place: the desk's DeskCore bound with `bind()`,
 * one ChannelCore per open ticket of the manager (for unread dots and the conversation view),
 * the ticket call, a clock for "waiting for" times, and new-request announcements. The page
 * makes one per desk and destroys it when it leaves.
 */
import type { QueueEntry, Ticket } from "$shared/desk";
import { bind, type Bound } from "$lib/realtime/bind.svelte";
import { ChannelCore, type ChannelState } from "$lib/realtime/channel";
import { TicketCall } from "./call.svelte";
import { DeskCore, type DeskState } from "./core";
import { announceRequest, askNotifications, notificationPermission } from "./notify";

export interface TicketChannel {
  core: ChannelCore;
  view: Bound<ChannelState>;
}

const SOUND_KEY = "woxly.desk.sound";

function loadSound(): boolean {
  try {
    return localStorage.getItem(SOUND_KEY) !== "off";
  } catch {
    return true;
  }
}

export class DeskPanel {
  readonly deskId: string;
  readonly me: string;
  readonly core: DeskCore;
  readonly call: TicketCall;
  readonly #view: Bound<DeskState>;
  /**
   * Conversations by ticket id (the manager's open tickets, plus the one on screen). A plain
   * map: it changes with the desk's state, whose own rune already re-renders what reads it,
   * and `channel()` may then be called while rendering.
   */
  readonly channels = new Map<string, TicketChannel>();
  now = $state(Date.now());
  sound = $state(loadSound());
  permission = $state<NotificationPermission | "unsupported">(notificationPermission());
  #ticker: ReturnType<typeof setInterval> | null = null;
  #stopSync: () => void;
  #stopRequests: () => void;
  /** A ticket kept connected although it is not (or no longer) the manager's (a closed one on screen). */
  #pinned: string | null = null;

  constructor(deskId: string, me: string, announce: (entry: QueueEntry) => { title: string; body: string; onclick?: () => void }) {
    this.deskId = deskId;
    this.me = me;
    this.core = new DeskCore(deskId, me);
    this.call = new TicketCall(deskId);
    this.#view = bind(this.core);
    this.#stopSync = this.core.subscribe((s) => this.#syncChannels(s.mine));
    this.#stopRequests = this.core.onRequest((entry) => announceRequest({ ...announce(entry), tag: entry.ticketId, sound: this.sound }));
    this.#ticker = setInterval(() => (this.now = Date.now()), 5000);
  }

  get state(): DeskState {
    return this.#view.current;
  }

  /** The conversation of a ticket, connected on first use. */
  channel(ticket: Pick<Ticket, "id" | "channelId">): TicketChannel {
    let c = this.channels.get(ticket.id);
    if (!c) {
      const core = new ChannelCore(ticket.channelId, this.me);
      c = { core, view: bind(core) };
      this.channels.set(ticket.id, c);
      core.start();
    }
    return c;
  }

  /** Keeps this ticket's conversation connected while it is on screen, even once it is not the manager's. */
  pin(ticketId: string | null): void {
    const before = this.#pinned;
    this.#pinned = ticketId;
    if (before && before !== ticketId) this.#syncChannels(this.state.mine);
  }

  /** The ticket has messages from the other side the manager has not read. */
  unread(ticketId: string): boolean {
    const s = this.channels.get(ticketId)?.view.current;
    if (!s || s.headSeq <= s.lastReadSeq) return false;
    const last = s.messages[s.messages.length - 1];
    return !last || last.author?.id !== this.me;
  }

  /** Switches new-request sounds on or off (remembered in this browser). */
  setSound(on: boolean): void {
    this.sound = on;
    try {
      localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    } catch {
      // For this page only.
    }
  }

  /** Asks for notification permission (from a click only). */
  async askNotifications(): Promise<void> {
    this.permission = await askNotifications();
  }

  /** Available for auto-assignment; switching it on asks for notifications the first time. */
  async setAvailable(on: boolean): Promise<void> {
    if (on && this.permission === "default") void this.askNotifications();
    await this.core.setAvailable(on);
  }

  destroy(): void {
    this.#stopSync();
    this.#stopRequests();
    if (this.#ticker) clearInterval(this.#ticker);
    this.call.destroy();
    this.core.destroy();
    for (const c of this.channels.values()) {
      c.view.unbind();
      c.core.destroy();
    }
    this.channels.clear();
    this.#view.unbind();
  }

  #syncChannels(mine: readonly Ticket[]): void {
    for (const t of mine) this.channel(t);
    const keep = new Set(mine.map((t) => t.id));
    if (this.#pinned) keep.add(this.#pinned);
    for (const [id, c] of this.channels) {
      if (keep.has(id)) continue;
      c.view.unbind();
      c.core.destroy();
      this.channels.delete(id);
    }
  }
}
