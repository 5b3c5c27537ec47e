/** The emoji this browser used last (reactions and picker), most recent first. */
import { toRgi } from "./data";

export const RECENTS_STORAGE_KEY = "woxly.emoji.recents";
/** How many recents are kept. */
export const MAX_RECENTS = 24;

export function readRecents(): string[] {
  try {
    const raw: unknown = JSON.parse(localStorage.getItem(RECENTS_STORAGE_KEY) ?? "[]");
    if (!Array.isArray(raw)) return [];
    return raw.filter((x): x is string => typeof x === "string" && toRgi(x) === x).slice(0, MAX_RECENTS);
  } catch {
    return [];
  }
}

export function pushRecent(emoji: string): string[] {
  const next = [emoji, ...readRecents().filter((e) => e !== emoji)].slice(0, MAX_RECENTS);
  try {
    localStorage.setItem(RECENTS_STORAGE_KEY, JSON.stringify(next));
  } catch {
    // Storage disabled: recents last for this page only.
  }
  return next;
}
