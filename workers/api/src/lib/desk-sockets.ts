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
/** An HMAC-SHA256 key derived with HKDF from `secret` under `label` (one label per kind of signed token). */
export function hmacKey(secret: string, label: string): Promise<CryptoKey> {
  const id = `${label}\u0000${secret}`;
  let k = keys.get(id);
  if (!k) {
    k = (async () => {
      const base = await crypto.subtle.importKey("raw", enc.encode(secret), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: enc.encode(label) },
        base,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      );
    })();
    keys.set(id, k);
  }
  return k;
}

/** `base64url(JSON payload) "." base64url(HMAC)` under the key of `label`. */
export async function signPayload(secret: string, label: string, payload: unknown): Promise<string> {
  const body = toBase64url(enc.encode(JSON.stringify(payload)));
  return `${body}.${toBase64url(await macWith(secret, label, body))}`;
}

/** The payload of a token signed by signPayload under `label` when its signature holds and it parses as `schema`; else null. */
export async function openPayload<T>(secret: string, label: string, token: string, schema: z.ZodType<T>): Promise<T | null> {
  if (token.length > 1024) return null;
  const [body, sig, extra] = token.split(".");
  if (!body || !sig || extra !== undefined) return null;
  const given = fromBase64url(sig);
  if (!given || !timingSafeEqual(given, await macWith(secret, label, body))) return null;
  const raw = fromBase64url(body);
  if (!raw) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(dec.decode(raw));
  } catch {
    return null;
  }
  const r = schema.safeParse(parsed);
  return r.success ? r.data : null;
}

async function macWith(secret: string, label: string, body: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret, label), enc.encode(body)));
}

const SOCKET_LABEL = "woxly desk socket ticket v1";

/** A signed ticket for one socket of a visitor, good for SOCKET_TICKET_TTL_MS from `now` (ms). */
export async function signSocketTicket(secret: string, t: Omit<SocketTicket, "e">, now = Date.now()): Promise<string> {
  return signPayload(secret, SOCKET_LABEL, { ...t, e: now + SOCKET_TICKET_TTL_MS });
}

/** The ticket's payload when its signature holds, it has not expired and it names this party and room; else null. */
export async function openSocketTicket(secret: string, ticket: string, party: string, room: string, now = Date.now()): Promise<SocketTicket | null> {
  const t = await openPayload(secret, SOCKET_LABEL, ticket, Payload);
  if (!t || t.e < now || t.p !== party || t.r !== room) return null;
  return t;
}
