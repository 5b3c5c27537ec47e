/**
 * Code-block highlighting: highlight.js core with the languages people paste most, each loaded
 * only when a fenced block names it (issue 14: a channel without code blocks downloads none of
 * it). `highlightCode` is synchronous, as marked's renderers are: until the core and the
 * block's language are in, it answers plain escaped text and starts loading them; once they
 * are, `highlightVersion()` changes and listeners (`onHighlighterLoad`) are told, so the
 * message renders again, highlighted. Output is escaped text in `<span class="hljs-…">` and
 * still goes through the sanitizer.
 */
import type { HLJSApi, LanguageFn } from "highlight.js";

type Loader = () => Promise<{ default: LanguageFn }>;

/** The languages offered, by highlight.js's name; each its own chunk. */
const LANGUAGES: Record<string, Loader> = {
  bash: () => import("highlight.js/lib/languages/bash"),
  c: () => import("highlight.js/lib/languages/c"),
  cpp: () => import("highlight.js/lib/languages/cpp"),
  css: () => import("highlight.js/lib/languages/css"),
  diff: () => import("highlight.js/lib/languages/diff"),
  go: () => import("highlight.js/lib/languages/go"),
  java: () => import("highlight.js/lib/languages/java"),
  javascript: () => import("highlight.js/lib/languages/javascript"),
  json: () => import("highlight.js/lib/languages/json"),
  python: () => import("highlight.js/lib/languages/python"),
  rust: () => import("highlight.js/lib/languages/rust"),
  sql: () => import("highlight.js/lib/languages/sql"),
  typescript: () => import("highlight.js/lib/languages/typescript"),
  xml: () => import("highlight.js/lib/languages/xml"),
  yaml: () => import("highlight.js/lib/languages/yaml"),
};

/**
 * The aliases those language definitions declare (highlight.js 11.12), so a block's name is
 * known before its definition is loaded.
 */
const ALIASES: Record<string, string> = {
  sh: "bash", zsh: "bash",
  h: "c",
  cc: "cpp", "c++": "cpp", "h++": "cpp", hpp: "cpp", hh: "cpp", hxx: "cpp", cxx: "cpp",
  patch: "diff",
  golang: "go",
  jsp: "java",
  js: "javascript", jsx: "javascript", mjs: "javascript", cjs: "javascript",
  jsonc: "json", json5: "json",
  py: "python", gyp: "python", ipython: "python",
  rs: "rust",
  ts: "typescript", tsx: "typescript", mts: "typescript", cts: "typescript",
  html: "xml", xhtml: "xml", rss: "xml", atom: "xml", xjb: "xml", xsd: "xml", xsl: "xml", plist: "xml", wsf: "xml", svg: "xml",
  yml: "yaml",
};

/** Longest code block highlighted, UTF-16 code units (longer ones are shown plain). */
const MAX_HIGHLIGHT = 20_000;

let hljs: HLJSApi | null = null;
let core: Promise<HLJSApi> | null = null;
/** Languages whose definition is registered with `hljs`. */
const registered = new Set<string>();
/** Each language's load, once started (a failed one is not tried again in this page). */
const loads = new Map<string, Promise<void>>();
let version = 0;
const listeners = new Set<() => void>();

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);
}

/** highlight.js's name for a block's language name or alias, or null when not offered. */
export function languageName(language: string): string | null {
  if (!language || !/^[\w+#.-]{1,32}$/.test(language)) return null;
  const lower = language.toLowerCase();
  if (Object.hasOwn(LANGUAGES, lower)) return lower;
  return Object.hasOwn(ALIASES, lower) ? ALIASES[lower]! : null;
}

/** Changes each time a language becomes available; renders cached before are stale. */
export function highlightVersion(): number {
  return version;
}

/** Calls `listener` whenever a language becomes available; returns the unsubscribe. */
export function onHighlighterLoad(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Loads the core (once) and `name`'s definition; resolves when it is registered (or failed). */
export function loadLanguage(name: string): Promise<void> {
  if (!Object.hasOwn(LANGUAGES, name)) return Promise.resolve();
  const started = loads.get(name);
  if (started) return started;
  core ??= import("highlight.js/lib/core").then((m) => (hljs = m.default));
  const load = Promise.all([core, LANGUAGES[name]!()]).then(
    ([api, lang]) => {
      api.registerLanguage(name, lang.default);
      registered.add(name);
      version++;
      for (const l of listeners) l();
    },
    (err: unknown) => {
      // Offline or a stale deploy: the block stays plain text.
      console.warn({ event: "highlight.load_failed", language: name, error: String(err) });
    },
  );
  loads.set(name, load);
  return load;
}

/**
 * Highlighted HTML for `code` in `language` (a name or alias); plain escaped text if unknown,
 * too long, or not loaded yet (then loading starts).
 */
export function highlightCode(code: string, language: string): { html: string; language: string | null } {
  const name = languageName(language);
  if (!name || code.length > MAX_HIGHLIGHT) return { html: escape(code), language: null };
  if (!hljs || !registered.has(name)) {
    void loadLanguage(name);
    return { html: escape(code), language: null };
  }
  try {
    const lower = language.toLowerCase();
    return { html: hljs.highlight(code, { language: lower, ignoreIllegals: true }).value, language: lower };
  } catch {
    return { html: escape(code), language: null };
  }
}
