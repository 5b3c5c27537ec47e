/**
 * When to notify, framework-free (no DOM, no Svelte): the rules, the unread badges as the
 * member's settings allow them, the tab title's count, and a `NotificationCore` that turns
 * incoming mentions and DMs into at most one notification each, with its browser effects
 * (the Notification API, a sound, fetching the message) given as dependencies.
 *
 * Rules: only while the tab is hidden; only a mention (community channels) or a DM message
 * from someone else; never for a channel or community whose effective level is "nothing" or
 * that is muted (see $shared/notifications effectiveLevel). "Mentions only" still notifies of
 * mentions; a DM counts as a mention.
 */
import type { Unread } from "$shared/communities";
import type { NotifyLevel } from "$shared/notifications";

export interface Incoming {
  kind: "mention" | "dm";
  /** Null for a DM. */
  communityId: string | null;
  channelId: string;
  /** The message's seq (the channel's latest when it arrived). */
  seq: number;
}

/** Should `ev` notify, given whether the tab is hidden and the channel's effective level? */
export function shouldNotify(ev: Incoming, hidden: boolean, level: NotifyLevel): boolean {
  if (!hidden) return false;
  if (level === "nothing") return false;
  return ev.kind === "dm" || ev.kind === "mention";
}

/**
 * An unread state as its badge should show it: "nothing" (or muted) shows neither the unread
 * dot nor mentions; "mentions" shows mentions but no unread dot; "all" shows both.
 */
export function badgeUnread(u: Unread, level: NotifyLevel): Unread {
  if (level === "all") return u;
  if (level === "mentions") return u.readSeq >= u.lastSeq ? u : { ...u, readSeq: u.lastSeq };
  return u.readSeq >= u.lastSeq && u.mentions === 0 ? u : { ...u, readSeq: u.lastSeq, mentions: 0 };
}

/** Every unread of a hub as its badge should show (same object when nothing is hidden). */
export function badgeUnreads(unreads: Readonly<Record<string, Unread>>, levelOf: (channelId: string) => NotifyLevel): Record<string, Unread> {
  let out: Record<string, Unread> | null = null;
  for (const [id, u] of Object.entries(unreads)) {
    const b = badgeUnread(u, levelOf(id));
    if (b !== u) (out ??= { ...unreads })[id] = b;
  }
  return out ?? (unreads as Record<string, Unread>);
}

/**
 * New mentions between two hub snapshots: a channel whose mention count grew with a new
 * message (a channel missing from `prev` counts from zero). The first
 * snapshot (`prev` undefined) is what was already there, not news.
 */
export function newMentions(
  communityId: string,
  prev: Readonly<Record<string, Unread>> | undefined,
  next: Readonly<Record<string, Unread>>,
): Incoming[] {
  if (!prev) return [];
  const out: Incoming[] = [];
  for (const [id, u] of Object.entries(next)) {
    // A channel the hub had no state for yet (new, or never written in) starts at zero.
    const before = prev[id] ?? { mentions: 0, lastSeq: 0 };
    if (u.mentions > before.mentions && u.lastSeq > before.lastSeq) out.push({ kind: "mention", communityId, channelId: id, seq: u.lastSeq });
  }
  return out;
}

const COUNT_PREFIX = /^\(\d+\+?\) /;

/** The tab title with `(N) ` in front (N capped at 99+), or without any count for 0. */
export function titleWithCount(title: string, count: number): string {
  const base = title.replace(COUNT_PREFIX, "");
  if (count <= 0) return base;
  return `(${count > 99 ? "99+" : count}) ${base}`;
}

/** What a notification shows and where its click goes. */
export interface Shown {
  title: string;
  body: string;
  communityId: string | null;
  channelId: string;
  messageId: string;
  /** The message's seq: the channel page jumps to it (`?jump=`). */
  seq: number;
}

export interface NotifierDeps {
  hidden(): boolean;
  level(communityId: string | null, channelId: string): NotifyLevel;
  /** The message as the notification shows it; null when it cannot be read (deleted, no access). */
  describe(ev: Incoming): Promise<Shown | null>;
  show(n: Shown): void;
  sound(): void;
}

/** Turns incoming events into notifications; one per (channel, seq), whatever repeats. */
export class NotificationCore {
  readonly #deps: NotifierDeps;
  readonly #seen = new Set<string>();

  constructor(deps: NotifierDeps) {
    this.#deps = deps;
  }

  /** Handles one event; resolves to whether a notification was shown. */
  async incoming(ev: Incoming): Promise<boolean> {
    const key = `${ev.channelId}:${ev.seq}`;
    if (this.#seen.has(key)) return false;
    if (!shouldNotify(ev, this.#deps.hidden(), this.#deps.level(ev.communityId, ev.channelId))) return false;
    this.#seen.add(key);
    if (this.#seen.size > 500) this.#seen.delete(this.#seen.values().next().value!);
    const shown = await this.#deps.describe(ev);
    // The settings or the tab may have changed while the message was fetched.
    if (!shown || !shouldNotify(ev, this.#deps.hidden(), this.#deps.level(ev.communityId, ev.channelId))) return false;
    this.#deps.show(shown);
    this.#deps.sound();
    return true;
  }
}

/** Where a notification's click goes: the channel, jumping to the message (ChannelPane's `?jump=<seq>`). */
export function messageHref(n: Pick<Shown, "communityId" | "channelId" | "seq">): string {
  const q = `?jump=${n.seq}`;
  return n.communityId ? `/c/${n.communityId}/${n.channelId}${q}` : `/dm/${n.channelId}${q}`;
}
