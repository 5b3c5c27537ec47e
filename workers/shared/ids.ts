/**
 * Ids: 48 bits of time (ms) then 80 random bits, base32 (Crockford) so they sort by
 * creation time and stay URL-safe. 26 characters.
 */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

export function newId(now: number = Date.now()): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes.subarray(6));
  let t = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = t & 0xff;
    t = Math.floor(t / 256);
  }
  return base32(bytes).slice(0, 26);
}

/** Random url-safe token with `bits` bits of entropy (a multiple of 8). */
export function randomToken(bits = 256): string {
  const bytes = new Uint8Array(bits / 8);
  crypto.getRandomValues(bytes);
  return base32(bytes);
}

export function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bitsInBuffer = 0;
  for (const b of bytes) {
    buffer = (buffer << 8) | b;
    bitsInBuffer += 8;
    while (bitsInBuffer >= 5) {
      out += ALPHABET[(buffer >>> (bitsInBuffer - 5)) & 31];
      bitsInBuffer -= 5;
    }
    buffer &= (1 << bitsInBuffer) - 1;
  }
  if (bitsInBuffer > 0) out += ALPHABET[(buffer << (5 - bitsInBuffer)) & 31];
  return out;
}
