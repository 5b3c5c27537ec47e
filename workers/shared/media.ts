/**
 * Media: what the api worker asks of the token worker (tokens, RoomService calls, webhook
 * verification) and what it gets back; the grants a permission set allows; the voice-state
 * shapes the CommunityHub keeps and broadcasts. No cloudflare:* or DOM imports here.
 */
import { z } from "zod";
import { P, has } from "./permissions";

export const PublishSource = z.enum(["camera", "microphone", "screen_share", "screen_share_audio"]);
export type PublishSource = z.infer<typeof PublishSource>;

/** Exactly what a participant may do in a room; sent to LiveKit both in tokens and in RoomService updates. */
export const MediaGrants = z.strictObject({
  canSubscribe: z.boolean(),
  /** Empty = may publish nothing (the token worker then sets canPublish false: LiveKit reads an empty list as "all"). */
  canPublishSources: z.array(PublishSource),
  canPublishData: z.boolean(),
  canUpdateOwnMetadata: z.boolean(),
});
export type MediaGrants = z.infer<typeof MediaGrants>;

/**
 * How long a join token lives, seconds. A token is only a ticket to join: LiveKit checks it
 * when it is used to connect; from then on LiveKit refreshes it by itself (at once on joining,
 * then every 5 minutes and on every permission change, each valid 10 minutes) and
 * livekit-client resumes a dropped connection with the refreshed one. A rejoin after LiveKit
 * gave up asks the token route again (web/src/lib/media/call.ts connects with a fresh token).
 * So the TTL only has to cover asking → connecting, and the web app asks early: when the
 * pointer reaches a Join button, keeping that token for up to 120 s (TOKEN_REUSE_MS in
 * call.svelte.ts). LiveKit also accepts a token up to 60 s past its expiry (clock leeway). A
 * participant who lost access meanwhile is removed when its join webhook arrives
 * (lib/voice.ts `admitParticipant`); the short TTL bounds how long a leaked token works.
 */
export const MEDIA_TOKEN_TTL_SECONDS = 120;

/** The longest TTL the token worker signs at all, seconds. */
export const MEDIA_TOKEN_MAX_TTL_SECONDS = 600;

export const TokenRequest = z.strictObject({
  /** Opaque participant identity (never the username). */
  identity: z.string().min(1).max(128),
  name: z.string().max(64),
  room: z.string().min(1).max(128),
  /** At most 10 minutes; the voice route asks for MEDIA_TOKEN_TTL_SECONDS. */
  ttlSeconds: z.number().int().min(10).max(MEDIA_TOKEN_MAX_TTL_SECONDS),
  metadata: z.string().max(1024).optional(),
  grants: MediaGrants,
});
export type TokenRequest = z.infer<typeof TokenRequest>;

export const TokenResponse = z.object({ url: z.string(), token: z.string() });
export type TokenResponse = z.infer<typeof TokenResponse>;

/** Moderation flags a member carries in a community's voice channels (Discord's server mute / deafen). */
export interface VoiceModeration {
  serverMute: boolean;
  serverDeaf: boolean;
}

/**
 * The grants a permission set allows in a voice room: subscribe always (unless server-
 * deafened), microphone with SPEAK, camera with VIDEO, screen and its audio with STREAM.
 * Data messages and own-metadata updates stay off: chat lives in the ChannelRoom, where it
 * is stored, moderated and searchable, and a participant must not rename itself in a call.
 * A pure mapping (the web app uses it too): whether someone may be in the room at all is
 * decided by the server's policy (workers/core/policy.ts canJoinVoice, voiceGrantsNow).
 */
export function voiceGrants(perms: bigint, mod: VoiceModeration = { serverMute: false, serverDeaf: false }): MediaGrants {
  const sources: PublishSource[] = [];
  if (has(perms, P.SPEAK) && !mod.serverMute && !mod.serverDeaf) sources.push("microphone");
  if (has(perms, P.VIDEO)) sources.push("camera");
  if (has(perms, P.STREAM)) sources.push("screen_share", "screen_share_audio");
  return { canSubscribe: !mod.serverDeaf, canPublishSources: sources, canPublishData: false, canUpdateOwnMetadata: false };
}

// ---------------------------------------------------------------------------------------
// RoomService through the token worker (POST /room). Rooms are channel ids.

/** A track as LiveKit reports it. */
export const MediaTrack = z.object({
  sid: z.string(),
  source: z.enum(["camera", "microphone", "screen_share", "screen_share_audio", "unknown"]),
  muted: z.boolean(),
});
export type MediaTrack = z.infer<typeof MediaTrack>;

/** A participant as LiveKit reports it. */
export const MediaParticipant = z.object({
  sid: z.string(),
  identity: z.string(),
  /** ms since the epoch */
  joinedAt: z.number(),
  tracks: z.array(MediaTrack),
  /** What LiveKit currently lets it do (null when LiveKit did not say). */
  grants: MediaGrants.nullable(),
});
export type MediaParticipant = z.infer<typeof MediaParticipant>;

const RoomName = z.string().min(1).max(128);
const Identity = z.string().min(1).max(128);

export const RoomRequest = z.discriminatedUnion("op", [
  /** Participants of each room (at most 50 rooms a call). */
  z.strictObject({ op: z.literal("list"), rooms: z.array(RoomName).min(1).max(50) }),
  /** Removes each identity from its room; absent ones are skipped. */
  z.strictObject({ op: z.literal("remove"), targets: z.array(z.strictObject({ room: RoomName, identity: Identity })).min(1).max(50) }),
  /** Ends a room: everyone in it is disconnected (a deleted voice channel). */
  z.strictObject({ op: z.literal("close"), room: RoomName }),
  /** Replaces a participant's permissions; LiveKit unpublishes tracks of sources no longer allowed. */
  z.strictObject({ op: z.literal("update"), room: RoomName, identity: Identity, grants: MediaGrants }),
]);
export type RoomRequest = z.infer<typeof RoomRequest>;

export const ListRoomsResponse = z.object({ rooms: z.record(z.string(), z.array(MediaParticipant)) });
export type ListRoomsResponse = z.infer<typeof ListRoomsResponse>;
/** `removed`: the targets that were in their room and are gone now. */
export const RemoveResponse = z.object({ removed: z.array(z.object({ room: z.string(), identity: z.string() })) });
export type RemoveResponse = z.infer<typeof RemoveResponse>;
/** `found` is false when there was no such room. */
export const CloseResponse = z.object({ found: z.boolean() });
export type CloseResponse = z.infer<typeof CloseResponse>;
/** `found` is false when the identity is not in the room (nothing to update). */
export const UpdateResponse = z.object({ found: z.boolean() });
export type UpdateResponse = z.infer<typeof UpdateResponse>;

// ---------------------------------------------------------------------------------------
// Webhooks: the token worker verifies LiveKit's signature and body hash (POST /webhook with
// the raw body and the Authorization header) and answers with the event in this shape.

export const MediaWebhookEvent = z.object({
  /** LiveKit's event id; the same id may be delivered more than once. */
  id: z.string().min(1).max(128),
  event: z.string().max(64),
  /** ms since the epoch (LiveKit sends seconds). */
  createdAt: z.number(),
  room: z.string().nullable(),
  participant: MediaParticipant.nullable(),
  track: MediaTrack.nullable(),
  /** Events LiveKit dropped before this one (its queue overflowed): state must be reconciled. */
  numDropped: z.number(),
});
export type MediaWebhookEvent = z.infer<typeof MediaWebhookEvent>;

// ---------------------------------------------------------------------------------------
// Voice states: who is in which voice channel of a community, kept by the CommunityHub from
// webhooks and client frames, shown to every member in the channel list.

export const VoiceState = z.object({
  userId: z.string(),
  channelId: z.string(),
  /** ms since the epoch */
  joinedAt: z.number(),
  selfMute: z.boolean(),
  selfDeaf: z.boolean(),
  serverMute: z.boolean(),
  serverDeaf: z.boolean(),
  /** A camera track is published and not muted. */
  video: z.boolean(),
  /** A screen share is published. */
  streaming: z.boolean(),
  /** Stage channels: when the member raised their hand, ms since the epoch (absent: not raised). See voice-hands.ts. */
  handRaisedAt: z.number().optional(),
});
export type VoiceState = z.infer<typeof VoiceState>;

/** Server → client: one member's voice state changed; `state: null` = left voice. */
export const VoiceUpdatedFrame = z.object({ type: z.literal("voice.updated"), userId: z.string(), state: VoiceState.nullable() });
export type VoiceUpdatedFrame = z.infer<typeof VoiceUpdatedFrame>;

/**
 * Server → client: a moderator moved `userId` to `toChannelId`. That member's client leaves
 * its room (the server also removes it) and asks for a token for the new channel.
 */
export const VoiceMoveFrame = z.object({
  type: z.literal("voice.move_requested"),
  userId: z.string(),
  fromChannelId: z.string(),
  toChannelId: z.string(),
});
export type VoiceMoveFrame = z.infer<typeof VoiceMoveFrame>;

export type VoiceServerFrame = VoiceUpdatedFrame | VoiceMoveFrame;

/** Client → server: the member's own mute / deafen toggles (what LiveKit cannot tell us). */
export const VoiceSetFrame = z.strictObject({
  type: z.literal("voice.set"),
  selfMute: z.boolean().optional(),
  selfDeaf: z.boolean().optional(),
  ref: z.string().min(1).max(64).optional(),
});
export type VoiceSetFrame = z.infer<typeof VoiceSetFrame>;

// ---------------------------------------------------------------------------------------
// HTTP bodies of the voice routes.

export const VoiceTokenResponse = z.object({
  url: z.string(),
  token: z.string(),
  identity: z.string(),
  e2ee: z.boolean(),
  /** USE_VOICE_ACTIVITY is denied: the client must use push-to-talk. */
  pushToTalkOnly: z.boolean(),
  grants: MediaGrants,
  /** seconds */
  ttlSeconds: z.number(),
});
export type VoiceTokenResponse = z.infer<typeof VoiceTokenResponse>;

/**
 * POST /api/channels/:id/voice/key (E2EE channels, CONNECT): the channel's media key, 32
 * random bytes base64url, and its index in livekit-client's key ring (0..255; a new one when
 * someone loses access). The server keeps and can read it (docs/voice.md).
 */
export const CallKeyResponse = z.object({
  key: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  keyIndex: z.number().int().min(0).max(255),
});
export type CallKeyResponse = z.infer<typeof CallKeyResponse>;

export const VoiceMuteBody = z.strictObject({ muted: z.boolean() });
export const VoiceDeafenBody = z.strictObject({ deafened: z.boolean() });
export const VoiceMoveBody = z.strictObject({ channelId: z.string().min(1).max(64) });

export const VoiceStatesResponse = z.object({ states: z.array(VoiceState) });
export type VoiceStatesResponse = z.infer<typeof VoiceStatesResponse>;

// ---------------------------------------------------------------------------------------
// The CommunityHub's voice RPC (`hub.voice(op)`): what the api worker asks of a community's
// voice states (durable-objects/voice-store.ts keeps them).

export type VoiceHubOp =
  /**
   * A verified LiveKit webhook for a room (= channel) of this community; `userId` opened from the identity.
   * `denied`: the access check says this member may not be in the room (the api has removed
   * them): nothing of the event is shown; see `VoiceDenial`.
   */
  | { op: "webhook"; channelId: string; userId: string | null; event: MediaWebhookEvent; denied?: boolean }
  /**
   * LiveKit's own list of a room at `at` (ms). Sessions not in it and unseen for `graceMs` have left.
   * `participants` are those who may stay; `denied` those who may no longer be there (see `VoiceDenial`).
   */
  | {
      op: "reconcile";
      channelId: string;
      at: number;
      graceMs: number;
      participants: (MediaParticipant & { userId: string })[];
      denied?: VoiceDenial[];
    }
  /** The member's own toggles, from their client. */
  | { op: "client"; userId: string; selfMute?: boolean; selfDeaf?: boolean }
  /** A moderator's server mute / deafen; kept across calls like Discord's. */
  | { op: "moderate"; userId: string; serverMute?: boolean; serverDeaf?: boolean }
  /** A moderator moved a member: tell their client where to go, and let them past the user limit there for a while. */
  | { op: "move"; userId: string; fromChannelId: string; toChannelId: string; at: number }
  | { op: "list" }
  | { op: "get"; userId: string };

/**
 * A member the access check turned away from a room (kicked, banned, lost CONNECT, blocked)
 * who LiveKit still let in with a token issued before. Every live session of theirs in the
 * channel ends at once, whatever the grace, and `sids` (LiveKit sessions seen for them) are
 * stored as already left, so no later or repeated event of those sessions shows them again.
 */
export interface VoiceDenial {
  userId: string;
  sids: string[];
}

export interface VoiceOpResult {
  /** The webhook's event id was seen before; nothing changed. */
  duplicate: boolean;
  /** LiveKit reported dropped events: the caller should reconcile the room. */
  needsReconcile: boolean;
  /** Frames for every connected member of the community. */
  frames: VoiceServerFrame[];
  /** `list`: every state; `get`: the member's state if in voice. */
  states: VoiceState[];
  /** `get` / `moderate`: the member's moderation flags. */
  moderation: VoiceModeration;
  /** `get`: the channel a moderator just moved the member to (they may exceed its user limit), if any. */
  movedTo: string | null;
}
