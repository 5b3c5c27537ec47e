/**
 * Guests of call links: their cookie (`__Host-woxly_guest`, or plain `woxly_guest` on
 * http://localhost as lib/sessions.ts does for the session), a 256-bit token stored as its
 * SHA-256 and bound to one link for GUEST_SESSION_TTL_MS, and the identity their sockets carry.
 */
import type { Context } from "hono";
import { setCookie } from "hono/cookie";
import { parse } from "hono/utils/cookie";
import { GUEST_COOKIE, GUEST_SESSION_TTL_MS, guestPersonId } from "../../../shared/call-links";
import { newId, randomToken } from "../../../shared/ids";
import type { ConnectionIdentity } from "../../../shared/realtime";
import { type CallGuestRow, guestByToken } from "../../../core/call-links";
import { sha256Hex } from "../../../core/crypto";
import type { Db } from "../../../core/db";
import { callGuests } from "../../../core/schema";
import { cookiePrefix, isInsecureLocal } from "./sessions";

/** The guest token a request carries: only the cookie name `setGuestCookie` uses for that URL (see sessionTokenFrom). */
export function guestTokenFrom(cookieHeader: string | null, url: string): string | undefined {
  const name = isInsecureLocal(url) ? GUEST_COOKIE : `__Host-${GUEST_COOKIE}`;
  return parse(cookieHeader ?? "", name)[name] || undefined;
}

/** The live guest of a request's cookie, or undefined. */
export async function guestOf(db: Db, req: Request): Promise<CallGuestRow | undefined> {
  const token = guestTokenFrom(req.headers.get("cookie"), req.url);
  return token ? guestByToken(db, token) : undefined;
}

/** A new guest of `linkId`: the row and the cookie's token (shown once). */
export async function createGuest(db: Db, linkId: string, name: string, now = Date.now()): Promise<{ guest: CallGuestRow; token: string }> {
  const token = randomToken(256);
  const guest: CallGuestRow = { id: newId(now), linkId, name, tokenHash: await sha256Hex(token), createdAt: now, expiresAt: now + GUEST_SESSION_TTL_MS };
  await db.insert(callGuests).values(guest);
  return { guest, token };
}

export function setGuestCookie(c: Context, token: string): void {
  setCookie(c, GUEST_COOKIE, token, {
    httpOnly: true,
    secure: !isInsecureLocal(c.req.url),
    sameSite: "Lax",
    path: "/",
    maxAge: GUEST_SESSION_TTL_MS / 1000,
    ...cookiePrefix(c.req.url),
  });
}

/** What a guest's socket tells an object: no account, their one link's CallLink and chat. */
export function guestIdentity(g: CallGuestRow, perms: string): ConnectionIdentity {
  return {
    userId: guestPersonId(g.id),
    username: "guest",
    displayName: g.name,
    communityId: null,
    perms,
    sessionId: g.tokenHash,
    kind: "guest",
  };
}
