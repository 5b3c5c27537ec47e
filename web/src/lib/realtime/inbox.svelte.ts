/**
 * The user's inbox socket (durable-objects/user-inbox.ts) as runes: the calls in their DMs —
 * who is ringing them (the incoming-call toast), which DM has a call going on (the DM page's
 * "join" state) — and new DM messages (the DM list's badges). One socket per tab while
 * logged in; partysocket reconnects it, and every (re)connect starts with a `ready` snapshot
 * (and DM listeners are told to fetch again), so nothing said while offline is missed.
 * Also the DM call HTTP routes (start, answer, leave).
 */
import PartySocket from "partysocket";
import { SvelteMap, SvelteSet } from "svelte/reactivity";
import { z } from "zod";
import { DmCall, type InboxServerFrame } from "$shared/calls";
import { api } from "$lib/api";

/** Close codes after which the socket must not come back (no identity, session ended). */
const STOP_CODES = new Set([4400, 4401]);

const CallReply = z.object({ call: DmCall.nullable() });

export type DmActivity = Omit<Extract<InboxServerFrame, { type: "dm.activity" }>, "type">;
const enc = encodeURIComponent;

export const dmCallApi = {
  start: (channelId: string) => api.post(`/api/dms/${enc(channelId)}/call`, {}, CallReply),
  answer: (channelId: string, accept: boolean) => api.post(`/api/dms/${enc(channelId)}/call/answer`, { accept }, CallReply),
  leave: (channelId: string) => api.post(`/api/dms/${enc(channelId)}/call/leave`, {}, CallReply),
};

class Inbox {
  /** Calls by DM channel id. */
  readonly calls = new SvelteMap<string, DmCall>();
  /** Calls this tab dismissed without answering (the toast stays away; the call may go on). */
  readonly dismissed = new SvelteSet<string>();
  now = $state(Date.now());
  #socket: PartySocket | null = null;
  readonly #dmListeners = new Set<(a: DmActivity | null) => void>();
  #userId: string | null = null;
  #ticker: ReturnType<typeof setInterval> | null = null;

  /** Connects for this user (again only if the user changed); null disconnects. */
  connect(userId: string | null): void {
    if (typeof window === "undefined" || userId === this.#userId) return;
    this.close();
    this.#userId = userId;
    if (!userId) return;
    const socket = new PartySocket({
      host: location.host,
      protocol: location.protocol === "https:" ? "wss" : "ws",
      party: "user-inbox",
      room: userId,
      maxEnqueuedMessages: 0,
      shouldReconnectOnClose: (e) => !STOP_CODES.has(e.code),
    });
    socket.addEventListener("message", (e) => this.#onFrame(e.data));
    this.#socket = socket;
    // Ringing ends at a known time even if the end frame is lost.
    this.#ticker = setInterval(() => (this.now = Date.now()), 1000);
  }

  close(): void {
    this.#socket?.close();
    this.#socket = null;
    this.#userId = null;
    if (this.#ticker) clearInterval(this.#ticker);
    this.#ticker = null;
    this.calls.clear();
  }

  /**
   * New messages in the user's DMs, as they happen; `null` after every (re)connect, when
   * anything may have been missed. Returns the unsubscribe function.
   */
  onDmActivity(listener: (a: DmActivity | null) => void): () => void {
    this.#dmListeners.add(listener);
    return () => this.#dmListeners.delete(listener);
  }

  /** Calls ringing this user now, oldest first. */
  ringing(userId: string): DmCall[] {
    return [...this.calls.values()].filter((c) => c.ringing.includes(userId) && c.ringUntil > this.now && !this.dismissed.has(c.callId));
  }

  /** Applies a call the API answered with (the socket says the same a moment later). */
  apply(channelId: string, call: DmCall | null): void {
    if (call) this.calls.set(channelId, call);
    else this.calls.delete(channelId);
  }

  #onFrame(data: unknown): void {
    let f: InboxServerFrame;
    try {
      f = JSON.parse(String(data)) as InboxServerFrame;
    } catch {
      return;
    }
    if (f.type === "ready") {
      this.calls.clear();
      for (const c of f.calls) this.calls.set(c.channelId, c);
      for (const l of this.#dmListeners) l(null);
    } else if (f.type === "dm.activity") {
      const { type: _, ...a } = f;
      for (const l of this.#dmListeners) l(a);
    } else if (f.type === "call") {
      const known = this.calls.get(f.call.channelId);
      // Frames of one call arrive in order; a frame of an older call never replaces a newer one.
      if (!known || known.callId <= f.call.callId) this.calls.set(f.call.channelId, f.call);
    } else if (f.type === "call.ended") {
      if (this.calls.get(f.channelId)?.callId === f.callId) this.calls.delete(f.channelId);
    }
  }
}

export const inbox = new Inbox();
