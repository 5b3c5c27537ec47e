/**
 * How the worker reaches ChannelRooms: which channels have one, the channel access check
 * that every chat route starts with, and the text channels of a community a member may read
 * (for community-wide search).
 */
import { and, eq, inArray } from "drizzle-orm";
import { ApiError } from "../../../shared/errors";
import { P, computePermissions, has, parsePermissions } from "../../../shared/permissions";
import { channelOverwrites, channels, memberRoles, roles } from "../../../core/schema";
import type { Db } from "../../../core/db";
import { channelAccess, communityAccess, type ChannelAccess } from "../../../core/access";

/** Community channel kinds that have a ChannelRoom: text channels, and voice channels' chat beside the call. */
export const COMMUNITY_ROOM_KINDS = ["text", "voice"] as const;

/** Channel kinds that have a ChannelRoom (messages). */
const CHAT_KINDS = new Set<string>([...COMMUNITY_ROOM_KINDS, "dm", "group_dm", "ticket"]);

/** Whether a community channel of this kind has a ChannelRoom (categories do not). */
export function hasCommunityRoom(kind: string): boolean {
  return (COMMUNITY_ROOM_KINDS as readonly string[]).includes(kind);
}

/**
 * Every channel of a community that has a ChannelRoom (text and voice; never categories).
 * The one list for whatever must reach all of a community's rooms when access changes:
 * revalidation after role, overwrite, membership and ownership changes, ban clean-up, and
 * purging on community deletion.
 */
export async function roomChannelIds(db: Db, communityId: string): Promise<string[]> {
  const rows = await db
    .select({ id: channels.id })
    .from(channels)
    .where(and(eq(channels.communityId, communityId), inArray(channels.kind, [...COMMUNITY_ROOM_KINDS])));
  return rows.map((r) => r.id);
}

/**
 * channelAccess plus: the channel has messages (404 otherwise, like an invisible channel),
 * and the member holds `need` in it (403: they can see the channel, so it is no secret).
 */
export async function chatAccess(db: Db, userId: string, channelId: string, need: bigint): Promise<ChannelAccess> {
  const a = await channelAccess(db, userId, channelId);
  if (!CHAT_KINDS.has(a.channel.kind)) throw new ApiError("not_found", "No such channel.");
  if (!has(a.perms, need)) throw new ApiError("forbidden", "You do not have permission to do that.");
  return a;
}

/**
 * The community's text channels in which the member has VIEW_CHANNEL and READ_HISTORY,
 * computed with the shared permission function in three queries (not two per channel).
 */
export async function readableTextChannels(db: Db, userId: string, communityId: string): Promise<string[]> {
  const ca = await communityAccess(db, userId, communityId);
  const chans = await db
    .select({ id: channels.id })
    .from(channels)
    .where(and(eq(channels.communityId, communityId), eq(channels.kind, "text")));
  if (!chans.length) return [];
  const ows = await db
    .select({ channelId: channelOverwrites.channelId, kind: channelOverwrites.targetKind, id: channelOverwrites.targetId, allow: channelOverwrites.allow, deny: channelOverwrites.deny })
    .from(channelOverwrites)
    .innerJoin(channels, eq(channels.id, channelOverwrites.channelId))
    .where(eq(channels.communityId, communityId));
  const roleRows = await db
    .select({ id: roles.id, permissions: roles.permissions, isEveryone: roles.isEveryone, mine: memberRoles.userId })
    .from(roles)
    .leftJoin(memberRoles, and(eq(memberRoles.roleId, roles.id), eq(memberRoles.userId, userId)))
    .where(eq(roles.communityId, communityId));
  const everyone = roleRows.find((r) => r.isEveryone);
  if (!everyone) return [];
  const mine = roleRows.filter((r) => !r.isEveryone && r.mine !== null).map((r) => ({ id: r.id, permissions: parsePermissions(r.permissions) }));
  const need = P.VIEW_CHANNEL | P.READ_HISTORY;
  return chans
    .map((c) => c.id)
    .filter((channelId) => {
      const perms = computePermissions({
        userId,
        ownerId: ca.community.ownerId,
        everyone: { id: everyone.id, permissions: parsePermissions(everyone.permissions) },
        roles: mine,
        overwrites: ows.filter((o) => o.channelId === channelId).map((o) => ({ kind: o.kind, id: o.id, allow: parsePermissions(o.allow), deny: parsePermissions(o.deny) })),
      });
      return has(perms, need);
    });
}
