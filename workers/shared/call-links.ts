/**
 * Call links (docs/call-links.md): ad-hoc calls anyone with the link can join, with or without
 * an account, plus the device self-test's echo room. Zod schemas and inferred types for every
 * HTTP body and response and every frame of the CallLink socket. Imported by the api worker,
 * the CallLink object and the web app alike. No cloudflare:* or DOM imports.
 *
 * Who is who:
 * - the **host** is the member who created the link (they may lock it, turn the lobby on,
 *   require accounts, admit or refuse people waiting, and end it);
 * - a **member** is anyone logged in (session cookie);
 * - a **guest** has no account: `POST /api/calls/:code/guests` with a display name gives them a
 *   guest session in an `__Host-` HttpOnly cookie of its own, good for that one link only.
 *
 * A link has a LiveKit room `call-<linkId>` and a ChannelRoom of kind "call" for its chat
 * (kept for the link's life). Times are ms since the epoch.
 */
import { z } from "zod";
import { UserSummary } from "./communities";
import { ErrorFrame, Ref } from "./realtime";
import { DisplayName } from "./protocol";

/** Random codes: 128 bits, base32 (26 characters). */
export const RANDOM_CODE_BITS = 128;
/** A guest session lives this long, ms (the call's tokens are short-lived on top of it). */
export const GUEST_SESSION_TTL_MS = 12 * 3600_000;
/** Most people in one call link (LiveKit room `maxParticipants`). */
export const MAX_CALL_PARTICIPANTS = 50;
/** Links one member may own. */
export const MAX_LINKS_PER_USER = 50;
/** The echo test's tokens live this long, seconds. */
export const ECHO_TOKEN_TTL_SECONDS = 60;
/** The guest cookie's name (`__Host-` prefixed over https; plain on http://localhost in development). */
export const GUEST_COOKIE = "woxly_guest";

/** The LiveKit room of a call link. */
export function callLinkRoom(linkId: string): string {
  return `call-${linkId}`;
}

/** A guest's person id (CallPerson.id, their chat author id and socket user id): `g_<guestId>`. */
export function guestPersonId(guestId: string): string {
  return `g_${guestId}`;
}

/** A random code (base32 lowercase, ≥ 26 chars) or a chosen name: 3–40 of a–z, 0–9 and `-`, not starting or ending with `-`. */
export const CallCode = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$|^[0-9a-z]{26,64}$/, { message: "3–40 letters, digits or -" });
export type CallCode = z.infer<typeof CallCode>;

export const CallLinkSettings = z.strictObject({
  /** Nobody new may join (people already in stay). */
  locked: z.boolean(),
  /** Newcomers wait until the host admits them. */
  lobby: z.boolean(),
  /** Guests without an account may not join. */
  requireAccount: z.boolean(),
});
export type CallLinkSettings = z.infer<typeof CallLinkSettings>;

/** POST /api/calls — "New call": a random code, or a chosen unique `name`. */
export const CreateCallLinkBody = z.strictObject({
  name: CallCode.optional(),
  title: z.string().trim().max(100).optional(),
  settings: CallLinkSettings.partial().optional(),
});
export type CreateCallLinkBody = z.infer<typeof CreateCallLinkBody>;

export const UpdateCallLinkBody = CallLinkSettings.partial().extend({ title: z.string().trim().max(100).optional() });

export const CallLink = z.object({
  id: z.string(),
  code: z.string(),
  title: z.string(),
  host: UserSummary,
  settings: CallLinkSettings,
  /** The ChannelRoom of the call's chat. */
  channelId: z.string(),
  createdAt: z.number(),
  /** The link was ended by the host: nobody may join any more. */
  endedAt: z.number().nullable(),
});
export type CallLink = z.infer<typeof CallLink>;

export const MyCallLinks = z.object({ links: z.array(CallLink) });
export type MyCallLinks = z.infer<typeof MyCallLinks>;

/** GET /api/calls/:code — what the pre-join screen shows (anyone with the link). */
export const CallLinkPreview = z.object({
  code: z.string(),
  title: z.string(),
  hostName: z.string(),
  settings: CallLinkSettings,
  participants: z.number(),
  ended: z.boolean(),
  /** Who the caller is to this link right now. */
  you: z.object({
    kind: z.enum(["host", "member", "guest", "nobody"]),
    name: z.string().nullable(),
    /** For guests: waiting in the lobby, admitted, or refused. */
    admission: z.enum(["admitted", "waiting", "refused"]).nullable(),
  }),
});
export type CallLinkPreview = z.infer<typeof CallLinkPreview>;

/** The `:code` of every /api/calls/:code route. */
export const CallCodeParam = z.object({ code: CallCode });

/** POST /api/calls/:code/guests — a guest's name (rate-limited per IP). Sets the guest cookie; answers the link's CallLinkPreview as the new guest sees it (201). */
export const GuestJoinBody = z.strictObject({ name: DisplayName });

/** POST /api/calls/:code/token — a LiveKit token for the link's room, for the host, a member or an admitted guest. */
export const CallLinkToken = z.object({
  url: z.string(),
  token: z.string(),
  room: z.string(),
  /** The participant's identity in the room (opaque). */
  identity: z.string(),
  /** The link's id (its CallLink socket's room) and the ChannelRoom of its chat: the page opens both with them. */
  linkId: z.string(),
  channelId: z.string(),
});
export type CallLinkToken = z.infer<typeof CallLinkToken>;

/** POST /api/calls/:code/socket-ticket is not needed: the CallLink socket uses the member's or the guest's cookie. */

/** POST /api/self-test/echo — two tokens for a throwaway echo room (no account needed; rate-limited per IP). */
export const EchoTokens = z.object({
  url: z.string(),
  room: z.string(),
  /** Publishes the user's camera and microphone. */
  sender: z.string(),
  /** Subscribes to them and measures what comes back through the SFU. */
  receiver: z.string(),
});
export type EchoTokens = z.infer<typeof EchoTokens>;

// ---------------------------------------------------------------------------------------
// The CallLink socket (/parties/call-link/<linkId>)
// ---------------------------------------------------------------------------------------

export const CallPerson = z.object({
  /** User id for members, `g_<guestId>` for guests. */
  id: z.string(),
  name: z.string(),
  guest: z.boolean(),
  host: z.boolean(),
  /** In the LiveKit room now (from webhooks and the client's own report). */
  inCall: z.boolean(),
  handRaisedAt: z.number().nullable(),
});
export type CallPerson = z.infer<typeof CallPerson>;

export const LobbyEntry = z.object({ id: z.string(), name: z.string(), guest: z.boolean(), since: z.number() });
export type LobbyEntry = z.infer<typeof LobbyEntry>;

export const CallLinkClientFrame = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("hand.raise"), ref: Ref.optional() }),
  z.strictObject({ type: z.literal("hand.lower"), ref: Ref.optional() }),
  /** Host: lower someone else's hand. */
  z.strictObject({ type: z.literal("hand.lower_for"), personId: z.string().min(1).max(64), ref: Ref.optional() }),
  /** Host: let someone in from the lobby, or refuse them. */
  z.strictObject({ type: z.literal("lobby.admit"), personId: z.string().min(1).max(64), ref: Ref.optional() }),
  z.strictObject({ type: z.literal("lobby.refuse"), personId: z.string().min(1).max(64), ref: Ref.optional() }),
  /** Host: change the settings. */
  z.strictObject({ type: z.literal("settings.set"), settings: CallLinkSettings.partial(), ref: Ref.optional() }),
]);
export type CallLinkClientFrame = z.infer<typeof CallLinkClientFrame>;

export const CallLinkServerFrame = z.discriminatedUnion("type", [
  /** On connect and whenever anything changes that the socket may see. */
  z.object({
    type: z.literal("call.snapshot"),
    settings: CallLinkSettings,
    people: z.array(CallPerson),
    /** Host only; empty for others. */
    lobby: z.array(LobbyEntry),
    you: z.object({ id: z.string(), host: z.boolean(), admission: z.enum(["admitted", "waiting", "refused"]) }),
    ended: z.boolean(),
  }),
  /** To a waiting guest or member: the host admitted or refused them. */
  z.object({ type: z.literal("lobby.decided"), admitted: z.boolean() }),
  /** To the host: someone is waiting (the UI plays a sound). */
  z.object({ type: z.literal("lobby.knocked"), entry: LobbyEntry }),
  z.object({ type: z.literal("done"), ref: z.string() }),
  ErrorFrame,
]);
export type CallLinkServerFrame = z.infer<typeof CallLinkServerFrame>;
