/**
 * A text channel's threads, framework-free (docs/threads.md): the list (active and archived),
 * the summary each starter message shows ("N replies · last reply …"), and the actions —
 * start, join, leave, rename, archive. Kept current by the parent room's `thread.updated`
 * frames (ChannelCore hands them over) and reloaded after every (re)connect, since those frames
 * are not replayed. ThreadsCore talks to the API; `applyThread` is the pure part.
 */
import type { Message } from "$shared/chat";
import type { Thread, MyThread, UpdateThreadBody } from "$shared/threads";
import { ThreadDetail, ThreadList, type THREAD_ARCHIVE_MINUTES } from "$shared/threads";
import { client, read } from "$lib/api";
import { Core } from "$lib/realtime/core";

/** What the thread pane shows: the list, the form to start a thread (from `message` when given), or one thread. */
export type ThreadView = { kind: "list" } | { kind: "new"; message: Message | null } | { kind: "thread"; id: string };

export interface ThreadsState {
  /** Not archived, most recent activity first. */
  active: readonly MyThread[];
  /** Archived (by hand or inactivity), most recent activity first. */
  archived: readonly MyThread[];
  /** The first list has arrived. */
  loaded: boolean;
  /** Code of the last failure (load or action), or null. */
  error: string | null;
}

const byActivity = (a: Thread, b: Thread) => (b.lastMessageAt ?? b.createdAt) - (a.lastMessageAt ?? a.createdAt);

/**
 * The lists after a thread changed: it moves to `active` or `archived` by its `archived` flag,
 * keeps the member's `joined` unless `joined` is given, and both lists stay ordered by activity.
 */
export function applyThread(s: Pick<ThreadsState, "active" | "archived">, t: Thread, joined?: boolean, unread?: boolean): Pick<ThreadsState, "active" | "archived"> {
  const before = s.active.find((x) => x.id === t.id) ?? s.archived.find((x) => x.id === t.id);
  const isJoined = joined ?? before?.joined ?? false;
  const next: MyThread = { ...t, joined: isJoined, unread: isJoined && (unread ?? before?.unread ?? false) };
  const active = s.active.filter((x) => x.id !== t.id);
  const archived = s.archived.filter((x) => x.id !== t.id);
  (t.archived ? archived : active).push(next);
  return { active: active.sort(byActivity), archived: archived.sort(byActivity) };
}

/** The thread started from this message, if any. */
export function threadOf(s: Pick<ThreadsState, "active" | "archived">, messageId: string): MyThread | undefined {
  return s.active.find((t) => t.starterMessageId === messageId) ?? s.archived.find((t) => t.starterMessageId === messageId);
}

export class ThreadsCore extends Core<ThreadsState> {
  readonly channelId: string;
  readonly meId: string;
  #loading: Promise<void> | null = null;

  constructor(channelId: string, meId: string) {
    super({ active: [], archived: [], loaded: false, error: null });
    this.channelId = channelId;
    this.meId = meId;
  }

  /** Loads the list (again); one request at a time. */
  load(): Promise<void> {
    this.#loading ??= read(client.channels[":id"].threads.$get({ param: { id: this.channelId } }), ThreadList)
      .then((l) => this.update((s) => ({ ...s, active: l.active, archived: l.archived, loaded: true, error: null })))
      .catch((e: unknown) => this.#fail(e))
      .finally(() => (this.#loading = null));
    return this.#loading;
  }

  /**
   * A `thread.updated` from the parent room. Writing in a thread joins it (docs/threads.md); a
   * message by someone else in a joined thread that is not open makes it unread.
   */
  updated(t: Thread): void {
    if (t.parentId !== this.channelId) return;
    this.update((s) => {
      const before = s.active.find((x) => x.id === t.id) ?? s.archived.find((x) => x.id === t.id);
      const newMessage = t.messageCount > (before?.messageCount ?? 0);
      const mine = t.lastAuthorId === this.meId;
      const unread = newMessage ? !mine && this.#viewing !== t.id : undefined;
      return { ...s, ...applyThread(s, t, newMessage && mine ? true : undefined, unread) };
    });
  }

  #viewing: string | null = null;
  /** The thread open in the pane (its messages are read as they come), or null. */
  viewing(id: string | null): void {
    this.#viewing = id;
    const t = id ? this.find(id) : undefined;
    if (t?.unread) this.update((s) => ({ ...s, ...applyThread(s, t, undefined, false) }));
  }

  find(id: string): MyThread | undefined {
    return this.state.active.find((t) => t.id === id) ?? this.state.archived.find((t) => t.id === id);
  }

  /** Starts a thread (from `messageId` when given); the thread, or null when refused (see `error`). */
  async create(name: string, messageId?: string, autoArchiveMinutes?: (typeof THREAD_ARCHIVE_MINUTES)[number]): Promise<MyThread | null> {
    const json = { name, ...(messageId ? { messageId } : {}), ...(autoArchiveMinutes ? { autoArchiveMinutes } : {}) };
    return this.#act(read(client.channels[":id"].threads.$post({ param: { id: this.channelId }, json }), ThreadDetail));
  }

  /** The thread as the API has it now (e.g. one not in the list yet). */
  async fetch(id: string): Promise<MyThread | null> {
    return this.#act(read(client.threads[":id"].$get({ param: { id } }), ThreadDetail));
  }

  join(id: string): Promise<MyThread | null> {
    return this.#act(read(client.threads[":id"].members.me.$put({ param: { id } }), ThreadDetail));
  }

  leave(id: string): Promise<MyThread | null> {
    return this.#act(read(client.threads[":id"].members.me.$delete({ param: { id } }), ThreadDetail));
  }

  change(id: string, patch: UpdateThreadBody): Promise<MyThread | null> {
    return this.#act(read(client.threads[":id"].$patch({ param: { id }, json: patch }), ThreadDetail));
  }

  async #act(request: Promise<ThreadDetail>): Promise<MyThread | null> {
    try {
      const { thread } = await request;
      this.update((s) => ({ ...s, ...applyThread(s, thread, thread.joined, thread.id === this.#viewing ? false : undefined), error: null }));
      return thread;
    } catch (e) {
      this.#fail(e);
      return null;
    }
  }

  #fail(e: unknown): void {
    const code = e && typeof e === "object" && "code" in e && typeof e.code === "string" ? e.code : "network_error";
    this.update((s) => ({ ...s, error: code }));
  }

  clearError(): void {
    this.update((s) => ({ ...s, error: null }));
  }
}

/** "5 minutes ago" in the reader's language, for "last reply …" (`at` and `now` in ms). */
export function timeAgo(at: number, locale: string, now: number = Date.now()): string {
  const s = Math.round((at - now) / 1000);
  const f = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  const abs = Math.abs(s);
  if (abs < 60) return f.format(0, "second");
  if (abs < 3600) return f.format(Math.round(s / 60), "minute");
  if (abs < 86_400) return f.format(Math.round(s / 3600), "hour");
  return f.format(Math.round(s / 86_400), "day");
}
