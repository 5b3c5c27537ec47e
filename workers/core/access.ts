/**
 * The permission model and its one loader. Everything a permission decision reads from D1 —
 * a community's roles, members and their roles, channels and their overwrites, a DM's
 * recipients and blocks — is read here, in one D1 batch (one round trip, one consistent
 * snapshot), and turned into a PermissionModel by the same code, whatever the scope:
 *   loadChannelAccess    one member in one channel (every channel route, WebSocket upgrades,
 *                        media tokens and webhooks; reconnect storms depend on its one batch)
 *   loadCommunityAccess  one member community-wide (no channels)
 *   loadPermissionModel  some or all members, every channel (member lists, the CommunityHub)
 * Permissions come from the shared `computePermissions`. This module states facts and decides
 * nothing: every question ("may they see / read / join / manage ...?") is answered in
 * policy.ts, from what is loaded here.
 */
import { and, eq, inArray, or } from "drizzle-orm";
import { DM_PERMISSIONS, P, computePermissions, parsePermissions, type OverwriteInput, type RoleInput } from "../shared/permissions";
import { applyTimeout } from "../shared/moderation";
import { bans, channelOverwrites, channelRecipients, channels, communities, memberRoles, members, roles, userBlocks } from "./schema";
import type { Db } from "./db";
import type { ThreadRow } from "./threads";

export type ChannelRow = typeof channels.$inferSelect;
export type CommunityRow = typeof communities.$inferSelect;

export interface ModelRole extends RoleInput {
  position: number;
  mentionable: boolean;
}

export interface PermissionModel {
  community: CommunityRow;
  everyone: ModelRole;
  /** Every role of the community but @everyone. */
  roles: Map<string, ModelRole>;
  /** Members covered by the model and their roles (not @everyone). */
  memberRoles: Map<string, string[]>;
  /** The same members' nickname, join time and timeout end (ms since the epoch; null: none). */
  membership: Map<string, { nickname: string | null; joinedAt: number; timeoutUntil: number | null }>;
  /** The channels loaded (all of the community's, one, or none: see the entry points), in display order. */
  channels: ChannelRow[];
  overwrites: Map<string, OverwriteInput[]>;
}

/** A member's standing in a community. */
export interface CommunityAccess {
  userId: string;
  community: CommunityRow;
  isOwner: boolean;
  /** Community-wide permissions (no channel overwrites). */
  perms: bigint;
  /** Position of the member's highest role; the owner is above every role. */
  topPosition: number;
  /** The member's roles (not @everyone). */
  roleIds: string[];
  everyoneRoleId: string;
  /** Every role of the community but @everyone, with its position. */
  communityRoles: Map<string, ModelRole>;
  nickname: string | null;
  /** ms since the epoch */
  joinedAt: number;
  /**
   * Timed out until then (ms since the epoch), or null. While it is in the future every
   * permission here and in the community's channels is already reduced to what a timed-out
   * member keeps (shared/moderation.ts applyTimeout).
   */
  timeoutUntil: number | null;
}

/** A user's standing in one channel. */
export interface ChannelAccess {
  userId: string;
  channel: ChannelRow;
  /** Null for DMs. */
  community: CommunityAccess | null;
  /** Their permissions in the channel (they may lack VIEW_CHANNEL: policy.ts decides). */
  perms: bigint;
  /** The channel's overwrites (empty for DMs). */
  overwrites: OverwriteInput[];
  /** A DM's people (user ids); empty for community channels. */
  recipients: string[];
  /** A thread's row when the channel is a thread (policy.ts threadRoomAccess); its `channel` is then the parent's, renamed. */
  thread?: ThreadRow;
}

/** What is left of a 1:1 DM when either side blocked the other: reading only. */
export const DM_BLOCKED_PERMISSIONS: bigint = P.VIEW_CHANNEL | P.READ_HISTORY;

/** D1 binds at most 100 parameters; bigger sets load the whole community. */
const MAX_IN_LIST = 90;

// ---------------------------------------------------------------------------------------
// The loader: one batch per scope, one row→model function for all of them.
// ---------------------------------------------------------------------------------------

const roleCols = { id: roles.id, permissions: roles.permissions, position: roles.position, isEveryone: roles.isEveryone, mentionable: roles.mentionable };
const memberCols = { userId: members.userId, nickname: members.nickname, joinedAt: members.joinedAt, timeoutUntil: members.timeoutUntil };
const memberRoleCols = { userId: memberRoles.userId, roleId: memberRoles.roleId };

type RoleRow = { id: string; permissions: string; position: number; isEveryone: boolean; mentionable: boolean };
type MemberRow = { userId: string; nickname: string | null; joinedAt: number; timeoutUntil: number | null };
type OverwriteRow = typeof channelOverwrites.$inferSelect;

/**
 * A community's rows: the community, its roles, the members `userIds` (all when omitted) with
 * their roles, and every channel with its overwrites unless `withChannels` is false.
 */
async function communityRows(db: Db, communityId: string, userIds: string[] | undefined, withChannels: boolean) {
  const only = userIds && userIds.length <= MAX_IN_LIST ? userIds : undefined;
  const head = [
    db.select().from(communities).where(eq(communities.id, communityId)).limit(1),
    db.select(roleCols).from(roles).where(eq(roles.communityId, communityId)),
    db
      .select(memberCols)
      .from(members)
      .where(only ? and(eq(members.communityId, communityId), inArray(members.userId, only)) : eq(members.communityId, communityId)),
    db
      .select(memberRoleCols)
      .from(memberRoles)
      .where(only ? and(eq(memberRoles.communityId, communityId), inArray(memberRoles.userId, only)) : eq(memberRoles.communityId, communityId)),
  ] as const;
  if (!withChannels) {
    const [community, roleRows, memberRows, memberRoleRows] = await db.batch(head);
    return { community: community[0], roleRows, memberRows, memberRoleRows, channelRows: [] as ChannelRow[], overwriteRows: [] as OverwriteRow[] };
  }
  const [community, roleRows, memberRows, memberRoleRows, channelRows, overwriteRows] = await db.batch([
    ...head,
    db.select().from(channels).where(eq(channels.communityId, communityId)),
    db
      .select({ o: channelOverwrites })
      .from(channelOverwrites)
      .innerJoin(channels, eq(channels.id, channelOverwrites.channelId))
      .where(eq(channels.communityId, communityId)),
  ]);
  return { community: community[0], roleRows, memberRows, memberRoleRows, channelRows, overwriteRows: overwriteRows.map((r) => r.o) };
}

/**
 * One channel's rows for one user, everything found through the channel id: the channel, its
 * community and roles, the user's membership and roles there, the channel's overwrites, and
 * for a DM its recipients and whether a block stands between the user and one of them.
 */
async function channelRows(db: Db, userId: string, channelId: string) {
  const communityOfChannel = () => db.select({ c: channels.communityId }).from(channels).where(eq(channels.id, channelId));
  const recipientsOfChannel = () => db.select({ u: channelRecipients.userId }).from(channelRecipients).where(eq(channelRecipients.channelId, channelId));
  const [channel, community, roleRows, memberRows, memberRoleRows, overwriteRows, recipients, blocks] = await db.batch([
    db.select().from(channels).where(eq(channels.id, channelId)).limit(1),
    db
      .select({ community: communities })
      .from(channels)
      .innerJoin(communities, eq(communities.id, channels.communityId))
      .where(eq(channels.id, channelId))
      .limit(1),
    db.select(roleCols).from(roles).where(inArray(roles.communityId, communityOfChannel())),
    db
      .select(memberCols)
      .from(members)
      .where(and(inArray(members.communityId, communityOfChannel()), eq(members.userId, userId))),
    db
      .select(memberRoleCols)
      .from(memberRoles)
      .where(and(inArray(memberRoles.communityId, communityOfChannel()), eq(memberRoles.userId, userId))),
    db.select().from(channelOverwrites).where(eq(channelOverwrites.channelId, channelId)),
    db.select({ userId: channelRecipients.userId }).from(channelRecipients).where(eq(channelRecipients.channelId, channelId)),
    db
      .select({ u: userBlocks.userId })
      .from(userBlocks)
      .where(
        or(
          and(eq(userBlocks.userId, userId), inArray(userBlocks.blockedId, recipientsOfChannel())),
          and(eq(userBlocks.blockedId, userId), inArray(userBlocks.userId, recipientsOfChannel())),
        ),
      )
      .limit(1),
  ]);
  return {
    channel: channel[0],
    community: community[0]?.community,
    roleRows,
    memberRows,
    memberRoleRows,
    overwriteRows,
    recipients: recipients.map((r) => r.userId),
    blocked: blocks.length > 0,
  };
}

/** Rows → model; undefined when there is no community or it has no @everyone. `userIds` filters the members kept. */
function buildModel(
  community: CommunityRow | undefined,
  roleRows: RoleRow[],
  memberRows: MemberRow[],
  memberRoleRows: { userId: string; roleId: string }[],
  channelRows: ChannelRow[],
  overwriteRows: OverwriteRow[],
  userIds: string[] | undefined,
): PermissionModel | undefined {
  if (!community) return undefined;
  const roleMap = new Map<string, ModelRole>();
  let everyone: ModelRole | undefined;
  for (const r of roleRows) {
    const m = { id: r.id, permissions: parsePermissions(r.permissions), position: r.position, mentionable: r.mentionable };
    if (r.isEveryone) everyone = m;
    else roleMap.set(r.id, m);
  }
  if (!everyone) return undefined;
  const wanted = userIds ? new Set(userIds) : undefined;
  const memberRoleMap = new Map<string, string[]>();
  const membership = new Map<string, { nickname: string | null; joinedAt: number; timeoutUntil: number | null }>();
  for (const m of memberRows) {
    if (wanted && !wanted.has(m.userId)) continue;
    memberRoleMap.set(m.userId, []);
    membership.set(m.userId, { nickname: m.nickname, joinedAt: m.joinedAt, timeoutUntil: m.timeoutUntil });
  }
  for (const mr of memberRoleRows) {
    if (roleMap.has(mr.roleId)) memberRoleMap.get(mr.userId)?.push(mr.roleId);
  }
  const overwrites = new Map<string, OverwriteInput[]>();
  for (const o of overwriteRows) {
    const list = overwrites.get(o.channelId) ?? [];
    list.push({ kind: o.targetKind, id: o.targetId, allow: parsePermissions(o.allow), deny: parsePermissions(o.deny) });
    overwrites.set(o.channelId, list);
  }
  return { community, everyone, roles: roleMap, memberRoles: memberRoleMap, membership, channels: displayOrder(channelRows), overwrites };
}

/**
 * Loads what computePermissions needs for `userIds` (all members when omitted) and every
 * channel of the community, or undefined when the community does not exist. Users who are not
 * members are left out. One D1 batch.
 */
export async function loadPermissionModel(db: Db, communityId: string, userIds?: string[]): Promise<PermissionModel | undefined> {
  const r = await communityRows(db, communityId, userIds, true);
  return buildModel(r.community, r.roleRows, r.memberRows, r.memberRoleRows, r.channelRows, r.overwriteRows, userIds);
}

/** A member's standing in a community (no channels loaded), or undefined for non-members (banned users are not members). One D1 batch. */
export async function loadCommunityAccess(db: Db, userId: string, communityId: string): Promise<CommunityAccess | undefined> {
  const r = await communityRows(db, communityId, [userId], false);
  const model = buildModel(r.community, r.roleRows, r.memberRows, r.memberRoleRows, [], [], [userId]);
  return model && memberAccess(model, userId);
}

/**
 * A user's standing in one channel: community channels through roles and overwrites, DMs
 * through being a recipient (read-only across a block, see DM_BLOCKED_PERMISSIONS). Undefined
 * when the channel does not exist, or the user is neither a member of its community nor one of
 * the DM's people. One D1 batch, DMs included.
 */
export async function loadChannelAccess(db: Db, userId: string, channelId: string): Promise<ChannelAccess | undefined> {
  const r = await channelRows(db, userId, channelId);
  const channel = r.channel;
  if (!channel) return undefined;
  if (channel.communityId) {
    const model = buildModel(r.community, r.roleRows, r.memberRows, r.memberRoleRows, [channel], r.overwriteRows, [userId]);
    const community = model && memberAccess(model, userId);
    if (!model || !community) return undefined;
    return { userId, channel, community, perms: modelChannelPerms(model, userId, channel.id), overwrites: model.overwrites.get(channel.id) ?? [], recipients: [] };
  }
  if (channel.kind !== "dm" && channel.kind !== "group_dm") return undefined;
  if (!r.recipients.includes(userId)) return undefined;
  // A block either way turns a 1:1 DM read-only.
  const perms = channel.kind === "dm" && r.blocked ? DM_BLOCKED_PERMISSIONS : DM_PERMISSIONS;
  return { userId, channel, community: null, perms, overwrites: [], recipients: r.recipients };
}

/** Whether the user is banned from the community. */
export async function isBanned(db: Db, communityId: string, userId: string): Promise<boolean> {
  const r = await db.select({ u: bans.userId }).from(bans).where(and(eq(bans.communityId, communityId), eq(bans.userId, userId))).limit(1);
  return r.length > 0;
}

// ---------------------------------------------------------------------------------------
// Reading the model
// ---------------------------------------------------------------------------------------

/** A member's standing from the model, or undefined when the model does not cover them as a member. */
export function memberAccess(model: PermissionModel, userId: string): CommunityAccess | undefined {
  const roleIds = model.memberRoles.get(userId);
  const info = model.membership.get(userId);
  if (!roleIds || !info) return undefined;
  const isOwner = model.community.ownerId === userId;
  return {
    userId,
    community: model.community,
    isOwner,
    perms: modelCommunityPerms(model, userId),
    topPosition: isOwner ? Number.MAX_SAFE_INTEGER : Math.max(0, ...roleIds.map((id) => model.roles.get(id)!.position)),
    roleIds,
    everyoneRoleId: model.everyone.id,
    communityRoles: model.roles,
    nickname: info.nickname,
    joinedAt: info.joinedAt,
    timeoutUntil: info.timeoutUntil,
  };
}

/** Order among siblings: by position, then id (creation time). */
export function compareChannels(a: { position: number; id: string }, b: { position: number; id: string }): number {
  return a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The sidebar's order: top-level channels and categories, each category followed by its channels. */
export function displayOrder<T extends { id: string; parentId: string | null; position: number }>(list: T[]): T[] {
  const ids = new Set(list.map((c) => c.id));
  const children = new Map<string, T[]>();
  const top: T[] = [];
  for (const c of list) {
    if (c.parentId && ids.has(c.parentId)) children.set(c.parentId, [...(children.get(c.parentId) ?? []), c]);
    else top.push(c);
  }
  return top.sort(compareChannels).flatMap((t) => [t, ...(children.get(t.id) ?? []).sort(compareChannels)]);
}

function modelInput(model: PermissionModel, userId: string) {
  const roleIds = model.memberRoles.get(userId) ?? [];
  return {
    userId,
    ownerId: model.community.ownerId,
    everyone: model.everyone,
    roles: roleIds.map((id) => model.roles.get(id)!).filter(Boolean),
  };
}

/** A timed-out member's permissions are reduced until the timeout ends (shared/moderation.ts). */
function withTimeout(model: PermissionModel, userId: string, perms: bigint): bigint {
  return applyTimeout(perms, model.membership.get(userId)?.timeoutUntil, Date.now(), model.community.ownerId === userId);
}

/** Community-wide permissions of a member in the model (0 for non-members), a timeout applied. */
export function modelCommunityPerms(model: PermissionModel, userId: string): bigint {
  if (!model.memberRoles.has(userId)) return 0n;
  return withTimeout(model, userId, computePermissions(modelInput(model, userId)));
}

/** A member's permissions in one channel of the model (0 for non-members), a timeout applied. */
export function modelChannelPerms(model: PermissionModel, userId: string, channelId: string): bigint {
  if (!model.memberRoles.has(userId)) return 0n;
  return withTimeout(model, userId, computePermissions({ ...modelInput(model, userId), overwrites: model.overwrites.get(channelId) ?? [] }));
}
