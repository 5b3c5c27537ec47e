/**
 * The policy: one function per question Woxly asks about who may do what, for HTTP routes,
 * WebSocket upgrades, media tokens, LiveKit webhooks and the Durable Objects alike. Every
 * function reads through the one loader in access.ts (the permission model) and decides here;
 * nothing else decides. As everywhere in Woxly, what a user may not see answers `not_found`
 * (404), exactly like what does not exist; what they can see but may not do answers
 * `forbidden` (403).
 *
 *   seeing     canSeeCommunity, canInCommunity, canActAsOwner, canSeeChannel, canSeeChannels,
 *              visibleChannels, membersWhoCanSee
 *   chat       canChat, canReadChannel, readableChannels, canMentionEveryone, canPingRole
 *   threads    threadRoomAccess (with shared/threads.ts threadPerms), canCreateThread, canManageThread, canJoinThread
 *   managing   canManageChannel, canGrant, outranks, canActOnRole, canActOnMember, canBan,
 *              rolesNotHeld, canGiveRoles, canOverwriteFor
 *   moderation canTimeout, canPurgeMessages, canSetSlowmode, bypassesSlowmode, slowmodeWait,
 *              canReportMessage, reportChannelsOf, canSeeReports, canResolveReport
 *   invites    canCreateInvite, canListInvites, canRevokeInvite
 *   calls      canCallInDm, canConnectVoice, canJoinVoice, mayExceedUserLimit,
 *              canStayInVoice, voiceGrantsFor, voiceGrantsNow, canModerateVoice, canMoveToVoice
 *   desk       isDeskManager, canWorkDesk, canWorkTicket, ticketRoomAccess, visitorRoomPerms, canVisitorAttach,
 *              canVisitTicket, canJoinTicketCall, ticketCallGrants
 *   call links canSeeCallLink, canHostCallLink, canJoinCallLink, canChatInCall, callLinkGrants,
 *              echoGrants
 *   instance   canUseInstance, canAdministerInstance, canActOnInstanceUser, canNameAdmins, canRegister
 *   profiles   canSeeProfile, canSetCommunityAvatar, canResetCommunityAvatar, canSeeCustomEmoji,
 *              canManageEmoji, canUseCustomEmoji
 *   previews   canRemovePreview
 *   hands      canRaiseHand, canLowerHand
 */
import { ApiError } from "../shared/errors";
import { voiceGrants, type MediaGrants, type VoiceModeration } from "../shared/media";
import { P, has } from "../shared/permissions";
import { timedOut } from "../shared/moderation";
import {
  type ChannelAccess,
  type ChannelRow,
  type CommunityAccess,
  type PermissionModel,
  loadChannelAccess,
  loadCommunityAccess,
  loadPermissionModel,
  memberAccess,
  modelChannelPerms,
} from "./access";
import type { Db } from "./db";
import { type DeskRow, type LoadedTicket, loadDesk, loadTicket } from "./desk";
import { instanceBanned } from "./instance";
import { loadThread, type ThreadRow } from "./threads";
import { threadPerms } from "../shared/threads";
import type { RegistrationMode } from "../shared/admin";
import { and, eq } from "drizzle-orm";
import { channels, customEmoji, threads } from "./schema";

const notFound = (what: string) => new ApiError("not_found", `No such ${what}.`);
const forbidden = (message = "You do not have permission to do that.") => new ApiError("forbidden", message);
const tooLow = () => forbidden("You can only act on roles and members below your highest role.");

/** Throws `forbidden` unless every permission in `need` is present in `perms`. */
export function requirePerms(perms: bigint, ...need: bigint[]): void {
  if (!has(perms, ...need)) throw forbidden();
}

// ---------------------------------------------------------------------------------------
// Seeing
// ---------------------------------------------------------------------------------------

/** Is the user a member of the community? Their standing there; `not_found` for non-members (banned users are not members). One D1 batch. */
export async function canSeeCommunity(db: Db, userId: string, communityId: string): Promise<CommunityAccess> {
  const a = await loadCommunityAccess(db, userId, communityId);
  if (!a) throw notFound("community");
  return a;
}

/**
 * May the member do `need` community-wide (MANAGE_CHANNELS, MANAGE_ROLES, KICK_MEMBERS,
 * BAN_MEMBERS, MANAGE_COMMUNITY, VIEW_AUDIT_LOG, CREATE_INVITE, ...)? Their standing;
 * `not_found` for non-members, `forbidden` without it.
 */
export async function canInCommunity(db: Db, userId: string, communityId: string, need: bigint): Promise<CommunityAccess> {
  const a = await canSeeCommunity(db, userId, communityId);
  requirePerms(a.perms, need);
  return a;
}

/** Is the user the community's owner (transfer, delete)? `not_found` for non-members, `forbidden` for other members. */
export async function canActAsOwner(db: Db, userId: string, communityId: string): Promise<CommunityAccess> {
  const a = await canSeeCommunity(db, userId, communityId);
  if (!a.isOwner) throw forbidden("Only the owner can do that.");
  return a;
}

/**
 * May the user see this channel? A community channel to a member with VIEW_CHANNEL there
 * (roles and overwrites), a DM to its people. Their standing and permissions there;
 * `not_found` otherwise. One D1 batch (WebSocket upgrades and reconnect storms depend on it).
 */
export async function canSeeChannel(db: Db, userId: string, channelId: string): Promise<ChannelAccess> {
  const a = (await loadChannelAccess(db, userId, channelId)) ?? (await threadRoomAccess(db, userId, channelId)) ?? (await ticketRoomAccess(db, userId, channelId));
  if (!a || !has(a.perms, P.VIEW_CHANNEL)) throw notFound("channel");
  return a;
}

/**
 * Which channels of the model can a member see? In display order, with their permissions in
 * each. A category the member cannot see is still listed when a channel in it is visible.
 */
export function visibleChannels(model: PermissionModel, userId: string): { channel: ChannelRow; perms: bigint }[] {
  const perms = new Map(model.channels.map((c) => [c.id, modelChannelPerms(model, userId, c.id)]));
  const visible = (id: string) => has(perms.get(id) ?? 0n, P.VIEW_CHANNEL);
  const parentsNeeded = new Set(model.channels.filter((c) => c.parentId && visible(c.id)).map((c) => c.parentId!));
  return model.channels
    .filter((c) => visible(c.id) || (c.kind === "category" && parentsNeeded.has(c.id)))
    .map((c) => ({ channel: c, perms: perms.get(c.id)! }));
}

/** Which members of the model can see `channelId`? */
export function membersWhoCanSee(model: PermissionModel, channelId: string): string[] {
  return [...model.memberRoles.keys()].filter((u) => has(modelChannelPerms(model, u, channelId), P.VIEW_CHANNEL));
}

/**
 * The channels of a community a member can see (visibleChannels), with their standing and the
 * model it came from (for the channels' overwrites); `not_found` for non-members. One D1 batch.
 */
export async function canSeeChannels(
  db: Db,
  userId: string,
  communityId: string,
): Promise<{ access: CommunityAccess; model: PermissionModel; channels: { channel: ChannelRow; perms: bigint }[] }> {
  const model = await loadPermissionModel(db, communityId, [userId]);
  const access = model && memberAccess(model, userId);
  if (!model || !access) throw notFound("community");
  return { access, model, channels: visibleChannels(model, userId) };
}

// ---------------------------------------------------------------------------------------
// Chat
// ---------------------------------------------------------------------------------------

/** Community channel kinds that have a ChannelRoom: text channels, and voice channels' chat beside the call. */
export const COMMUNITY_ROOM_KINDS = ["text", "voice"] as const;

/** Channel kinds that have a ChannelRoom (messages); categories do not. */
const CHAT_KINDS = new Set<string>([...COMMUNITY_ROOM_KINDS, "dm", "group_dm", "ticket"]);

/**
 * May the user do `need` in this channel's chat (VIEW_CHANNEL to open its room, READ_HISTORY,
 * ATTACH_FILES, ...)? Their standing there. `not_found` when they cannot see it or it has no
 * chat (a category: no room may open on its id); `forbidden` when they can see it but lack `need`.
 */
export async function canChat(db: Db, userId: string, channelId: string, need: bigint): Promise<ChannelAccess> {
  const a = await canSeeChannel(db, userId, channelId);
  if (!CHAT_KINDS.has(a.channel.kind)) throw notFound("channel");
  requirePerms(a.perms, need);
  return a;
}

/** May the user read this channel's messages (history, one message, pins, search, attachments)? canChat with READ_HISTORY: 404 invisible or no chat, 403 without READ_HISTORY. */
export async function canReadChannel(db: Db, userId: string, channelId: string): Promise<ChannelAccess> {
  return canChat(db, userId, channelId, P.READ_HISTORY);
}

/** Which text channels of the community may the member read (VIEW_CHANNEL and READ_HISTORY; community-wide search)? In display order; `not_found` for non-members. */
export async function readableChannels(db: Db, userId: string, communityId: string): Promise<string[]> {
  const { channels } = await canSeeChannels(db, userId, communityId);
  return channels.filter((v) => v.channel.kind === "text" && has(v.perms, P.VIEW_CHANNEL, P.READ_HISTORY)).map((v) => v.channel.id);
}

/** Do this author's `@everyone` and `@here` ping (MENTION_EVERYONE)? Otherwise they stay text. */
export function canMentionEveryone(perms: bigint): boolean {
  return has(perms, P.MENTION_EVERYONE);
}

/**
 * Does this author's `<@&role>` ping the role's members? `role` must be one of the channel's
 * own community (the caller looks it up there; another community's id is no role at all).
 * The @everyone role is never mentioned this way; any other role pings when it is
 * mentionable ("allow anyone to mention") or the author may MENTION_EVERYONE. A mention that
 * does not ping is not kept in the message's mentions, so it renders as text.
 */
export function canPingRole(perms: bigint, role: { mentionable: boolean; isEveryone: boolean }): boolean {
  return !role.isEveryone && (role.mentionable || canMentionEveryone(perms));
}

// ---------------------------------------------------------------------------------------
// Threads (docs/threads.md): a thread's room inherits its parent text channel's permissions,
// with SEND_IN_THREADS in the place of SEND_MESSAGES.
// ---------------------------------------------------------------------------------------

/**
 * A user's standing in a thread's room (canSeeChannel's answer for a thread id): their standing
 * in the parent text channel with threadPerms, the thread's row in `thread`. Undefined when the
 * id is not a thread's, or they are not a member of its community (a kicked or banned member,
 * an outsider). Whether they may see it is canSeeChannel's VIEW_CHANNEL check, as for any channel.
 */
export async function threadRoomAccess(db: Db, userId: string, threadId: string): Promise<ChannelAccess | undefined> {
  const thread = await loadThread(db, threadId);
  if (!thread) return undefined;
  const parent = await loadChannelAccess(db, userId, thread.parentId);
  if (!parent?.community || parent.channel.kind !== "text") return undefined;
  return {
    ...parent,
    channel: { ...parent.channel, id: thread.id, name: thread.name, parentId: parent.channel.id },
    perms: threadPerms(parent.perms),
    thread,
  };
}

/**
 * May the member start a thread in this channel (from one of its messages or on its own)? A
 * text channel they can read (VIEW_CHANNEL and READ_HISTORY) with CREATE_THREADS there. Their
 * standing in the parent; `not_found` when they cannot see it, it is not a text channel, or it
 * is a thread itself (no threads in threads); `forbidden` without those permissions.
 */
export async function canCreateThread(db: Db, userId: string, parentId: string): Promise<ChannelAccess & { community: CommunityAccess }> {
  const a = await canSeeChannel(db, userId, parentId);
  if (!a.community || a.thread || a.channel.kind !== "text") throw notFound("channel");
  requirePerms(a.perms, P.READ_HISTORY, P.CREATE_THREADS);
  return a as ChannelAccess & { community: CommunityAccess };
}

/** May the user see this thread (its details, join or leave it)? Their standing in it; `not_found` for anything that is not a thread they can see. */
export async function canJoinThread(db: Db, userId: string, threadId: string): Promise<ChannelAccess & { thread: ThreadRow }> {
  const a = await canSeeChannel(db, userId, threadId);
  if (!a.thread) throw notFound("thread");
  return a as ChannelAccess & { thread: ThreadRow };
}

/**
 * May the user rename, archive or unarchive this thread, or change its inactivity period? Its
 * starter while they may still write in it, or whoever has MANAGE_MESSAGES there. `not_found`
 * as canJoinThread, `forbidden` for everyone else.
 */
export async function canManageThread(db: Db, userId: string, threadId: string): Promise<ChannelAccess & { thread: ThreadRow }> {
  const a = await canJoinThread(db, userId, threadId);
  const owner = a.thread.ownerId === userId && has(a.perms, P.SEND_MESSAGES);
  if (!owner && !has(a.perms, P.MANAGE_MESSAGES)) throw forbidden("Only the thread's starter and moderators can change it.");
  return a;
}

// ---------------------------------------------------------------------------------------
// Managing: channels, roles, members. Members act only on roles and members strictly below
// their highest role; the owner is above everyone. Permissions can only be granted by
// someone who has them.
// ---------------------------------------------------------------------------------------

/**
 * May the member manage this community channel: MANAGE_CHANNELS to edit or delete it,
 * MANAGE_ROLES to edit its overwrites, both as computed in that channel (as Discord does)?
 * `not_found` when they cannot see it (and for DMs), `forbidden` without `need`.
 */
export async function canManageChannel(
  db: Db,
  userId: string,
  channelId: string,
  need: bigint,
): Promise<ChannelAccess & { community: CommunityAccess }> {
  const a = await canSeeChannel(db, userId, channelId);
  // A thread is managed through its own routes (canManageThread), never as a channel.
  if (!a.community || a.thread) throw notFound("channel");
  requirePerms(a.perms, need);
  return a as ChannelAccess & { community: CommunityAccess };
}

/**
 * May the actor grant (or take back) the permission bits `bits`? Throws `forbidden` if they
 * hold a bit the actor lacks (`perms` are the actor's where the grant applies; the owner and
 * ADMINISTRATOR have them all).
 */
export function canGrant(perms: bigint, bits: bigint): void {
  if ((bits & ~perms) !== 0n) throw forbidden("You cannot grant permissions you do not have.");
}

/** Does the actor outrank something at `position` (a role, or a member's highest role)? */
export function outranks(actor: Pick<CommunityAccess, "isOwner" | "topPosition">, position: number): boolean {
  return actor.isOwner || actor.topPosition > position;
}

/** May the actor act on a role at `position` (edit, delete, assign)? Throws `forbidden` unless they outrank it. */
export function canActOnRole(actor: CommunityAccess, position: number): void {
  if (!outranks(actor, position)) throw tooLow();
}

/** Throws `forbidden` if the target (a member) is the owner or at or above the actor's highest role; acting on oneself passes. */
function requireBelow(actor: CommunityAccess, target: CommunityAccess): void {
  if (target.userId === actor.userId) return;
  if (target.isOwner || !outranks(actor, target.topPosition)) throw tooLow();
}

/**
 * May the actor act on this member (nickname, kick, roles, overwrites)? The target's standing;
 * `not_found` for non-members, `forbidden` for the owner and for anyone at or above the actor's
 * highest role. Acting on yourself passes here; routes that forbid it (kick, ban) say so.
 */
export async function canActOnMember(db: Db, actor: CommunityAccess, targetUserId: string): Promise<CommunityAccess> {
  const target = await loadCommunityAccess(db, targetUserId, actor.community.id);
  if (!target) throw notFound("member");
  requireBelow(actor, target);
  return target;
}

/**
 * May the actor ban this user? Anyone may be banned by id, members only from above (as
 * canActOnMember), the owner never (`forbidden`). The target's standing, or undefined when
 * they are not a member.
 */
export async function canBan(db: Db, actor: CommunityAccess, targetUserId: string): Promise<CommunityAccess | undefined> {
  if (actor.community.ownerId === targetUserId) throw tooLow();
  const target = await loadCommunityAccess(db, targetUserId, actor.community.id);
  if (target) requireBelow(actor, target);
  return target;
}

/**
 * Which of `roleIds` (roles of the actor's community) carry something the actor does not
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
 * May the actor give, take or delete these roles? Throws `forbidden` unless they hold
 * everything the roles carry (rolesNotHeld): assigning, removing or deleting a role hands out
 * or takes back all of it, whatever its position.
 */
export async function canGiveRoles(db: Db, actor: CommunityAccess, roleIds: string[]): Promise<void> {
  if ((await rolesNotHeld(db, actor, roleIds)).length) {
    throw forbidden("You can only give or take roles whose permissions you have.");
  }
}

/**
 * May the actor set or remove a channel overwrite for this target? A role strictly below
 * their highest (@everyone is below everyone), a member below them or themselves
 * (canActOnMember); the owner may act on all. `mustExist` false (removing): an overwrite of a
 * role or member that is gone has nobody left to protect and may go. `not_found` for an
 * unknown role or member when `mustExist`.
 */
export async function canOverwriteFor(db: Db, actor: CommunityAccess, kind: "role" | "member", targetId: string, mustExist: boolean): Promise<void> {
  if (kind === "role") {
    if (targetId === actor.everyoneRoleId) return;
    const role = actor.communityRoles.get(targetId);
    if (!role) {
      if (mustExist) throw notFound("role");
      return;
    }
    canActOnRole(actor, role.position);
    return;
  }
  const target = await loadCommunityAccess(db, targetId, actor.community.id);
  if (!target) {
    if (mustExist) throw notFound("member");
    return;
  }
  requireBelow(actor, target);
}

// ---------------------------------------------------------------------------------------
// Moderation (docs/moderation.md): timeouts, slowmode, reports, deleting a member's recent
// messages. A timeout itself is applied where permissions are computed (access.ts, with
// shared/moderation.ts applyTimeout), so every rule above already answers for it.
// ---------------------------------------------------------------------------------------

/** Throws `forbidden` unless the target is a member strictly below the actor (never the owner, never oneself). */
function requireStrictlyBelow(actor: CommunityAccess, target: CommunityAccess, what: string): void {
  if (target.userId === actor.userId) throw forbidden(`You cannot ${what} yourself.`);
  requireBelow(actor, target);
}

/**
 * May the actor time out (or lift the timeout of) this member? MODERATE_MEMBERS community-wide
 * (`forbidden`), a member (`not_found`) strictly below them: never the owner, never oneself
 * (`forbidden`). Both standings; `not_found` for non-members.
 */
export async function canTimeout(db: Db, actorId: string, communityId: string, targetId: string): Promise<{ actor: CommunityAccess; target: CommunityAccess }> {
  const actor = await canInCommunity(db, actorId, communityId, P.MODERATE_MEMBERS);
  const target = await loadCommunityAccess(db, targetId, communityId);
  if (!target) throw notFound("member");
  requireStrictlyBelow(actor, target, "time out");
  return { actor, target };
}

/**
 * May the actor delete this member's recent messages in every channel of the community?
 * MANAGE_MESSAGES community-wide (`forbidden`), a member (`not_found`) strictly below them.
 */
export async function canPurgeMessages(db: Db, actorId: string, communityId: string, targetId: string): Promise<CommunityAccess> {
  const actor = await canInCommunity(db, actorId, communityId, P.MANAGE_MESSAGES);
  const target = await loadCommunityAccess(db, targetId, communityId);
  if (!target) throw notFound("member");
  requireStrictlyBelow(actor, target, "do that to");
  return target;
}

/**
 * May the actor set this channel's slowmode? MANAGE_CHANNELS there (canManageChannel), and only
 * channels with a chat (`bad_request` for categories).
 */
export async function canSetSlowmode(db: Db, actorId: string, channelId: string): Promise<ChannelAccess & { community: CommunityAccess }> {
  const a = await canManageChannel(db, actorId, channelId, P.MANAGE_CHANNELS);
  if (!(COMMUNITY_ROOM_KINDS as readonly string[]).includes(a.channel.kind)) throw new ApiError("bad_request", "Only channels with a chat have slowmode.");
  return a;
}

/** Does a member with these channel permissions skip its slowmode? MANAGE_MESSAGES or MANAGE_CHANNELS there. */
export function bypassesSlowmode(perms: bigint): boolean {
  return has(perms, P.MANAGE_MESSAGES) || has(perms, P.MANAGE_CHANNELS);
}

/**
 * How long this member must still wait before their next message in a channel with slowmode
 * `seconds`, ms (0: they may send): `lastSentAt` is their last message there (ms since the
 * epoch, or null), `now` ms since the epoch.
 */
export function slowmodeWait(perms: bigint, seconds: number, lastSentAt: number | null, now: number): number {
  if (seconds <= 0 || lastSentAt === null || bypassesSlowmode(perms)) return 0;
  return Math.max(0, lastSentAt + seconds * 1000 - now);
}

/**
 * May the user report a message of this channel? Whoever can read it (canReadChannel: 404
 * invisible, 403 without READ_HISTORY), in a community's channel (reports go to its
 * moderators; DMs have none: `not_found`).
 */
export async function canReportMessage(db: Db, userId: string, channelId: string): Promise<ChannelAccess & { community: CommunityAccess }> {
  const a = await canReadChannel(db, userId, channelId);
  if (!a.community) throw notFound("channel");
  return a as ChannelAccess & { community: CommunityAccess };
}

/** Which channels' reports a member handles: MODERATE_MEMBERS community-wide handles all; otherwise those where they hold MANAGE_MESSAGES (and can see). */
export function reportChannelsOf(model: PermissionModel, access: CommunityAccess): Set<string> {
  const all = has(access.perms, P.MODERATE_MEMBERS);
  return new Set(
    model.channels
      .filter((c) => {
        const perms = modelChannelPerms(model, access.userId, c.id);
        return c.kind !== "category" && (all ? has(perms, P.VIEW_CHANNEL) : has(perms, P.VIEW_CHANNEL, P.MANAGE_MESSAGES));
      })
      .map((c) => c.id),
  );
}

/**
 * May the member see the community's reports queue? Those who handle reports of at least one
 * channel (reportChannelsOf) or hold MODERATE_MEMBERS; `forbidden` for other members,
 * `not_found` for non-members. Their standing and the channels whose reports they see.
 */
export async function canSeeReports(db: Db, userId: string, communityId: string): Promise<{ access: CommunityAccess; channelIds: Set<string> }> {
  const { access, model } = await canSeeChannels(db, userId, communityId);
  const channelIds = reportChannelsOf(model, access);
  if (!has(access.perms, P.MODERATE_MEMBERS) && channelIds.size === 0) throw forbidden();
  return { access, channelIds };
}

/**
 * May the member resolve this report with `action`? A report of a channel whose reports they
 * see (`not_found` otherwise); `delete` takes MANAGE_MESSAGES in that channel, `timeout` is
 * canTimeout on its author (`forbidden` either way), `dismiss` nothing more.
 */
export async function canResolveReport(
  db: Db,
  userId: string,
  communityId: string,
  report: { channelId: string; authorId: string | null },
  action: "delete" | "timeout" | "dismiss",
): Promise<CommunityAccess> {
  const { access, channelIds } = await canSeeReports(db, userId, communityId).catch((e: unknown) => {
    if (e instanceof ApiError && e.code === "forbidden") throw notFound("report");
    throw e;
  });
  if (!channelIds.has(report.channelId)) throw notFound("report");
  if (action === "delete") {
    const ch = await loadChannelAccess(db, userId, report.channelId);
    if (!ch || !has(ch.perms, P.MANAGE_MESSAGES)) throw forbidden();
  } else if (action === "timeout") {
    if (!report.authorId) throw forbidden();
    await canTimeout(db, userId, communityId, report.authorId);
  }
  return access;
}

// ---------------------------------------------------------------------------------------
// Invites
// ---------------------------------------------------------------------------------------

/**
 * May the member create an invite, to `channelId` when given? CREATE_INVITE community-wide
 * and, for a channel, a text channel of this community they can see (`not_found` otherwise)
 * with CREATE_INVITE there (`forbidden`).
 */
export async function canCreateInvite(db: Db, userId: string, communityId: string, channelId?: string): Promise<void> {
  await canInCommunity(db, userId, communityId, P.CREATE_INVITE);
  if (!channelId) return;
  const ch = await canSeeChannel(db, userId, channelId);
  if (ch.channel.communityId !== communityId || ch.channel.kind !== "text") throw notFound("channel");
  requirePerms(ch.perms, P.CREATE_INVITE);
}

/** Which invites may the member list? "all" with MANAGE_COMMUNITY, "own" with CREATE_INVITE; `not_found` for non-members, `forbidden` with neither. */
export async function canListInvites(db: Db, userId: string, communityId: string): Promise<"all" | "own"> {
  const a = await canSeeCommunity(db, userId, communityId);
  if (has(a.perms, P.MANAGE_COMMUNITY)) return "all";
  requirePerms(a.perms, P.CREATE_INVITE);
  return "own";
}

/** May the user revoke this invite? Its creator while they hold CREATE_INVITE, or anyone with MANAGE_COMMUNITY; non-members get `not_found`, as for an unknown code. */
export async function canRevokeInvite(db: Db, userId: string, invite: { communityId: string; creatorId: string }): Promise<void> {
  const a = await canSeeCommunity(db, userId, invite.communityId);
  if (!(invite.creatorId === userId && has(a.perms, P.CREATE_INVITE))) requirePerms(a.perms, P.MANAGE_COMMUNITY);
}

// ---------------------------------------------------------------------------------------
// Calls: DM calls and voice channels (LiveKit rooms named after the channel id)
// ---------------------------------------------------------------------------------------

/** Channel kinds that have a LiveKit room. */
export const VOICE_KINDS = new Set(["voice", "dm", "group_dm"]);

const NO_MODERATION: VoiceModeration = { serverMute: false, serverDeaf: false };

/** Whether someone who can see a channel may be in its call: CONNECT (taken from a 1:1 DM by a block). */
function connects(a: ChannelAccess): boolean {
  return has(a.perms, P.VIEW_CHANNEL, P.CONNECT);
}

/**
 * May the user use this DM's call: ring or answer it (`connect`), or see and leave it? A DM
 * they are in (`not_found` otherwise, community channels too); to connect, CONNECT there,
 * which a block takes away (`forbidden`). The same rule as the media token, so whoever may
 * ring may also join.
 */
export async function canCallInDm(db: Db, userId: string, channelId: string, connect: boolean): Promise<ChannelAccess> {
  const a = await canSeeChannel(db, userId, channelId);
  if (a.community || a.channel.kind === "ticket") throw notFound("conversation");
  if (connect && !connects(a)) throw forbidden("You cannot call in this conversation.");
  return a;
}

/**
 * May the user connect to this channel's call at all (the E2EE key; the first half of
 * canJoinVoice)? Their standing there. `not_found` when they cannot see it, `bad_request` for
 * a channel without voice, `forbidden` without CONNECT (a block takes it from a DM).
 */
export async function canConnectVoice(db: Db, userId: string, channelId: string): Promise<ChannelAccess> {
  const a = await canSeeChannel(db, userId, channelId);
  if (!VOICE_KINDS.has(a.channel.kind)) throw new ApiError("bad_request", "This channel has no voice.");
  if (!connects(a)) throw forbidden("You may not connect to this voice channel.");
  return a;
}

/**
 * What only a community's CommunityHub knows about its voice channels, asked by canJoinVoice
 * when a decision needs it (the api supplies it: workers/api/src/lib/voice.ts voiceHubFacts).
 */
export interface VoiceHubFacts {
  /** The member's voice state: their moderation, and the channel a moderator just moved them to. */
  state(userId: string): Promise<{ moderation: VoiceModeration; movedTo: string | null }>;
  /** How many others the hub shows in the channel now. */
  othersIn(channelId: string, userId: string): Promise<number>;
  /** Makes the hub's states of the channel agree with LiveKit (repairs a lost "left" webhook). */
  reconcile(channelId: string): Promise<void>;
}

export interface VoiceJoin {
  access: ChannelAccess;
  /** Exactly what the member may do in the room (voiceGrantsFor). */
  grants: MediaGrants;
  /** Others shown in the channel when the member asked (0 for DMs). */
  othersShown: number;
  /** Whether the hub was already reconciled with LiveKit for this decision. */
  reconciled: boolean;
}

/**
 * Who may join this voice channel? A user who can see it (`not_found` otherwise), in a channel
 * with voice (`bad_request`), with CONNECT there (`forbidden`; a block takes it from a 1:1 DM),
 * not timed out (`forbidden`),
 * and — in a community channel with a user limit — while fewer than the limit are shown in it,
 * unless they may exceed it (mayExceedUserLimit). When it looks full the hub is first
 * reconciled with LiveKit (a lost "left" webhook must not keep anyone out); still full is
 * `channel_full` (403). Returns the grants their token carries: voiceGrantsFor, with their
 * server mute and deafen. Two tokens issued at once can both pass; the join webhook removes the
 * later joiner (workers/api/src/lib/voice.ts handleWebhook).
 */
export async function canJoinVoice(db: Db, userId: string, channelId: string, hubOf: (communityId: string) => VoiceHubFacts): Promise<VoiceJoin> {
  const a = await canConnectVoice(db, userId, channelId);
  // A timed-out member keeps CONNECT (a call they are in only silences them, and keeps its
  // E2EE key), but joining waits until the timeout ends.
  if (a.community && timedOut(a.community.timeoutUntil, Date.now())) throw forbidden("You are timed out.");
  if (!a.community) return { access: a, grants: voiceGrantsFor(a, NO_MODERATION), othersShown: 0, reconciled: false };
  const hub = hubOf(a.community.community.id);
  const state = await hub.state(userId);
  const limit = a.channel.userLimit;
  const othersShown = await hub.othersIn(channelId, userId);
  let reconciled = false;
  if (limit > 0 && othersShown >= limit && !(await mayExceedUserLimit(a, async () => state.movedTo === channelId))) {
    await hub.reconcile(channelId);
    reconciled = true;
    if ((await hub.othersIn(channelId, userId)) >= limit) throw new ApiError("channel_full", "This voice channel is full.");
  }
  return { access: a, grants: voiceGrantsFor(a, state.moderation), othersShown, reconciled };
}

/**
 * May this member go past the channel's user limit? The owner and MOVE_MEMBERS may (as on
 * Discord), and anyone a moderator just moved there (`justMovedHere`, asked only when needed).
 */
export async function mayExceedUserLimit(a: ChannelAccess, justMovedHere: () => Promise<boolean>): Promise<boolean> {
  if (a.community?.isOwner || has(a.perms, P.MOVE_MEMBERS)) return true;
  return justMovedHere();
}

/**
 * May this user be in this channel's room now (LiveKit webhook admission, reconcile, the
 * sync after a role or overwrite change, key rotation)? Their standing there, or null when
 * they may not: no longer a member or one of the DM's people, cannot see it, or lost CONNECT
 * (a block in a 1:1 DM). Never throws for access; a failing D1 does throw.
 */
export async function canStayInVoice(db: Db, userId: string, channelId: string): Promise<ChannelAccess | null> {
  // A token issued just before an instance ban must not get its holder back in (canUseInstance).
  const [a, banned] = await Promise.all([loadChannelAccess(db, userId, channelId), instanceBanned(db, userId)]);
  return a && !banned && connects(a) ? a : null;
}

/**
 * What may this member do in the room: the shared voiceGrants mapping of their permissions
 * there, with a moderator's server mute and deafen (which count only in community channels).
 */
export function voiceGrantsFor(a: ChannelAccess, mod: VoiceModeration): MediaGrants {
  return voiceGrants(a.perms, a.community ? mod : NO_MODERATION);
}

/** What may this member do in the channel's room now: their grants, or null when they may not be there at all (canStayInVoice). */
export async function voiceGrantsNow(db: Db, userId: string, channelId: string, mod: VoiceModeration): Promise<MediaGrants | null> {
  const a = await canStayInVoice(db, userId, channelId);
  return a && voiceGrantsFor(a, mod);
}

/**
 * May the actor moderate this member in this voice channel (mute with MUTE_MEMBERS, deafen
 * with DEAFEN_MEMBERS, disconnect or move with MOVE_MEMBERS, as computed in the channel)?
 * Only voice channels of a community have moderators (`bad_request`), the actor must see the
 * channel (`not_found`) and hold `need` there (`forbidden`), the target must be a member
 * (`not_found`), and only the owner moderates the owner (`forbidden`).
 */
export async function canModerateVoice(
  db: Db,
  actorId: string,
  channelId: string,
  targetId: string,
  need: bigint,
): Promise<{ actor: ChannelAccess & { community: CommunityAccess }; communityId: string }> {
  const actor = await canSeeChannel(db, actorId, channelId);
  if (actor.channel.kind !== "voice" || !actor.community) throw new ApiError("bad_request", "Only voice channels of a community have moderators.");
  requirePerms(actor.perms, need);
  const communityId = actor.community.community.id;
  const target = await loadCommunityAccess(db, targetId, communityId);
  if (!target) throw notFound("member");
  if (target.isOwner && !actor.community.isOwner) throw forbidden("The owner cannot be moderated.");
  return { actor: actor as ChannelAccess & { community: CommunityAccess }, communityId };
}

/**
 * May a moderator (already allowed in the source channel, canModerateVoice) move this member
 * into `toChannelId`? Another voice channel of the same community (`bad_request`) that the
 * actor can see (`not_found`) with MOVE_MEMBERS there (`forbidden`), and that the member may
 * be in (canStayInVoice; `forbidden` otherwise).
 */
export async function canMoveToVoice(db: Db, actorId: string, communityId: string, targetId: string, toChannelId: string): Promise<void> {
  const dest = await canSeeChannel(db, actorId, toChannelId);
  if (dest.channel.kind !== "voice" || dest.channel.communityId !== communityId) {
    throw new ApiError("bad_request", "Members can only be moved to another voice channel of this community.");
  }
  requirePerms(dest.perms, P.MOVE_MEMBERS);
  if (!(await canStayInVoice(db, targetId, toChannelId))) throw forbidden("They may not connect to that channel.");
}

// ---------------------------------------------------------------------------------------
// Support desk: managers, tickets, visitors (docs/support-desk.md "Security")
// ---------------------------------------------------------------------------------------

/** A member working a desk: the desk, their standing in its community, and whether they administer it. */
export interface DeskWork {
  desk: DeskRow;
  access: CommunityAccess;
  /** MANAGE_COMMUNITY in the desk's community: administers the desk, and may write in any of its tickets. */
  isAdmin: boolean;
}

/** Is this member a manager of the desk: an admin (MANAGE_COMMUNITY), or a holder of its manager role? */
export function isDeskManager(desk: Pick<DeskRow, "managerRoleId">, access: CommunityAccess): boolean {
  if (has(access.perms, P.MANAGE_COMMUNITY)) return true;
  return desk.managerRoleId !== null && access.roleIds.includes(desk.managerRoleId);
}

/**
 * May the user work this desk (its queue, tickets, stats, knowledge base, canned replies, the
 * desk socket)? A member of the desk's community who is a manager (isDeskManager); `not_found`
 * for everyone else, as for a desk that does not exist.
 */
export async function canWorkDesk(db: Db, userId: string, deskId: string, desk?: DeskRow): Promise<DeskWork> {
  const d = desk ?? (await loadDesk(db, deskId));
  if (!d || d.id !== deskId) throw notFound("desk");
  const access = await loadCommunityAccess(db, userId, d.communityId);
  if (!access || !isDeskManager(d, access)) throw notFound("desk");
  return { desk: d, access, isAdmin: has(access.perms, P.MANAGE_COMMUNITY) };
}

/** What the desk's managers may do in a ticket's room: read it. */
export const TICKET_READ_PERMS: bigint = P.VIEW_CHANNEL | P.READ_HISTORY;
/** What the ticket's assignee (or an admin) and its visitor may do there while it is not closed: talk. */
export const TICKET_TALK_PERMS: bigint = TICKET_READ_PERMS | P.SEND_MESSAGES | P.ADD_REACTIONS | P.ATTACH_FILES;

/** A member's permissions in a ticket's room: talk for the assignee or an admin while it is not closed, read for other managers. */
function ticketMemberPerms(t: LoadedTicket, work: DeskWork): bigint {
  const talks = (work.isAdmin || t.ticket.assigneeId === work.access.userId) && t.ticket.status !== "closed";
  return talks ? TICKET_TALK_PERMS : TICKET_READ_PERMS;
}

/**
 * May the member work this ticket: `read` (every manager of its desk: the conversation,
 * transcript, close) or `send` (its assignee or an admin: write in it, transfer it, its call)?
 * The ticket, the member's standing at its desk and their permissions in its room;
 * `not_found` for anyone who is not a manager of the ticket's desk (or an unknown ticket),
 * `forbidden` for a manager who may read but not `send`.
 */
export async function canWorkTicket(
  db: Db,
  userId: string,
  by: { ticketId: string; deskId?: string } | { channelId: string },
  need: "read" | "send",
): Promise<{ ticket: LoadedTicket; work: DeskWork; perms: bigint }> {
  const t = await loadTicket(db, by);
  if (!t || ("deskId" in by && by.deskId !== undefined && t.ticket.deskId !== by.deskId)) throw notFound("ticket");
  const work = await canWorkDesk(db, userId, t.desk.id, t.desk);
  const assignedOrAdmin = work.isAdmin || t.ticket.assigneeId === userId;
  if (need === "send" && !assignedOrAdmin) throw forbidden("Only the ticket's manager can do that.");
  return { ticket: t, work, perms: ticketMemberPerms(t, work) };
}

/**
 * A member's standing in a ticket's room (canSeeChannel's answer for channels of kind
 * "ticket", which have no community): their permissions there per canWorkTicket, or
 * undefined when the channel is not a ticket's or they do not work its desk.
 */
export async function ticketRoomAccess(db: Db, userId: string, channelId: string): Promise<ChannelAccess | undefined> {
  try {
    const { ticket, perms } = await canWorkTicket(db, userId, { channelId }, "read");
    const channel: ChannelRow = {
      id: ticket.ticket.channelId,
      communityId: null,
      parentId: null,
      kind: "ticket",
      name: ticket.visitor.name ?? "Visitor",
      topic: null,
      position: 0,
      userLimit: 0,
      e2ee: false,
      stage: false,
      createdAt: ticket.ticket.createdAt,
      dmKey: null,
      slowmodeSeconds: 0,
    };
    return { userId, channel, community: null, perms, overwrites: [], recipients: [] };
  } catch (e) {
    if (e instanceof ApiError && e.code === "not_found") return undefined;
    throw e;
  }
}

/** What a visitor may do in their own ticket's room while it is not closed: talk, react and attach files (POST /api/uploads/widget). */
export const VISITOR_TALK_PERMS: bigint = TICKET_READ_PERMS | P.SEND_MESSAGES | P.ADD_REACTIONS | P.ATTACH_FILES;

/** A visitor's permissions in their own ticket's room: talk while it is not closed, then read only. */
export function visitorRoomPerms(status: LoadedTicket["ticket"]["status"]): bigint {
  return status === "closed" ? TICKET_READ_PERMS : VISITOR_TALK_PERMS;
}

/**
 * May the visitor upload a file to this ticket's room: their own latest ticket (`not_found`
 * before their first question), while it is not closed (`conflict` after).
 */
export function canVisitorAttach<T extends { visitorId: string; status: LoadedTicket["ticket"]["status"] }>(visitorId: string, ticket: T | undefined | null): T {
  const t = canVisitTicket(visitorId, ticket);
  if (!has(visitorRoomPerms(t.status), P.ATTACH_FILES)) throw new ApiError("conflict", "This conversation is closed.");
  return t;
}

/** May this visitor reach this ticket? Only their own; `not_found` for any other (as for one that does not exist). */
export function canVisitTicket<T extends { visitorId: string }>(visitorId: string, ticket: T | undefined | null): T {
  if (!ticket || ticket.visitorId !== visitorId) throw notFound("ticket");
  return ticket;
}

/** A side of a ticket's call: its visitor, or a member. */
export type TicketParty = { kind: "visitor"; visitorId: string } | { kind: "member"; userId: string };

/**
 * May this party have a media token for the ticket's call (room `ticket-<ticketId>`)? Only
 * the ticket's visitor and its assignee (`not_found` for anyone else), and only while its
 * call rings or runs (`not_found`: there is no call to join).
 */
export function canJoinTicketCall(
  party: TicketParty,
  ticket: { visitorId: string; assigneeId: string | null; status: string },
  call: { state: "ringing" | "active" | "ended" } | null,
): void {
  const isParty = party.kind === "visitor" ? ticket.visitorId === party.visitorId : ticket.assigneeId === party.userId;
  if (!isParty || ticket.status !== "open") throw notFound("ticket");
  if (!call || call.state === "ended") throw notFound("call");
}

/** What either side may do in a ticket's call: camera, microphone, screen share and its audio, subscribe; no data, no metadata. */
export function ticketCallGrants(): MediaGrants {
  return {
    canSubscribe: true,
    canPublishSources: ["camera", "microphone", "screen_share", "screen_share_audio"],
    canPublishData: false,
    canUpdateOwnMetadata: false,
  };
}

// ---------------------------------------------------------------------------------------
// Support desk: administration (settings, managers' role, API keys; docs/support-desk.md)
// ---------------------------------------------------------------------------------------

/**
 * May the user administer desks of this community (create one; read, edit or delete any, its
 * API keys)? MANAGE_COMMUNITY there. Their standing; `not_found` for non-members, `forbidden`
 * for members without it (canInCommunity).
 */
export async function canAdministerDesks(db: Db, userId: string, communityId: string): Promise<CommunityAccess> {
  return canInCommunity(db, userId, communityId, P.MANAGE_COMMUNITY);
}

/**
 * May the user administer this desk (settings, delete, API keys)? MANAGE_COMMUNITY in the
 * desk's community. The desk and their standing; `not_found` for an unknown desk and for
 * anyone who is not a manager of it (they cannot see it), `forbidden` for its managers
 * without MANAGE_COMMUNITY.
 */
export async function canAdministerDesk(db: Db, userId: string, deskId: string, desk?: DeskRow): Promise<DeskWork> {
  const work = await canWorkDesk(db, userId, deskId, desk);
  if (!work.isAdmin) throw forbidden("Only the community's administrators can change the desk.");
  return work;
}

/** Is `roleId` a role of the community that may be a desk's manager role (not @everyone)? `validation_failed` otherwise. */
export function requireManagerRole(access: CommunityAccess, roleId: string | null | undefined): void {
  if (roleId === null || roleId === undefined) return;
  if (!access.communityRoles.has(roleId)) {
    const message = "not a role of this community";
    throw new ApiError("validation_failed", "Some fields are not valid.", { issues: [{ path: ["managerRoleId"], message }] });
  }
}

// ---------------------------------------------------------------------------------------
// Call links: hosts, members and guests (docs/call-links.md "Security")
// ---------------------------------------------------------------------------------------

/** What the call-link rules read of a link (its D1 row, or the CallLink object's mirror of it). */
export interface CallLinkFacts {
  id: string;
  hostId: string;
  locked: boolean;
  lobby: boolean;
  requireAccount: boolean;
  /** ms since the epoch, or null while the link is live. */
  endedAt: number | null;
}

/** Who asks: a member (session cookie) or a guest (guest cookie, bound to one link). */
export type CallActor = { kind: "member"; userId: string } | { kind: "guest"; guestId: string; linkId: string };

/** Where someone stands in a link's lobby: let in, waiting for the host, or turned away. */
export type CallAdmission = "admitted" | "waiting" | "refused";

/** The actor's person id in the link: the user id, or `g_<guestId>` (shared/call-links.ts guestPersonId). */
export function callPersonId(actor: CallActor): string {
  return actor.kind === "member" ? actor.userId : `g_${actor.guestId}`;
}

/** Is the actor the link's host? */
export function isCallHost(actor: CallActor, link: Pick<CallLinkFacts, "hostId">): boolean {
  return actor.kind === "member" && actor.userId === link.hostId;
}

/**
 * May the caller see this link's pre-join preview? Anyone with the code may (the code is the
 * secret); a guest of another link is just anyone here. `not_found` for a link that does not exist.
 */
export function canSeeCallLink<T>(link: T | undefined | null): T {
  if (!link) throw notFound("call link");
  return link;
}

/**
 * May the actor host the link (settings, lobby decisions, lowering others' hands, ending it)?
 * Its host only: `not_found` for an unknown link, `forbidden` for everyone else (they can see it).
 */
export function canHostCallLink<T extends Pick<CallLinkFacts, "hostId">>(actor: CallActor | null, link: T | undefined | null): T {
  const l = canSeeCallLink(link);
  if (!actor || !isCallHost(actor, l)) throw forbidden("Only the call's host can do that.");
  return l;
}

/**
 * May the actor come into the call (a guest session, a media token, the CallLink socket)? The
 * admission they get: the host is always let in; someone already admitted stays admitted
 * (also once the link is locked); someone new or still waiting is refused while it is locked
 * (`forbidden`), waits while the lobby is on, and is let in otherwise. `not_found` when the link is ended or
 * unknown, and for a guest of another link (to them, this link is nothing); `forbidden` for a
 * guest when the link requires accounts and for someone the host refused.
 */
export function canJoinCallLink(actor: CallActor, link: CallLinkFacts | undefined | null, admission: CallAdmission | null): "admitted" | "waiting" {
  const l = canSeeCallLink(link);
  if (l.endedAt !== null) throw notFound("call link");
  if (actor.kind === "guest") {
    if (actor.linkId !== l.id) throw notFound("call link");
    if (l.requireAccount) throw forbidden("This call is for people with an account. Log in to join.");
  }
  if (isCallHost(actor, l)) return "admitted";
  if (admission === "refused") throw forbidden("The host did not let you in.");
  if (admission === "admitted") return "admitted";
  if (l.locked) throw forbidden("The call is locked: nobody new can join.");
  // Someone waiting when the host turns the lobby off comes in (the object admits them then).
  return l.lobby ? "waiting" : "admitted";
}

/** What everyone let into a call may do in its chat: read, write, react (no files: guests have no uploads, and call chats are not under /attachments). */
export const CALL_CHAT_PERMS: bigint = P.VIEW_CHANNEL | P.READ_HISTORY | P.SEND_MESSAGES | P.ADD_REACTIONS;

/**
 * May the actor use the call's chat (its ChannelRoom socket, its history)? Their permissions
 * there: the host and everyone admitted talk (the host also deletes others' messages) while
 * the link is live; after it ends its host may still read it. `not_found` for everyone else
 * (waiting, refused, a guest of another link, a guest of a link that requires accounts).
 */
export function canChatInCall(actor: CallActor, link: CallLinkFacts | undefined | null, admission: CallAdmission | null): bigint {
  const l = canSeeCallLink(link);
  const host = isCallHost(actor, l);
  if (l.endedAt !== null) {
    if (host) return P.VIEW_CHANNEL | P.READ_HISTORY;
    throw notFound("channel");
  }
  if (host) return CALL_CHAT_PERMS | P.MANAGE_MESSAGES;
  let at: "admitted" | "waiting";
  try {
    at = canJoinCallLink(actor, l, admission);
  } catch {
    throw notFound("channel");
  }
  // Only who is in already: a newcomer whom the rules would let in has not come in yet.
  if (at !== "admitted" || admission !== "admitted") throw notFound("channel");
  return CALL_CHAT_PERMS;
}

/** What everyone in a call link's room may do: camera, microphone, screen share and its audio, subscribe; no data, no metadata. */
export function callLinkGrants(): MediaGrants {
  return {
    canSubscribe: true,
    canPublishSources: ["camera", "microphone", "screen_share", "screen_share_audio"],
    canPublishData: false,
    canUpdateOwnMetadata: false,
  };
}

/** The echo test's two tokens: the sender publishes camera and microphone and hears nothing; the receiver only subscribes. */
export function echoGrants(): { sender: MediaGrants; receiver: MediaGrants } {
  return {
    sender: { canSubscribe: false, canPublishSources: ["camera", "microphone"], canPublishData: false, canUpdateOwnMetadata: false },
    receiver: { canSubscribe: true, canPublishSources: [], canPublishData: false, canUpdateOwnMetadata: false },
  };
}

// ---------------------------------------------------------------------------------------
// Instance (docs/admin.md): the owner (the first account) and the admins the owner names
// ---------------------------------------------------------------------------------------

/** What the instance questions read of an account. */
export interface InstanceUser {
  id: string;
  instanceRole: "owner" | "admin" | null;
  /** ms; null = not banned. */
  bannedAt: number | null;
}

/**
 * May this account use the instance at all? False once an admin banned it. Every session is
 * loaded through lib/sessions.ts `loadSession`, which asks this, so HTTP routes, WebSocket
 * upgrades, attachment downloads and media tokens all refuse a banned account alike; LiveKit
 * admission asks too (canStayInVoice), for a token issued just before the ban.
 */
export function canUseInstance(user: Pick<InstanceUser, "bannedAt">): boolean {
  return user.bannedAt === null;
}

/**
 * May the user open the admin page and its routes? Their instance role; `forbidden` for
 * everyone else (every instance has an admin page, so there is nothing to hide with a 404).
 */
export function canAdministerInstance(user: InstanceUser): "owner" | "admin" {
  if (user.instanceRole === "owner" || user.instanceRole === "admin") return user.instanceRole;
  throw forbidden("Only the instance's owner and admins can do that.");
}

/**
 * May `actor` act on `target`'s account (issue a password-reset link, ban, unban)? The owner
 * on anyone but themself; an admin only on accounts without an instance role. `not_found`
 * when the account does not exist, `forbidden` otherwise.
 */
export function canActOnInstanceUser<T extends InstanceUser>(actor: InstanceUser, target: T | undefined | null): T {
  const role = canAdministerInstance(actor);
  if (!target) throw notFound("user");
  if (target.id === actor.id) throw forbidden("You cannot do that to your own account here; use Settings.");
  if (target.instanceRole === "owner") throw forbidden("Nobody can act on the owner's account.");
  if (role === "admin" && target.instanceRole === "admin") throw forbidden("Only the owner can act on another admin.");
  return target;
}

/** May `actor` name `target` an admin or take that away? Only the owner, on anyone but themself. */
export function canNameAdmins<T extends InstanceUser>(actor: InstanceUser, target: T | undefined | null): T {
  if (canAdministerInstance(actor) !== "owner") throw forbidden("Only the owner names admins.");
  if (!target) throw notFound("user");
  if (target.id === actor.id) throw forbidden("The owner stays the owner.");
  return target;
}

/**
 * May a visitor create an account? `open`: yes; `invite`: only with a live community invite
 * (`inviteUsable`), `invite_required` otherwise; `closed`: `registration_closed`. An instance
 * without an owner is always open, so its first account can be made.
 */
export function canRegister(mode: RegistrationMode, hasOwner: boolean, inviteUsable: boolean): void {
  if (!hasOwner || mode === "open") return;
  if (mode === "closed") throw new ApiError("registration_closed", "This instance is not taking new accounts.");
  if (!inviteUsable) throw new ApiError("invite_required", "New accounts need an invite link from a community here.");
}

// ---------------------------------------------------------------------------------------
// Profiles and custom emoji (docs/profiles-and-emoji.md)
// ---------------------------------------------------------------------------------------

/**
 * May the viewer see this user's profile (names, avatar, pronouns, about me, status)? Any
 * signed-in user may, as they may see the name; `not_found` for ids that name no one. With
 * `communityId`, the member part only when both are members there (else null, not an error).
 */
export async function canSeeProfile<T>(db: Db, viewerId: string, target: T | undefined | null, communityId?: string): Promise<{ target: T; community: CommunityAccess | null }> {
  if (!target) throw notFound("user");
  if (!communityId) return { target, community: null };
  const mine = await loadCommunityAccess(db, viewerId, communityId);
  return { target, community: mine ?? null };
}

/**
 * May the actor set `targetUserId`'s avatar in this community? Only their own: nobody sets
 * another member's picture (`forbidden`); `not_found` for non-members.
 */
export async function canSetCommunityAvatar(db: Db, actorId: string, communityId: string, targetUserId: string): Promise<CommunityAccess> {
  const a = await canSeeCommunity(db, actorId, communityId);
  if (targetUserId !== actorId) throw forbidden("Only members themselves set their community avatar.");
  return a;
}

/**
 * May the actor remove `targetUserId`'s community avatar? Their own always; another's with
 * MANAGE_NICKNAMES, below the actor's highest role (as canActOnMember). The target's standing.
 */
export async function canResetCommunityAvatar(db: Db, actorId: string, communityId: string, targetUserId: string): Promise<CommunityAccess> {
  if (targetUserId === actorId) return canSeeCommunity(db, actorId, communityId);
  const a = await canInCommunity(db, actorId, communityId, P.MANAGE_NICKNAMES);
  return canActOnMember(db, a, targetUserId);
}

/** May the user see (list, fetch the images of) a community's custom emoji? Members only; `not_found` otherwise. */
export async function canSeeCustomEmoji(db: Db, userId: string, communityId: string): Promise<CommunityAccess> {
  return canSeeCommunity(db, userId, communityId);
}

/** May the member add, rename or delete the community's custom emoji? MANAGE_EMOJI. */
export async function canManageEmoji(db: Db, userId: string, communityId: string): Promise<CommunityAccess> {
  return canInCommunity(db, userId, communityId, P.MANAGE_EMOJI);
}

/**
 * May custom emoji `emojiId` be used (as a reaction) in `channelId`? Only in a channel of the
 * emoji's own community — not in another community, a DM, a ticket or a call's chat; the
 * caller has already checked the member may react there. The emoji's current name;
 * `not_found` otherwise (an emoji of another community looks like one that does not exist).
 */
export async function canUseCustomEmoji(db: Db, channelId: string, emojiId: string): Promise<{ name: string; communityId: string }> {
  // The room is a community channel, or a thread of one (docs/threads.md: its own table).
  const [inChannel, inThread] = await db.batch([
    db
      .select({ name: customEmoji.name, communityId: customEmoji.communityId })
      .from(customEmoji)
      .innerJoin(channels, eq(channels.communityId, customEmoji.communityId))
      .where(and(eq(customEmoji.id, emojiId), eq(channels.id, channelId)))
      .limit(1),
    db
      .select({ name: customEmoji.name, communityId: customEmoji.communityId })
      .from(customEmoji)
      .innerJoin(threads, eq(threads.communityId, customEmoji.communityId))
      .where(and(eq(customEmoji.id, emojiId), eq(threads.id, channelId)))
      .limit(1),
  ]);
  const row = inChannel[0] ?? inThread[0];
  if (!row) throw notFound("emoji");
  return row;
}

// --- link previews (docs/link-previews.md) -----------------------------------------------

/**
 * May a member remove a link preview from a message? Its author (`isAuthor`: the message is
 * theirs and not a system message), or whoever holds MANAGE_MESSAGES in the channel (`perms`).
 * Seeing the image of a preview needs only its signed proxy URL (workers/core/link-previews.ts):
 * the signature is the grant, handed out with the message to those who may read it.
 */
export function canRemovePreview(isAuthor: boolean, perms: bigint): boolean {
  return isAuthor || has(perms, P.MANAGE_MESSAGES);
}

// --- raised hands (docs/voice.md "Raised hands") ----------------------------------------

/**
 * May a member raise their hand in the voice channel they are in? Only in a stage (a voice
 * channel with `stage` on); `channel` undefined (gone) is `not_found`.
 */
export function canRaiseHand(channel: { kind: string; stage: boolean } | undefined): void {
  if (!channel) throw notFound("channel");
  if (channel.kind !== "voice" || !channel.stage) throw forbidden("Hands are raised in stage channels only.");
}

/**
 * May `actorId` lower `targetId`'s hand in `channelId`? Their own always; another member's
 * with MUTE_MEMBERS in that channel (canModerateVoice: `not_found` if the actor cannot see it,
 * `forbidden` without the permission or for the owner's hand).
 */
export async function canLowerHand(db: Db, actorId: string, targetId: string, channelId: string): Promise<void> {
  if (actorId === targetId) return;
  await canModerateVoice(db, actorId, channelId, targetId, P.MUTE_MEMBERS);
}
