/**
 * The markdown core's output made safe without a DOM (the channel's first screen is rendered
 * on the server, web/src/lib/server/first-screen.ts): sanitize-html with the allowlist of
 * ../markdown/render-core.ts — the same tags, attributes, classes and URL schemes, and the same
 * per-attribute rules (`allowedAttribute`) DOMPurify applies in the browser (../markdown/render.ts).
 * markdown.test.ts checks both give the same DOM for the XSS corpus and the markdown samples.
 */
import sanitizeHtml from "sanitize-html";
import { ALLOWED_ATTR, ALLOWED_TAGS, LINK_REL, SAFE_URL, allowedAttribute, markdownRenderer } from "../markdown/render-core";

/**
 * DOMPurify's rule, kept for the same output: an allowed attribute that is not in its
 * URI-safe list (its defaults + ADD_URI_SAFE_ATTR in render.ts) keeps only a value its URL
 * pattern accepts. A spoiler's tabindex, a list's start and an emoji's draggable are in both
 * lists (allowedAttribute checks them).
 */
const URI_SAFE = new Set(["alt", "class", "role", "title", "data-mention", "data-id", "tabindex", "start", "draggable"]);
const URI_CHECKED = new Set(["href", "src"]);

const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: ALLOWED_TAGS,
  // target and rel are set on links below (DOMPurify's afterSanitizeAttributes hook does the same).
  allowedAttributes: { "*": ALLOWED_ATTR, a: [...ALLOWED_ATTR, "target", "rel"] },
  allowedSchemes: ["http", "https", "mailto"],
  allowedSchemesByTag: {},
  allowedSchemesAppliedToAttributes: ["href", "src"],
  allowProtocolRelative: false,
  allowVulnerableTags: false,
  disallowedTagsMode: "discard",
  // No style attribute is ever kept, so none is parsed (the server build has no postcss: vite.config.ts).
  parseStyleAttributes: false,
  // Attribute values reach the rules decoded (as a DOM would see them) and are escaped again on output.
  parser: { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  transformTags: {
    "*": (tagName, attribs) => {
      const classes = (attribs["class"] ?? "").split(/\s+/).filter(Boolean);
      const kept: sanitizeHtml.Attributes = {};
      for (const [name, value] of Object.entries(attribs)) {
        if (!ALLOWED_ATTR.includes(name)) continue;
        const v = allowedAttribute(tagName, name, value, classes);
        if (v === null) continue;
        if (!URI_SAFE.has(name) && !URI_CHECKED.has(name) && v && !SAFE_URL.test(v.replace(/[\u0000-\u0020\u00A0\u1680\u180E\u2000-\u2029\u205F\u3000]/g, ""))) continue;
        kept[name] = v;
      }
      if (tagName === "a" && kept["href"]) {
        kept["target"] = "_blank";
        kept["rel"] = LINK_REL;
        kept["title"] ??= kept["href"];
      }
      return { tagName, attribs: kept };
    },
  },
  // An <img> survives only as a custom emoji with its own-URL src (no tracking pixels, no remote images).
  exclusiveFilter: (frame) => frame.tag === "img" && !frame.attribs["src"],
};

/** Sanitizes HTML for the first screen's markup (same allowlist as the browser's `sanitize`). */
export function sanitizeOnServer(html: string): string {
  return sanitizeHtml(html, OPTIONS);
}

/** Markdown → safe HTML on the server, cached per content and names like the browser's. */
export const { renderMarkdown: renderMarkdownOnServer } = markdownRenderer(sanitizeOnServer, 500);
