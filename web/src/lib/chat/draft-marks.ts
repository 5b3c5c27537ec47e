/**
 * Which channels hold a draft (drafts.ts), for the channel list's pencil: keys and ages only,
 * no schema, so the sidebar does not load the chat's message schema. drafts.ts writes; this
 * file names the keys and tells listeners when a draft appears or goes.
 */
export const DRAFT_PREFIX = "woxly.draft.";
/** A draft untouched this long is dropped, ms (30 days). */
export const DRAFT_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/** The part of Storage used for drafts (tests pass a Map-backed one). */
export type DraftStorage = Pick<Storage, "getItem" | "setItem" | "removeItem" | "key" | "length">;

export function browserStorage(): DraftStorage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null; // storage disabled: drafts last for this page only
  }
}

const listeners = new Set<() => void>();

/** Tells this tab's listeners that a draft appeared or went (drafts.ts calls it). */
export function changed(): void {
  for (const l of listeners) l();
}

/** Calls `fn` whenever a draft appears or goes (here or in another tab); returns the unsubscribe. */
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

/** [channelId, storage key] of every stored draft of `userId`. */
export function userDraftKeys(userId: string, store: DraftStorage): [string, string][] {
  const prefix = `${DRAFT_PREFIX}${userId}.`;
  const out: [string, string][] = [];
  for (let i = 0; i < store.length; i++) {
    const key = store.key(i);
    if (key?.startsWith(prefix)) out.push([key.slice(prefix.length), key]);
  }
  return out;
}

/** Channels where `userId` has a draft (not too old) in this browser. */
export function draftChannelIds(userId: string, now = Date.now(), store = browserStorage()): Set<string> {
  const out = new Set<string>();
  if (!store) return out;
  for (const [channelId, key] of userDraftKeys(userId, store)) {
    let savedAt: unknown;
    try {
      savedAt = (JSON.parse(store.getItem(key) ?? "null") as { savedAt?: unknown } | null)?.savedAt;
    } catch {
      continue;
    }
    if (typeof savedAt === "number" && now - savedAt <= DRAFT_MAX_AGE_MS) out.add(channelId);
  }
  return out;
}
