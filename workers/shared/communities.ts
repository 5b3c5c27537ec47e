/**
 * The communities protocol: zod schemas and inferred types for every HTTP body, path
 * parameter and response of communities, channels, roles, members, moderation, invites,
 * DMs and blocks, and every frame of the CommunityHub WebSocket. Imported by the api worker,
 * the Durable Objects and the web app alike. No cloudflare:* or DOM imports.
 * See docs/communities.md.
 *
 * Times are ms since the epoch. Permission sets are decimal strings of a 64-bit set
 * (see permissions.ts). Client frames are imperative (`presence.set`), server frames past
 * tense (`presence.updated`).
 */
import { z } from "zod";
import { VoiceMoveFrame, VoiceSetFrame, VoiceState, VoiceUpdatedFrame } from "./media";
import { HandLowerFrame, HandRaiseFrame } from "./voice-hands";
import { ALL_PERMISSIONS } from "./permissions";
import { visibleName } from "./protocol";
import { ErrorFrame, Ref } from "./realtime";

// ---------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------

/** Largest community icon, bytes. */
export const MAX_ICON_BYTES = 1024 * 1024;
/** Shortest invite lifetime, s (30 minutes). */
export const MIN_INVITE_AGE_S = 30 * 60;
/** Longest finite invite lifetime, s (30 days); `null` means never. */
export const MAX_INVITE_AGE_S = 30 * 24 * 3600;
/** Default invite lifetime, s (7 days). */
export const DEFAULT_INVITE_AGE_S = 7 * 24 * 3600;
/** Most uses an invite may be limited to. */
export const MAX_INVITE_USES = 100;
/** Longest message clean-up window on a ban, s (7 days). */
export const MAX_BAN_DELETE_S = 7 * 24 * 3600;
/** People besides yourself in one group DM (10 people in all). */
export const MAX_DM_OTHERS = 9;
/** Channels one community may have. */
export const MAX_CHANNELS = 500;
/** Roles one community may have (with @everyone). */
export const MAX_ROLES = 250;
/** Largest page of members. */
export const MAX_MEMBER_PAGE = 1000;
/** Largest page of audit-log entries. */
export const MAX_AUDIT_PAGE = 100;
/** A client without input for this long reports `idle`, ms. */
export const IDLE_AFTER_MS = 5 * 60_000;

// ---------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------

/** Ids as made by ids.ts (26 chars), with room for other url-safe ids. */
export const Id = z.string().regex(/^[0-9A-Za-z_-]{1,64}$/, { message: "not an id" });
/** Invite codes: at least 128 random bits, base32. */
export const InviteCode = z.string().regex(/^[0-9a-z]{20,64}$/, { message: "not an invite code" });

// Names people see refuse invisible and text-direction characters (impersonation): one
// rule for all of them, visibleName in protocol.ts.

/** 1–100 characters after trimming, nothing invisible. */
export const CommunityName = visibleName(z.string().trim().min(1).max(100));
/** 1–100 characters after trimming, nothing invisible; text channel names are lower-cased with spaces as dashes. */
export const ChannelName = visibleName(z.string().trim().min(1).max(100));
export const Topic = z.string().trim().max(1024);
/** 1–100 characters after trimming, nothing invisible. */
export const RoleName = visibleName(z.string().trim().min(1).max(100));
/** 0xRRGGBB as an integer, or null for no colour. */
export const RoleColor = z.number().int().min(0).max(0xffffff).nullable();
/** 1–32 characters after trimming, nothing invisible. */
export const Nickname = visibleName(z.string().trim().min(1).max(32));
export const Reason = z.string().trim().max(512);

const DECIMAL_SET = /^\d{1,20}$/;
/** A permission set as a decimal string; only known bits are accepted. zod runs every refinement
 * even after an earlier check failed, so only strings of digits may reach BigInt (it throws). */
const bits = (s: string): bigint => (DECIMAL_SET.test(s) ? BigInt(s) : 0n);
export const Permissions = z
  .string()
  .regex(DECIMAL_SET, { message: "a decimal permission set" })
  .refine((s) => (bits(s) & ~ALL_PERMISSIONS) === 0n, { message: "unknown permission bits" });

export const ChannelKind = z.enum(["text", "voice", "category", "dm", "group_dm", "ticket"]);
export type ChannelKind = z.infer<typeof ChannelKind>;
/** Kinds a community channel can be created as. */
export const CommunityChannelKind = z.enum(["text", "voice", "category"]);
export const OverwriteTargetKind = z.enum(["role", "member"]);
export type OverwriteTargetKind = z.infer<typeof OverwriteTargetKind>;

/** Chosen by the user; `offline` is what others see when no socket is open or the user is invisible. */
export const PresenceStatus = z.enum(["online", "idle", "dnd", "offline"]);
export type PresenceStatus = z.infer<typeof PresenceStatus>;
/** What a client may ask for: `idle` after IDLE_AFTER_MS without input, `online` when it comes back. */
export const PresenceChoice = z.enum(["online", "idle", "dnd", "invisible"]);
export type PresenceChoice = z.infer<typeof PresenceChoice>;

// ---------------------------------------------------------------------------------------
// Views (responses)
// ---------------------------------------------------------------------------------------

export const UserSummary = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  /** Same-origin path of the user's own avatar (content-addressed), null for none; absent where the view does not carry it. */
  avatarUrl: z.string().nullable().optional(),
});
export type UserSummary = z.infer<typeof UserSummary>;

export const Community = z.object({
  id: z.string(),
  name: z.string(),
  /** Same-origin path of the icon (changes when the icon does), or null. */
  iconUrl: z.string().nullable(),
  ownerId: z.string(),
  /** Text channel that gets "member joined" messages, or null. */
  systemChannelId: z.string().nullable(),
  createdAt: z.number(),
});
export type Community = z.infer<typeof Community>;

export const Overwrite = z.object({
  targetKind: OverwriteTargetKind,
  targetId: z.string(),
  allow: z.string(),
  deny: z.string(),
});
export type Overwrite = z.infer<typeof Overwrite>;

export const Channel = z.object({
  id: z.string(),
  communityId: z.string(),
  kind: CommunityChannelKind,
  name: z.string(),
  topic: z.string().nullable(),
  /** The category it sits in, or null. */
  parentId: z.string().nullable(),
  /** Order among the channels of the same parent; lower first. */
  position: z.number(),
  /** Voice only: most participants, 0 = no limit. */
  userLimit: z.number(),
  /** Voice only: calls are end-to-end encrypted with a key the server hands out (docs/voice.md). */
  e2ee: z.boolean(),
  /** Seconds a member waits between messages here (0 = off; docs/moderation.md). */
  slowmodeSeconds: z.number().optional(),
  /** Voice only: a stage — members raise their hand to speak, moderators lower it (docs/voice.md). */
  stage: z.boolean(),
  overwrites: z.array(Overwrite),
  /** The viewer's permissions in this channel. */
  permissions: z.string(),
  createdAt: z.number(),
});
export type Channel = z.infer<typeof Channel>;

export const Role = z.object({
  id: z.string(),
  name: z.string(),
  color: z.number().nullable(),
  /** Higher is more senior; @everyone is 0. */
  position: z.number(),
  permissions: z.string(),
  /** Shown separately in the member list. */
  hoist: z.boolean(),
  mentionable: z.boolean(),
  isEveryone: z.boolean(),
});
export type Role = z.infer<typeof Role>;

export const Member = z.object({
  user: UserSummary,
  nickname: z.string().nullable(),
  /** Not including @everyone. */
  roleIds: z.array(z.string()),
  joinedAt: z.number(),
  /** From the community's hub; `offline` for invisible members. */
  presence: PresenceStatus,
  /** The avatar shown in this community: the member's community avatar, else their own; null for none. */
  avatarUrl: z.string().nullable().optional(),
  /** The member set a community avatar of their own here (avatarUrl is it). */
  communityAvatar: z.boolean().optional(),
  /** Their custom status (docs/profiles-and-emoji.md) as of when the view was made; `expiresAt` ms, null = never. */
  customStatus: z.object({ text: z.string().nullable(), emoji: z.string().nullable(), expiresAt: z.number().nullable() }).nullable().optional(),
  /** Timed out until then (ms since the epoch; docs/moderation.md), or null when no timeout is in force. */
  timeoutUntil: z.number().nullable().optional(),
});
export type Member = z.infer<typeof Member>;

/** The viewer in a community. */
export const MemberSelf = z.object({
  userId: z.string(),
  nickname: z.string().nullable(),
  roleIds: z.array(z.string()),
  isOwner: z.boolean(),
  /** Community-wide permissions (no channel overwrites). */
  permissions: z.string(),
  joinedAt: z.number(),
  /** Timed out until then (ms since the epoch; docs/moderation.md), or null. */
  timeoutUntil: z.number().nullable().optional(),
});
export type MemberSelf = z.infer<typeof MemberSelf>;

export const CommunityDetail = z.object({
  community: Community,
  /** Only the channels the viewer can see, each with the viewer's permissions. */
  channels: z.array(Channel),
  roles: z.array(Role),
  me: MemberSelf,
});
export type CommunityDetail = z.infer<typeof CommunityDetail>;

export const Invite = z.object({
  code: z.string(),
  communityId: z.string(),
  /** Channel the invite lands in, or null for the community's system channel. */
  channelId: z.string().nullable(),
  creatorId: z.string(),
  createdAt: z.number(),
  /** null = never expires. */
  expiresAt: z.number().nullable(),
  /** null = unlimited. */
  maxUses: z.number().nullable(),
  uses: z.number(),
});
export type Invite = z.infer<typeof Invite>;

/** GET /api/invites/:code, shown to anyone (no session needed). */
export const InvitePreview = z.object({
  code: z.string(),
  community: z.object({ id: z.string(), name: z.string(), iconUrl: z.string().nullable() }),
  memberCount: z.number(),
  onlineCount: z.number(),
  expiresAt: z.number().nullable(),
  /** Past its expiry or out of uses: it cannot be redeemed. */
  expired: z.boolean(),
});
export type InvitePreview = z.infer<typeof InvitePreview>;

export const RedeemResponse = z.object({
  communityId: z.string(),
  /** Where the client should land: the invite's channel or the system channel, if visible. */
  channelId: z.string().nullable(),
  /** False when the user already was a member (no use consumed). */
  joined: z.boolean(),
});
export type RedeemResponse = z.infer<typeof RedeemResponse>;

export const Ban = z.object({
  user: UserSummary,
  reason: z.string().nullable(),
  bannedBy: z.string(),
  createdAt: z.number(),
});
export type Ban = z.infer<typeof Ban>;

export const AuditAction = z.enum([
  "community.update",
  "community.icon_update",
  "community.transfer",
  "channel.create",
  "channel.update",
  "channel.delete",
  "channel.reorder",
  "overwrite.update",
  "overwrite.delete",
  "role.create",
  "role.update",
  "role.delete",
  "role.reorder",
  "member.role_add",
  "member.role_remove",
  "member.nickname",
  "member.avatar_reset",
  "emoji.create",
  "emoji.update",
  "emoji.delete",
  "member.kick",
  "member.ban",
  "member.unban",
  "invite.create",
  "invite.revoke",
  "desk.create",
  "desk.update",
  "desk.delete",
  "desk.key_create",
  "desk.key_revoke",
  // Moderation (docs/moderation.md)
  "member.timeout",
  "member.timeout_lift",
  "member.purge_messages",
  "channel.slowmode",
  "report.resolve",
]);
export type AuditAction = z.infer<typeof AuditAction>;

export const AuditEntry = z.object({
  id: z.string(),
  actorId: z.string(),
  action: AuditAction,
  targetKind: z.string().nullable(),
  targetId: z.string().nullable(),
  /** What changed: `{ field: { from, to } }` or action-specific details. */
  changes: z.record(z.string(), z.unknown()).nullable(),
  reason: z.string().nullable(),
  createdAt: z.number(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditPage = z.object({
  entries: z.array(AuditEntry),
  /** Actors and targets named in the entries. */
  users: z.array(UserSummary),
  /** Pass as `before` for the next (older) page; null when there is none. */
  nextBefore: z.string().nullable(),
});
export type AuditPage = z.infer<typeof AuditPage>;

export const DmChannel = z.object({
  id: z.string(),
  kind: z.enum(["dm", "group_dm"]),
  /** Everyone in the conversation, the viewer included. */
  recipients: z.array(UserSummary),
  createdAt: z.number(),
});
export type DmChannel = z.infer<typeof DmChannel>;

/** Response envelopes, one per route family (see docs/communities.md). */
export const CommunityListResponse = z.object({ communities: z.array(Community) });
export type CommunityListResponse = z.infer<typeof CommunityListResponse>;
export const CommunityResponse = z.object({ community: Community });
export type CommunityResponse = z.infer<typeof CommunityResponse>;
export const ChannelResponse = z.object({ channel: Channel });
export type ChannelResponse = z.infer<typeof ChannelResponse>;
export const ChannelListResponse = z.object({ channels: z.array(Channel) });
export type ChannelListResponse = z.infer<typeof ChannelListResponse>;
export const RoleResponse = z.object({ role: Role });
export type RoleResponse = z.infer<typeof RoleResponse>;
export const RoleListResponse = z.object({ roles: z.array(Role) });
export type RoleListResponse = z.infer<typeof RoleListResponse>;
export const MemberResponse = z.object({ member: Member });
export type MemberResponse = z.infer<typeof MemberResponse>;
export const MemberPage = z.object({
  members: z.array(Member),
  /** Pass as `after` for the next page; null when there is none. */
  nextAfter: z.string().nullable(),
});
export type MemberPage = z.infer<typeof MemberPage>;
export const BanListResponse = z.object({ bans: z.array(Ban) });
export type BanListResponse = z.infer<typeof BanListResponse>;
export const InviteResponse = z.object({ invite: Invite });
export type InviteResponse = z.infer<typeof InviteResponse>;
export const InviteListResponse = z.object({ invites: z.array(Invite) });
export type InviteListResponse = z.infer<typeof InviteListResponse>;
export const DmResponse = z.object({ channel: DmChannel });
export type DmResponse = z.infer<typeof DmResponse>;
export const DmListResponse = z.object({ channels: z.array(DmChannel) });
export type DmListResponse = z.infer<typeof DmListResponse>;
export const BlockListResponse = z.object({ users: z.array(UserSummary) });
export type BlockListResponse = z.infer<typeof BlockListResponse>;

// ---------------------------------------------------------------------------------------
// HTTP bodies, params and queries
// ---------------------------------------------------------------------------------------

export const CommunityParam = z.strictObject({ id: Id });
export const CommunityRoleParam = z.strictObject({ id: Id, roleId: Id });
export const CommunityUserParam = z.strictObject({ id: Id, userId: Id });
export const MemberRoleParam = z.strictObject({ id: Id, userId: Id, roleId: Id });
export const ChannelParam = z.strictObject({ id: Id });
/** A member in a channel: /api/channels/:id/voice/participants/:userId/... */
export const ChannelUserParam = z.strictObject({ id: Id, userId: Id });
export const OverwriteParam = z.strictObject({ id: Id, targetKind: OverwriteTargetKind, targetId: Id });
export const InviteParam = z.strictObject({ code: InviteCode });
export const UserParam = z.strictObject({ userId: Id });

/** POST /api/communities */
export const CreateCommunityBody = z.strictObject({ name: CommunityName });
export type CreateCommunityBody = z.infer<typeof CreateCommunityBody>;
export const CreateCommunityResponse = z.object({ community: Community, channels: z.array(Channel), roles: z.array(Role) });
export type CreateCommunityResponse = z.infer<typeof CreateCommunityResponse>;

/** PATCH /api/communities/:id (MANAGE_COMMUNITY) */
export const UpdateCommunityBody = z.strictObject({
  name: CommunityName.optional(),
  /** A text channel of the community, or null for no system messages. */
  systemChannelId: Id.nullable().optional(),
});
export type UpdateCommunityBody = z.infer<typeof UpdateCommunityBody>;

/** POST /api/communities/:id/transfer (owner only) */
export const TransferBody = z.strictObject({ userId: Id });
export type TransferBody = z.infer<typeof TransferBody>;

/** DELETE /api/communities/:id (owner only): the exact name, as a confirmation. */
export const DeleteCommunityBody = z.strictObject({ confirmName: z.string().max(200) });
export type DeleteCommunityBody = z.infer<typeof DeleteCommunityBody>;

/** POST /api/communities/:id/channels (MANAGE_CHANNELS) */
export const CreateChannelBody = z
  .strictObject({
    kind: CommunityChannelKind,
    name: ChannelName,
    parentId: Id.nullable().optional(),
    topic: Topic.nullable().optional(),
    /** Voice only: 0 (no limit) to 99. */
    userLimit: z.number().int().min(0).max(99).optional(),
    /** Private: @everyone is denied VIEW_CHANNEL; the creator's roles are allowed it. */
    private: z.boolean().optional(),
  })
  .refine((b) => b.kind !== "category" || b.parentId == null, { message: "a category cannot have a parent", path: ["parentId"] })
  .refine((b) => b.kind === "voice" || b.userLimit === undefined, { message: "only voice channels have a user limit", path: ["userLimit"] })
  .refine((b) => b.kind === "text" || b.topic == null, { message: "only text channels have a topic", path: ["topic"] });
export type CreateChannelBody = z.infer<typeof CreateChannelBody>;

/** PATCH /api/channels/:id (MANAGE_CHANNELS in that channel) */
export const UpdateChannelBody = z.strictObject({
  name: ChannelName.optional(),
  topic: Topic.nullable().optional(),
  userLimit: z.number().int().min(0).max(99).optional(),
  parentId: Id.nullable().optional(),
  /** Voice channels: end-to-end encrypted calls (docs/voice.md; the server holds the key). */
  e2ee: z.boolean().optional(),
  /** Voice channels: a stage with raised hands (docs/voice.md "Raised hands"). */
  stage: z.boolean().optional(),
});
export type UpdateChannelBody = z.infer<typeof UpdateChannelBody>;

/**
 * PUT /api/communities/:id/channels/order (MANAGE_CHANNELS): every channel the actor can
 * see, in display order; `parentId` places it in a category (categories have none).
 */
export const ReorderChannelsBody = z.strictObject({
  channels: z.array(z.strictObject({ id: Id, parentId: Id.nullable() })).min(1).max(MAX_CHANNELS),
});
export type ReorderChannelsBody = z.infer<typeof ReorderChannelsBody>;

/** PUT /api/channels/:id/overwrites/:targetKind/:targetId (MANAGE_ROLES in that channel) */
export const OverwriteBody = z
  .strictObject({ allow: Permissions, deny: Permissions })
  .refine((b) => (bits(b.allow) & bits(b.deny)) === 0n, { message: "a bit cannot be both allowed and denied", path: ["deny"] });
export type OverwriteBody = z.infer<typeof OverwriteBody>;

/** POST /api/communities/:id/roles (MANAGE_ROLES) */
export const CreateRoleBody = z.strictObject({
  name: RoleName,
  color: RoleColor.optional(),
  permissions: Permissions.optional(),
  hoist: z.boolean().optional(),
  mentionable: z.boolean().optional(),
});
export type CreateRoleBody = z.infer<typeof CreateRoleBody>;

/** PATCH /api/communities/:id/roles/:roleId (MANAGE_ROLES, role below the actor's highest) */
export const UpdateRoleBody = z.strictObject({
  name: RoleName.optional(),
  color: RoleColor.optional(),
  permissions: Permissions.optional(),
  hoist: z.boolean().optional(),
  mentionable: z.boolean().optional(),
});
export type UpdateRoleBody = z.infer<typeof UpdateRoleBody>;

/** PUT /api/communities/:id/roles/order (MANAGE_ROLES): every role but @everyone, lowest first. */
export const ReorderRolesBody = z.strictObject({ roleIds: z.array(Id).min(1).max(MAX_ROLES) });
export type ReorderRolesBody = z.infer<typeof ReorderRolesBody>;

/** PATCH /api/communities/:id/members/:userId (self: CHANGE_NICKNAME; others: MANAGE_NICKNAMES) */
export const UpdateMemberBody = z.strictObject({ nickname: Nickname.nullable() });
export type UpdateMemberBody = z.infer<typeof UpdateMemberBody>;

export const MembersQuery = z.strictObject({
  /** User id to continue after (members are sorted by user id). */
  after: Id.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_MEMBER_PAGE).default(MAX_MEMBER_PAGE),
});
export type MembersQuery = z.infer<typeof MembersQuery>;

/** POST /api/communities/:id/members/:userId/kick (KICK_MEMBERS) */
export const KickBody = z.strictObject({ reason: Reason.optional() });
export type KickBody = z.infer<typeof KickBody>;

/** PUT /api/communities/:id/bans/:userId (BAN_MEMBERS) */
export const BanBody = z.strictObject({
  reason: Reason.optional(),
  /** Delete the user's messages from the last this many seconds (0 to 7 days). */
  deleteMessageSeconds: z.number().int().min(0).max(MAX_BAN_DELETE_S).optional(),
});
export type BanBody = z.infer<typeof BanBody>;

/** POST /api/communities/:id/invites (CREATE_INVITE) */
export const CreateInviteBody = z.strictObject({
  /** 1800 s to 30 days, or null for never; default 7 days. */
  maxAgeSeconds: z.number().int().min(MIN_INVITE_AGE_S).max(MAX_INVITE_AGE_S).nullable().optional(),
  /** 1 to 100, or null for unlimited (the default). */
  maxUses: z.number().int().min(1).max(MAX_INVITE_USES).nullable().optional(),
  /** A text channel to land in; default: the system channel. */
  channelId: Id.optional(),
});
export type CreateInviteBody = z.infer<typeof CreateInviteBody>;

export const AuditQuery = z.strictObject({
  /** Entry id: return older entries only. */
  before: Id.optional(),
  action: AuditAction.optional(),
  actorId: Id.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_AUDIT_PAGE).default(50),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

/** POST /api/dms: the other people (1 to 9); answers the existing conversation of exactly that set. */
export const CreateDmBody = z.strictObject({
  userIds: z
    .array(Id)
    .min(1)
    .max(MAX_DM_OTHERS)
    .refine((a) => new Set(a).size === a.length, { message: "no duplicates" }),
});
export type CreateDmBody = z.infer<typeof CreateDmBody>;

// ---------------------------------------------------------------------------------------
// CommunityHub frames (WebSocket /parties/community-hub/<communityId>)
// ---------------------------------------------------------------------------------------

/** A position in a channel's event stream (see chat.ts). */
export const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const PresenceSetFrame = z.strictObject({ type: z.literal("presence.set"), status: PresenceChoice, ref: Ref.optional() });
/** The client has read a channel up to `seq` (clears its mention count there). */
export const ChannelReadFrame = z.strictObject({ type: z.literal("channel.read"), channelId: Id, seq: Seq, ref: Ref.optional() });

export const HubClientFrame = z.discriminatedUnion("type", [PresenceSetFrame, ChannelReadFrame, VoiceSetFrame, HandRaiseFrame, HandLowerFrame]);
export type HubClientFrame = z.infer<typeof HubClientFrame>;

export const Presence = z.object({ userId: z.string(), status: PresenceStatus });
export type Presence = z.infer<typeof Presence>;


/** Unread state of one channel for one member: unread when `lastSeq > readSeq`. */
export const Unread = z.object({
  channelId: z.string(),
  /** seq of the latest message (0 = none seen by the hub yet). */
  lastSeq: z.number(),
  /** The member's read position as the hub knows it. */
  readSeq: z.number(),
  /** Mentions of the member since `readSeq`. */
  mentions: z.number(),
});
export type Unread = z.infer<typeof Unread>;

export const MemberLeftReason = z.enum(["left", "kicked", "banned"]);
export type MemberLeftReason = z.infer<typeof MemberLeftReason>;

export const StateSynced = z.object({
  type: z.literal("state.synced"),
  /** The viewer: their chosen status (`invisible` included) and what others see. */
  me: z.object({ userId: z.string(), choice: PresenceChoice, status: PresenceStatus }),
  community: Community,
  /** Channels the viewer can see, with their permissions in each. */
  channels: z.array(Channel),
  roles: z.array(Role),
  /** Members who appear online (idle and dnd included; invisible ones do not appear). */
  presences: z.array(Presence),
  /** Who is in which voice channel (see media.ts). */
  voiceStates: z.array(VoiceState),
  /** Every visible text channel the hub has seen activity in. */
  unreads: z.array(Unread),
});

/** Events the api worker publishes to every socket of a community (see CommunityHub.publish). */
export const HubEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("member.joined"), member: Member }),
  z.object({ type: z.literal("member.updated"), member: Member }),
  z.object({ type: z.literal("member.left"), userId: z.string(), reason: MemberLeftReason }),
  z.object({ type: z.literal("role.created"), role: Role }),
  z.object({ type: z.literal("role.updated"), role: Role }),
  z.object({ type: z.literal("role.deleted"), roleId: z.string() }),
  z.object({ type: z.literal("community.updated"), community: Community }),
  z.object({ type: z.literal("community.deleted"), communityId: z.string() }),
  /** E2EE voice: the channel has a new media key; members in its call fetch it (POST …/voice/key). */
  z.object({ type: z.literal("voice.key_rotated"), channelId: z.string() }),
  /** The community's custom emoji changed (added, renamed, deleted): the whole list (at most 50). */
  z.object({ type: z.literal("emoji.updated"), emoji: z.array(z.object({ id: z.string(), name: z.string(), url: z.string(), animated: z.boolean() })) }),
]);
export type HubEvent = z.infer<typeof HubEvent>;

export const HubServerFrame = z.discriminatedUnion("type", [
  StateSynced,
  z.object({ type: z.literal("presence.updated"), userId: z.string(), status: PresenceStatus }),
  /** Your own chosen status changed (from this or another of your sockets). */
  z.object({ type: z.literal("presence.chosen"), choice: PresenceChoice }),
  /** A channel became visible to you, or was created. */
  z.object({ type: z.literal("channel.created"), channel: Channel }),
  /** A visible channel changed (name, place, overwrites, your permissions). */
  z.object({ type: z.literal("channel.updated"), channel: Channel }),
  /** A channel was deleted or is no longer visible to you. */
  z.object({ type: z.literal("channel.deleted"), channelId: z.string() }),
  z.object({ type: z.literal("unread.updated"), unread: Unread }),
  /** Voice states (see media.ts): someone joined, left or changed tracks; a moderator moved someone. */
  VoiceUpdatedFrame,
  VoiceMoveFrame,
  ...HubEvent.options,
  /** A frame was refused (realtime.ts). */
  ErrorFrame,
]);
export type HubServerFrame = z.infer<typeof HubServerFrame>;
export type HubServerFrameOf<T extends HubServerFrame["type"]> = Extract<HubServerFrame, { type: T }>;

/** The icon path of a community: `v` changes with the icon so it can be cached for long. */
export function iconUrl(communityId: string, iconKey: string | null): string | null {
  if (!iconKey) return null;
  const v = iconKey.slice(iconKey.lastIndexOf("/") + 1);
  return `/api/communities/${communityId}/icon?v=${v}`;
}

/** Text channel names: lower case, runs of spaces as one dash (as Discord shows them). */
export function normalizeChannelName(kind: string, name: string): string {
  return kind === "text" ? name.trim().toLowerCase().replace(/\s+/g, "-") : name.trim();
}

