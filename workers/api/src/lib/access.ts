/**
 * The one access check. Loads a member's roles and a channel's overwrites from D1 and asks
 * the shared `computePermissions`. Used by HTTP routes, WebSocket upgrades and media tokens
 * alike. Unknown and invisible resources both answer `not_found` (404).
 */
import { and, eq } from "drizzle-orm";
import { ApiError } from "../../../shared/errors";
import { DM_PERMISSIONS, P, computePermissions, has, parsePermissions } from "../../../shared/permissions";
import { bans, channelOverwrites, channelRecipients, channels, communities, memberRoles, members, roles } from "../db/schema";
import type { Db } from "../middleware/db";

export type ChannelRow = typeof channels.$inferSelect;
export type CommunityRow = typeof communities.$inferSelect;

export interface CommunityAccess {
  userId: string;
  community: CommunityRow;
  isOwner: boolean;
  /** Community-wide permissions (no channel overwrites). */
  perms: bigint;
  /** Position of the member's highest role; the owner is above every role. */
  topPosition: number;
  roleIds: string[];
  everyoneRoleId: string;
}

export interface ChannelAccess {
  userId: string;
  channel: ChannelRow;
  /** Null for DMs. */
  community: CommunityAccess | null;
  perms: bigint;
}

const notFound = (what: string) => new ApiError("not_found", `No such ${what}.`);

async function memberRoleRows(db: Db, communityId: string, userId: string) {
  const rows = await db
    .select({ id: roles.id, permissions: roles.permissions, position: roles.position, isEveryone: roles.isEveryone })
    .from(roles)
    .where(eq(roles.communityId, communityId));
  const mine = await db
    .select({ roleId: memberRoles.roleId })
    .from(memberRoles)
    .where(and(eq(memberRoles.communityId, communityId), eq(memberRoles.userId, userId)));
  const mineSet = new Set(mine.map((m) => m.roleId));
  return { all: rows, everyone: rows.find((r) => r.isEveryone), mine: rows.filter((r) => mineSet.has(r.id) && !r.isEveryone) };
}

/** A member's access to a community; `not_found` for non-members (banned users are not members). */
export async function communityAccess(db: Db, userId: string, communityId: string): Promise<CommunityAccess> {
  const rows = await db
    .select({ community: communities, joinedAt: members.joinedAt })
    .from(communities)
    .innerJoin(members, and(eq(members.communityId, communities.id), eq(members.userId, userId)))
    .where(eq(communities.id, communityId))
    .limit(1);
  const row = rows[0];
  if (!row) throw notFound("community");
  const r = await memberRoleRows(db, communityId, userId);
  if (!r.everyone) throw notFound("community");
  const isOwner = row.community.ownerId === userId;
  const perms = computePermissions({
    userId,
    ownerId: row.community.ownerId,
    everyone: { id: r.everyone.id, permissions: parsePermissions(r.everyone.permissions) },
    roles: r.mine.map((x) => ({ id: x.id, permissions: parsePermissions(x.permissions) })),
  });
  return {
    userId,
    community: row.community,
    isOwner,
    perms,
    topPosition: isOwner ? Number.MAX_SAFE_INTEGER : Math.max(0, ...r.mine.map((x) => x.position)),
    roleIds: r.mine.map((x) => x.id),
    everyoneRoleId: r.everyone.id,
  };
}

/** Permissions inside one channel of a community the member belongs to. */
export async function permissionsInChannel(db: Db, ca: CommunityAccess, channel: ChannelRow): Promise<bigint> {
  const ows = await db.select().from(channelOverwrites).where(eq(channelOverwrites.channelId, channel.id));
  const r = await memberRoleRows(db, ca.community.id, ca.userId);
  return computePermissions({
    userId: ca.userId,
    ownerId: ca.community.ownerId,
    everyone: { id: r.everyone!.id, permissions: parsePermissions(r.everyone!.permissions) },
    roles: r.mine.map((x) => ({ id: x.id, permissions: parsePermissions(x.permissions) })),
    overwrites: ows.map((o) => ({ kind: o.targetKind, id: o.targetId, allow: parsePermissions(o.allow), deny: parsePermissions(o.deny) })),
  });
}

/**
 * A user's access to a channel: community channels through roles and overwrites, DMs through
 * being a recipient. `not_found` unless the user may at least see it.
 */
export async function channelAccess(db: Db, userId: string, channelId: string): Promise<ChannelAccess> {
  const channel = (await db.select().from(channels).where(eq(channels.id, channelId)).limit(1))[0];
  if (!channel) throw notFound("channel");
  if (!channel.communityId) {
    const rec = await db
      .select({ userId: channelRecipients.userId })
      .from(channelRecipients)
      .where(and(eq(channelRecipients.channelId, channelId), eq(channelRecipients.userId, userId)))
      .limit(1);
    if (!rec.length) throw notFound("channel");
    return { userId, channel, community: null, perms: DM_PERMISSIONS };
  }
  const ca = await communityAccess(db, userId, channel.communityId).catch(() => {
    throw notFound("channel");
  });
  const perms = await permissionsInChannel(db, ca, channel);
  if (!has(perms, P.VIEW_CHANNEL)) throw notFound("channel");
  return { userId, channel, community: ca, perms };
}

/** Throws `forbidden` unless every permission in `need` is present. */
export function requirePerms(perms: bigint, ...need: bigint[]): void {
  if (!has(perms, ...need)) throw new ApiError("forbidden", "You do not have permission to do that.");
}

export async function isBanned(db: Db, communityId: string, userId: string): Promise<boolean> {
  const r = await db.select({ u: bans.userId }).from(bans).where(and(eq(bans.communityId, communityId), eq(bans.userId, userId))).limit(1);
  return r.length > 0;
}

