/**
 * Message markdown → safe HTML in the browser: the DOM-free core (./render-core.ts: marked,
 * its extensions and the allowlist) with DOMPurify as the sanitizer — the only way user text
 * becomes markup in the app. The server's first screen uses the same core with sanitize-html
 * (web/src/lib/server/sanitize.ts). Components that show code blocks re-render through
 * ./live.svelte.ts once highlight.js is in.
 */
import DOMPurify, { type DOMPurify as Purifier } from "dompurify";
import { ALLOWED_ATTR, ALLOWED_TAGS, LINK_REL, SAFE_URL, allowedAttribute, markdownRenderer } from "./render-core";

export { escapeHtml, isEmojiOnly, LINK_REL, type MentionNames } from "./render-core";

let purifier: Purifier | null = null;

function purify(): Purifier {
  if (purifier) return purifier;
  const p = DOMPurify(window);
  p.addHook("uponSanitizeAttribute", (node, data) => {
    const tag = node.nodeName.toLowerCase();
    const classes = [...((node as Element).classList ?? [])];
    const kept = allowedAttribute(tag, data.attrName, data.attrValue, classes);
    if (kept === null) data.keepAttr = false;
    else {
      data.attrValue = kept;
      // Same-origin emoji images: kept past DOMPurify's URL check, which allows absolute http(s) alone.
      if (data.attrName === "src") data.forceKeepAttr = true;
    }
  });

  p.addHook("afterSanitizeAttributes", (node) => {
    // An <img> survives only as a custom emoji with its own-URL src (no tracking pixels, no remote images).
    if (node.nodeName === "IMG" && !(node as Element).hasAttribute("src")) node.parentNode?.removeChild(node);
    if (node.nodeName === "A") {
      const a = node as HTMLAnchorElement;
      if (a.hasAttribute("href")) {
        a.setAttribute("target", "_blank");
        a.setAttribute("rel", LINK_REL);
        if (!a.hasAttribute("title")) a.setAttribute("title", a.getAttribute("href")!);
      }
    }
  });
  purifier = p;
  return p;
}

/** Sanitizes HTML made by this module (or anything else) for insertion with {@html}. */
export function sanitize(html: string): string {
  return purify().sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOWED_URI_REGEXP: SAFE_URL,
    // Not URLs: kept as plain values (checked by the hook above), else DOMPurify drops them.
    // Values that are no URLs, each checked by allowedAttribute (a spoiler's tabindex, a list's
    // start, an emoji's draggable); without these DOMPurify drops them for not looking like URLs.
    ADD_URI_SAFE_ATTR: ["data-mention", "data-id", "tabindex", "start", "draggable"],
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    ALLOW_UNKNOWN_PROTOCOLS: false,
    RETURN_TRUSTED_TYPE: false,
  });
}

/** A message's content as sanitized HTML, cached (render-core.ts `parseMarkdown` for the arguments); reply previews and search context through `renderInline`. */
export const { renderMarkdown, renderInline } = markdownRenderer(sanitize);
