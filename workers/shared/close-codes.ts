/**
 * The one table of WebSocket close codes that Woxly's Durable Objects use and its clients
 * read. Codes in 4000–4999 are the application's own (RFC 6455 §7.4.2). A client that sees a
 * code marked `final` must not reconnect: the reason will still hold on the next attempt.
 * Imports nothing; used by durable-objects/ and web/ alike.
 */
export const CLOSE = {
  /** The worker sent no (or an unreadable) identity: a bug or a direct hit on the object. */
  NO_IDENTITY: 4400,
  /** The session was logged out, expired, or ended by a password change. */
  SESSION_ENDED: 4401,
  /** The member may no longer be here: kicked, banned, left, lost VIEW_CHANNEL, blocked. */
  ACCESS_LOST: 4403,
  /** The channel or community no longer exists. */
  GONE: 4404,
  /**
   * The connect ticket the socket came with was issued before an access change in this room
   * (a kick, a ban, a role change, a logout): not final — connect again without it, so the
   * worker checks the session and access afresh (docs/chat-protocol.md "Connect tickets").
   */
  TICKET_STALE: 4409,
} as const;

export type CloseName = keyof typeof CLOSE;
export type CloseCode = (typeof CLOSE)[CloseName];

/** What a client should make of a close code: why, and whether trying again can help. */
export interface CloseMeaning {
  name: CloseName;
  /** Do not reconnect. */
  final: boolean;
}

/** The codes after which trying again can help (everything else in the table is final). */
const NOT_FINAL: ReadonlySet<CloseName> = new Set<CloseName>(["TICKET_STALE"]);

const BY_CODE = new Map<number, CloseMeaning>(
  (Object.entries(CLOSE) as [CloseName, CloseCode][]).map(([name, code]) => [code, { name, final: !NOT_FINAL.has(name) }]),
);

/** The meaning of a close code, or null for codes that are not Woxly's (network drops, 1000, 1006…). */
export function closeMeaning(code: number): CloseMeaning | null {
  return BY_CODE.get(code) ?? null;
}
