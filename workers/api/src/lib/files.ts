/**
 * Uploaded files: what their bytes say they are (magic numbers), image dimensions from the
 * headers of PNG, JPEG, GIF and WebP, and safe file names. Only a type recognised here is
 * ever served inline; everything else is a download.
 */
import { ApiError } from "../../../shared/errors";
import { DEFAULT_MAX_ATTACHMENT_BYTES } from "../../../shared/chat";

export type MediaKind = "image" | "audio" | "video";

const ascii = (b: Uint8Array, at: number, s: string) => [...s].every((ch, i) => b[at + i] === ch.charCodeAt(0));
const be16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const le16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const be32 = (b: Uint8Array, at: number) => ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
const le24 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);

/** Media types recognised by their bytes; the only types served inline. */
export const INLINE_TYPES = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "audio/mpeg",
  "audio/ogg",
  "audio/wav",
  "audio/flac",
  "audio/mp4",
  "video/mp4",
  "video/quicktime",
  "video/webm",
]);

/** The media type the bytes prove, or null. */
export function sniffMedia(b: Uint8Array): { type: string; kind: MediaKind } | null {
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, "PNG\r\n\x1a\n")) return { type: "image/png", kind: "image" };
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { type: "image/jpeg", kind: "image" };
  if (b.length >= 6 && (ascii(b, 0, "GIF87a") || ascii(b, 0, "GIF89a"))) return { type: "image/gif", kind: "image" };
  if (b.length >= 12 && ascii(b, 0, "RIFF") && ascii(b, 8, "WEBP")) return { type: "image/webp", kind: "image" };
  if (b.length >= 12 && ascii(b, 0, "RIFF") && ascii(b, 8, "WAVE")) return { type: "audio/wav", kind: "audio" };
  if (b.length >= 4 && ascii(b, 0, "fLaC")) return { type: "audio/flac", kind: "audio" };
  if (b.length >= 4 && ascii(b, 0, "OggS")) return { type: "audio/ogg", kind: "audio" };
  if (b.length >= 3 && ascii(b, 0, "ID3")) return { type: "audio/mpeg", kind: "audio" };
  if (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0 && (b[1]! & 0x06) !== 0) return { type: "audio/mpeg", kind: "audio" };
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return { type: "video/webm", kind: "video" };
  if (b.length >= 12 && ascii(b, 4, "ftyp")) {
    if (ascii(b, 8, "M4A ")) return { type: "audio/mp4", kind: "audio" };
    if (ascii(b, 8, "qt  ")) return { type: "video/quicktime", kind: "video" };
    if (/^(isom|iso[2-9]|mp4[12]|avc1|M4V |dash|mmp4|f4v )$/.test(String.fromCharCode(...b.subarray(8, 12)))) return { type: "video/mp4", kind: "video" };
  }
  return null;
}

/** Width and height (px) from an image's header, or null. */
export function imageSize(b: Uint8Array, type: string): { width: number; height: number } | null {
  try {
    if (type === "image/png" && b.length >= 24 && ascii(b, 12, "IHDR")) return { width: be32(b, 16), height: be32(b, 20) };
    if (type === "image/gif" && b.length >= 10) return { width: le16(b, 6), height: le16(b, 8) };
    if (type === "image/webp" && b.length >= 30) {
      if (ascii(b, 12, "VP8 ") && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) return { width: le16(b, 26) & 0x3fff, height: le16(b, 28) & 0x3fff };
      if (ascii(b, 12, "VP8L") && b[20] === 0x2f) {
        const [b1, b2, b3, b4] = [b[21]!, b[22]!, b[23]!, b[24]!];
        return { width: 1 + (((b2 & 0x3f) << 8) | b1), height: 1 + (((b4 & 0x0f) << 10) | (b3 << 2) | ((b2 & 0xc0) >> 6)) };
      }
      if (ascii(b, 12, "VP8X")) return { width: 1 + le24(b, 24), height: 1 + le24(b, 27) };
      return null;
    }
    if (type === "image/jpeg") return jpegSize(b);
  } catch {
    return null;
  }
  return null;
}

function jpegSize(b: Uint8Array): { width: number; height: number } | null {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // no length
      continue;
    }
    // SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: be16(b, i + 5), width: be16(b, i + 7) };
    }
    if (marker === 0xd9 || marker === 0xda) return null;
    i += 2 + be16(b, i + 2);
  }
  return null;
}

/**
 * The stored content type: the sniffed media type, else the declared type when it is a
 * well-formed non-media type, else application/octet-stream. A declared image/audio/video
 * type the bytes do not prove is never kept.
 */
export function storedContentType(bytes: Uint8Array, declared: string | null): { type: string; media: MediaKind | null } {
  const sniffed = sniffMedia(bytes);
  if (sniffed) return { type: sniffed.type, media: sniffed.kind };
  const d = (declared ?? "").split(";")[0]!.trim().toLowerCase();
  if (/^[a-z0-9][a-z0-9.+-]{0,63}\/[a-z0-9][a-z0-9.+-]{0,127}$/.test(d) && !/^(image|audio|video)\//.test(d)) return { type: d, media: null };
  return { type: "application/octet-stream", media: null };
}

/** A file name safe to store and show: last path segment, no control characters, at most 128 chars. */
export function safeFilename(name: string): string {
  const base = (name.split(/[\\/]/).pop() ?? "")
    .replace(/[\p{Cc}\p{Cf}"<>|*?:]/gu, "_")
    .trim()
    .replace(/^\.+/, "");
  if (!base) return "file";
  if (base.length <= 128) return base;
  const dot = base.lastIndexOf(".");
  const ext = dot > 0 && base.length - dot <= 16 ? base.slice(dot) : "";
  return base.slice(0, 128 - ext.length) + ext;
}

/** `Content-Disposition` with an ASCII fallback and the UTF-8 name (RFC 6266). */
export function contentDisposition(kind: "inline" | "attachment", filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

/** The largest attachment the deployment accepts, bytes (var MAX_ATTACHMENT_BYTES). */
export function maxAttachmentBytes(env: { MAX_ATTACHMENT_BYTES?: string }): number {
  const n = Number(env.MAX_ATTACHMENT_BYTES);
  return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_MAX_ATTACHMENT_BYTES;
}

/** Reads a raw request body, refusing it (413) as soon as it passes `max` bytes. `what` names it in the error. */
export async function readCapped(req: Request, max: number, what = "Files"): Promise<Uint8Array> {
  const tooLarge = () => new ApiError("payload_too_large", `${what} may be at most ${max} bytes.`);
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > max) throw tooLarge();
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * The one check of an uploaded image (community icons, avatars, custom emoji): not empty,
 * a type among `types` proven by its magic bytes (never the declared type), and — when
 * `px` is given — a header whose width and height are exactly `px.exact` or at most
 * `px.max`. Answers the sniffed type and size; 400/415 otherwise.
 */
export function verifyImage(
  bytes: Uint8Array,
  types: readonly string[],
  what: string,
  px?: { exact: number } | { max: number },
): { type: string; width: number | null; height: number | null } {
  if (bytes.byteLength === 0) throw new ApiError("validation_failed", "The body is empty.");
  const type = sniffMedia(bytes)?.type;
  if (!type || !types.includes(type)) {
    const names = types.map((t) => ({ "image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP" })[t] ?? t);
    throw new ApiError("unsupported_media_type", `${what} must be ${names.slice(0, -1).join(", ")}${names.length > 1 ? " or " : ""}${names.at(-1)} images.`);
  }
  const size = imageSize(bytes, type);
  if (px) {
    const okSide = (n: number) => ("exact" in px ? n === px.exact : n >= 1 && n <= px.max);
    if (!size || !okSide(size.width) || !okSide(size.height)) {
      const want = "exact" in px ? `exactly ${px.exact}×${px.exact}` : `at most ${px.max}×${px.max}`;
      throw new ApiError("validation_failed", `${what} must be ${want} pixels.`, { issues: [{ path: ["body"], message: "dimensions" }] });
    }
  }
  return { type, width: size?.width ?? null, height: size?.height ?? null };
}

/** True when a GIF or WebP has more than one frame (a cheap look at its header). */
export function isAnimated(bytes: Uint8Array, type: string): boolean {
  if (type === "image/webp") return bytes.length >= 21 && ascii(bytes, 12, "VP8X") && (bytes[20]! & 0x02) !== 0;
  if (type === "image/gif") {
    // More than one image descriptor (0x2C) after a graphic control extension: count GCEs.
    let n = 0;
    for (let i = 13; i + 2 < bytes.length && n < 2; i++) if (bytes[i] === 0x21 && bytes[i + 1] === 0xf9 && bytes[i + 2] === 0x04) n++;
    return n > 1;
  }
  return false;
}
