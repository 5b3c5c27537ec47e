/**
 * Message markdown → HTML, the DOM-free half shared by the browser and the server (the
 * channel's first screen, web/src/lib/server/first-screen.ts). marked parses a chat-sized
 * subset (bold, italics, strike, code, fenced code with highlighting, quotes, lists, links,
 * spoilers `||x||`, mentions `<@user>`, `<@&role>`, `@everyone`, `@here`); raw HTML in a
 * message is shown as text. Its output is NOT safe yet: every string goes through a sanitizer
 * with the allowlist below (tags, attributes, classes, URL schemes) before it may reach a page
 * — DOMPurify in the browser (./render.ts), sanitize-html on the server
 * (web/src/lib/server/sanitize.ts). Both apply the per-attribute rules of `allowedAttribute`,
 * written once here. highlight.js loads only when a fenced block needs it (./highlight.ts):
 * until then (and always on the server) the block renders plain.
 */
import { Marked, type Tokens, type TokenizerAndRendererExtension } from "marked";
import { highlightCode, highlightVersion } from "./highlight";
import { OWN_EMOJI_URL, customEmojiExtension } from "../emoji/custom";
import type { CustomEmojiLookup } from "../emoji/custom";

/** How mentions are named when rendered; unknown ids get the fallbacks. */
export interface MentionNames {
  user(id: string): string | null;
  role(id: string): string | null;
  /** The viewer, whose mentions are highlighted. */
  meId: string;
  /** Whether the viewer holds this role (its mentions are highlighted like their own). */
  holdsRole?(id: string): boolean;
  unknownUser: string;
  unknownRole: string;
  /** Changes whenever any name changes, so cached renders are not stale. */
  key: string;
  /** The custom emoji of the message's community (`:name:` → image); absent or null elsewhere: the text stays. */
  emoji?: CustomEmojiLookup | null;
}

export const NO_NAMES: MentionNames = {
  user: () => null,
  role: () => null,
  meId: "",
  unknownUser: "unknown-user",
  unknownRole: "unknown-role",
  key: "",
};

/** The names used by the render in progress (marked's renderers are synchronous). */
let names: MentionNames = NO_NAMES;
/** The role mentions the message keeps (the ones that ping); null = all render as mentions. */
let keptRoles: ReadonlySet<string> | null = null;

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

const spoiler: TokenizerAndRendererExtension = {
  name: "spoiler",
  level: "inline",
  start: (src) => {
    const i = src.indexOf("||");
    return i < 0 ? undefined : i;
  },
  tokenizer(src) {
    const m = /^\|\|(?=[^|])([\s\S]*?[^|\\])\|\|/.exec(src);
    if (!m) return undefined;
    return { type: "spoiler", raw: m[0], text: m[1]!, tokens: this.lexer.inlineTokens(m[1]!) };
  },
  renderer(token) {
    return `<span class="spoiler" role="button" tabindex="0">${this.parser.parseInline(token.tokens ?? [])}</span>`;
  },
};

const mention: TokenizerAndRendererExtension = {
  name: "mention",
  level: "inline",
  start: (src) => {
    const m = /<@&?[0-9A-Za-z_-]|@(?:everyone|here)\b/.exec(src);
    return m ? m.index : undefined;
  },
  tokenizer(src, tokens) {
    const user = /^<@(&?)([0-9A-Za-z_-]{1,64})>/.exec(src);
    if (user) return { type: "mention", raw: user[0], kind: user[1] ? "role" : "user", id: user[2]! };
    const all = /^@(everyone|here)\b/.exec(src);
    if (!all) return undefined;
    // As the room parses it: not inside a word or an address.
    const prev = tokens.at(-1)?.raw.at(-1);
    if (prev && /[\w@]/.test(prev)) return undefined;
    return { type: "mention", raw: all[0], kind: all[1]!, id: "" };
  },
  renderer(token) {
    const kind = token["kind"] as string;
    const id = token["id"] as string;
    if (kind === "user") {
      const label = names.user(id) ?? names.unknownUser;
      const me = id === names.meId ? " mention-me" : "";
      return `<span class="mention${me}" data-mention="user" data-id="${escapeHtml(id)}">@${escapeHtml(label)}</span>`;
    }
    if (kind === "role") {
      const label = names.role(id) ?? names.unknownRole;
      // A role mention the room did not keep (not mentionable to its author) is plain text.
      if (keptRoles && !keptRoles.has(id)) return escapeHtml(`@${label}`);
      const me = names.holdsRole?.(id) ? " mention-me" : "";
      return `<span class="mention${me}" data-mention="role" data-id="${escapeHtml(id)}">@${escapeHtml(label)}</span>`;
    }
    return `<span class="mention" data-mention="${kind === "here" ? "here" : "everyone"}">@${kind === "here" ? "here" : "everyone"}</span>`;
  },
};

const disabled = () => undefined;

const md = new Marked({ gfm: true, breaks: true, async: false, silent: false });
md.use({
  extensions: [mention, spoiler, customEmojiExtension(() => names.emoji ?? null)],
  tokenizer: {
    // A chat subset: no headings, tables, rules, reference definitions or raw HTML.
    heading: disabled,
    lheading: disabled,
    table: disabled,
    hr: disabled,
    def: disabled,
    html: disabled,
    tag: disabled,
  },
  renderer: {
    // Never reached with the tokenizers above; escaped all the same.
    html: ({ text }: Tokens.HTML | Tokens.Tag) => escapeHtml(text),
    // Inline images would fetch whatever a message names; they are shown as links.
    image: ({ href, text }: Tokens.Image) => `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`,
    code: ({ text, lang }: Tokens.Code) => {
      const language = (lang ?? "").trim().split(/\s+/)[0] ?? "";
      const { html, language: used } = highlightCode(text, language);
      return `<pre><code class="hljs${used ? ` language-${used}` : ""}">${html}</code></pre>`;
    },
  },
});

// <img> only as a custom emoji: class custom-emoji and a src that is Woxly's own emoji URL (the hook below).
export const ALLOWED_TAGS = ["p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "a", "span", "ul", "ol", "li", "img"];
export const ALLOWED_ATTR = ["href", "title", "class", "start", "data-mention", "data-id", "role", "tabindex", "src", "alt", "draggable"];
/** http(s) and mailto only: no javascript:, data:, vbscript:, blob:, relative tricks. */
export const SAFE_URL = /^(?:https?:\/\/|mailto:)/i;
export const SAFE_CLASS = /^(?:hljs(?:-[\w-]+)?|[a-z]+_|language-[\w+#.-]{1,32}|spoiler|mention|mention-me|custom-emoji)$/;
export const LINK_REL = "noopener noreferrer nofollow ugc";
/** What a mention pill's data attributes may hold (role pills are coloured by id, RoleMentionColors). */
const MENTION_KINDS = new Set(["user", "role", "everyone", "here"]);
const MENTION_ID = /^[0-9A-Za-z_-]{1,64}$/;

/**
 * The allowlist's per-attribute rules, applied by both sanitizers after their tag/attribute
 * allowlists: the value to keep, or null to drop the attribute. `classes`: the element's
 * classes as written (a spoiler may keep role/tabindex; an emoji image its own-URL src).
 */
export function allowedAttribute(tag: string, name: string, value: string, classes: readonly string[]): string | null {
  switch (name) {
    case "class": {
      const kept = value.split(/\s+/).filter((c) => SAFE_CLASS.test(c)).join(" ");
      return kept || null;
    }
    case "role":
      return classes.includes("spoiler") && value === "button" ? value : null;
    case "tabindex":
      return classes.includes("spoiler") && value === "0" ? value : null;
    case "start":
      return tag === "ol" && /^\d{1,9}$/.test(value) ? value : null;
    case "href":
      return SAFE_URL.test(value.trim()) ? value : null;
    case "data-mention":
      return MENTION_KINDS.has(value) ? value : null;
    case "data-id":
      return MENTION_ID.test(value) ? value : null;
    case "src":
      // Same-origin emoji images only (the URL check elsewhere allows absolute http(s) alone).
      return tag === "img" && classes.includes("custom-emoji") && OWN_EMOJI_URL.test(value) ? value : null;
    case "draggable":
      return tag === "img" && value === "false" ? value : null;
    default:
      return value;
  }
}

/** Emphasis delimiters (`*_~`) honoured per message; later ones are shown as typed. */
const MAX_DELIMITERS = 400;
/** Deepest quote nesting rendered. */
const MAX_QUOTE_DEPTH = 3;
const QUOTE_TOO_DEEP = new RegExp(`^((?:[ \\t]*>){${MAX_QUOTE_DEPTH}})(?:[ \\t]*>)+`, "gm");

/**
 * Bounds the parser's work on hostile input (marked's emphasis and quote handling grow
 * faster than linearly): quotes deeper than MAX_QUOTE_DEPTH are flattened and delimiters
 * past MAX_DELIMITERS are escaped (outside code), which renders them as plain characters.
 */
export function tame(content: string): string {
  let out = content.replace(QUOTE_TOO_DEEP, "$1");
  let delimiters = 0;
  out = out.replace(/(```[\s\S]*?```|`[^`\n]*`)|[*_~]/g, (m: string, code: string | undefined) =>
    code ? m : ++delimiters > MAX_DELIMITERS ? `\\${m}` : m,
  );
  return out;
}

/** Could hold a fenced code block (whose rendering changes once its language has loaded). */
const FENCE = /```|~~~/;

/**
 * A message's content as HTML, NOT yet sanitized (the caller's sanitizer must run on it).
 * `roles`: the message's `mentions.roles` (role mentions not among them render as text);
 * omitted, every role mention renders as one.
 */
export function parseMarkdown(content: string, mentionNames: MentionNames = NO_NAMES, roles?: readonly string[]): string {
  names = mentionNames;
  keptRoles = roles ? new Set(roles) : null;
  try {
    return md.parse(tame(content)) as string;
  } catch {
    return `<p>${escapeHtml(content)}</p>`;
  } finally {
    names = NO_NAMES;
    keptRoles = null;
  }
}

/** A sanitizer of the allowlist above: DOMPurify in the browser, sanitize-html on the server. */
export type Sanitize = (html: string) => string;

/** Renders with one sanitizer: a small LRU cache per content and set of names. */
export function markdownRenderer(sanitize: Sanitize, cacheSize = 1000) {
  const cache = new Map<string, string>();
  /** A message's content as sanitized HTML, cached per content and set of names (see parseMarkdown). */
  function renderMarkdown(content: string, mentionNames: MentionNames = NO_NAMES, roles?: readonly string[]): string {
    const hl = FENCE.test(content) ? highlightVersion() : "";
    const key = `${mentionNames.meId}\u0000${mentionNames.key}\u0000${hl}\u0000${roles ? roles.join(",") : "*"}\u0000${mentionNames.emoji ? "e" : ""}\u0000${content}`;
    const hit = cache.get(key);
    if (hit !== undefined) {
      cache.delete(key);
      cache.set(key, hit);
      return hit;
    }
    const safe = sanitize(parseMarkdown(content, mentionNames, roles));
    cache.set(key, safe);
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
    return safe;
  }
  /** Reply previews and search context: one line, inline markdown only, same sanitizer. */
  function renderInline(content: string, mentionNames: MentionNames = NO_NAMES, roles?: readonly string[]): string {
    return renderMarkdown(content.replace(/\s*\n\s*/g, " ").replace(/^(\s*)(>|[-*+]\s|\d+[.)]\s|```)/, "$1\\$2"), mentionNames, roles);
  }
  return { renderMarkdown, renderInline };
}

const EMOJI_ONLY = /^(?:\p{RGI_Emoji}|\s){1,120}$/v;
const ONE_EMOJI = /\p{RGI_Emoji}/gv;

/** True when a message is 1–27 emoji and nothing else (shown large). */
export function isEmojiOnly(content: string): boolean {
  const trimmed = content.trim();
  if (!trimmed || !EMOJI_ONLY.test(trimmed)) return false;
  const n = trimmed.match(ONE_EMOJI)?.length ?? 0;
  return n > 0 && n <= 27;
}
