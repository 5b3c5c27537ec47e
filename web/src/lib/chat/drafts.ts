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

export const DRAFT_PREFIX = "woxly.draft.";
/** Drafts kept per user in one browser. */
export const MAX_DRAFTS = 50;
/** A draft untouched this long is dropped, ms (30 days). */
export const DRAFT_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
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

/** The part of Storage used here (tests pass a Map-backed one). */
export type DraftStorage = Pick<Storage, "getItem" | "setItem" | "removeItem" | "key" | "length">;

function browserStorage(): DraftStorage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null; // storage disabled: drafts last for this page only
  }
}

const keyOf = (userId: string, channelId: string) => `${DRAFT_PREFIX}${userId}.${channelId}`;

const listeners = new Set<() => void>();
function changed(): void {
  for (const l of listeners) l();
}

/** Calls `fn` whenever a draft is written or removed (here or in another tab); returns the unsubscribe. */
export function onDraftsChange(fn: () => void): () => void {
  listeners.add(fn);
  const onStorage = (e: StorageEvent) => {
    if (e.key === null || e.key.startsWith(DRAFT_PREFIX)) fn();
  };
  if (typeof window !== "undefined") window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(fn);
    if (typeof window !== "undefined") window.removeEventListener("storage", onStorage);
  };
}

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

/** Channels where `userId` has a draft in this browser. */
export function draftChannelIds(userId: string, now = Date.now(), store = browserStorage()): Set<string> {
  const out = new Set<string>();
  for (const [channelId, draft] of userDrafts(userId, now, store)) if (draft) out.add(channelId);
  return out;
}

function userDrafts(userId: string, now: number, store: DraftStorage | null): [string, Draft | null, string][] {
  if (!store) return [];
  const prefix = `${DRAFT_PREFIX}${userId}.`;
  const out: [string, Draft | null, string][] = [];
  for (let i = 0; i < store.length; i++) {
    const key = store.key(i);
    if (key?.startsWith(prefix)) out.push([key.slice(prefix.length), parse(store.getItem(key), now), key]);
  }
  return out;
}

function prune(userId: string, now: number, store: DraftStorage, keep: number): void {
  const all = userDrafts(userId, now, store);
  for (const [, draft, key] of all) if (!draft) store.removeItem(key);
  const live = all.filter((d): d is [string, Draft, string] => d[1] !== null).sort((a, b) => b[1].savedAt - a[1].savedAt);
  for (const [, , key] of live.slice(keep)) store.removeItem(key);
}
