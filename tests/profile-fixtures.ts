/** Fixtures for the profile and custom emoji tests: image headers made byte by byte, and raw uploads. */
import type { User } from "./helpers";

const text = (s: string) => [...s].map((c) => c.charCodeAt(0));
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const le16 = (n: number) => [n & 255, (n >>> 8) & 255];

/** A PNG header of the given size (px); the salt changes the bytes (and so the content hash). */
export function png(width: number, height: number, salt = 0): Uint8Array {
  return new Uint8Array([0x89, ...text("PNG\r\n\x1a\n"), ...be32(13), ...text("IHDR"), ...be32(width), ...be32(height), 8, 6, 0, 0, 0, ...be32(salt), 0, 0, 0, 0, ...text("IEND")]);
}

/** A GIF header of the given size (px); `frames` graphic control extensions (2+ = animated). */
export function gif(width: number, height: number, frames = 1): Uint8Array {
  const gce = [0x21, 0xf9, 0x04, 0, 0, 0, 0, 0];
  return new Uint8Array([...text("GIF89a"), ...le16(width), ...le16(height), 0, 0, 0, ...Array.from({ length: frames }, () => gce).flat(), 0x3b]);
}

/** A raw-body upload as `u`. */
export function upload(u: User, method: "PUT" | "POST", path: string, body: Uint8Array, type = "image/png"): Promise<Response> {
  return u.http.fetch(path, { method, body, headers: { "content-type": type } });
}
