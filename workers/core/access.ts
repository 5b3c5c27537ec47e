/**
 * The one access check. Loads a member's roles and a channel's overwrites from D1 and asks
 * the shared `computePermissions`. Used by HTTP routes, WebSocket upgrades and media tokens
 * alike. Unknown and invisible resources both answer `not_found` (404).
 */
import { and, eq, inArray, or } from "drizzle-orm";
import { ApiError } from "../shared/errors";
import {
  DM_PERMISSIONS,
  P,
  computePermissions,
  has,
  parsePermissions,
  type OverwriteInput,
  type RoleInput,
} from "../shared/permissions";
import { bans, channelOverwrites, channelRecipients, channels, communities, memberRoles, members, roles, userBlocks } from "./schema";
import type { Db } from "./db";

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
  /** A DM's people (user ids); empty for community channels. */
  recipients: string[];
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

type RoleRowLite = { id: string; permissions: string; position: number; isEveryone: boolean };

/** Splits a community's roles into @everyone and the member's own (`mineIds`), as memberRoleRows does. */
function splitRoles(all: RoleRowLite[], mineIds: { roleId: string }[]) {
  const mineSet = new Set(mineIds.map((m) => m.roleId));
  return { all, everyone: all.find((r) => r.isEveryone), mine: all.filter((r) => mineSet.has(r.id) && !r.isEveryone) };
}

/** CommunityAccess from the member's community row and roles; undefined when the community has no @everyone. */
function buildCommunityAccess(userId: string, community: CommunityRow, r: ReturnType<typeof splitRoles>): CommunityAccess | undefined {
  if (!r.everyone) return undefined;
  const isOwner = community.ownerId === userId;
  const perms = computePermissions({
    userId,
    ownerId: community.ownerId,
    everyone: { id: r.everyone.id, permissions: parsePermissions(r.everyone.permissions) },
    roles: r.mine.map((x) => ({ id: x.id, permissions: parsePermissions(x.permissions) })),
  });
  return {
    userId,
    community,
    isOwner,
    perms,
    topPosition: isOwner ? Number.MAX_SAFE_INTEGER : Math.max(0, ...r.mine.map((x) => x.position)),
    roleIds: r.mine.map((x) => x.id),
    everyoneRoleId: r.everyone.id,
  };
}

const roleCols = { id: roles.id, permissions: roles.permissions, position: roles.position, isEveryone: roles.isEveryone };

/**
 * A member's access to a community; `not_found` for non-members (banned users are not members).
 * One D1 round trip (a batch: membership, roles, the member's roles).
 */
export async function communityAccess(db: Db, userId: string, communityId: string): Promise<CommunityAccess> {
  const [rows, roleRows, mine] = await db.batch([
    db
      .select({ community: communities, joinedAt: members.joinedAt })
      .from(communities)
      .innerJoin(members, and(eq(members.communityId, communities.id), eq(members.userId, userId)))
      .where(eq(communities.id, communityId))
      .limit(1),
    db.select(roleCols).from(roles).where(eq(roles.communityId, communityId)),
    db
      .select({ roleId: memberRoles.roleId })
      .from(memberRoles)
      .where(and(eq(memberRoles.communityId, communityId), eq(memberRoles.userId, userId))),
  ]);
  const row = rows[0];
  if (!row) throw notFound("community");
  const ca = buildCommunityAccess(userId, row.community, splitRoles(roleRows, mine));
  if (!ca) throw notFound("community");
  return ca;
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
  // One D1 round trip for a community channel (WebSocket upgrades, reconnect storms): the
  // channel, the membership, the roles, the member's roles and the overwrites, all found
  // through the channel id in one batch (a consistent snapshot).
  const inChannelCommunity = (col: typeof roles.communityId | typeof memberRoles.communityId) =>
    inArray(col, db.select({ c: channels.communityId }).from(channels).where(eq(channels.id, channelId)));
  const [channelRows, memberRows, roleRows, mine, ows] = await db.batch([
    db.select().from(channels).where(eq(channels.id, channelId)).limit(1),
    db
      .select({ community: communities })
      .from(channels)
      .innerJoin(communities, eq(communities.id, channels.communityId))
      .innerJoin(members, and(eq(members.communityId, channels.communityId), eq(members.userId, userId)))
      .where(eq(channels.id, channelId))
      .limit(1),
    db.select(roleCols).from(roles).where(inChannelCommunity(roles.communityId)),
    db
      .select({ roleId: memberRoles.roleId })
      .from(memberRoles)
      .where(and(inChannelCommunity(memberRoles.communityId), eq(memberRoles.userId, userId))),
    db.select().from(channelOverwrites).where(eq(channelOverwrites.channelId, channelId)),
  ]);
  const channel = channelRows[0];
  if (!channel) throw notFound("channel");
  if (channel.communityId) {
    const member = memberRows[0];
    const r = splitRoles(roleRows, mine);
    const ca = member ? buildCommunityAccess(userId, member.community, r) : undefined;
    if (!ca) throw notFound("channel");
    const perms = computePermissions({
      userId,
      ownerId: ca.community.ownerId,
      everyone: { id: r.everyone!.id, permissions: parsePermissions(r.everyone!.permissions) },
      roles: r.mine.map((x) => ({ id: x.id, permissions: parsePermissions(x.permissions) })),
      overwrites: ows.map((o) => ({ kind: o.targetKind, id: o.targetId, allow: parsePermissions(o.allow), deny: parsePermissions(o.deny) })),
    });
    if (!has(perms, P.VIEW_CHANNEL)) throw notFound("channel");
    return { userId, channel, community: ca, perms, recipients: [] };
  }
  if (channel.kind !== "dm" && channel.kind !== "group_dm") throw notFound("channel");
  const rec = await db
    .select({ userId: channelRecipients.userId })
    .from(channelRecipients)
    .where(eq(channelRecipients.channelId, channelId));
  if (!rec.some((r) => r.userId === userId)) throw notFound("channel");
  let perms = DM_PERMISSIONS;
  // A block either way turns a 1:1 DM read-only.
  const other = rec.find((r) => r.userId !== userId)?.userId;
  if (channel.kind === "dm" && other && (await isBlockedEitherWay(db, userId, other))) perms = DM_BLOCKED_PERMISSIONS;
  return { userId, channel, community: null, perms, recipients: rec.map((r) => r.userId) };
}

/** Throws `forbidden` unless every permission in `need` is present. */
export function requirePerms(perms: bigint, ...need: bigint[]): void {
  if (!has(perms, ...need)) throw new ApiError("forbidden", "You do not have permission to do that.");
}

export async function isBanned(db: Db, communityId: string, userId: string): Promise<boolean> {
  const r = await db.select({ u: bans.userId }).from(bans).where(and(eq(bans.communityId, communityId), eq(bans.userId, userId))).limit(1);
  return r.length > 0;
}


/** What is left of a 1:1 DM when either side blocked the other: reading only. */
export const DM_BLOCKED_PERMISSIONS: bigint = P.VIEW_CHANNEL | P.READ_HISTORY;

/** Whether `a` blocked `b` or `b` blocked `a`. */
export async function isBlockedEitherWay(db: Db, a: string, b: string): Promise<boolean> {
  const r = await db
    .select({ u: userBlocks.userId })
    .from(userBlocks)
    .where(
      or(
        and(eq(userBlocks.userId, a), eq(userBlocks.blockedId, b)),
        and(eq(userBlocks.userId, b), eq(userBlocks.blockedId, a)),
      ),
    )
    .limit(1);
  return r.length > 0;
}

// ---------------------------------------------------------------------------------------
// Hierarchy: members act only on roles and members strictly below their highest role; the
// owner is above everyone. Permissions can only be granted by someone who has them.
// ---------------------------------------------------------------------------------------

/** A member's standing in a community. */
export interface MemberRank {
  userId: string;
  isOwner: boolean;
  /** Position of their highest role (0 = only @everyone). */
  topPosition: number;
  roleIds: string[];
  nickname: string | null;
  joinedAt: number;
}

/** Whether the actor outranks something at `position` (a role, or a member's highest role). */
export function outranks(actor: Pick<CommunityAccess, "isOwner" | "topPosition">, position: number): boolean {
  return actor.isOwner || actor.topPosition > position;
}

const tooLow = () => new ApiError("forbidden", "You can only act on roles and members below your highest role.");

/** Throws `forbidden` unless the actor outranks a role at `position`. */
export function requireOutranksRole(actor: CommunityAccess, position: number): void {
  if (!outranks(actor, position)) throw tooLow();
}

/** A member's rank, or undefined when the user is not a member. */
export async function memberRank(db: Db, community: CommunityRow, userId: string): Promise<MemberRank | undefined> {
  const m = (
    await db
      .select({ nickname: members.nickname, joinedAt: members.joinedAt })
      .from(members)
      .where(and(eq(members.communityId, community.id), eq(members.userId, userId)))
      .limit(1)
  )[0];
  if (!m) return undefined;
  const mine = await db
    .select({ id: roles.id, position: roles.position })
    .from(memberRoles)
    .innerJoin(roles, eq(roles.id, memberRoles.roleId))
    .where(and(eq(memberRoles.communityId, community.id), eq(memberRoles.userId, userId), eq(roles.isEveryone, false)));
  return {
    userId,
    isOwner: community.ownerId === userId,
    topPosition: Math.max(0, ...mine.map((r) => r.position)),
    roleIds: mine.map((r) => r.id),
    nickname: m.nickname,
    joinedAt: m.joinedAt,
  };
}

/**
 * The target member, if the actor may act on them: `not_found` for non-members, `forbidden`
 * for the owner and for anyone at or above the actor's highest role. Acting on yourself is
 * allowed here; routes that forbid it (kick, ban) say so themselves.
 */
export async function requireCanActOnMember(db: Db, actor: CommunityAccess, targetUserId: string): Promise<MemberRank> {
  const target = await memberRank(db, actor.community, targetUserId);
  if (!target) throw notFound("member");
  if (target.userId === actor.userId) return target;
  if (target.isOwner || !outranks(actor, target.topPosition)) throw tooLow();
  return target;
}

/**
 * Throws `forbidden` if `bits` holds a permission the actor lacks (`perms` are the actor's
 * permissions where the grant applies; the owner and ADMINISTRATOR have them all).
 */
export function requireGrantable(perms: bigint, bits: bigint): void {
  if ((bits & ~perms) !== 0n) throw new ApiError("forbidden", "You cannot grant permissions you do not have.");
}

/**
 * Of `roleIds` (roles of the actor's community), those carrying something the actor does not
 * hold: a community-wide bit of the role the actor lacks, or an allow or deny bit of one of
 * the role's channel overwrites the actor lacks in that channel. Unknown ids are left out.
 * The owner and ADMINISTRATOR hold everything, so for them it is always empty.
 */
export async function rolesNotHeld(db: Db, actor: CommunityAccess, roleIds: string[]): Promise<string[]> {
  if (actor.isOwner || has(actor.perms, P.ADMINISTRATOR) || roleIds.length === 0) return [];
  const model = await loadPermissionModel(db, actor.community.id, [actor.userId]);
  if (!model) return [];
  const wanted = new Set(roleIds);
  const lacking = new Set<string>();
  for (const id of roleIds) {
    const role = model.roles.get(id) ?? (model.everyone.id === id ? model.everyone : undefined);
    if (role && (role.permissions & ~actor.perms) !== 0n) lacking.add(id);
  }
  for (const [channelId, list] of model.overwrites) {
    const mine = modelChannelPerms(model, actor.userId, channelId);
    for (const o of list) {
      if (o.kind === "role" && wanted.has(o.id) && ((o.allow | o.deny) & ~mine) !== 0n) lacking.add(o.id);
    }
  }
  return roleIds.filter((id) => lacking.has(id));
}

/**
 * Throws `forbidden` unless the actor holds everything the roles carry (see rolesNotHeld):
 * assigning, removing or deleting a role hands out or takes back all of it.
 */
export async function requireHoldsRoles(db: Db, actor: CommunityAccess, roleIds: string[]): Promise<void> {
  if ((await rolesNotHeld(db, actor, roleIds)).length) {
    throw new ApiError("forbidden", "You can only give or take roles whose permissions you have.");
  }
}

// ---------------------------------------------------------------------------------------
// Many members at once (member lists, CommunityHub fan-out): the same computePermissions,
// with roles, member roles and overwrites loaded in a few queries.
// ---------------------------------------------------------------------------------------

export interface ModelRole extends RoleInput {
  position: number;
  mentionable: boolean;
}

export interface PermissionModel {
  community: CommunityRow;
  everyone: ModelRole;
  roles: Map<string, ModelRole>;
  /** Members covered by the model and their roles (not @everyone). */
  memberRoles: Map<string, string[]>;
  /** Every channel of the community, in display order (see displayOrder). */
  channels: ChannelRow[];
  overwrites: Map<string, OverwriteInput[]>;
}

/** D1 binds at most 100 parameters; bigger sets load the whole community. */
const MAX_IN_LIST = 90;

/**
 * Loads what computePermissions needs for `userIds` (all members when omitted), or undefined
 * when the community does not exist. Users who are not members are left out.
 */
export async function loadPermissionModel(db: Db, communityId: string, userIds?: string[]): Promise<PermissionModel | undefined> {
  const community = (await db.select().from(communities).where(eq(communities.id, communityId)).limit(1))[0];
  if (!community) return undefined;
  const only = userIds && userIds.length <= MAX_IN_LIST ? userIds : undefined;
  if (only && only.length === 0) return emptyModel(db, community);
  const [roleRows, memberRows, memberRoleRows, channelRows, overwriteRows] = await Promise.all([
    db.select().from(roles).where(eq(roles.communityId, communityId)),
    db
      .select({ userId: members.userId })
      .from(members)
      .where(only ? and(eq(members.communityId, communityId), inArray(members.userId, only)) : eq(members.communityId, communityId)),
    db
      .select({ userId: memberRoles.userId, roleId: memberRoles.roleId })
      .from(memberRoles)
      .where(
        only ? and(eq(memberRoles.communityId, communityId), inArray(memberRoles.userId, only)) : eq(memberRoles.communityId, communityId),
      ),
    db.select().from(channels).where(eq(channels.communityId, communityId)),
    db
      .select({ o: channelOverwrites })
      .from(channelOverwrites)
      .innerJoin(channels, eq(channels.id, channelOverwrites.channelId))
      .where(eq(channels.communityId, communityId)),
  ]);
  return buildModel(community, roleRows, memberRows, memberRoleRows, channelRows, overwriteRows.map((r) => r.o), userIds);
}

async function emptyModel(db: Db, community: CommunityRow): Promise<PermissionModel | undefined> {
  const [roleRows, channelRows] = await Promise.all([
    db.select().from(roles).where(eq(roles.communityId, community.id)),
    db.select().from(channels).where(eq(channels.communityId, community.id)),
  ]);
  return buildModel(community, roleRows, [], [], channelRows, [], []);
}

function buildModel(
  community: CommunityRow,
  roleRows: (typeof roles.$inferSelect)[],
  memberRows: { userId: string }[],
  memberRoleRows: { userId: string; roleId: string }[],
  channelRows: ChannelRow[],
  overwriteRows: (typeof channelOverwrites.$inferSelect)[],
  userIds: string[] | undefined,
): PermissionModel | undefined {
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
  for (const m of memberRows) if (!wanted || wanted.has(m.userId)) memberRoleMap.set(m.userId, []);
  for (const mr of memberRoleRows) {
    if (roleMap.has(mr.roleId)) memberRoleMap.get(mr.userId)?.push(mr.roleId);
  }
  const overwrites = new Map<string, OverwriteInput[]>();
  for (const o of overwriteRows) {
    const list = overwrites.get(o.channelId) ?? [];
    list.push({ kind: o.targetKind, id: o.targetId, allow: parsePermissions(o.allow), deny: parsePermissions(o.deny) });
    overwrites.set(o.channelId, list);
  }
  return { community, everyone, roles: roleMap, memberRoles: memberRoleMap, channels: displayOrder(channelRows), overwrites };
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

/** Community-wide permissions of a member in the model (0 for non-members). */
export function modelCommunityPerms(model: PermissionModel, userId: string): bigint {
  if (!model.memberRoles.has(userId)) return 0n;
  return computePermissions(modelInput(model, userId));
}

/** A member's permissions in one channel of the model (0 for non-members). */
export function modelChannelPerms(model: PermissionModel, userId: string, channelId: string): bigint {
  if (!model.memberRoles.has(userId)) return 0n;
  return computePermissions({ ...modelInput(model, userId), overwrites: model.overwrites.get(channelId) ?? [] });
}

/**
 * The channels a member can see, in display order, with their permissions in each. A
 * category the member cannot see is still listed when a channel in it is visible.
 */
export function visibleChannels(model: PermissionModel, userId: string): { channel: ChannelRow; perms: bigint }[] {
  const perms = new Map(model.channels.map((c) => [c.id, modelChannelPerms(model, userId, c.id)]));
  const visible = (id: string) => has(perms.get(id) ?? 0n, P.VIEW_CHANNEL);
  const parentsNeeded = new Set(model.channels.filter((c) => c.parentId && visible(c.id)).map((c) => c.parentId!));
  return model.channels
    .filter((c) => visible(c.id) || (c.kind === "category" && parentsNeeded.has(c.id)))
    .map((c) => ({ channel: c, perms: perms.get(c.id)! }));
}

/** Members of the model who can see `channelId`. */
export function membersWhoCanSee(model: PermissionModel, channelId: string): string[] {
  return [...model.memberRoles.keys()].filter((u) => has(modelChannelPerms(model, u, channelId), P.VIEW_CHANNEL));
}
