/**
 * Custom emoji in text (docs/profiles-and-emoji.md): `:name:` is shown as the image only in a
 * channel of the community that owns an emoji of that name — elsewhere (another community, a
 * DM) it stays the text `:name:`. Reactions carry `<:name:id>` (workers/shared/chat.ts).
 * Framework-free, no DOM: the markdown renderer (../markdown/render.ts), the reactions and
 * the picker use it, and so can the composer.
 */
import type { TokenizerAndRendererExtension } from "marked";
import { CUSTOM_EMOJI_REACTION } from "$shared/chat";
import type { CustomEmoji } from "$shared/profiles";

/** Where a Woxly emoji image lives; the sanitizer lets an <img> through only with such a src. */
export const OWN_EMOJI_URL = /^\/api\/communities\/[0-9A-Za-z_-]{1,64}\/emoji\/[0-9A-Za-z_-]{1,64}$/;

/** `:name:` in text. */
const SHORTCODE = /^:([a-z0-9_]{2,32}):/;

/** A name → emoji lookup for one community, or null outside any (DMs). */
export type CustomEmojiLookup = (name: string) => CustomEmoji | null;

/** A lookup over a list (the community's emoji). */
export function lookupOf(list: readonly CustomEmoji[] | null | undefined): CustomEmojiLookup | null {
  if (!list?.length) return null;
  const byName = new Map(list.map((e) => [e.name, e]));
  return (name) => byName.get(name) ?? null;
}

/** The reaction string of a custom emoji. */
export function reactionKey(e: Pick<CustomEmoji, "id" | "name">): string {
  return `<:${e.name}:${e.id}>`;
}

/** A reaction string's custom emoji, or null for a Unicode emoji. */
export function parseReactionKey(key: string): { name: string; id: string } | null {
  const m = CUSTOM_EMOJI_REACTION.exec(key);
  return m ? { name: m[1]!, id: m[2]! } : null;
}

/** `:name:` for a custom emoji of `lookup`, the reaction string to send; null when it is not one. */
export function reactionFor(text: string, lookup: CustomEmojiLookup | null): string | null {
  const m = /^:([a-z0-9_]{2,32}):$/.exec(text);
  const e = m && lookup ? lookup(m[1]!) : null;
  return e ? reactionKey(e) : null;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The <img> of one custom emoji (its URL checked against OWN_EMOJI_URL). */
export function emojiImg(e: Pick<CustomEmoji, "name" | "url">, cls = "custom-emoji"): string {
  if (!OWN_EMOJI_URL.test(e.url)) return escape(`:${e.name}:`);
  return `<img class="${cls}" src="${escape(e.url)}" alt=":${escape(e.name)}:" title=":${escape(e.name)}:" draggable="false">`;
}

/**
 * A marked inline extension: `:name:` becomes the emoji's <img> when `lookup()` (read at
 * render time: the community of the message being rendered) knows the name; otherwise the
 * text is left alone.
 */
export function customEmojiExtension(lookup: () => CustomEmojiLookup | null): TokenizerAndRendererExtension {
  return {
    name: "customEmoji",
    level: "inline",
    start(src) {
      if (!lookup()) return undefined;
      const m = /:[a-z0-9_]{2,32}:/.exec(src);
      return m ? m.index : undefined;
    },
    tokenizer(src) {
      const find = lookup();
      const m = find ? SHORTCODE.exec(src) : null;
      const e = m && find ? find(m[1]!) : null;
      if (!m || !e) return undefined;
      return { type: "customEmoji", raw: m[0], name: e.name, url: e.url };
    },
    renderer(token) {
      return emojiImg({ name: token["name"] as string, url: token["url"] as string });
    },
  };
}

/** Searches custom emoji by name (prefix matches first). */
export function searchCustom(list: readonly CustomEmoji[], query: string): CustomEmoji[] {
  const q = query.trim().toLowerCase().replace(/^:|:$/g, "");
  if (!q) return [...list];
  const starts = list.filter((e) => e.name.startsWith(q));
  const contains = list.filter((e) => !e.name.startsWith(q) && e.name.includes(q));
  return [...starts, ...contains];
}
