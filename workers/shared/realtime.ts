/**
 * What the worker tells a Durable Object about a WebSocket it lets through: set by the
 * worker after checking the session and access, never read from the client. The DO stores
 * it in the connection's state (it survives hibernation).
 */
export const IDENTITY_HEADER = "x-woxly-identity";

export interface ConnectionIdentity {
  userId: string;
  username: string;
  displayName: string;
  /** Community id, or null for DMs. */
  communityId: string | null;
  /** Permission set in this channel/community, decimal string (see permissions.ts). */
  perms: string;
  /** Session id (hash), so logging out can close exactly this session's sockets. */
  sessionId: string;
}
