/**
 * Password hashing: PBKDF2-SHA256 through WebCrypto at 100,000 iterations (the Workers
 * cap), a 16-byte per-user salt, and a pepper from the PASSWORD_PEPPER secret mixed in with
 * HMAC. Stored self-describing so the scheme can be raised later:
 *   pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>
 */
import { fromBase64, hmacSha256, timingSafeEqual, toBase64 } from "../../../core/crypto";

export const PBKDF2_ITERATIONS = 100_000;
const SCHEME = "pbkdf2-sha256";
const HASH_BYTES = 32;

async function derive(password: string, pepper: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const peppered = await hmacSha256(pepper, password);
  const key = await crypto.subtle.importKey("raw", peppered, "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    HASH_BYTES * 8,
  );
  return new Uint8Array(bits);
}

export async function hashPassword(password: string, pepper: string): Promise<string> {
  const salt = new Uint8Array(16);
  crypto.getRandomValues(salt);
  const hash = await derive(password, pepper, salt, PBKDF2_ITERATIONS);
  return `${SCHEME}$${PBKDF2_ITERATIONS}$${toBase64(salt)}$${toBase64(hash)}`;
}

/** A well-formed hash of a random password, checked when the user does not exist so both cases cost the same. */
export const DUMMY_HASH = `${SCHEME}$${PBKDF2_ITERATIONS}$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`;

export async function verifyPassword(password: string, stored: string, pepper: string): Promise<boolean> {
  const [scheme, iterText, saltB64, hashB64] = stored.split("$");
  if (scheme !== SCHEME || !iterText || !saltB64 || !hashB64) return false;
  const iterations = Number(iterText);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > PBKDF2_ITERATIONS) return false;
  const expected = fromBase64(hashB64);
  const actual = await derive(password, pepper, fromBase64(saltB64), iterations);
  return timingSafeEqual(actual, expected);
}

let commonPasswords: Set<string> | undefined;

/** True for passwords in zxcvbn-ts's list of the ~30,000 most common ones (compared in lower case). */
export async function isCommonPassword(password: string): Promise<boolean> {
  if (!commonPasswords) {
    const mod = await import("@zxcvbn-ts/language-common/dist/passwords.json.mjs");
    commonPasswords = new Set(mod.default);
  }
  return commonPasswords.has(password.toLowerCase());
}
