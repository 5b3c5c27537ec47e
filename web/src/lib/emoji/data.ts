/**
 * The emoji set (emojibase-data, CLDR names and GitHub/emojibase shortcodes), loaded on first
 * use as its own chunk so the chat bundle stays small. Also the one rule for what a reaction
 * may be: a single RGI emoji, as the room's schema requires.
 */
import type { CompactEmoji } from "emojibase";

export interface EmojiEntry {
  /** The emoji as sent (RGI form). */
  unicode: string;
  label: string;
  shortcodes: string[];
  /** Lower-case words to search: label, tags, shortcodes. */
  search: string;
  group: number;
}

export interface EmojiSet {
  entries: EmojiEntry[];
  /** Group number → its entries, in picker order. */
  groups: Map<number, EmojiEntry[]>;
  byShortcode: Map<string, EmojiEntry>;
}

/** Group ids of emojibase (2 = skin-tone components, left out of the picker). */
export const EMOJI_GROUPS = [0, 1, 3, 4, 5, 6, 7, 8, 9] as const;

const RGI = /^\p{RGI_Emoji}$/v;

/** The RGI form of an emoji (emojibase adds or omits VS16 where RGI does not), or null. */
export function toRgi(value: string): string | null {
  if (RGI.test(value)) return value;
  const stripped = value.replace(/\uFE0F/g, "");
  if (RGI.test(stripped)) return stripped;
  const qualified = stripped + "\uFE0F";
  if (RGI.test(qualified)) return qualified;
  return null;
}

let loading: Promise<EmojiSet> | null = null;
let loaded: EmojiSet | null = null;

/** The set if it has been loaded already (for synchronous lookups). */
export function emojiSetIfLoaded(): EmojiSet | null {
  return loaded;
}

async function localized(locale: string): Promise<CompactEmoji[]> {
  if (locale.startsWith("ru")) return (await import("emojibase-data/ru/compact.json")).default as CompactEmoji[];
  return (await import("emojibase-data/en/compact.json")).default as CompactEmoji[];
}

/** Loads the set once; `locale` picks the language of names and search words (en, ru). */
export function loadEmojiSet(locale = "en"): Promise<EmojiSet> {
  loading ??= (async () => {
    const [data, github, base] = await Promise.all([
      localized(locale),
      import("emojibase-data/en/shortcodes/github.json").then((m) => m.default as Record<string, string | string[]>),
      import("emojibase-data/en/shortcodes/emojibase.json").then((m) => m.default as Record<string, string | string[]>),
    ]);
    const entries: EmojiEntry[] = [];
    const byShortcode = new Map<string, EmojiEntry>();
    const groups = new Map<number, EmojiEntry[]>();
    const sorted = data.filter((e) => e.group !== undefined && e.group !== 2).sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
    for (const e of sorted) {
      const unicode = toRgi(e.unicode);
      if (!unicode) continue;
      const codes = [...new Set([...[github[e.hexcode] ?? []].flat(), ...[base[e.hexcode] ?? []].flat()])];
      const entry: EmojiEntry = {
        unicode,
        label: e.label,
        shortcodes: codes,
        search: [e.label, ...(e.tags ?? []), ...codes].join(" ").toLowerCase(),
        group: e.group!,
      };
      entries.push(entry);
      for (const code of codes) if (!byShortcode.has(code)) byShortcode.set(code, entry);
      const list = groups.get(entry.group) ?? [];
      list.push(entry);
      groups.set(entry.group, list);
    }
    loaded = { entries, groups, byShortcode };
    return loaded;
  })();
  return loading;
}

/** Up to `limit` emoji whose shortcode starts with (then contains) `query`. */
export function searchShortcodes(set: EmojiSet, query: string, limit = 8): EmojiEntry[] {
  const q = query.toLowerCase();
  const starts: EmojiEntry[] = [];
  const contains: EmojiEntry[] = [];
  for (const e of set.entries) {
    if (e.shortcodes.some((s) => s.startsWith(q))) starts.push(e);
    else if (e.shortcodes.some((s) => s.includes(q))) contains.push(e);
    if (starts.length >= limit) break;
  }
  return [...starts, ...contains].slice(0, limit);
}

/** Emoji whose names, tags or shortcodes contain every word of `query`. */
export function searchEmoji(set: EmojiSet, query: string, limit = 200): EmojiEntry[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [];
  const out: EmojiEntry[] = [];
  for (const e of set.entries) {
    if (words.every((w) => e.search.includes(w))) out.push(e);
    if (out.length >= limit) break;
  }
  return out;
}

/**
 * Replaces `:shortcode:` with its emoji outside code spans and blocks; unknown codes stay
 * as written.
 */
export function replaceShortcodes(set: EmojiSet, text: string): string {
  return text.replace(/(```[\s\S]*?```|`[^`\n]*`)|:([a-z0-9_+-]{1,40}):/gi, (all, code: string | undefined, name: string | undefined) => {
    if (code || !name) return all;
    return set.byShortcode.get(name.toLowerCase())?.unicode ?? all;
  });
}
