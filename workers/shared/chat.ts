/**
 * The text-chat protocol: WebSocket frames between a client and its channel's ChannelRoom,
 * the HTTP bodies of history, search, read state and attachments, and the limits they share.
 * zod schemas with inferred types, imported by the api worker, the ChannelRoom and the web
 * app alike. No cloudflare:* or DOM imports. See docs/chat-protocol.md.
 *
 * Client frames are imperative (`message.send`), server frames past tense (`message.created`).
 * Every change in a channel is an event with a per-channel, gapless `seq`.
 */
import { z } from "zod";
import { ConnectTicketGrant, ErrorFrame, Ref } from "./realtime";
import { Thread } from "./threads";
import { LinkPreview, PreviewRemoveFrame } from "./link-previews";

// ---------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------

/** Longest message, in UTF-16 code units after trimming. */
export const MAX_MESSAGE_CHARS = 4000;
/** Most attachments on one message. */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;
/** A resume that would replay more events than this gets `resync` instead. */
export const MAX_RESUME_EVENTS = 1000;
/** Messages one member may send in one channel per RATE_WINDOW_MS. */
export const RATE_LIMIT_MESSAGES = 10;
/** Sliding window of the send rate limit, ms. */
export const RATE_WINDOW_MS = 10_000;
/** A member's `typing` is relayed at most once per this many ms. */
export const TYPING_THROTTLE_MS = 3000;
/** How long a nonce keeps answering with its original message, ms (at least 24 h). */
export const NONCE_TTL_MS = 48 * 3600 * 1000;
/** Largest page of history, messages. */
export const MAX_HISTORY_PAGE = 50;
/** Largest page of search results. */
export const MAX_SEARCH_PAGE = 25;
/** Distinct emoji on one message. */
export const MAX_REACTIONS_PER_MESSAGE = 20;
/** Default largest attachment, bytes (the MAX_ATTACHMENT_BYTES var overrides it). */
export const DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;
/** Distinct user and role mentions kept per message. */
export const MAX_MENTIONS = 100;
/** Length of the quoted text in a reply preview, UTF-16 code units. */
export const REPLY_PREVIEW_CHARS = 200;

// ---------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------

/** Ids as made by ids.ts (26 chars), with room for other url-safe ids. */
export const ChatId = z.string().regex(/^[0-9A-Za-z_-]{1,64}$/, { message: "not an id" });
/** A client-made idempotency key for `message.send`. */
export const Nonce = z.string().min(8).max(64);
/** A position in a channel's event stream; 0 = before the first event. */
export const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** One Unicode emoji (any RGI emoji, including ZWJ sequences, flags and keycaps). */
export const Emoji = z.string().max(64).regex(/^\p{RGI_Emoji}$/v, { message: "not a single emoji" });
/**
 * A community's custom emoji as a reaction: `<:name:emojiId>` (docs/profiles-and-emoji.md).
 * Only valid in a channel of that community; the room stores it with the emoji's current name.
 */
export const CUSTOM_EMOJI_REACTION = /^<:([a-z0-9_]{2,32}):([0-9A-Za-z_-]{1,64})>$/;
export const ReactionEmoji = z.union([Emoji, z.string().max(120).regex(CUSTOM_EMOJI_REACTION, { message: "not an emoji" })]);

const Content = z.string().max(MAX_MESSAGE_CHARS * 2).trim().max(MAX_MESSAGE_CHARS);

export const Author = z.object({ id: z.string(), username: z.string(), displayName: z.string() });
export type Author = z.infer<typeof Author>;

/** What a message mentions, parsed by the room from `<@userId>`, `<@&roleId>`, `@everyone`, `@here`. */
export const Mentions = z.object({
  users: z.array(z.string()),
  roles: z.array(z.string()),
  /** `@everyone` was written and the author may MENTION_EVERYONE (it pings). */
  everyone: z.boolean(),
  /** `@here` was written and the author may MENTION_EVERYONE (it pings). */
  here: z.boolean(),
});
export type Mentions = z.infer<typeof Mentions>;

export const Attachment = z.object({
  id: z.string(),
  filename: z.string(),
  contentType: z.string(),
  /** bytes */
  size: z.number(),
  /** px, images only */
  width: z.number().nullable(),
  /** px, images only */
  height: z.number().nullable(),
  /** Same-origin path: /attachments/<channelId>/<attachmentId>/<filename> */
  url: z.string(),
});
export type Attachment = z.infer<typeof Attachment>;

export const Reaction = z.object({
  emoji: z.string(),
  count: z.number(),
  /** Everyone who reacted, oldest first; `me` is `userIds.includes(myId)`. */
  userIds: z.array(z.string()),
});
export type Reaction = z.infer<typeof Reaction>;

/**
 * Support-desk tickets add: `manager_joined` (the divider "A manager has joined"; `userId` the
 * manager), `call_ended` (a ticket's call ended), `ticket_closed`. A ticket's call start is `call_started`.
 */
/** `call_joined`, `call_left`, `screen_share_started`: a call link's chat (from LiveKit's webhooks). */
export const SystemKind = z.enum([
  "member_joined",
  "call_started",
  "call_missed",
  "manager_joined",
  "call_ended",
  "ticket_closed",
  "call_joined",
  "call_left",
  "screen_share_started",
]);
export type SystemKind = z.infer<typeof SystemKind>;
/** `name`: who it is about, by name, where the reader cannot look them up (a call link's guests). */
export const SystemInfo = z.object({ kind: SystemKind, userId: z.string(), name: z.string().optional() });
export type SystemInfo = z.infer<typeof SystemInfo>;

/** The quoted message of a reply; `seq`, `author` and `content` are null once it is deleted. */
export const ReplyPreview = z.object({
  id: z.string(),
  seq: z.number().nullable(),
  author: Author.nullable(),
  /** First REPLY_PREVIEW_CHARS of its content. */
  content: z.string().nullable(),
});
export type ReplyPreview = z.infer<typeof ReplyPreview>;

/** A message. Times are ms since the epoch; `seq` is the seq of its creation event. */
export const Message = z.object({
  id: z.string(),
  channelId: z.string(),
  seq: z.number(),
  /** Null for system messages. */
  author: Author.nullable(),
  content: z.string(),
  createdAt: z.number(),
  editedAt: z.number().nullable(),
  replyTo: ReplyPreview.nullable(),
  attachments: z.array(Attachment),
  mentions: Mentions,
  reactions: z.array(Reaction),
  pinned: z.boolean(),
  system: SystemInfo.nullable(),
  /**
   * Link previews (link-previews.ts), attached by the room after the message was sent, by a
   * `message.updated`; absent or empty when there are none.
   */
  previews: z.array(LinkPreview).optional(),
  /**
   * Only on a tombstone: a replayed `message.created`/`message.updated` of a message deleted
   * since (a `message.deleted` follows), or the `message.ack` of a resent nonce whose message
   * is gone. A tombstone has empty content, attachments and mentions.
   */
  deleted: z.literal(true).optional(),
});
export type Message = z.infer<typeof Message>;

// ---------------------------------------------------------------------------------------
// Client -> server frames
// ---------------------------------------------------------------------------------------

export const HelloFrame = z.strictObject({
  type: z.literal("hello"),
  /** The last seq this client applied; omit on a first connect. */
  lastSeq: Seq.optional(),
  ref: Ref.optional(),
});

export const SendFrame = z
  .strictObject({
    type: z.literal("message.send"),
    nonce: Nonce,
    /** Up to MAX_MESSAGE_CHARS after trimming; may be empty when there are attachments. */
    content: Content,
    replyTo: ChatId.optional(),
    attachmentIds: z.array(ChatId).max(MAX_ATTACHMENTS_PER_MESSAGE).optional(),
  })
  .refine((f) => f.content.length > 0 || (f.attachmentIds?.length ?? 0) > 0, {
    message: "a message needs content or an attachment",
    path: ["content"],
  });

export const EditFrame = z.strictObject({
  type: z.literal("message.edit"),
  ref: Ref,
  id: ChatId,
  content: Content,
});

export const DeleteFrame = z.strictObject({ type: z.literal("message.delete"), ref: Ref, id: ChatId });

export const ReactionAddFrame = z.strictObject({ type: z.literal("reaction.add"), ref: Ref, messageId: ChatId, emoji: ReactionEmoji });
export const ReactionRemoveFrame = z.strictObject({ type: z.literal("reaction.remove"), ref: Ref, messageId: ChatId, emoji: ReactionEmoji });
export const PinAddFrame = z.strictObject({ type: z.literal("pin.add"), ref: Ref, messageId: ChatId });
export const PinRemoveFrame = z.strictObject({ type: z.literal("pin.remove"), ref: Ref, messageId: ChatId });
export const TypingFrame = z.strictObject({ type: z.literal("typing.start"), ref: Ref.optional() });
export const ReadMarkFrame = z.strictObject({ type: z.literal("read.mark"), seq: Seq, ref: Ref.optional() });

export const ClientFrame = z.discriminatedUnion("type", [
  HelloFrame,
  SendFrame,
  EditFrame,
  DeleteFrame,
  ReactionAddFrame,
  ReactionRemoveFrame,
  PinAddFrame,
  PinRemoveFrame,
  TypingFrame,
  ReadMarkFrame,
  PreviewRemoveFrame,
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
export type ClientFrameType = ClientFrame["type"];
export const CLIENT_FRAME_TYPES = ClientFrame.options.map((o) => o.shape.type.value) as ClientFrameType[];

// ---------------------------------------------------------------------------------------
// Server -> client frames
// ---------------------------------------------------------------------------------------

export const MessageCreated = z.object({ type: z.literal("message.created"), seq: Seq, message: Message });
export const MessageUpdated = z.object({ type: z.literal("message.updated"), seq: Seq, message: Message });
export const MessageDeleted = z.object({ type: z.literal("message.deleted"), seq: Seq, id: z.string() });
export const ReactionAdded = z.object({ type: z.literal("reaction.added"), seq: Seq, messageId: z.string(), emoji: z.string(), userId: z.string() });
export const ReactionRemoved = z.object({ type: z.literal("reaction.removed"), seq: Seq, messageId: z.string(), emoji: z.string(), userId: z.string() });
export const PinAdded = z.object({ type: z.literal("pin.added"), seq: Seq, messageId: z.string() });
export const PinRemoved = z.object({ type: z.literal("pin.removed"), seq: Seq, messageId: z.string() });

/** The frames that carry a seq: every change in a channel, live or replayed. */
export const ChannelEvent = z.discriminatedUnion("type", [
  MessageCreated,
  MessageUpdated,
  MessageDeleted,
  ReactionAdded,
  ReactionRemoved,
  PinAdded,
  PinRemoved,
]);
export type ChannelEvent = z.infer<typeof ChannelEvent>;
export type ChannelEventType = ChannelEvent["type"];

export const ServerFrame = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("ready"),
    /** Seq of the latest event in the channel (0 if none). */
    headSeq: Seq,
    /** Seq of the oldest message still in the channel, or null if there is none. */
    oldestSeq: Seq.nullable(),
    /** This member's read marker (0 = nothing read): the first unread message is the next one. */
    lastReadSeq: Seq,
    /** `timeoutUntil`: timed out until then, ms since the epoch (docs/moderation.md); absent when not. */
    me: z.object({ userId: z.string(), perms: z.string(), timeoutUntil: z.number().optional() }),
    /**
     * A connect ticket for this room (only after a connection the worker checked in full, by
     * the session cookie): reconnect with it as `?connect_ticket=` for the next `ttlMs` ms
     * and the upgrade needs no database round trip. See realtime.ts CONNECT_TICKET_PARAM.
     */
    ticket: ConnectTicketGrant.optional(),
  }),
  z.object({ type: z.literal("resumed"), fromSeq: Seq, toSeq: Seq }),
  z.object({ type: z.literal("resync"), reason: z.enum(["gap_too_large", "reset"]), headSeq: Seq }),
  z.object({ type: z.literal("message.ack"), nonce: z.string(), message: Message }),
  MessageCreated,
  MessageUpdated,
  MessageDeleted,
  ReactionAdded,
  ReactionRemoved,
  PinAdded,
  PinRemoved,
  /** Several events at once, in seq order (a busy room coalesces its fan-out); apply each in turn. */
  z.object({ type: z.literal("events"), events: z.array(ChannelEvent).min(2) }),
  z.object({ type: z.literal("typing"), userId: z.string(), displayName: z.string() }),
  z.object({ type: z.literal("read.updated"), seq: Seq }),
  /**
   * Ticket rooms only (support desk): how far the other side has read, so each side sees read
   * receipts on its own messages. Sent to every socket but the reader's when a read marker moves.
   */
  z.object({ type: z.literal("read.receipt"), userId: z.string(), seq: Seq }),
  /** This socket's permissions changed (role or overwrite edits); decimal string, see permissions.ts. */
  z.object({ type: z.literal("permissions.updated"), perms: z.string(), timeoutUntil: z.number().optional() }),
  /**
   * A thread of this channel was created or changed (a new message, a rename, archived or
   * reopened; docs/threads.md). Not an event: no seq, not replayed — after a reconnect,
   * reload the list (GET /api/channels/:id/threads).
   */
  z.object({ type: z.literal("thread.updated"), thread: Thread }),
  /** A frame was refused (realtime.ts): its `ref`, or for message.send its `nonce`. */
  ErrorFrame,
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
export type ServerFrameOf<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

const QuerySeq = z.coerce.number().pipe(Seq);
const QueryMs = z.coerce.number().int().min(0).max(8.64e15);

/** GET /api/channels/:id/messages/:messageId (the other chat routes take communities.ts ChannelParam). */
export const ChannelMessageParam = z.strictObject({ id: ChatId, messageId: ChatId });

/** GET /api/channels/:id/messages — at most one of before/after/around; none = the latest page. */
export const HistoryQuery = z
  .strictObject({
    before: QuerySeq.optional(),
    after: QuerySeq.optional(),
    around: QuerySeq.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_HISTORY_PAGE).default(MAX_HISTORY_PAGE),
  })
  .refine((q) => [q.before, q.after, q.around].filter((v) => v !== undefined).length <= 1, {
    message: "use only one of before, after, around",
  });
export type HistoryQuery = z.infer<typeof HistoryQuery>;

export const HistoryPage = z.object({
  /** Ascending by seq. */
  messages: z.array(Message),
  headSeq: Seq,
  /** There are older messages than the first of this page. */
  hasBefore: z.boolean(),
  /** There are newer messages than the last of this page. */
  hasAfter: z.boolean(),
});
export type HistoryPage = z.infer<typeof HistoryPage>;

/** GET /api/channels/:id/search and /api/communities/:id/search. */
export const SearchQuery = z.strictObject({
  /** Words to find (all of them; the last one may be a prefix). */
  q: z.string().trim().max(200).optional(),
  /** Only messages by this user id. */
  author: ChatId.optional(),
  /** Only messages created before this time, ms since the epoch. */
  before: QueryMs.optional(),
  /** Only messages created after this time, ms since the epoch. */
  after: QueryMs.optional(),
  has: z.enum(["attachment"]).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_SEARCH_PAGE).default(MAX_SEARCH_PAGE),
});
export type SearchQuery = z.infer<typeof SearchQuery>;

export const SearchHit = z.object({
  message: Message,
  /** The message just before and just after it in the channel (context). */
  before: Message.nullable(),
  after: Message.nullable(),
});
export type SearchHit = z.infer<typeof SearchHit>;

/** Newest first. Next page: the same query with `before` = the last hit's createdAt. */
export const SearchResults = z.object({ hits: z.array(SearchHit), hasMore: z.boolean() });
export type SearchResults = z.infer<typeof SearchResults>;

export const ReadState = z.object({
  lastReadSeq: Seq,
  headSeq: Seq,
  /** Seq of the first message after the marker, or null when all is read. */
  firstUnreadSeq: Seq.nullable(),
  /** Messages by others after the marker. */
  unreadCount: z.number(),
  /** Of those, how many mention this member (directly, by role, @everyone or @here). */
  mentionCount: z.number(),
});
export type ReadState = z.infer<typeof ReadState>;

/** POST /api/uploads/channels/:id/attachments?filename=... (raw body). */
export const UploadQuery = z.strictObject({ filename: z.string().min(1).max(255) });

/** What a ChannelRoom tells its community's CommunityHub after a message is written. */
export interface ChannelActivity {
  channelId: string;
  /** seq of the message.created event */
  seq: number;
  /** Null for system messages. */
  authorId: string | null;
  mentionedUserIds: string[];
  /** Roles that ping: mentionable, or the author may MENTION_EVERYONE. */
  mentionedRoleIds: string[];
  everyone: boolean;
  here: boolean;
  /**
   * A thread's message (docs/threads.md): `channelId` is the thread, this its parent channel.
   * The hub checks who may see it by the parent and tells only whom it mentions.
   */
  threadOf?: string;
}

/** `<@userId>`, `<@&roleId>`, `@everyone`, `@here` found in content (not yet permission-checked). */
export function parseMentions(content: string): Mentions {
  // Inside inline code or code blocks a mention is text, as in the rendered message.
  const prose = content.replace(/```[\s\S]*?```|`[^`\n]*`/g, "");
  const users = new Set<string>();
  const roles = new Set<string>();
  for (const m of prose.matchAll(/<@(&?)([0-9A-Za-z_-]{1,64})>/g)) {
    if (users.size + roles.size >= MAX_MENTIONS) break;
    (m[1] ? roles : users).add(m[2]!);
  }
  return {
    users: [...users],
    roles: [...roles],
    everyone: /(^|[^\w@])@everyone\b/.test(prose),
    here: /(^|[^\w@])@here\b/.test(prose),
  };
}

/** The path an attachment is served at (same origin). */
export function attachmentUrl(channelId: string, attachmentId: string, filename: string): string {
  return `/attachments/${channelId}/${attachmentId}/${encodeURIComponent(filename)}`;
}
