/**
 * Link previews (docs/link-previews.md): what a message's first links unfurl into, the client
 * frame that removes one, the query of the image proxy, and the pure helpers the room and the
 * web app share (which links a message unfurls). zod schemas with inferred types; no
 * cloudflare:* or DOM imports.
 */
import { z } from "zod";
import { Ref } from "./realtime";

/** Links of one message that unfurl (the first ones, in the order written). */
export const MAX_PREVIEWS_PER_MESSAGE = 3;
/** Longest URL that is unfurled, characters. */
export const MAX_PREVIEW_URL_CHARS = 2048;
/** Longest title kept, UTF-16 code units. */
export const PREVIEW_TITLE_CHARS = 200;
/** Longest description kept, UTF-16 code units. */
export const PREVIEW_DESCRIPTION_CHARS = 400;
/** Longest site name kept, UTF-16 code units. */
export const PREVIEW_SITE_CHARS = 100;
/** Most of a page read to find its tags, bytes; reading stops there. */
export const PREVIEW_PAGE_MAX_BYTES = 512 * 1024;
/** Largest image the proxy passes on, bytes. */
export const PREVIEW_IMAGE_MAX_BYTES = 5 * 1024 * 1024;
/** Longest one fetch (all its redirects included) may take, ms. */
export const PREVIEW_FETCH_TIMEOUT_MS = 5000;
/** Redirects followed (each hop checked again). */
export const PREVIEW_MAX_REDIRECTS = 3;

/** The link as written (http or https only). */
export const PreviewUrl = z
  .string()
  .min(1)
  .max(MAX_PREVIEW_URL_CHARS)
  .regex(/^https?:\/\//i, { message: "not an http(s) link" });

/** One unfurled link. Text only: the page's markup never reaches a client. */
export const LinkPreview = z.object({
  /** The link as written in the message (what a removal names). */
  url: PreviewUrl,
  title: z.string().max(PREVIEW_TITLE_CHARS).nullable(),
  description: z.string().max(PREVIEW_DESCRIPTION_CHARS).nullable(),
  siteName: z.string().max(PREVIEW_SITE_CHARS).nullable(),
  /**
   * The page's image through Woxly's image proxy: a same-origin path
   * (`/api/link-previews/image?u=…&s=…`, signed), never the outside address.
   */
  image: z.string().startsWith("/api/link-previews/image?").max(8192).nullable(),
});
export type LinkPreview = z.infer<typeof LinkPreview>;

/** Client → room: remove one preview from a message (its author, or MANAGE_MESSAGES). */
export const PreviewRemoveFrame = z.strictObject({
  type: z.literal("preview.remove"),
  ref: Ref,
  messageId: z.string().regex(/^[0-9A-Za-z_-]{1,64}$/, { message: "not an id" }),
  url: PreviewUrl,
});
export type PreviewRemoveFrame = z.infer<typeof PreviewRemoveFrame>;

/** GET /api/link-previews/image?u=<url>&s=<signature> */
export const PreviewImageQuery = z.strictObject({
  u: PreviewUrl,
  /** base64url HMAC of `u` (workers/core/link-previews.ts signImageUrl). */
  s: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/),
});

/**
 * The links a message unfurls: http(s) links outside inline code and code blocks, not
 * wrapped in `<…>` (the writer's way to say "no preview"), without trailing punctuation,
 * each once, the first MAX_PREVIEWS_PER_MESSAGE.
 */
export function previewLinks(content: string): string[] {
  const prose = content.replace(/```[\s\S]*?```|`[^`\n]*`/g, " ");
  const out: string[] = [];
  for (const m of prose.matchAll(/(<)?\b(https?:\/\/[^\s<>"'`]+)/gi)) {
    if (m[1]) continue;
    let url = m[2]!;
    // Trailing punctuation is the sentence's, and an unmatched ")" the parenthesis's.
    for (;;) {
      const before = url;
      url = url.replace(/[.,!?;:'"*_~]+$/, "");
      if (url.endsWith(")") && (url.match(/\(/g)?.length ?? 0) < (url.match(/\)/g)?.length ?? 0)) url = url.slice(0, -1);
      if (url === before) break;
    }
    if (url.length > MAX_PREVIEW_URL_CHARS || /^https?:\/\/$/i.test(url) || out.includes(url)) continue;
    out.push(url);
    if (out.length >= MAX_PREVIEWS_PER_MESSAGE) break;
  }
  return out;
}
