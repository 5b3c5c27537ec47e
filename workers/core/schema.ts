/**
 * The directory model in D1 (see DESIGN.md "Where data lives"). Messages, reactions and
 * read markers live in each channel's ChannelRoom, not here. Times are ms since the epoch.
 * Permission sets are 64-bit, stored as decimal strings because D1 hands integers to
 * JavaScript as doubles (53 bits).
 */
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    username: text("username").notNull(),
    usernameKey: text("username_key").notNull(),
    displayName: text("display_name").notNull(),
    passwordHash: text("password_hash").notNull(),
    avatarKey: text("avatar_key"),
    locale: text("locale", { enum: ["en", "ru", "ky"] }),
    createdAt: integer("created_at").notNull(),
    passwordChangedAt: integer("password_changed_at").notNull(),
    /** The instance owner (the first account) or an admin the owner named; null for everyone else. */
    instanceRole: text("instance_role", { enum: ["owner", "admin"] }),
    /** When an instance admin banned the account, ms; null = not banned (policy.ts canUseInstance). */
    bannedAt: integer("banned_at"),
    /** Profile (docs/profiles-and-emoji.md): 0xRRGGBB or null for the default. */
    bannerColor: integer("banner_color"),
    aboutMe: text("about_me"),
    pronouns: text("pronouns"),
    /** Custom status: text, one Unicode emoji, and when it ends (ms; null = never). */
    statusText: text("status_text"),
    statusEmoji: text("status_emoji"),
    statusExpiresAt: integer("status_expires_at"),
  },
  (t) => [uniqueIndex("users_username_key").on(t.usernameKey), index("users_instance_role").on(t.instanceRole)],
);

/** Instance-wide settings, one row a key (core/instance.ts): `registration_mode`. */
export const instanceSettings = sqliteTable("instance_settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at").notNull(),
  updatedBy: text("updated_by"),
});

/**
 * Password-reset links an instance admin issued (routes/admin.ts): single use, RESET_LINK_TTL_MS
 * long; only the SHA-256 of the 256-bit token is stored. Issuing a new link for a user drops
 * the older ones.
 */
export const passwordResets = sqliteTable(
  "password_resets",
  {
    /** SHA-256 of the token, hex. */
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [index("password_resets_user").on(t.userId)],
);

export const sessions = sqliteTable(
  "sessions",
  {
    /** SHA-256 of the cookie token, hex; the token itself is never stored. */
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: integer("created_at").notNull(),
    lastSeenAt: integer("last_seen_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    userAgent: text("user_agent"),
  },
  (t) => [index("sessions_user").on(t.userId)],
);

/** Fixed-window attempt counters (lib/throttle.ts), keyed by e.g. `login-ip:1.2.3.4`. */
export const throttles = sqliteTable(
  "throttles",
  {
    key: text("key").primaryKey(),
    windowStart: integer("window_start").notNull(),
    count: integer("count").notNull(),
  },
  // The scheduled clean-up deletes old windows by start.
  (t) => [index("throttles_window").on(t.windowStart)],
);

export const communities = sqliteTable("communities", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  iconKey: text("icon_key"),
  ownerId: text("owner_id")
    .notNull()
    .references(() => users.id),
  createdAt: integer("created_at").notNull(),
  /** Text channel that gets system messages (member joined); null = none. */
  systemChannelId: text("system_channel_id"),
});

export const members = sqliteTable(
  "members",
  {
    communityId: text("community_id")
      .notNull()
      .references(() => communities.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    nickname: text("nickname"),
    joinedAt: integer("joined_at").notNull(),
    /** R2 key of the member's avatar in this community (avatars/<userId>/<sha256>); null = their own. */
    avatarKey: text("avatar_key"),
    /** Timed out until then (ms since the epoch; docs/moderation.md), or null. */
    timeoutUntil: integer("timeout_until"),
  },
  (t) => [primaryKey({ columns: [t.communityId, t.userId] }), index("members_user").on(t.userId)],
);

/**
 * A timeout that outlives the membership: written when a timed-out member leaves or is removed,
 * read when they join again, so leaving and re-joining by an invite does not end it (as on
 * Discord; docs/moderation.md).
 */
export const departedTimeouts = sqliteTable(
  "departed_timeouts",
  {
    communityId: text("community_id")
      .notNull()
      .references(() => communities.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    until: integer("until").notNull(),
  },
  (t) => [primaryKey({ columns: [t.communityId, t.userId] })],
);

export const roles = sqliteTable(
  "roles",
  {
    id: text("id").primaryKey(),
    communityId: text("community_id")
      .notNull()
      .references(() => communities.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** 0xRRGGBB, or null for no colour. */
    color: integer("color"),
    /** Higher is more senior; @everyone is always 0. */
    position: integer("position").notNull(),
    permissions: text("permissions").notNull().default("0"),
    hoist: integer("hoist", { mode: "boolean" }).notNull().default(false),
    mentionable: integer("mentionable", { mode: "boolean" }).notNull().default(false),
    isEveryone: integer("is_everyone", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("roles_community").on(t.communityId)],
);

export const memberRoles = sqliteTable(
  "member_roles",
  {
    communityId: text("community_id").notNull(),
    userId: text("user_id").notNull(),
    roleId: text("role_id")
      .notNull()
      .references(() => roles.id, { onDelete: "cascade" }),
  },
  (t) => [
    primaryKey({ columns: [t.communityId, t.userId, t.roleId] }),
    index("member_roles_role").on(t.roleId),
  ],
);

/** Text, voice and category channels of a community; DMs, tickets and call links' chats have no community. */
export const channels = sqliteTable(
  "channels",
  {
    id: text("id").primaryKey(),
    communityId: text("community_id").references(() => communities.id, { onDelete: "cascade" }),
    parentId: text("parent_id"),
    kind: text("kind", { enum: ["text", "voice", "category", "dm", "group_dm", "ticket", "call"] }).notNull(),
    name: text("name").notNull(),
    topic: text("topic"),
    position: integer("position").notNull().default(0),
    /** Voice channels: maximum participants, 0 = no limit. */
    userLimit: integer("user_limit").notNull().default(0),
    e2ee: integer("e2ee", { mode: "boolean" }).notNull().default(false),
    /** Voice channels: a stage, where members raise their hand to speak (docs/voice.md "Raised hands"). */
    stage: integer("stage", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
    /** DMs and group DMs: the sorted recipient ids joined by ":", so one set of people has one conversation. */
    dmKey: text("dm_key"),
    /** Text channels: seconds a member waits between messages (0 = off; docs/moderation.md). */
    slowmodeSeconds: integer("slowmode_seconds").notNull().default(0),
  },
  (t) => [index("channels_community").on(t.communityId), uniqueIndex("channels_dm_key").on(t.dmKey)],
);

/**
 * Threads of text channels (docs/threads.md). The thread's messages live in the ChannelRoom
 * named by its id; its permissions are the parent channel's (policy.ts threadRoomAccess).
 */
export const threads = sqliteTable(
  "threads",
  {
    id: text("id").primaryKey(),
    communityId: text("community_id")
      .notNull()
      .references(() => communities.id, { onDelete: "cascade" }),
    parentId: text("parent_id")
      .notNull()
      .references(() => channels.id, { onDelete: "cascade" }),
    /** The parent's message it was started from; null for a thread started in the channel. */
    starterMessageId: text("starter_message_id"),
    name: text("name").notNull(),
    ownerId: text("owner_id").notNull(),
    createdAt: integer("created_at").notNull(),
    messageCount: integer("message_count").notNull().default(0),
    lastMessageAt: integer("last_message_at"),
    lastAuthorId: text("last_author_id"),
    /** The last message, or the creation, ms: the inactivity clock of auto-archiving. */
    lastActivityAt: integer("last_activity_at").notNull(),
    autoArchiveMinutes: integer("auto_archive_minutes").notNull().default(1440),
    /** Archived by hand, ms; null otherwise (shared/threads.ts threadArchived). */
    archivedAt: integer("archived_at"),
  },
  (t) => [index("threads_parent").on(t.parentId, t.lastActivityAt), index("threads_community").on(t.communityId), uniqueIndex("threads_starter").on(t.starterMessageId)],
);

/** Who joined a thread (its members: the starter, whoever wrote in it or pressed Join). */
export const threadMembers = sqliteTable(
  "thread_members",
  {
    threadId: text("thread_id")
      .notNull()
      .references(() => threads.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    joinedAt: integer("joined_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.threadId, t.userId] }), index("thread_members_user").on(t.userId)],
);

/** Participants of DMs and group DMs. */
export const channelRecipients = sqliteTable(
  "channel_recipients",
  {
    channelId: text("channel_id")
      .notNull()
      .references(() => channels.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    addedAt: integer("added_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.channelId, t.userId] }), index("channel_recipients_user").on(t.userId)],
);

export const channelOverwrites = sqliteTable(
  "channel_overwrites",
  {
    channelId: text("channel_id")
      .notNull()
      .references(() => channels.id, { onDelete: "cascade" }),
    targetKind: text("target_kind", { enum: ["role", "member"] }).notNull(),
    targetId: text("target_id").notNull(),
    allow: text("allow").notNull().default("0"),
    deny: text("deny").notNull().default("0"),
  },
  (t) => [primaryKey({ columns: [t.channelId, t.targetKind, t.targetId] })],
);

export const invites = sqliteTable(
  "invites",
  {
    code: text("code").primaryKey(),
    communityId: text("community_id")
      .notNull()
      .references(() => communities.id, { onDelete: "cascade" }),
    channelId: text("channel_id"),
    creatorId: text("creator_id")
      .notNull()
      .references(() => users.id),
    createdAt: integer("created_at").notNull(),
    /** null = never expires. */
    expiresAt: integer("expires_at"),
    /** null = unlimited. */
    maxUses: integer("max_uses"),
    uses: integer("uses").notNull().default(0),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("invites_community").on(t.communityId)],
);

export const bans = sqliteTable(
  "bans",
  {
    communityId: text("community_id")
      .notNull()
      .references(() => communities.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    reason: text("reason"),
    bannedBy: text("banned_by").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.communityId, t.userId] })],
);

export const userBlocks = sqliteTable(
  "user_blocks",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    blockedId: text("blocked_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.blockedId] })],
);

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: text("id").primaryKey(),
    communityId: text("community_id")
      .notNull()
      .references(() => communities.id, { onDelete: "cascade" }),
    actorId: text("actor_id").notNull(),
    action: text("action").notNull(),
    targetKind: text("target_kind"),
    targetId: text("target_id"),
    /** JSON: what changed, before and after. */
    changes: text("changes"),
    reason: text("reason"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("audit_log_community").on(t.communityId, t.createdAt)],
);

/**
 * Metadata of files in R2; the bytes live under `key`. Which message carries a file is known
 * to the channel's ChannelRoom (its `used_attachments`), not here: `attachedAt` records that
 * the room confirmed it (lib/pending-uploads.ts). Rows still null are pending and count
 * against the uploader's quota until confirmed or cleaned up.
 */
export const attachments = sqliteTable(
  "attachments",
  {
    id: text("id").primaryKey(),
    channelId: text("channel_id").notNull(),
    uploaderId: text("uploader_id").notNull(),
    key: text("key").notNull(),
    filename: text("filename").notNull(),
    contentType: text("content_type").notNull(),
    /** bytes */
    size: integer("size").notNull(),
    width: integer("width"),
    height: integer("height"),
    createdAt: integer("created_at").notNull(),
    /** When the file's ChannelRoom confirmed a message carries it, ms; null = pending. */
    attachedAt: integer("attached_at"),
  },
  (t) => [
    index("attachments_channel").on(t.channelId),
    index("attachments_uploader_pending").on(t.uploaderId, t.attachedAt),
    index("attachments_pending_age").on(t.attachedAt, t.createdAt),
  ],
);

/**
 * A support desk embedded on a website through widget.js (docs/support-desk.md). Settings
 * are edited by admins (MANAGE_COMMUNITY); managers are the holders of `managerRoleId`.
 * The queue and the knowledge base live in the desk's SupportDesk object.
 */
export const desks = sqliteTable(
  "desks",
  {
    id: text("id").primaryKey(),
    communityId: text("community_id")
      .notNull()
      .references(() => communities.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    greeting: text("greeting").notNull().default(""),
    /** `#rrggbb`, the widget's theme. */
    colour: text("colour").notNull().default("#5865f2"),
    /** JSON OfficeHours (workers/shared/desk.ts), or null: always open. */
    officeHours: text("office_hours"),
    /** JSON list of origins allowed to embed the widget. */
    allowedOrigins: text("allowed_origins").notNull().default("[]"),
    /** Holders of this role are the desk's managers; null: only admins. */
    managerRoleId: text("manager_role_id"),
    /** Simultaneous chats per manager. */
    capacity: integer("capacity").notNull().default(3),
    autoAssign: integer("auto_assign", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("desks_community").on(t.communityId)],
);

/** API keys of a desk's site owner, for /api/v1; only the SHA-256 of the key is kept. */
export const deskApiKeys = sqliteTable(
  "desk_api_keys",
  {
    id: text("id").primaryKey(),
    deskId: text("desk_id")
      .notNull()
      .references(() => desks.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** The first characters of the key, to tell keys apart. */
    prefix: text("prefix").notNull(),
    /** SHA-256 of the key, hex. */
    keyHash: text("key_hash").notNull(),
    createdById: text("created_by_id"),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
  },
  (t) => [uniqueIndex("desk_api_keys_hash").on(t.keyHash), index("desk_api_keys_desk").on(t.deskId)],
);

/** Canned replies managers insert with `/shortcut`. */
export const deskCannedReplies = sqliteTable(
  "desk_canned_replies",
  {
    id: text("id").primaryKey(),
    deskId: text("desk_id")
      .notNull()
      .references(() => desks.id, { onDelete: "cascade" }),
    shortcut: text("shortcut").notNull(),
    text: text("text").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("desk_canned_replies_shortcut").on(t.deskId, t.shortcut)],
);

export const visitors = sqliteTable(
  "visitors",
  {
    id: text("id").primaryKey(),
    deskId: text("desk_id")
      .notNull()
      .references(() => desks.id, { onDelete: "cascade" }),
    name: text("name"),
    email: text("email"),
    /** SHA-256 of the visitor's bearer token, hex. */
    tokenHash: text("token_hash").notNull(),
    /** The embedding page's origin when the visitor started. */
    origin: text("origin"),
    pageUrl: text("page_url"),
    language: text("language"),
    timeZone: text("time_zone"),
    createdAt: integer("created_at").notNull(),
    lastSeenAt: integer("last_seen_at").notNull(),
  },
  (t) => [index("visitors_desk").on(t.deskId), uniqueIndex("visitors_token").on(t.tokenHash)],
);

/** One conversation of a desk; its messages live in the ChannelRoom `channelId` (kind "ticket"). */
export const tickets = sqliteTable(
  "tickets",
  {
    id: text("id").primaryKey(),
    deskId: text("desk_id")
      .notNull()
      .references(() => desks.id, { onDelete: "cascade" }),
    visitorId: text("visitor_id")
      .notNull()
      .references(() => visitors.id, { onDelete: "cascade" }),
    /** The ChannelRoom that holds the conversation. */
    channelId: text("channel_id").notNull(),
    status: text("status", { enum: ["assistant", "queued", "open", "closed", "offline"] }).notNull(),
    assigneeId: text("assignee_id"),
    rating: integer("rating"),
    ratingComment: text("rating_comment"),
    createdAt: integer("created_at").notNull(),
    requestedAt: integer("requested_at"),
    acceptedAt: integer("accepted_at"),
    firstResponseAt: integer("first_response_at"),
    closedAt: integer("closed_at"),
    /** The visitor's last words, for the queue and the history list. */
    preview: text("preview").notNull().default(""),
  },
  (t) => [
    index("tickets_desk_status").on(t.deskId, t.status),
    index("tickets_visitor").on(t.visitorId),
    index("tickets_desk_created").on(t.deskId, t.createdAt),
  ],
);

/** A closed ticket's transcript, copied from its ChannelRoom when it closes. */
export const ticketMessages = sqliteTable(
  "ticket_messages",
  {
    ticketId: text("ticket_id")
      .notNull()
      .references(() => tickets.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    authorKind: text("author_kind", { enum: ["visitor", "manager", "assistant", "system"] }).notNull(),
    authorId: text("author_id"),
    authorName: text("author_name").notNull(),
    content: text("content").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.ticketId, t.seq] })],
);

/**
 * Call links (docs/call-links.md): ad-hoc calls at /call/<code>, open to anyone with the link.
 * `code` is 128 random bits (base32) or a name a member chose; unique either way.
 */
export const callLinks = sqliteTable(
  "call_links",
  {
    id: text("id").primaryKey(),
    code: text("code").notNull(),
    title: text("title").notNull().default(""),
    hostId: text("host_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The ChannelRoom (kind "call") of the call's chat. */
    channelId: text("channel_id").notNull(),
    locked: integer("locked", { mode: "boolean" }).notNull().default(false),
    lobby: integer("lobby", { mode: "boolean" }).notNull().default(false),
    requireAccount: integer("require_account", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
    endedAt: integer("ended_at"),
  },
  (t) => [uniqueIndex("call_links_code").on(t.code), index("call_links_host").on(t.hostId)],
);

/** Guests of a call link: a display name and a session (cookie) good for that one link. */
export const callGuests = sqliteTable(
  "call_guests",
  {
    id: text("id").primaryKey(),
    linkId: text("link_id")
      .notNull()
      .references(() => callLinks.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** SHA-256 of the guest's cookie token, hex. */
    tokenHash: text("token_hash").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [uniqueIndex("call_guests_token").on(t.tokenHash), index("call_guests_link").on(t.linkId)],
);

/**
 * The media keys of end-to-end encrypted voice channels (docs/voice.md "End-to-end
 * encryption"): 32 random bytes per channel and generation. The newest generation is the
 * current key; a new one is added when someone loses access to the channel. The client's
 * key index is `generation % 256`. The server can read these keys (said plainly in the doc).
 */
export const voiceKeys = sqliteTable(
  "voice_keys",
  {
    channelId: text("channel_id")
      .notNull()
      .references(() => channels.id, { onDelete: "cascade" }),
    generation: integer("generation").notNull(),
    /** base64url of 32 random bytes. */
    key: text("key").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.channelId, t.generation] })],
);

/**
 * A member's notification setting for a community or one of its channels (a DM too: scope
 * "channel"). `level` null = inherit; `muted_until` ms, null = not muted. No row = defaults.
 */
export const notificationSettings = sqliteTable(
  "notification_settings",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    scope: text("scope", { enum: ["community", "channel"] }).notNull(),
    /** The community's or the channel's id. */
    scopeId: text("scope_id").notNull(),
    /** For a channel, its community (null for a DM); lets a community's settings load in one query. */
    communityId: text("community_id"),
    level: text("level", { enum: ["all", "mentions", "nothing"] }),
    mutedUntil: integer("muted_until"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.scopeId] }), index("notification_settings_community").on(t.userId, t.communityId)],
);

/**
 * A community's custom emoji (docs/profiles-and-emoji.md): at most MAX_CUSTOM_EMOJI, names
 * unique per community, image in R2 under `key` (never changes: a new image is a new emoji).
 */
export const customEmoji = sqliteTable(
  "custom_emoji",
  {
    id: text("id").primaryKey(),
    communityId: text("community_id")
      .notNull()
      .references(() => communities.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    key: text("key").notNull(),
    contentType: text("content_type").notNull(),
    animated: integer("animated", { mode: "boolean" }).notNull().default(false),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("custom_emoji_name").on(t.communityId, t.name)],
);

/**
 * Message reports (docs/moderation.md): one per reporter and message, kept with the message
 * as it was when reported (evidence), so deleting or editing it later changes nothing here.
 */
export const messageReports = sqliteTable(
  "message_reports",
  {
    id: text("id").primaryKey(),
    communityId: text("community_id")
      .notNull()
      .references(() => communities.id, { onDelete: "cascade" }),
    channelId: text("channel_id").notNull(),
    messageId: text("message_id").notNull(),
    /** The message's author (null for a system message). */
    authorId: text("author_id"),
    reporterId: text("reporter_id").notNull(),
    reason: text("reason").notNull(),
    /** JSON: the message as reported (shared/moderation.ts ReportEvidence). */
    evidence: text("evidence").notNull(),
    status: text("status", { enum: ["open", "resolved"] }).notNull().default("open"),
    /** How it was resolved: deleted the message, timed out its author, or dismissed. */
    resolution: text("resolution", { enum: ["deleted", "timed_out", "dismissed"] }),
    resolvedBy: text("resolved_by"),
    resolvedAt: integer("resolved_at"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("message_reports_once").on(t.messageId, t.reporterId),
    index("message_reports_queue").on(t.communityId, t.status, t.createdAt),
  ],
);
