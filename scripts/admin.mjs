// `npm run admin -- reset-link <username> [--remote]`: a password-reset link written straight
// into D1 with `wrangler d1 execute`, for when nobody who could issue one on /admin can log in
// (the owner forgot their password). Same shape as the app's links (docs/admin.md): 256 random
// bits, only the SHA-256 stored, single use, one hour.
import { createHash, randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
/** How long a link works, ms (RESET_LINK_TTL_MS in workers/shared/admin.ts). */
export const RESET_LINK_TTL_MS = 60 * 60_000;
const USERNAME_RE = /^[\p{L}\p{N}_.-]{2,32}$/u;

/** Crockford base32 as workers/shared/ids.ts writes it. */
export function base32(bytes) {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The SQL that replaces `username`'s reset links with one for `token`. The username is checked
 * against the app's username rule first, so nothing in it can leave the quoted string.
 */
export function resetLinkSql(username, token, now = Date.now()) {
  const key = username.trim().normalize("NFKC").toLowerCase();
  if (!USERNAME_RE.test(key)) throw new Error(`not a username: ${JSON.stringify(username)}`);
  const hash = createHash("sha256").update(token).digest("hex");
  const user = `(SELECT id FROM users WHERE username_key = '${key}')`;
  return {
    hash,
    sql:
      `DELETE FROM password_resets WHERE user_id = ${user}; ` +
      `INSERT INTO password_resets (id, user_id, created_by, created_at, expires_at, used_at) ` +
      `SELECT '${hash}', id, 'cli', ${now}, ${now + RESET_LINK_TTL_MS}, NULL FROM users WHERE username_key = '${key}'; ` +
      `SELECT count(*) AS n FROM password_resets WHERE id = '${hash}';`,
  };
}

export function newResetToken() {
  return base32(randomBytes(32));
}
