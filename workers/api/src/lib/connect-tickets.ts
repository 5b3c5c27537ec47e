/**
 * Connect tickets for channel rooms (workers/shared/realtime.ts CONNECT_TICKET_PARAM): a
 * reconnect that carries one is let through on its signature alone, so a reconnect storm
 * costs no D1 round trip. Signed like the desk's socket tickets (desk-sockets.ts:
 * base64url(JSON) "." base64url(HMAC-SHA256), key derived from PASSWORD_PEPPER under a label
 * of its own). A ticket is minted only from a full check — the session, then the policy's
 * `canChat` — and carries what that check found. Revocation is the room's: it refuses a
 * ticket issued before the last access change it saw (ChannelRoom, close TICKET_STALE).
 */
import { z } from "zod";
import { CONNECT_TICKET_TTL_MS, type ConnectionIdentity } from "../../../shared/realtime";
import { openPayload, signPayload } from "./desk-sockets";

const LABEL = "woxly connect ticket v1";

const Payload = z.strictObject({
  /** the room (channel id) */
  r: z.string().min(1).max(64),
  /** user id, username, display name */
  u: z.string().min(1).max(64),
  n: z.string(),
  d: z.string(),
  /** session id (hash) */
  s: z.string().min(1).max(128),
  /** community id, or null for DMs */
  c: z.string().min(1).max(64).nullable(),
  /** permissions in the room when it was issued (decimal string) */
  m: z.string().regex(/^\d{1,40}$/),
  /** issued at and expires at, ms since the epoch */
  i: z.number().int().nonnegative(),
  e: z.number().int().nonnegative(),
});

/**
 * A ticket for `identity` in `room`. `checkedAt` (ms) must be taken *before* the access check
 * it rests on: the room treats the ticket as issued then, so a change that check could have
 * missed is never older than the ticket.
 */
export function signConnectTicket(secret: string, room: string, identity: ConnectionIdentity, checkedAt: number): Promise<string> {
  return signPayload(secret, LABEL, {
    r: room,
    u: identity.userId,
    n: identity.username,
    d: identity.displayName,
    s: identity.sessionId,
    c: identity.communityId,
    m: identity.perms,
    i: checkedAt,
    e: checkedAt + CONNECT_TICKET_TTL_MS,
  } satisfies z.infer<typeof Payload>);
}

/** The identity and issue time of a ticket for `room` whose signature holds and which has not expired; else null. */
export async function openConnectTicket(
  secret: string,
  token: string,
  room: string,
  now = Date.now(),
): Promise<{ identity: ConnectionIdentity; issuedAt: number } | null> {
  const t = await openPayload(secret, LABEL, token, Payload);
  if (!t || t.r !== room || t.e <= now || t.i > now + 60_000) return null;
  return { identity: { userId: t.u, username: t.n, displayName: t.d, sessionId: t.s, communityId: t.c, perms: t.m }, issuedAt: t.i };
}
