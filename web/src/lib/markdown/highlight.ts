/**
 * Code-block highlighting: highlight.js core with the languages people paste most. Output is
 * escaped text in `<span class="hljs-…">` and still goes through the sanitizer.
 */
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import css from "highlight.js/lib/languages/css";
import diff from "highlight.js/lib/languages/diff";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";

const LANGUAGES = { bash, c, cpp, css, diff, go, java, javascript, json, python, rust, sql, typescript, xml, yaml };
for (const [name, lang] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, lang);

/** Longest code block highlighted, UTF-16 code units (longer ones are shown plain). */
const MAX_HIGHLIGHT = 20_000;

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);
}

/** Highlighted HTML for `code` in `language` (a name or alias); plain escaped text if unknown. */
export function highlightCode(code: string, language: string): { html: string; language: string | null } {
  const lang = language && /^[\w+#.-]{1,32}$/.test(language) ? hljs.getLanguage(language) : undefined;
  if (!lang || code.length > MAX_HIGHLIGHT) return { html: escape(code), language: null };
  try {
    const name = language.toLowerCase();
    return { html: hljs.highlight(code, { language: name, ignoreIllegals: true }).value, language: name };
  } catch {
    return { html: escape(code), language: null };
  }
}
