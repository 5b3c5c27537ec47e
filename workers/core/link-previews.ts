/**
 * Link previews (docs/link-previews.md): unfurling one link into a title, description, site
 * name and image from the page's Open Graph / Twitter / HTML tags, or from the oEmbed
 * document the page links to; the signed image-proxy URLs the previews carry instead of the
 * outside address; and fetching an image for the proxy. Every fetch goes through the SSRF
 * guard (ssrf-guard.ts). Only text leaves here: no markup from the page reaches a client.
 */
import {
  LinkPreview,
  PREVIEW_DESCRIPTION_CHARS,
  PREVIEW_FETCH_TIMEOUT_MS,
  PREVIEW_IMAGE_MAX_BYTES,
  PREVIEW_MAX_REDIRECTS,
  PREVIEW_PAGE_MAX_BYTES,
  PREVIEW_SITE_CHARS,
  PREVIEW_TITLE_CHARS,
  MAX_PREVIEW_URL_CHARS,
} from "../shared/link-previews";
import { fromBase64url, hmacSha256, timingSafeEqual, toBase64url } from "./crypto";
import { DEFAULT_DOH_URL, FetchRefused, checkUrl, guardedFetch, type GuardOptions } from "./ssrf-guard";

/**
 * The settings that change the guard. Both are absent from wrangler.toml: the test
 * configurations set them (vitest.config.ts, the e2e product), never a deploy.
 */
export interface LinkPreviewEnv {
  PASSWORD_PEPPER: string;
  /** "1": loopback hosts pass the guard, on any port, without DNS. Tests only. */
  LINK_PREVIEW_ALLOW_LOOPBACK?: string;
  /** Another DNS-over-HTTPS JSON endpoint (tests: a stand-in on loopback). */
  LINK_PREVIEW_DOH_URL?: string;
}

export function guardOptions(env: LinkPreviewEnv): GuardOptions {
  return { allowLoopback: env.LINK_PREVIEW_ALLOW_LOOPBACK === "1", dohUrl: env.LINK_PREVIEW_DOH_URL || DEFAULT_DOH_URL };
}

/** The path of the image proxy (workers/api/src/routes/link-previews.ts). */
export const IMAGE_PROXY_PATH = "/api/link-previews/image";

// ---------------------------------------------------------------------------------------
// Signed image URLs
// ---------------------------------------------------------------------------------------

const IMAGE_KEY_LABEL = "woxly link-preview image v1";

async function imageSignature(pepper: string, url: string): Promise<Uint8Array> {
  return (await hmacSha256(`${IMAGE_KEY_LABEL}\0${pepper}`, url)).subarray(0, 18);
}

/** The same-origin proxy path for an outside image URL, signed so the proxy fetches nothing else. */
export async function signImageUrl(pepper: string, url: string): Promise<string> {
  const s = toBase64url(await imageSignature(pepper, url));
  return `${IMAGE_PROXY_PATH}?u=${encodeURIComponent(url)}&s=${s}`;
}

/** Whether `s` is the signature of `url`. */
export async function verifyImageUrl(pepper: string, url: string, s: string): Promise<boolean> {
  const given = fromBase64url(s);
  return !!given && timingSafeEqual(given, await imageSignature(pepper, url));
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

/** What a page says about itself. */
export interface PageMeta {
  title: string | null;
  description: string | null;
  siteName: string | null;
  /** Absolute http(s) URL of its image, or null. */
  image: string | null;
  /** Absolute http(s) URL of its JSON oEmbed document, or null. */
  oembed: string | null;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " ", "#39": "'" };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8}|#39);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : Number(e.slice(1));
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : "";
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** Plain text for a preview field: entities decoded, tags, control and bidi characters gone, spaces collapsed, cut to `max`. */
export function cleanText(raw: string | null | undefined, max: number): string | null {
  if (!raw) return null;
  const text = decodeEntities(raw.replace(/<[^>]*>/g, " "))
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  if (!text) return null;
  return text.length > max ? `${text.slice(0, max - 1).trimEnd()}…` : text;
}

function attrs(tag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/g)) {
    const name = m[1]!.toLowerCase();
    if (!out.has(name)) out.set(name, m[2] ?? m[3] ?? m[4] ?? "");
  }
  return out;
}

function absoluteHttp(raw: string | undefined, base: string): string | null {
  if (!raw) return null;
  try {
    const u = new URL(decodeEntities(raw.trim()), base);
    return (u.protocol === "http:" || u.protocol === "https:") && u.href.length <= MAX_PREVIEW_URL_CHARS ? u.href : null;
  } catch {
    return null;
  }
}

/**
 * Reads a page's head: `<meta property|name=og:* / twitter:* / description>`, `<title>` and
 * the JSON oEmbed `<link rel="alternate">`. A plain scan of tags, not a DOM: only attribute
 * values and the title's text are taken, as text.
 */
export function parsePage(html: string, baseUrl: string): PageMeta {
  // Only the head matters; a body's tags (and scripts' strings) are not the page's own words.
  const headEnd = html.search(/<body[\s>]/i);
  const head = (headEnd >= 0 ? html.slice(0, headEnd) : html).replace(/<!--[\s\S]*?-->|<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/gi, "");
  const meta = new Map<string, string>();
  let oembed: string | null = null;
  for (const m of head.matchAll(/<(meta|link)\b((?:[^>"']|"[^"]*"|'[^']*')*)>/gi)) {
    const a = attrs(m[2]!);
    if (m[1]!.toLowerCase() === "meta") {
      const key = (a.get("property") ?? a.get("name") ?? "").toLowerCase();
      const content = a.get("content");
      if (key && content !== undefined && !meta.has(key)) meta.set(key, content);
    } else if (!oembed && /(^|\s)alternate(\s|$)/i.test(a.get("rel") ?? "") && (a.get("type") ?? "").toLowerCase() === "application/json+oembed") {
      oembed = absoluteHttp(a.get("href"), baseUrl);
    }
  }
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(head)?.[1];
  return {
    title: cleanText(meta.get("og:title") ?? meta.get("twitter:title") ?? title, PREVIEW_TITLE_CHARS),
    description: cleanText(meta.get("og:description") ?? meta.get("twitter:description") ?? meta.get("description"), PREVIEW_DESCRIPTION_CHARS),
    siteName: cleanText(meta.get("og:site_name") ?? meta.get("application-name"), PREVIEW_SITE_CHARS),
    image: absoluteHttp(meta.get("og:image:secure_url") ?? meta.get("og:image") ?? meta.get("og:image:url") ?? meta.get("twitter:image") ?? meta.get("twitter:image:src"), baseUrl),
    oembed,
  };
}

function decode(body: Uint8Array, charset: string | null): string {
  try {
    return new TextDecoder(charset ?? "utf-8").decode(body);
  } catch {
    return new TextDecoder("utf-8").decode(body);
  }
}

const PAGE_FETCH = {
  accept: "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
  contentType: (t: string) => t === "text/html" || t === "application/xhtml+xml",
  maxBytes: PREVIEW_PAGE_MAX_BYTES,
  overflow: "truncate" as const,
  timeoutMs: PREVIEW_FETCH_TIMEOUT_MS,
  maxRedirects: PREVIEW_MAX_REDIRECTS,
};

const OEMBED_FETCH = {
  ...PAGE_FETCH,
  accept: "application/json",
  contentType: (t: string) => t === "application/json" || t === "application/json+oembed" || t === "text/json",
  maxBytes: 64 * 1024,
  overflow: "refuse" as const,
};

/** Fields of an oEmbed document that a preview uses (others are ignored; `html` never). */
interface OEmbed {
  title?: unknown;
  author_name?: unknown;
  provider_name?: unknown;
  thumbnail_url?: unknown;
}

async function readOEmbed(url: string, opts: GuardOptions): Promise<OEmbed | null> {
  try {
    const got = await guardedFetch(url, OEMBED_FETCH, opts);
    const parsed: unknown = JSON.parse(decode(got.body, got.charset));
    return parsed && typeof parsed === "object" ? (parsed as OEmbed) : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/**
 * Unfurls one link: the page through the guard, its tags, and where the page has no title or
 * image its oEmbed document. Null when nothing worth showing was found or the fetch was
 * refused or failed (the reason is logged by the caller from `FetchRefused`).
 */
export async function unfurl(link: string, env: LinkPreviewEnv): Promise<LinkPreview | null> {
  const opts = guardOptions(env);
  const page = await guardedFetch(link, PAGE_FETCH, opts);
  const meta = parsePage(decode(page.body, page.charset), page.url);
  let { title, image, siteName } = meta;
  if (meta.oembed && (!title || !image)) {
    const o = await readOEmbed(meta.oembed, opts);
    if (o) {
      title ??= cleanText(str(o.title), PREVIEW_TITLE_CHARS);
      siteName ??= cleanText(str(o.provider_name) ?? str(o.author_name), PREVIEW_SITE_CHARS);
      image ??= absoluteHttp(str(o.thumbnail_url) ?? undefined, meta.oembed);
    }
  }
  if (!title && !meta.description) return null;
  // An image the proxy would refuse anyway (a private literal address, a port) is not offered.
  if (image && !passes(image, opts)) image = null;
  return LinkPreview.parse({
    url: link,
    title,
    description: meta.description,
    siteName,
    image: image ? await signImageUrl(env.PASSWORD_PEPPER, image) : null,
  });
}

function passes(url: string, opts: GuardOptions): boolean {
  try {
    checkUrl(url, opts);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Images (for the proxy)
// ---------------------------------------------------------------------------------------

/** Image types the proxy passes on, each proven by its first bytes. SVG never (it can script). */
const IMAGE_MAGIC: [string, (b: Uint8Array) => boolean][] = [
  ["image/png", (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47],
  ["image/jpeg", (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ["image/gif", (b) => b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38],
  ["image/webp", (b) => b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50],
  ["image/avif", (b) => String.fromCharCode(...b.subarray(4, 12)) === "ftypavif"],
];
const IMAGE_TYPES = new Set(IMAGE_MAGIC.map(([t]) => t));

/**
 * Fetches an image for the proxy through the guard: at most PREVIEW_IMAGE_MAX_BYTES, a
 * declared raster type that its bytes prove. Returns the bytes and the proven type.
 */
export async function fetchPreviewImage(url: string, env: LinkPreviewEnv): Promise<{ body: Uint8Array; contentType: string }> {
  const got = await guardedFetch(
    url,
    {
      accept: "image/avif,image/webp,image/png,image/jpeg,image/gif",
      contentType: (t) => IMAGE_TYPES.has(t) || t === "image/jpg",
      maxBytes: PREVIEW_IMAGE_MAX_BYTES,
      overflow: "refuse",
      timeoutMs: PREVIEW_FETCH_TIMEOUT_MS,
      maxRedirects: PREVIEW_MAX_REDIRECTS,
    },
    guardOptions(env),
  );
  const proven = IMAGE_MAGIC.find(([, test]) => test(got.body))?.[0];
  if (!proven) throw new FetchRefused("content_type", `${got.mediaType} not proven by its bytes`);
  return { body: got.body, contentType: proven };
}
