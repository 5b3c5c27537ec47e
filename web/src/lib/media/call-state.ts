/**
 * The call's snapshot: everything the UI reads about the member's call, as one immutable
 * `CallState` that `CallSession` (call.ts) publishes. Types only, plus the idle value.
 */
import type { BackgroundStatus } from "./background";

/** Where a call happens: a community voice channel, a DM / group DM, or a call link. */
export interface CallTarget {
  channelId: string;
  /** null for DMs and call links (no CommunityHub). */
  communityId: string | null;
  /** Shown in the call bar. */
  name: string;
  kind: "voice" | "dm" | "link";
  /** Call links: the link's code (its token comes from `POST /api/calls/:code/token`). */
  code?: string;
}

export type CallPhase =
  /** No call. */
  | "idle"
  /** Loading the client, asking for a token, connecting. */
  | "connecting"
  | "connected"
  /** The connection dropped; LiveKit (then this session, with a fresh token) is getting it back. */
  | "reconnecting"
  /** The call ended without the member leaving (removed, room closed, failed); `error` says why. */
  | "ended";

export type CallErrorCode =
  /** 503: LiveKit is not configured on this server. */
  | "unavailable"
  | "forbidden"
  | "channel_full"
  | "not_found"
  /** The channel is end-to-end encrypted but the server hands out no call key. */
  | "e2ee_unavailable"
  /** This browser cannot encrypt media (no insertable streams / script transform). */
  | "e2ee_unsupported"
  | "connect_failed"
  /** A moderator disconnected the member, or they lost access (kick, ban, CONNECT). */
  | "removed"
  | "room_closed"
  /** The same account joined this call from elsewhere. */
  | "duplicate"
  | "unknown";

export type Quality = "excellent" | "good" | "poor" | "lost" | "unknown";

/** What a video element needs from a track; a LiveKit `Track` satisfies it. */
export interface AttachableTrack {
  attach(element: HTMLMediaElement): HTMLMediaElement;
  detach(element: HTMLMediaElement): HTMLMediaElement;
}

export interface VideoView {
  /** Stable tile key: `identity:source`. */
  key: string;
  source: "camera" | "screen_share";
  sid: string;
  /** The published size, px; 0 when not known yet. */
  width: number;
  height: number;
  muted: boolean;
  /** Null until subscribed (remote) or captured (local). */
  track: AttachableTrack | null;
  /** When this track appeared, ms since the epoch (the newest screen share takes focus). */
  since: number;
}

export interface ParticipantView {
  identity: string;
  name: string;
  local: boolean;
  speaking: boolean;
  quality: Quality;
  /** No microphone published, or published and muted. */
  micMuted: boolean;
  hasMic: boolean;
  camera: VideoView | null;
  screen: VideoView | null;
  hasScreenAudio: boolean;
  /** Playback volume here, 0..1 (remote only). */
  volume: number;
  /** Muted for this member only (remote only). */
  localMute: boolean;
  /** ms since the epoch, or 0 */
  joinedAt: number;
}

export interface PublishRights {
  microphone: boolean;
  camera: boolean;
  screen: boolean;
}

/** A capture that failed (permission denied, no device), by kind. */
export interface DeviceError {
  kind: "microphone" | "camera" | "screen";
  message: string;
}

export interface CallState {
  phase: CallPhase;
  target: CallTarget | null;
  error: CallErrorCode | null;
  /** The local participant first, then the others in join order. */
  participants: ParticipantView[];
  selfMute: boolean;
  selfDeaf: boolean;
  camera: boolean;
  screen: boolean;
  /** Push-to-talk is in effect (chosen, or forced by the channel). */
  pushToTalk: boolean;
  pushToTalkForced: boolean;
  /** The push-to-talk key is held. */
  talking: boolean;
  /** What the server currently lets the member publish (server mute removes the microphone). */
  rights: PublishRights;
  /** The last device failure. */
  deviceError: DeviceError | null;
  /** The browser blocked audio playback until a click (`startAudio`). */
  audioBlocked: boolean;
  e2ee: boolean;
  /** The member's LiveKit identity in this room. */
  identity: string | null;
  /** ms since the epoch the call was joined, 0 when not. */
  joinedAt: number;
  /** Reconnect attempts since the connection dropped (0 when connected). */
  reconnectAttempt: number;
  /** The camera's background effect as it runs (background.ts): set once a frame went through it. */
  background: BackgroundStatus;
}

export const IDLE_CALL: CallState = {
  phase: "idle",
  target: null,
  error: null,
  participants: [],
  selfMute: false,
  selfDeaf: false,
  camera: false,
  screen: false,
  pushToTalk: false,
  pushToTalkForced: false,
  talking: false,
  rights: { microphone: false, camera: false, screen: false },
  deviceError: null,
  background: { effect: "none", error: null },
  audioBlocked: false,
  e2ee: false,
  identity: null,
  joinedAt: 0,
  reconnectAttempt: 0,
};
