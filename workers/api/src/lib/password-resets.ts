/**
 * Password-reset links an instance admin issues (no email service needed): a 256-bit random
 * token, only its SHA-256 stored (`password_resets`), single use, RESET_LINK_TTL_MS long.
 * Issuing one drops the user's older links. Using one sets the password, ends every session
 * of the user and closes their sockets (the same path as "log out everywhere").
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import { RESET_LINK_TTL_MS } from "../../../shared/admin";
import { randomToken } from "../../../shared/ids";
import { sha256Hex } from "../../../core/crypto";
import type { Db } from "../../../core/db";
import { passwordResets, users } from "../../../core/schema";

export async function issueResetLink(db: Db, userId: string, byUserId: string, now = Date.now()) {
  const token = randomToken(256);
  const expiresAt = now + RESET_LINK_TTL_MS;
  await db.batch([
    db.delete(passwordResets).where(eq(passwordResets.userId, userId)),
    db.insert(passwordResets).values({ id: await sha256Hex(token), userId, createdBy: byUserId, createdAt: now, expiresAt, usedAt: null }),
  ]);
  // A fragment, not a path or query: browsers never send it, so no log or Referer holds the token.
  return { path: `/reset#${token}`, expiresAt };
}

/** The account a live (unused, unexpired) link is for, or undefined. */
export async function liveResetLink(db: Db, token: string, now = Date.now()) {
  const rows = await db
    .select({ userId: passwordResets.userId, expiresAt: passwordResets.expiresAt, username: users.username, bannedAt: users.bannedAt })
    .from(passwordResets)
    .innerJoin(users, eq(users.id, passwordResets.userId))
    .where(and(eq(passwordResets.id, await sha256Hex(token)), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, now)))
    .limit(1);
  return rows[0];
}

/**
 * Marks the link used, atomically (one UPDATE … RETURNING): of two requests racing with the
 * same link only one gets the user id; the other gets undefined.
 */
export async function consumeResetLink(db: Db, token: string, now = Date.now()): Promise<string | undefined> {
  const rows = await db
    .update(passwordResets)
    .set({ usedAt: now })
    .where(and(eq(passwordResets.id, await sha256Hex(token)), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, now)))
    .returning({ userId: passwordResets.userId });
  return rows[0]?.userId;
}
