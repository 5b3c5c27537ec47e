/**
 * The user's inbox (inbox.ts) as runes: one InboxCore per tab while logged in, bound with
 * `bind()`; the calls it holds, which ones this tab dismissed, and a clock for ringing that
 * ends on time. Also the DM call HTTP routes (start, answer, leave).
 */
import { SvelteSet } from "svelte/reactivity";
import { z } from "zod";
import { DmCall } from "$shared/calls";
import { client, read } from "$lib/api";
import { bind, type Bound } from "./bind.svelte";
import { type DmActivity, emptyInbox, InboxCore, type InboxState } from "./inbox";

export type { DmActivity } from "./inbox";

const CallReply = z.object({ call: DmCall.nullable() });
const dm = client.dms[":id"];

export const dmCallApi = {
  start: (channelId: string) => read(dm.call.$post({ param: { id: channelId } }), CallReply),
  answer: (channelId: string, accept: boolean) => read(dm.call.answer.$post({ param: { id: channelId }, json: { accept } }), CallReply),
  leave: (channelId: string) => read(dm.call.leave.$post({ param: { id: channelId } }), CallReply),
};

class Inbox {
  /** Calls this tab dismissed without answering (the toast stays away; the call may go on). */
  readonly dismissed = new SvelteSet<string>();
  now = $state(Date.now());
  #core: InboxCore | null = null;
  #view = $state.raw<Bound<InboxState> | null>(null);
  readonly #dmListeners = new Set<(a: DmActivity | null) => void>();
  readonly #endedListeners = new Set<() => void>();
  #userId: string | null = null;
  #ticker: ReturnType<typeof setInterval> | null = null;

  /** Calls by DM channel id. */
  get calls(): InboxState["calls"] {
    return (this.#view?.current ?? emptyInbox).calls;
  }

  /** Connects for this user (again only if the user changed); null disconnects. */
  connect(userId: string | null): void {
    if (typeof window === "undefined" || userId === this.#userId) return;
    this.close();
    this.#userId = userId;
    if (!userId) return;
    const core = new InboxCore(userId);
    core.onDmActivity((a) => {
      for (const l of this.#dmListeners) l(a);
    });
    core.onSessionEnded(() => {
      for (const l of [...this.#endedListeners]) l();
    });
    this.#core = core;
    this.#view = bind(core);
    // Ringing ends at a known time even if the end frame is lost.
    this.#ticker = setInterval(() => (this.now = Date.now()), 1000);
  }

  close(): void {
    this.#core?.close();
    this.#core = null;
    this.#view?.unbind();
    this.#view = null;
    this.#userId = null;
    if (this.#ticker) clearInterval(this.#ticker);
    this.#ticker = null;
  }

  /**
   * New messages in the user's DMs, as they happen; `null` after every (re)connect, when
   * anything may have been missed. Returns the unsubscribe function.
   */
  onDmActivity(listener: (a: DmActivity | null) => void): () => void {
    this.#dmListeners.add(listener);
    return () => this.#dmListeners.delete(listener);
  }

  /** The server ended this tab's session (elsewhere, a reset, a ban). Returns the unsubscribe function. */
  onSessionEnded(listener: () => void): () => void {
    this.#endedListeners.add(listener);
    return () => this.#endedListeners.delete(listener);
  }

  /** Calls ringing this user now, oldest first. */
  ringing(userId: string): DmCall[] {
    return [...this.calls.values()].filter((c) => c.ringing.includes(userId) && c.ringUntil > this.now && !this.dismissed.has(c.callId));
  }

  /** Applies a call the API answered with (the socket says the same a moment later). */
  apply(channelId: string, call: DmCall | null): void {
    this.#core?.apply(channelId, call);
  }
}

export const inbox = new Inbox();
