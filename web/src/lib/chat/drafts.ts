/**
 * Drafts per user and channel, kept in this browser (localStorage): what was typed in a
 * channel's composer and the message it replies to, so both are still there after switching
 * channels or reloading — and gone once sent. Bounded: at most MAX_DRAFTS drafts per user
 * (the oldest go), none older than DRAFT_MAX_AGE_MS, text cut at MAX_DRAFT_CHARS. Anything
 * unreadable in storage is dropped, never trusted: entries are parsed with zod. Attachments
 * are not kept (their uploads belong to the page that made them).
 */
import { z } from "zod";
import { MAX_MESSAGE_CHARS, Message } from "$shared/chat";
import { DRAFT_MAX_AGE_MS, DRAFT_PREFIX, browserStorage, changed, draftChannelIds, onDraftsChange, userDraftKeys, type DraftStorage } from "./draft-marks";

export { DRAFT_MAX_AGE_MS, DRAFT_PREFIX, draftChannelIds, onDraftsChange, type DraftStorage };

/** Drafts kept per user in one browser. */
export const MAX_DRAFTS = 50;
/** Longest draft text kept, UTF-16 code units (the composer allows typing past the limit). */
export const MAX_DRAFT_CHARS = MAX_MESSAGE_CHARS * 2;

const StoredDraft = z.object({
  v: z.literal(1),
  text: z.string().max(MAX_DRAFT_CHARS),
  replyTo: Message.nullable(),
  /** ms since the epoch */
  savedAt: z.number(),
});

export interface Draft {
  text: string;
  replyTo: Message | null;
  /** ms since the epoch */
  savedAt: number;
}

const keyOf = (userId: string, channelId: string) => `${DRAFT_PREFIX}${userId}.${channelId}`;

function parse(raw: string | null, now: number): Draft | null {
  if (!raw) return null;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return null;
  }
  const d = StoredDraft.safeParse(json);
  if (!d.success || now - d.data.savedAt > DRAFT_MAX_AGE_MS) return null;
  return { text: d.data.text, replyTo: d.data.replyTo, savedAt: d.data.savedAt };
}

/** The draft of `userId` in `channelId`, or null (none, too old, or unreadable — then removed). */
export function readDraft(userId: string, channelId: string, now = Date.now(), store = browserStorage()): Draft | null {
  if (!store) return null;
  const key = keyOf(userId, channelId);
  const raw = store.getItem(key);
  const draft = parse(raw, now);
  if (raw !== null && !draft) store.removeItem(key);
  return draft;
}

/**
 * Saves (or, when there is neither text nor a reply, removes) the draft, then keeps the
 * bounds: drafts of this user past MAX_DRAFTS (oldest first) or DRAFT_MAX_AGE_MS are removed.
 */
export function writeDraft(
  userId: string,
  channelId: string,
  draft: { text: string; replyTo: Message | null },
  now = Date.now(),
  store = browserStorage(),
): void {
  if (!store) return;
  const key = keyOf(userId, channelId);
  const before = store.getItem(key);
  if (!draft.text.trim() && !draft.replyTo) {
    if (before !== null) {
      store.removeItem(key);
      changed();
    }
    return;
  }
  const value = JSON.stringify({ v: 1, text: draft.text.slice(0, MAX_DRAFT_CHARS), replyTo: draft.replyTo, savedAt: now });
  try {
    store.setItem(key, value);
  } catch {
    // Quota: drop this user's older drafts and try once more.
    prune(userId, now, store, Math.floor(MAX_DRAFTS / 2));
    try {
      store.setItem(key, value);
    } catch {
      return;
    }
  }
  if (before === null) {
    prune(userId, now, store, MAX_DRAFTS);
    changed();
  }
}

/** Removes the draft (after sending). */
export function clearDraft(userId: string, channelId: string, store = browserStorage()): void {
  writeDraft(userId, channelId, { text: "", replyTo: null }, Date.now(), store);
}

function prune(userId: string, now: number, store: DraftStorage, keep: number): void {
  const live: [string, Draft][] = [];
  for (const [, key] of userDraftKeys(userId, store)) {
    const draft = parse(store.getItem(key), now);
    if (draft) live.push([key, draft]);
    else store.removeItem(key);
  }
  live.sort((a, b) => b[1].savedAt - a[1].savedAt);
  for (const [key] of live.slice(keep)) store.removeItem(key);
}

/** How long typing may go unsaved, ms (a page hide or channel switch saves at once). */
export const DRAFT_SAVE_DELAY_MS = 400;

/** Saves one channel's draft while it is typed: at most once per `delayMs`, at once on flush. */
export class DraftAutosave {
  #timer: ReturnType<typeof setTimeout> | null = null;
  #pending: { text: string; replyTo: Message | null } | null = null;

  constructor(
    readonly userId: string,
    readonly channelId: string,
    readonly delayMs = DRAFT_SAVE_DELAY_MS,
  ) {}

  /** The draft as it is now; written within `delayMs`. */
  update(draft: { text: string; replyTo: Message | null }): void {
    this.#pending = draft;
    this.#timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** Writes what is pending now (channel switch, page hide). */
  flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const d = this.#pending;
    this.#pending = null;
    if (d) writeDraft(this.userId, this.channelId, d);
  }

  /** The message was sent: the draft goes now, and nothing pending is written after. */
  clear(): void {
    this.#pending = { text: "", replyTo: null };
    this.flush();
  }
}
