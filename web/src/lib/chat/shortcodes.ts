/**
 * `:shortcode:` → emoji on send, for the STANDARD set only (emojibase's GitHub and emojibase
 * shortcodes, lib/emoji/data.ts). Names the set does not know — a community's custom
 * `:name:` among them — are left exactly as typed. The set is loaded lazily: only when a
 * message that could hold a shortcode is sent (or the completion popup or the picker opens),
 * never with the channel page.
 */
import { emojiSetIfLoaded, loadEmojiSet, replaceShortcodes, searchShortcodes, type EmojiEntry } from "$lib/emoji/data";

/** A `:name:` outside code that could be a shortcode (same alphabet as replaceShortcodes). */
const CANDIDATE = /(```[\s\S]*?```|`[^`\n]*`)|:[a-z0-9_+-]{1,40}:/gi;
/** Shortest query (after `:`) that opens the completion popup, characters. */
export const SHORTCODE_MIN_QUERY = 2;

/** Whether `text` holds a `:name:` (outside code) that the standard set might convert. */
export function hasShortcodeCandidate(text: string): boolean {
  for (const m of text.matchAll(CANDIDATE)) if (!m[1]) return true;
  return false;
}

/**
 * `text` with every known standard `:shortcode:` replaced by its emoji; loads the set first
 * when there is a candidate and it is not in yet. Never rejects: if the set cannot load, the
 * text goes as typed. `isCustom`: names of the channel's community's custom emoji, left as typed.
 */
export async function convertShortcodes(text: string, locale: string, isCustom?: (name: string) => boolean): Promise<string> {
  if (!hasShortcodeCandidate(text)) return text;
  const set = emojiSetIfLoaded() ?? (await loadEmojiSet(locale).catch(() => null));
  if (!set) return text;
  // The community's own emoji win over a standard one of the same name (docs/profiles-and-emoji.md):
  // they are held out of the replacement (as private-use characters) and put back as typed;
  // text that already holds such characters is converted without the hold-out.
  if (!isCustom || /[\u{f0000}-\u{fffff}]/u.test(text)) return replaceShortcodes(set, text);
  const kept: string[] = [];
  const masked = text.replace(/:([a-z0-9_]{2,32}):/g, (m: string, name: string) => (isCustom(name) ? String.fromCodePoint(0xf0000 + kept.push(m) - 1) : m));
  return replaceShortcodes(set, masked).replace(/[\u{f0000}-\u{fffff}]/gu, (c) => kept[c.codePointAt(0)! - 0xf0000] ?? c);
}

/**
 * The completion for `:query`: entries at once when the set is in, else null after starting
 * its load (`onload` runs once it is in, to ask again).
 */
export function shortcodeSuggestions(query: string, locale: string, limit: number, onload: () => void): EmojiEntry[] | null {
  if (query.length < SHORTCODE_MIN_QUERY) return [];
  const set = emojiSetIfLoaded();
  if (set) return searchShortcodes(set, query, limit);
  void loadEmojiSet(locale).then(onload, () => {});
  return null;
}

/**
 * Runs async sends one after another, so a message that waits for the emoji set is not
 * overtaken by the next one (which would otherwise go first, with a lower seq).
 */
export class SendQueue {
  #tail: Promise<void> = Promise.resolve();

  /** Queues `prepare` then `deliver`; `deliver` runs in queue order. */
  push<T>(prepare: () => Promise<T>, deliver: (value: T) => void): Promise<void> {
    const prepared = prepare();
    const run = this.#tail.then(async () => deliver(await prepared));
    // One failed send does not stop the ones after it; the caller still sees its own failure.
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
