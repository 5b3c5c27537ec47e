/**
 * Participant projection, pure: LiveKit participants → `ParticipantView`s (the local member
 * first, the others in join order) → stage tiles, and who is speaking. Reads participants
 * through the few fields it needs (`ParticipantLike`, which a LiveKit `Participant`
 * satisfies), so it runs in Node without livekit-client.
 */
import type { AttachableTrack, ParticipantView, Quality, VideoView } from "./call-state";
import type { FocusCandidate } from "./layout";

/** LiveKit's `Track.Source` values this projection asks for. */
export interface TrackSources<S> {
  Camera: S;
  Microphone: S;
  ScreenShare: S;
  ScreenShareAudio: S;
}

/** A track publication as far as the projection reads it. */
export interface PublicationLike {
  readonly trackSid: string;
  readonly isMuted: boolean;
  /** px, when LiveKit knows them */
  readonly dimensions?: { width: number; height: number };
  readonly track?: AttachableTrack & { readonly mediaStreamTrack: { getSettings(): { width?: number; height?: number } } };
}

/** A participant as far as the projection reads it. */
export interface ParticipantLike<S> {
  readonly identity: string;
  readonly name?: string;
  readonly isSpeaking: boolean;
  readonly connectionQuality: string;
  readonly joinedAt: Date | undefined;
  getTrackPublication(source: S): PublicationLike | undefined;
}

/** When each tile's track first appeared, ms since the epoch (the newest screen share takes focus). */
export class TrackClock {
  readonly #since = new Map<string, number>();

  /** A track (`identity:source`) just arrived: it counts from `now` (ms). */
  mark(key: string, now: number): void {
    this.#since.set(key, now);
  }

  /** When `key` appeared; first seen at `now` (ms) if it was not known. */
  since(key: string, now: number): number {
    let t = this.#since.get(key);
    if (t === undefined) {
      t = now;
      this.#since.set(key, t);
    }
    return t;
  }

  clear(): void {
    this.#since.clear();
  }
}

export interface ProjectionInput<S> {
  local: ParticipantLike<S>;
  remote: Iterable<ParticipantLike<S>>;
  sources: TrackSources<S>;
  /** Saved playback volume of a participant, 0..1. */
  volumeOf(identity: string): number | undefined;
  /** Identities muted for this member only. */
  localMutes: ReadonlySet<string>;
  clock: TrackClock;
  /** ms since the epoch */
  now: number;
}

export function mapQuality(q: string | undefined): Quality {
  return q === "excellent" || q === "good" || q === "poor" || q === "lost" ? q : "unknown";
}

/** Everyone in the room as the UI shows them: the local participant first, then the others by join time (then identity). */
export function projectParticipants<S>(input: ProjectionInput<S>): ParticipantView[] {
  const S = input.sources;
  const video = (p: ParticipantLike<S>, source: "camera" | "screen_share"): VideoView | null => {
    const pub = p.getTrackPublication(source === "camera" ? S.Camera : S.ScreenShare);
    if (!pub) return null;
    const key = `${p.identity}:${source}`;
    const since = input.clock.since(key, input.now);
    let width = pub.dimensions?.width ?? 0;
    let height = pub.dimensions?.height ?? 0;
    if ((!width || !height) && pub.track) {
      const s = pub.track.mediaStreamTrack.getSettings();
      width = s.width ?? 0;
      height = s.height ?? 0;
    }
    return { key, source, sid: pub.trackSid, width, height, muted: pub.isMuted, track: pub.track ?? null, since };
  };
  const view = (p: ParticipantLike<S>, local: boolean): ParticipantView => {
    const mic = p.getTrackPublication(S.Microphone);
    return {
      identity: p.identity,
      name: p.name || p.identity,
      local,
      speaking: p.isSpeaking,
      quality: mapQuality(p.connectionQuality),
      micMuted: !mic || mic.isMuted,
      hasMic: !!mic,
      camera: video(p, "camera"),
      screen: video(p, "screen_share"),
      hasScreenAudio: !!p.getTrackPublication(S.ScreenShareAudio),
      volume: local ? 1 : (input.volumeOf(p.identity) ?? 1),
      localMute: !local && input.localMutes.has(p.identity),
      joinedAt: p.joinedAt?.getTime() ?? 0,
    };
  };
  const others = [...input.remote].map((p) => view(p, false)).sort((a, b) => a.joinedAt - b.joinedAt || a.identity.localeCompare(b.identity));
  return [view(input.local, true), ...others];
}

/** One tile of the call stage: a participant's camera (or avatar), or their screen share. */
export interface StageTile {
  /** `identity:camera` or `identity:screen_share` */
  key: string;
  p: ParticipantView;
  kind: "camera" | "screen";
}

/** Everyone's camera tile, plus a tile for each screen share, in participant order. */
export function stageTiles(participants: readonly ParticipantView[]): StageTile[] {
  return participants.flatMap((p) => {
    const t: StageTile[] = [{ key: `${p.identity}:camera`, p, kind: "camera" }];
    if (p.screen) t.push({ key: `${p.identity}:screen_share`, p, kind: "screen" });
    return t;
  });
}

/** The tiles as `focusedTile` (layout.ts) weighs them: screen shares, newest first. */
export function focusCandidates(tiles: readonly StageTile[]): FocusCandidate[] {
  return tiles.map((t) => ({ key: t.key, isScreen: t.kind === "screen", since: t.p.screen?.since ?? 0 }));
}

/**
 * The one tile a phone shows large (and the picture-in-picture shows): the remote participant
 * who spoke last while still here, else the first other participant, else the member's own.
 */
export function speakerTile(tiles: readonly StageTile[], lastSpeaker: string | null): string | null {
  const cameras = tiles.filter((t) => t.kind === "camera");
  if (lastSpeaker && cameras.some((t) => t.key === lastSpeaker && !t.p.local)) return lastSpeaker;
  return (cameras.find((t) => !t.p.local) ?? cameras[0])?.key ?? null;
}

/** The camera tile key of a remote participant speaking now, if any. */
export function remoteSpeakerKey(participants: readonly ParticipantView[]): string | null {
  const p = participants.find((x) => x.speaking && !x.local);
  return p ? `${p.identity}:camera` : null;
}

/** The users speaking now, for the participants whose user can be told (`userIdOf`). */
export function speakingUsers(participants: readonly ParticipantView[], userIdOf: (p: ParticipantView) => string | null): Set<string> {
  const now = new Set<string>();
  for (const p of participants) {
    if (!p.speaking) continue;
    const id = userIdOf(p);
    if (id) now.add(id);
  }
  return now;
}

/** Longest participant name LiveKit shows: the token route cuts names to this many characters. */
export const PARTICIPANT_NAME_MAX = 64;

/**
 * The one candidate whose name (`nameOf`, cut as LiveKit cuts it) is the participant's shown
 * `name`; null when none or several match. Identities are sealed user ids the client cannot
 * open (docs/voice.md), so a name is all that tells a remote participant's user.
 */
export function soleNameMatch<T>(name: string, candidates: readonly T[], nameOf: (c: T) => string | undefined): T | null {
  const matches = candidates.filter((c) => {
    const n = nameOf(c);
    return n !== undefined && n.slice(0, PARTICIPANT_NAME_MAX) === name;
  });
  return matches.length === 1 ? matches[0]! : null;
}
