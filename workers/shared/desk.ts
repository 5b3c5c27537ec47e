/**
 * The support desk protocol (docs/support-desk.md): zod schemas and inferred types for every
 * HTTP body and response of desks, the widget's visitor API, the site owners' API, and every
 * frame of the SupportDesk WebSocket. Imported by the api worker, the SupportDesk object, the
 * manager panel and the widget alike. No cloudflare:* or DOM imports.
 *
 * Who is who:
 * - a **manager** is a community member who holds the desk's manager role (or MANAGE_COMMUNITY,
 *   who administers the desk); they use the web app's panel with their session cookie;
 * - a **visitor** is anyone on an allowed website; the widget's iframe (served from Woxly's own
 *   origin) holds a visitor token of 256 random bits in its storage and sends it as
 *   `Authorization: Bearer <token>`; the token is stored hashed and opens that visitor's own
 *   ticket only;
 * - a **site owner's server** uses an API key per desk (`Authorization: Bearer wxk_…`), stored
 *   hashed, for the read/close API under /api/v1.
 *
 * A ticket is one conversation: a ChannelRoom of kind "ticket" (same delivery contract as any
 * channel) plus a row in D1. Its life: `assistant` (the visitor talks to the assistant) →
 * `queued` (asked for a human; in the SupportDesk queue) → `open` (a manager accepted) →
 * `closed` (transcript copied to D1, rating possible). `offline`: a message and email left
 * while nobody could answer.
 *
 * Times are ms since the epoch.
 */
import { z } from "zod";
import { Id } from "./communities";
import { ErrorFrame, Ref } from "./realtime";
import { visibleName } from "./protocol";

// ---------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------

/** Most allowed website origins per desk. */
export const MAX_DESK_ORIGINS = 20;
/** Most knowledge-base entries per desk. */
export const MAX_KB_ENTRIES = 500;
/** Most canned replies per desk. */
export const MAX_CANNED_REPLIES = 100;
/** Most API keys per desk. */
export const MAX_DESK_KEYS = 10;
/** Most simultaneous chats one manager may be given. */
export const MAX_CAPACITY = 20;
/** How many recent accepted tickets the wait estimate is taken from. */
export const WAIT_ESTIMATE_WINDOW = 20;
/** Visitor tokens: random bits (base32 of 32 bytes). */
export const VISITOR_TOKEN_BITS = 256;
/** A widget socket ticket (signed, for one socket upgrade) lives this long, ms. */
export const SOCKET_TICKET_TTL_MS = 60_000;

export const DESK_LANGUAGES = ["en", "ru", "ky"] as const;
export const DeskLanguage = z.enum(DESK_LANGUAGES);
export type DeskLanguage = z.infer<typeof DeskLanguage>;

// ---------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------

/** `https://example.org` or `http://127.0.0.1:5173`: scheme, host and optional port, nothing else. */
export const WebOrigin = z
  .string()
  .trim()
  .max(200)
  .regex(/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i, { message: "an origin like https://example.org" })
  .transform((s) => s.toLowerCase());

/** `#rrggbb`. */
export const Colour = z.string().regex(/^#[0-9a-fA-F]{6}$/, { message: "a colour like #5865f2" });

/** Minutes since local midnight. */
const Minute = z.number().int().min(0).max(24 * 60);

/**
 * Office hours in the desk's IANA time zone: for each weekday (0 = Sunday) the open intervals.
 * `null` hours: always open.
 */
export const OfficeHours = z.strictObject({
  timeZone: z.string().min(1).max(64),
  days: z
    .array(z.array(z.strictObject({ from: Minute, to: Minute })).max(4))
    .length(7),
});
export type OfficeHours = z.infer<typeof OfficeHours>;

export const DeskName = visibleName(z.string().trim().min(1).max(80));

/** What an admin sets on a desk. */
export const DeskSettings = z.strictObject({
  name: DeskName,
  greeting: z.string().trim().max(500),
  colour: Colour,
  officeHours: OfficeHours.nullable(),
  allowedOrigins: z.array(WebOrigin).max(MAX_DESK_ORIGINS),
  /** The role whose holders are the desk's managers; null: only admins (MANAGE_COMMUNITY). */
  managerRoleId: Id.nullable(),
  /** Simultaneous chats per manager. */
  capacity: z.number().int().min(1).max(MAX_CAPACITY),
  /** Give waiting tickets to online managers under capacity, round-robin. */
  autoAssign: z.boolean(),
});
export type DeskSettings = z.infer<typeof DeskSettings>;

export const CreateDeskBody = DeskSettings.partial().extend({ name: DeskName });
export type CreateDeskBody = z.infer<typeof CreateDeskBody>;
export const UpdateDeskBody = DeskSettings.partial();
export type UpdateDeskBody = z.infer<typeof UpdateDeskBody>;

export const Desk = DeskSettings.extend({
  id: z.string(),
  communityId: z.string(),
  createdAt: z.number(),
});
export type Desk = z.infer<typeof Desk>;

export const DeskList = z.object({ desks: z.array(Desk) });
export type DeskList = z.infer<typeof DeskList>;

/** A manager as the panel lists them. */
export const DeskManager = z.object({
  userId: z.string(),
  username: z.string(),
  displayName: z.string(),
  online: z.boolean(),
  /** Open tickets assigned to them now. */
  load: z.number(),
});
export type DeskManager = z.infer<typeof DeskManager>;

// --- knowledge base and canned replies ----------------------------------------------------

export const KbEntryBody = z.strictObject({
  question: z.string().trim().min(3).max(300),
  answer: z.string().trim().min(1).max(4000),
  language: DeskLanguage,
});
export type KbEntryBody = z.infer<typeof KbEntryBody>;
export const KbEntry = KbEntryBody.extend({ id: z.string(), updatedAt: z.number() });
export type KbEntry = z.infer<typeof KbEntry>;
export const KbList = z.object({ entries: z.array(KbEntry) });

export const CannedReplyBody = z.strictObject({
  /** What the manager types after `/` to find it. */
  shortcut: z.string().trim().regex(/^[\p{L}\p{N}_-]{1,32}$/u, { message: "1–32 letters, digits, _ or -" }),
  text: z.string().trim().min(1).max(2000),
});
export const CannedReply = CannedReplyBody.extend({ id: z.string() });
export type CannedReply = z.infer<typeof CannedReply>;
export const CannedList = z.object({ replies: z.array(CannedReply) });

// --- API keys ---------------------------------------------------------------------------

export const CreateKeyBody = z.strictObject({ name: z.string().trim().min(1).max(60) });
export const DeskKey = z.object({
  id: z.string(),
  name: z.string(),
  /** The first characters, to tell keys apart (`wxk_ab12…`). */
  prefix: z.string(),
  createdAt: z.number(),
  lastUsedAt: z.number().nullable(),
});
export type DeskKey = z.infer<typeof DeskKey>;
/** The key itself is shown once, in this response, and stored only as a hash. */
export const CreatedKey = DeskKey.extend({ key: z.string() });
export const KeyList = z.object({ keys: z.array(DeskKey) });

// ---------------------------------------------------------------------------------------
// Tickets
// ---------------------------------------------------------------------------------------

export const TicketStatus = z.enum(["assistant", "queued", "open", "closed", "offline"]);
export type TicketStatus = z.infer<typeof TicketStatus>;

/** What the visitor's browser said about them when the ticket started (shown to managers). */
export const VisitorContext = z.strictObject({
  pageUrl: z.string().max(2000).optional(),
  language: DeskLanguage.optional(),
  /** IANA zone, for the visitor's local time. */
  timeZone: z.string().max(64).optional(),
  /** The embedding page's origin, as the widget saw it; checked against the desk's list. */
  origin: z.string().max(200),
});
export type VisitorContext = z.infer<typeof VisitorContext>;

export const Ticket = z.object({
  id: z.string(),
  deskId: z.string(),
  /** The ChannelRoom holding the conversation. */
  channelId: z.string(),
  status: TicketStatus,
  visitor: z.object({
    name: z.string(),
    email: z.string().nullable(),
    pageUrl: z.string().nullable(),
    language: z.string().nullable(),
    timeZone: z.string().nullable(),
  }),
  assigneeId: z.string().nullable(),
  createdAt: z.number(),
  /** When the visitor asked for a human (entered the queue). */
  requestedAt: z.number().nullable(),
  acceptedAt: z.number().nullable(),
  /** The first manager message, for first-response time. */
  firstResponseAt: z.number().nullable(),
  closedAt: z.number().nullable(),
  rating: z.number().int().min(1).max(5).nullable(),
  ratingComment: z.string().nullable(),
});
export type Ticket = z.infer<typeof Ticket>;

export const TicketPage = z.object({ tickets: z.array(Ticket), nextCursor: z.string().nullable() });
export type TicketPage = z.infer<typeof TicketPage>;

export const TicketListQuery = z.object({
  status: TicketStatus.optional(),
  /** Full-text search over closed tickets' transcripts. */
  q: z.string().trim().min(1).max(200).optional(),
  cursor: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});

/** One line of a closed ticket's transcript, kept in D1. */
export const TranscriptLine = z.object({
  seq: z.number(),
  author: z.object({ kind: z.enum(["visitor", "manager", "assistant", "system"]), id: z.string().nullable(), name: z.string() }),
  content: z.string(),
  createdAt: z.number(),
});
export type TranscriptLine = z.infer<typeof TranscriptLine>;
export const Transcript = z.object({ ticket: Ticket, lines: z.array(TranscriptLine) });
export type Transcript = z.infer<typeof Transcript>;

export const TransferBody = z.strictObject({ toUserId: Id });

// --- stats ------------------------------------------------------------------------------

export const DeskStats = z.object({
  waitingNow: z.number(),
  managersOnline: z.number(),
  /** Over the window (default the last 30 days); null when there is no data. */
  medianFirstResponseMs: z.number().nullable(),
  medianWaitMs: z.number().nullable(),
  averageRating: z.number().nullable(),
  ratings: z.number(),
  /** Tickets created per day, oldest first, in the desk's time zone (UTC without office hours). */
  perDay: z.array(z.object({ day: z.string(), tickets: z.number() })),
});
export type DeskStats = z.infer<typeof DeskStats>;

// ---------------------------------------------------------------------------------------
// The widget (visitor) API: /api/widget/...
// ---------------------------------------------------------------------------------------

/** GET /api/widget/desks/:deskId — what the launcher and the panel need to draw themselves. */
export const WidgetConfig = z.object({
  deskId: z.string(),
  name: z.string(),
  greeting: z.string(),
  colour: z.string(),
  /** Within office hours (always true without them). */
  open: z.boolean(),
  managersOnline: z.number(),
  /** Allowed embedding origins; the launcher refuses to draw anywhere else. */
  allowedOrigins: z.array(z.string()),
});
export type WidgetConfig = z.infer<typeof WidgetConfig>;

/** POST /api/widget/desks/:deskId/visitors — a new visitor (rate-limited per IP). */
export const StartVisitorBody = z.strictObject({
  name: visibleName(z.string().trim().min(1).max(60)).optional(),
  context: VisitorContext,
});
export const VisitorSession = z.object({
  visitorId: z.string(),
  /** Shown only here, once; the widget keeps it in its storage. */
  token: z.string(),
});
export type VisitorSession = z.infer<typeof VisitorSession>;

/** GET /api/widget/me — the visitor's current ticket (null before the first question). */
export const WidgetState = z.object({
  visitorId: z.string(),
  deskId: z.string(),
  name: z.string(),
  ticket: Ticket.nullable(),
  /** While queued. */
  queue: z.lazy(() => QueuePosition).nullable(),
});
export type WidgetState = z.infer<typeof WidgetState>;

/** POST /api/widget/ask — a question for the assistant (creates the ticket when there is none). */
export const AskBody = z.strictObject({ question: z.string().trim().min(1).max(1000), language: DeskLanguage });
export const AssistantSource = z.object({ entryId: z.string(), question: z.string() });
export const AssistantAnswer = z.object({
  /** False: the assistant says plainly it does not know, and offers a manager. */
  known: z.boolean(),
  answer: z.string(),
  /** The knowledge-base entry the answer comes from. */
  source: AssistantSource.nullable(),
  /** Two (at most) other entries that might help. */
  suggestions: z.array(AssistantSource).max(2),
  /** Which assistant wrote it: the built-in retrieval, or a generative provider grounded in it. */
  provider: z.enum(["builtin", "workers-ai", "openai-compatible"]),
  ticket: Ticket,
});
export type AssistantAnswer = z.infer<typeof AssistantAnswer>;

/** POST /api/widget/request-human — idempotent: repeated or parallel calls give the one queued ticket. */
export const RequestHumanBody = z.strictObject({
  language: DeskLanguage.optional(),
  /**
   * The widget's "Talk to a manager": queue only when someone can answer now (within office
   * hours and a manager online); otherwise the answer is `RequestHumanUnavailable` and nothing
   * is queued. Without it the visitor is queued whatever the desk's state.
   */
  whenAvailable: z.boolean().optional(),
});

/** POST /api/widget/leave-message — outside office hours or with nobody online. */
export const LeaveMessageBody = z.strictObject({
  email: z.string().trim().email().max(200),
  message: z.string().trim().min(1).max(4000),
});

/** POST /api/widget/rate — after the ticket closed. */
export const RateBody = z.strictObject({
  rating: z.number().int().min(1).max(5),
  comment: z.string().trim().max(1000).optional(),
});

/**
 * POST /api/widget/sockets — short-lived signed tickets for the visitor's two sockets: the
 * desk (queue position, calls) and, once there is a ticket, its ChannelRoom. Connect with
 * `?ticket=<ticket>`; each is good for SOCKET_TICKET_TTL_MS and names one room.
 */
export const SocketTickets = z.object({
  desk: z.string(),
  room: z.string().nullable(),
});
export type SocketTickets = z.infer<typeof SocketTickets>;

// ---------------------------------------------------------------------------------------
// Calls inside a ticket (either side starts; the other accepts or declines)
// ---------------------------------------------------------------------------------------

export const TicketCall = z.object({
  ticketId: z.string(),
  state: z.enum(["ringing", "active", "ended"]),
  video: z.boolean(),
  startedBy: z.enum(["visitor", "manager"]),
  at: z.number(),
});
export type TicketCall = z.infer<typeof TicketCall>;

/** POST …/call-token (visitor: /api/widget/call-token; manager: /api/desks/:deskId/tickets/:ticketId/call-token). */
export const TicketCallToken = z.object({ url: z.string(), token: z.string(), room: z.string() });
export type TicketCallToken = z.infer<typeof TicketCallToken>;

// ---------------------------------------------------------------------------------------
// SupportDesk socket (/parties/support-desk/<deskId>)
// ---------------------------------------------------------------------------------------

/** A visitor's place in the queue, as the visitor sees it. */
export const QueuePosition = z.object({
  ticketId: z.string(),
  /** 1 = next. */
  position: z.number().int().min(1),
  managersOnline: z.number(),
  /** From the median wait of the last WAIT_ESTIMATE_WINDOW accepted tickets and the position; null without history. */
  estimatedWaitMs: z.number().nullable(),
});
export type QueuePosition = z.infer<typeof QueuePosition>;

/** A waiting ticket as managers see it. */
export const QueueEntry = z.object({
  ticketId: z.string(),
  channelId: z.string(),
  visitorName: z.string(),
  requestedAt: z.number(),
  language: z.string().nullable(),
  pageUrl: z.string().nullable(),
  /** The visitor's last words (question to the assistant or message), shortened. */
  preview: z.string(),
});
export type QueueEntry = z.infer<typeof QueueEntry>;

export const DeskClientFrame = z.discriminatedUnion("type", [
  /** Manager: take a waiting ticket. Atomic: of two managers at once, one wins; the other gets `not_found`. */
  z.strictObject({ type: z.literal("ticket.accept"), ticketId: Id, ref: Ref.optional() }),
  /** Manager: hand an open ticket of theirs to another manager of the desk. */
  z.strictObject({ type: z.literal("ticket.transfer"), ticketId: Id, toUserId: Id, ref: Ref.optional() }),
  /** Either side: close the ticket. */
  z.strictObject({ type: z.literal("ticket.close"), ticketId: Id, ref: Ref.optional() }),
  /** Manager: available for new chats (auto-assignment) or away. */
  z.strictObject({ type: z.literal("status.set"), available: z.boolean(), ref: Ref.optional() }),
  /** Either side: start a call in the ticket. */
  z.strictObject({ type: z.literal("call.start"), ticketId: Id, video: z.boolean(), ref: Ref.optional() }),
  /** The other side: accept or decline a ringing call. */
  z.strictObject({ type: z.literal("call.answer"), ticketId: Id, accept: z.boolean(), ref: Ref.optional() }),
  z.strictObject({ type: z.literal("call.end"), ticketId: Id, ref: Ref.optional() }),
]);
export type DeskClientFrame = z.infer<typeof DeskClientFrame>;

export const DeskServerFrame = z.discriminatedUnion("type", [
  /** To a manager on connect: everything the panel shows live. */
  z.object({
    type: z.literal("desk.snapshot"),
    queue: z.array(QueueEntry),
    mine: z.array(Ticket),
    managers: z.array(DeskManager),
    available: z.boolean(),
    calls: z.array(TicketCall),
  }),
  /** To managers: the waiting list changed. */
  z.object({ type: z.literal("queue.updated"), queue: z.array(QueueEntry) }),
  /** To managers: a new request arrived (the panel plays a sound and shows a notification). */
  z.object({ type: z.literal("queue.requested"), entry: QueueEntry }),
  /** To managers: who is online and their load changed. */
  z.object({ type: z.literal("managers.updated"), managers: z.array(DeskManager) }),
  /** To the manager concerned (and the visitor): a ticket's state changed (accepted, transferred, closed). */
  z.object({ type: z.literal("ticket.updated"), ticket: Ticket }),
  /** To a visitor on connect and whenever it changes, while queued. */
  z.object({ type: z.literal("queue.position"), queue: QueuePosition }),
  /** To both sides of a ticket. */
  z.object({ type: z.literal("call.updated"), call: TicketCall }),
  /** Answer to a frame that carried a `ref` and succeeded. */
  z.object({ type: z.literal("done"), ref: z.string() }),
  ErrorFrame,
]);
export type DeskServerFrame = z.infer<typeof DeskServerFrame>;

// ---------------------------------------------------------------------------------------
// Widget ↔ host page messages (postMessage between widget.js and the panel's iframe)
// ---------------------------------------------------------------------------------------

/** Messages the panel iframe sends to widget.js (read only from the Woxly origin, for this desk). */
export const PanelToLauncher = z.discriminatedUnion("type", [
  z.object({ woxly: z.literal(1), type: z.literal("ready"), deskId: z.string() }),
  z.object({ woxly: z.literal(1), type: z.literal("close"), deskId: z.string() }),
  /** Unread count for the launcher's badge while the panel is closed. */
  z.object({ woxly: z.literal(1), type: z.literal("unread"), deskId: z.string(), count: z.number().int().min(0) }),
  /**
   * The browser denies the iframe its own storage (third-party storage blocked): widget.js keeps
   * the visitor token in the host page's localStorage for it (null: forget it) and hands it back
   * with `restore` after the next `ready`.
   */
  z.object({ woxly: z.literal(1), type: z.literal("remember"), deskId: z.string(), token: z.string().max(200).nullable() }),
]);
export type PanelToLauncher = z.infer<typeof PanelToLauncher>;

// ---------------------------------------------------------------------------------------
// Path params and responses of the ticket routes (added with the SupportDesk object)
// ---------------------------------------------------------------------------------------

/** `/api/desks/:deskId/...` and `/api/widget/desks/:deskId`. */
export const DeskParam = z.strictObject({ deskId: Id });
/** `/api/desks/:deskId/tickets/:ticketId/...`. */
export const DeskTicketParam = z.strictObject({ deskId: Id, ticketId: Id });

/** POST /api/widget/request-human: the ticket, and while it waits its place in the queue. */
export const RequestHumanResponse = z.object({ ticket: Ticket, queue: QueuePosition.nullable() });
export type RequestHumanResponse = z.infer<typeof RequestHumanResponse>;
/** POST /api/widget/request-human with `whenAvailable`, when nobody can answer now: leave a message instead. */
export const RequestHumanUnavailable = z.object({ leaveMessage: z.literal(true), open: z.boolean(), managersOnline: z.number() });
export type RequestHumanUnavailable = z.infer<typeof RequestHumanUnavailable>;
/** Every answer of POST /api/widget/request-human. */
export const RequestHumanAnswer = z.union([RequestHumanUnavailable, RequestHumanResponse]);
export type RequestHumanAnswer = z.infer<typeof RequestHumanAnswer>;

/** One ticket (closing, transfer, leave-message, rate answer with it). */
export const TicketResponse = z.object({ ticket: Ticket });
export type TicketResponse = z.infer<typeof TicketResponse>;

/** The author id of the assistant's messages in a ticket's room (it has no account). */
export const ASSISTANT_AUTHOR_ID = "assistant";
/** The user id of a visitor inside objects and rooms: never a member's id (ids.ts makes 26-char base32). */
export function visitorUserId(visitorId: string): string {
  return `v_${visitorId}`;
}

/**
 * Messages widget.js sends to the panel iframe (with the Woxly origin as targetOrigin); the
 * panel reads them only from its parent window. `visible`: the panel was opened or closed, so
 * the panel counts unread messages only while it is hidden. `restore`: after `ready`, the token
 * the launcher keeps for a panel without storage of its own (null: none).
 */
export const LauncherToPanel = z.discriminatedUnion("type", [
  z.object({ woxly: z.literal(1), type: z.literal("visible"), deskId: z.string(), visible: z.boolean() }),
  z.object({ woxly: z.literal(1), type: z.literal("restore"), deskId: z.string(), token: z.string().max(200).nullable() }),
]);
export type LauncherToPanel = z.infer<typeof LauncherToPanel>;

// ---------------------------------------------------------------------------------------
// Desk administration and the site owners' API: path params, queries and responses (added
// with routes/desks.ts and routes/site-api.ts)
// ---------------------------------------------------------------------------------------

/** `/api/communities/:communityId/desks`. */
export const CommunityDeskParam = z.strictObject({ communityId: Id });
/** `/api/desks/:deskId/kb/:entryId`. */
export const DeskKbParam = z.strictObject({ deskId: Id, entryId: Id });
/** `/api/desks/:deskId/canned/:replyId`. */
export const DeskCannedParam = z.strictObject({ deskId: Id, replyId: Id });
/** `/api/desks/:deskId/keys/:keyId`. */
export const DeskKeyParam = z.strictObject({ deskId: Id, keyId: Id });
/** `/api/v1/tickets/:ticketId`. */
export const SiteTicketParam = z.strictObject({ ticketId: Id });

/** GET /api/desks/:deskId/managers. */
export const DeskManagerList = z.object({ managers: z.array(DeskManager) });
export type DeskManagerList = z.infer<typeof DeskManagerList>;
export type KbList = z.infer<typeof KbList>;
export type CannedList = z.infer<typeof CannedList>;
export type CreatedKey = z.infer<typeof CreatedKey>;
export type KeyList = z.infer<typeof KeyList>;
export type AssistantSource = z.infer<typeof AssistantSource>;

/** The prefix of every desk API key (`wxk_` + 256 random bits, base32). */
export const DESK_KEY_PREFIX = "wxk_";
/** How many characters after `wxk_` a key's listed prefix shows. */
export const DESK_KEY_PREFIX_CHARS = 8;

/** The LiveKit room of a ticket's call. */
export function ticketCallRoom(ticketId: string): string {
  return `ticket-${ticketId}`;
}

/** How long a visitor's file link (POST /api/widget/file-links) opens its file, ms. */
export const VISITOR_FILE_LINK_TTL_MS = 30 * 60_000;
/** The query parameter of a visitor's file link: a signed token naming the channel, the file and the visitor. */
export const VISITOR_FILE_PARAM = "vt";
/** POST /api/widget/file-links: the attachments of the visitor's ticket to open. */
export const FileLinksBody = z.strictObject({ ids: z.array(Id).min(1).max(50) });
/** Its answer: a link per attachment the visitor may open (others are left out), good until `expiresAt` (ms). */
export const FileLinks = z.object({ links: z.record(z.string(), z.string()), expiresAt: z.number() });
export type FileLinks = z.infer<typeof FileLinks>;
