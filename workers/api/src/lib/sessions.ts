/**
 * Sessions: 256-bit random tokens in a cookie, stored as their SHA-256. Sliding expiry: a
 * session ends after SESSION_IDLE_MS without use; use refreshes it (at most once a
 * SESSION_TOUCH_MS, to keep D1 writes low).
 */
import { and, eq, gt, ne } from "drizzle-orm";
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { parse } from "hono/utils/cookie";
import { randomToken } from "../../../shared/ids";
import type { Db } from "../../../core/db";
import { sessions, users } from "../../../core/schema";
import { sha256Hex } from "../../../core/crypto";
import { canUseInstance } from "../../../core/policy";

export const SESSION_IDLE_MS = 30 * 24 * 3600 * 1000;
export const SESSION_TOUCH_MS = 3600 * 1000;

/** `__Host-` cookies need https; plain http is allowed only on loopback hosts in development. */
export function isInsecureLocal(url: string): boolean {
  const u = new URL(url);
  return u.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(u.hostname);
}

/** Cookie options by origin: `__Host-` prefix (Secure, Path=/, no Domain) except on http://localhost. */
export function cookiePrefix(url: string): { prefix?: "host" } {
  return isInsecureLocal(url) ? {} : { prefix: "host" };
}

const SESSION_COOKIE = "woxly_session";

export function setSessionCookie(c: Context, token: string): void {
  const insecure = isInsecureLocal(c.req.url);
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    secure: !insecure,
    sameSite: "Lax",
    path: "/",
    maxAge: SESSION_IDLE_MS / 1000,
    ...cookiePrefix(c.req.url),
  });
}

export function clearSessionCookie(c: Context): void {
  const insecure = isInsecureLocal(c.req.url);
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: !insecure, ...cookiePrefix(c.req.url) });
}

/**
 * The session token a request carries, for every entry point (API middleware, WebSocket
 * upgrades, attachment downloads): only the cookie name `setSessionCookie` uses for that
 * URL. Over https that is `__Host-woxly_session`, which a sibling subdomain cannot set; a
 * plain `woxly_session` there may have been tossed in from one and is ignored. Plain http
 * on loopback uses only the plain name.
 */
export function sessionTokenFrom(cookieHeader: string | null, url: string): string | undefined {
  const name = isInsecureLocal(url) ? SESSION_COOKIE : `__Host-${SESSION_COOKIE}`;
  return parse(cookieHeader ?? "", name)[name] || undefined;
}

export function readSessionToken(c: Context): string | undefined {
  return sessionTokenFrom(c.req.header("cookie") ?? null, c.req.url);
}

export async function createSession(db: Db, userId: string, userAgent: string | null, now = Date.now()) {
  const token = randomToken(256);
  const id = await sha256Hex(token);
  await db.insert(sessions).values({
    id,
    userId,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + SESSION_IDLE_MS,
    userAgent: userAgent?.slice(0, 200) ?? null,
  });
  return { token, id };
}

export type SessionUser = typeof users.$inferSelect;

/**
 * Looks up a live session by its cookie token; refreshes its expiry when due. The one way
 * every entry point (API, WebSocket upgrades, downloads, media tokens) finds its user, so an
 * account banned from the instance (policy.ts canUseInstance) has no session anywhere.
 */
export async function loadSession(db: Db, token: string, now = Date.now()) {
  const id = await sha256Hex(token);
  const rows = await db
    .select({ session: sessions, user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, id), gt(sessions.expiresAt, now)))
    .limit(1);
  const row = rows[0];
  if (!row || !canUseInstance(row.user)) return undefined;
  let refreshed = false;
  if (now - row.session.lastSeenAt > SESSION_TOUCH_MS) {
    await db
      .update(sessions)
      .set({ lastSeenAt: now, expiresAt: now + SESSION_IDLE_MS })
      .where(eq(sessions.id, id));
    refreshed = true;
  }
  return { session: row.session, user: row.user, refreshed };
}

export async function endSession(db: Db, sessionId: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.id, sessionId));
}

/** Ends every session of a user, or every one but `keepId`. */
export async function endUserSessions(db: Db, userId: string, keepId?: string): Promise<void> {
  await db
    .delete(sessions)
    .where(keepId ? and(eq(sessions.userId, userId), ne(sessions.id, keepId)) : eq(sessions.userId, userId));
}
