/**
 * Permissions, Discord's model: a 64-bit set per role, channel overwrites for roles and
 * members, computed in Discord's order. `computePermissions` is THE function that answers
 * "what may this member do in this channel"; HTTP routes, WebSocket upgrades and media
 * tokens all reach it through workers/core/access.ts (the loader) and workers/core/policy.ts.
 */

export const P = {
  VIEW_CHANNEL: 1n << 0n,
  SEND_MESSAGES: 1n << 1n,
  READ_HISTORY: 1n << 2n,
  ATTACH_FILES: 1n << 3n,
  ADD_REACTIONS: 1n << 4n,
  MENTION_EVERYONE: 1n << 5n,
  MANAGE_MESSAGES: 1n << 6n,
  CONNECT: 1n << 7n,
  SPEAK: 1n << 8n,
  VIDEO: 1n << 9n,
  STREAM: 1n << 10n,
  /** Off = push-to-talk only. */
  USE_VOICE_ACTIVITY: 1n << 11n,
  MUTE_MEMBERS: 1n << 12n,
  DEAFEN_MEMBERS: 1n << 13n,
  MOVE_MEMBERS: 1n << 14n,
  CREATE_INVITE: 1n << 15n,
  MANAGE_CHANNELS: 1n << 16n,
  MANAGE_ROLES: 1n << 17n,
  KICK_MEMBERS: 1n << 18n,
  BAN_MEMBERS: 1n << 19n,
  MANAGE_COMMUNITY: 1n << 20n,
  VIEW_AUDIT_LOG: 1n << 21n,
  ADMINISTRATOR: 1n << 22n,
  CHANGE_NICKNAME: 1n << 23n,
  MANAGE_NICKNAMES: 1n << 24n,
  /** Start a thread from a message or in a channel (issue 15). */
  CREATE_THREADS: 1n << 25n,
  /** Send messages inside threads (SEND_MESSAGES governs the parent channel only). */
  SEND_IN_THREADS: 1n << 26n,
  /** Upload, rename and delete the community's custom emoji. */
  MANAGE_EMOJI: 1n << 27n,
  /** Time out members below oneself (no sending, reacting, joining voice or speaking until a time). */
  MODERATE_MEMBERS: 1n << 28n,
} as const;

export type PermissionName = keyof typeof P;
export const PERMISSION_NAMES = Object.keys(P) as PermissionName[];
export const ALL_PERMISSIONS: bigint = Object.values(P).reduce((a, b) => a | b, 0n);

/** What @everyone may do in a new community. */
export const DEFAULT_EVERYONE: bigint =
  P.VIEW_CHANNEL |
  P.SEND_MESSAGES |
  P.READ_HISTORY |
  P.ATTACH_FILES |
  P.ADD_REACTIONS |
  P.CONNECT |
  P.SPEAK |
  P.VIDEO |
  P.STREAM |
  P.USE_VOICE_ACTIVITY |
  P.CREATE_INVITE |
  P.CHANGE_NICKNAME |
  P.CREATE_THREADS |
  P.SEND_IN_THREADS;

/** What each participant of a DM or group DM may do there. */
export const DM_PERMISSIONS: bigint =
  P.VIEW_CHANNEL |
  P.SEND_MESSAGES |
  P.READ_HISTORY |
  P.ATTACH_FILES |
  P.ADD_REACTIONS |
  P.CONNECT |
  P.SPEAK |
  P.VIDEO |
  P.STREAM |
  P.USE_VOICE_ACTIVITY;

/** Permissions that only mean something inside a channel (cleared when VIEW_CHANNEL is denied). */
const TEXT_DEPENDENT =
  P.SEND_MESSAGES | P.READ_HISTORY | P.ATTACH_FILES | P.ADD_REACTIONS | P.MENTION_EVERYONE | P.MANAGE_MESSAGES | P.CREATE_THREADS | P.SEND_IN_THREADS;
const VOICE_DEPENDENT = P.SPEAK | P.VIDEO | P.STREAM | P.USE_VOICE_ACTIVITY | P.MUTE_MEMBERS | P.DEAFEN_MEMBERS | P.MOVE_MEMBERS;
/** Permissions that mean something in a channel: the only bits a channel overwrite may carry. */
export const CHANNEL_SCOPED = TEXT_DEPENDENT | VOICE_DEPENDENT | P.VIEW_CHANNEL | P.CONNECT | P.CREATE_INVITE | P.MANAGE_CHANNELS | P.MANAGE_ROLES;

export interface RoleInput {
  id: string;
  permissions: bigint;
}
export interface OverwriteInput {
  kind: "role" | "member";
  id: string;
  allow: bigint;
  deny: bigint;
}
export interface PermissionInput {
  userId: string;
  ownerId: string;
  /** The community's @everyone role. */
  everyone: RoleInput;
  /** The member's other roles. */
  roles: RoleInput[];
  /** The channel's overwrites; omit for community-wide permissions. */
  overwrites?: OverwriteInput[];
}

/**
 * The member's permission set: @everyone, their roles, then (in a channel) the @everyone
 * overwrite, the role overwrites together, and the member overwrite. The owner and
 * ADMINISTRATOR get everything. Without VIEW_CHANNEL nothing in the channel is allowed;
 * without CONNECT no voice permission is.
 */
export function computePermissions(input: PermissionInput): bigint {
  if (input.userId === input.ownerId) return ALL_PERMISSIONS;
  let perms = input.everyone.permissions;
  for (const r of input.roles) perms |= r.permissions;
  if (perms & P.ADMINISTRATOR) return ALL_PERMISSIONS;
  if (!input.overwrites) return perms;

  const byKey = new Map(input.overwrites.map((o) => [`${o.kind}:${o.id}`, o]));
  const ev = byKey.get(`role:${input.everyone.id}`);
  if (ev) perms = (perms & ~ev.deny) | ev.allow;
  let allow = 0n;
  let deny = 0n;
  for (const r of input.roles) {
    const o = byKey.get(`role:${r.id}`);
    if (o) {
      allow |= o.allow;
      deny |= o.deny;
    }
  }
  perms = (perms & ~deny) | allow;
  const mine = byKey.get(`member:${input.userId}`);
  if (mine) perms = (perms & ~mine.deny) | mine.allow;

  if (!(perms & P.VIEW_CHANNEL)) perms &= ~CHANNEL_SCOPED;
  if (!(perms & P.CONNECT)) perms &= ~VOICE_DEPENDENT;
  if (!(perms & P.SEND_MESSAGES)) perms &= ~(P.MENTION_EVERYONE | P.ATTACH_FILES);
  return perms;
}

export function has(perms: bigint, ...need: bigint[]): boolean {
  return need.every((n) => (perms & n) === n);
}

/** Decimal string <-> bigint, as stored in D1 and sent in JSON. */
export function parsePermissions(s: string | null | undefined): bigint {
  if (!s || !/^\d{1,20}$/.test(s)) return 0n;
  return BigInt(s) & ALL_PERMISSIONS;
}
export function formatPermissions(p: bigint): string {
  return (p & ALL_PERMISSIONS).toString();
}

export function permissionNames(p: bigint): PermissionName[] {
  return PERMISSION_NAMES.filter((n) => (p & P[n]) === P[n]);
}
