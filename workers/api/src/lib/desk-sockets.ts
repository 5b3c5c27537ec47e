/**
 * Visitors' socket tickets: a visitor has no cookie on Woxly's origin that a WebSocket could
 * carry, so `POST /api/widget/sockets` (Bearer visitor token) hands out short-lived tickets,
 * one per socket, each naming its party, its room and the visitor:
 *   base64url(JSON payload) "." base64url(HMAC-SHA256(payload))
 * The HMAC key is derived with HKDF from PASSWORD_PEPPER under a label of its own. A ticket
 * is good for SOCKET_TICKET_TTL_MS; the upgrade still checks the visitor and their ticket in
 * D1, so a ticket outliving its visitor opens nothing.
 */
import { z } from "zod";
import { SOCKET_TICKET_TTL_MS } from "../../../shared/desk";
import { fromBase64url, timingSafeEqual, toBase64url } from "../../../core/crypto";

const enc = new TextEncoder();
const dec = new TextDecoder();

export const DESK_PARTY = "support-desk";
export const ROOM_PARTY = "channel-room";

const Payload = z.strictObject({
  /** party: support-desk or channel-room */
  p: z.enum([DESK_PARTY, ROOM_PARTY]),
  /** room: the desk id or the ticket's channel id */
  r: z.string().min(1).max(64),
  /** the visitor id */
  v: z.string().min(1).max(64),
  /** expiry, ms since the epoch */
  e: z.number(),
});
export type SocketTicket = z.infer<typeof Payload>;

const keys = new Map<string, Promise<CryptoKey>>();
function key(secret: string): Promise<CryptoKey> {
  let k = keys.get(secret);
  if (!k) {
    k = (async () => {
      const base = await crypto.subtle.importKey("raw", enc.encode(secret), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: enc.encode("woxly desk socket ticket v1") },
        base,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      );
    })();
    keys.set(secret, k);
  }
  return k;
}


async function mac(secret: string, body: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await key(secret), enc.encode(body)));
}

/** A signed ticket for one socket of a visitor, good for SOCKET_TICKET_TTL_MS from `now` (ms). */
export async function signSocketTicket(secret: string, t: Omit<SocketTicket, "e">, now = Date.now()): Promise<string> {
  const body = toBase64url(enc.encode(JSON.stringify({ ...t, e: now + SOCKET_TICKET_TTL_MS })));
  return `${body}.${toBase64url(await mac(secret, body))}`;
}

/** The ticket's payload when its signature holds, it has not expired and it names this party and room; else null. */
export async function openSocketTicket(secret: string, ticket: string, party: string, room: string, now = Date.now()): Promise<SocketTicket | null> {
  if (ticket.length > 1024) return null;
  const [body, sig, extra] = ticket.split(".");
  if (!body || !sig || extra !== undefined) return null;
  const given = fromBase64url(sig);
  if (!given || !timingSafeEqual(given, await mac(secret, body))) return null;
  const raw = fromBase64url(body);
  if (!raw) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(dec.decode(raw));
  } catch {
    return null;
  }
  const r = Payload.safeParse(parsed);
  if (!r.success || r.data.e < now || r.data.p !== party || r.data.r !== room) return null;
  return r.data;
}
