/**
 * What every realtime socket shares, whichever Durable Object it reaches (ChannelRoom,
 * CommunityHub, UserInbox; durable-objects/kit.ts is their one base): the identity the worker
 * hands the object, the size cap on client frames, and the one shape of error frames. Close
 * codes are in close-codes.ts, error codes in errors.ts. Imports nothing of ours but those.
 */
import { z } from "zod";
import { RealtimeErrorCode } from "./errors";

/**
 * What the worker tells a Durable Object about a WebSocket it lets through: set by the
 * worker after checking the session and access, never read from the client. The DO stores
 * it in the connection's state (it survives hibernation).
 */
export const IDENTITY_HEADER = "x-woxly-identity";

/**
 * Connect tickets (channel rooms): after an upgrade checked in full (session cookie, then the
 * policy's access check), the worker signs a short-lived ticket bound to the user, their
 * session, the room and the permissions it found, and the room hands it to the client in
 * `ready`. A reconnect that carries it (`?connect_ticket=`) is let through by the worker on
 * the signature alone — no database round trip — and the room refuses it (close
 * TICKET_STALE, not final) when it was issued before an access change the room has seen:
 * a kick, a ban, a role or overwrite change, a logout. The client then connects once more
 * without it. docs/chat-protocol.md "Connect tickets".
 */
export const CONNECT_TICKET_PARAM = "connect_ticket";
/** How long a connect ticket is good for, ms. */
export const CONNECT_TICKET_TTL_MS = 10 * 60_000;
/** The newly signed ticket the worker hands the room with a fully checked upgrade (never read from a client). */
export const CONNECT_TICKET_HEADER = "x-woxly-connect-ticket";
/** When the ticket an upgrade came with was issued (ms since the epoch; set by the worker, never read from a client). */
export const TICKET_ISSUED_HEADER = "x-woxly-ticket-issued-at";

/**
 * Resume on the upgrade (channel rooms): a reconnecting client puts the last seq it applied in
 * the upgrade URL (`?since=<seq>`), and the room answers the new socket with `ready` and at
 * once what a `hello` with that `lastSeq` would have got (the missed events then `resumed`, or
 * `resync`, or an error frame with `ref: null`) — no `hello` round trip. A decimal integer
 * 0..2^53-1 without leading zeros; anything else is refused by the worker before the upgrade
 * (400 `validation_failed`). Other parties ignore it. docs/chat-protocol.md "Resume on the upgrade".
 */
export const RESUME_PARAM = "since";
export const ResumeSince = z.string().max(16).regex(/^(0|[1-9][0-9]*)$/);

/** The `since` of an upgrade URL: absent (undefined), malformed (null) or the seq. */
export function readResumeSince(raw: string | null): number | null | undefined {
  if (raw === null) return undefined;
  if (!ResumeSince.safeParse(raw).success) return null;
  const n = Number(raw);
  return n <= Number.MAX_SAFE_INTEGER ? n : null;
}

/** A connect ticket as the room hands it over in `ready`. */
export const ConnectTicketGrant = z.object({
  /** The signed ticket (opaque to the client). */
  token: z.string().min(1).max(1024),
  /** How long it is good for from now, ms. */
  ttlMs: z.number().int().positive(),
});
export type ConnectTicketGrant = z.infer<typeof ConnectTicketGrant>;

/** The identity in IDENTITY_HEADER (JSON), parsed with this schema by every object. */
export const ConnectionIdentity = z.object({
  userId: z.string().min(1),
  username: z.string(),
  displayName: z.string(),
  /** Community id, or null for DMs and the user's inbox. */
  communityId: z.string().nullable(),
  /** Permission set in this channel/community, decimal string (see permissions.ts); "0" for the inbox. */
  perms: z.string(),
  /** Session id (hash), so logging out can close exactly this session's sockets. For a visitor or a guest: their token's hash. */
  sessionId: z.string().min(1),
  /**
   * Who is behind the socket: a member (absent or "member"), a support-desk visitor
   * ("visitor": `userId` is `v_<visitorId>`, no account, their own ticket only) or a call
   * link's guest ("guest": `userId` is `g_<guestId>`, no account, that one link's CallLink and
   * chat only). Objects read this marker, never an id prefix.
   */
  kind: z.enum(["member", "visitor", "guest"]).optional(),
  /** A member timed out in the community until then (ms since the epoch; docs/moderation.md); absent when none is in force. */
  timeoutUntil: z.number().optional(),
});
export type ConnectionIdentity = z.infer<typeof ConnectionIdentity>;

/** A client-chosen correlation id on a frame, echoed in the error frame that refuses it (read even from a frame that does not parse). */
export const Ref = z.string().min(1).max(64);

/** Largest client frame an object reads, in bytes of UTF-8; a larger one gets `frame_too_large`. */
export const MAX_FRAME_BYTES = 16 * 1024;

/** A field of a frame that did not parse, and why. */
export const FrameIssue = z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() });
export type FrameIssue = z.infer<typeof FrameIssue>;

/** The one error frame of every socket: a client frame was refused; the socket stays up. */
export const ErrorFrame = z.object({
  type: z.literal("error"),
  code: RealtimeErrorCode,
  message: z.string(),
  /** The refused frame's `ref` (chat's message.send: its `nonce`); null when it had none or did not parse. */
  ref: z.string().nullable(),
  /** rate_limited and slowmode only: when a retry will be accepted, ms from now. */
  retryAfterMs: z.number().optional(),
  /** validation_failed only: the fields that did not parse (at most 10). */
  issues: z.array(FrameIssue).optional(),
});
export type ErrorFrame = z.infer<typeof ErrorFrame>;

/** JSON text read with a schema (an identity header, a stored frame): the value, or null when the text is absent, not JSON, or does not match. */
export function parseJsonWith<T>(schema: z.ZodType<T>, text: string | null): T | null {
  if (text === null) return null;
  try {
    const r = schema.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** Ends every exhaustive `switch` over a union: adding a variant breaks the build where it is not handled. */
export function assertNever(x: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(x)}`);
}
