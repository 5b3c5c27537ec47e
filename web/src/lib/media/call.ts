/**
 * One voice/video call, framework-free (the LiveKit components-core idea): a `CallSession`
 * owns the LiveKit `Room`, publishes the member's microphone / camera / screen, plays the
 * others' audio, and exposes everything the UI needs as an immutable `CallState` snapshot to
 * `subscribe()` listeners. `call.svelte.ts` wraps it in runes; components only render.
 *
 * livekit-client is never imported here at run time: `deps.loadClient()` loads it
 * (`await import("livekit-client")`) when the member joins, so the chat-only app does not
 * carry it. Type imports are erased.
 */
import type {
  AudioCaptureOptions,
  ConnectionQuality,
  LocalAudioTrack,
  LocalTrackPublication,
  Participant,
  RemoteParticipant,
  RemoteTrack,
  RemoteTrackPublication,
  Room,
  RoomOptions,
  TrackPublication,
  TrackPublishDefaults,
} from "livekit-client";
import type { MediaGrants, VoiceTokenResponse } from "$shared/media";
import { isApiError } from "$lib/api";
import { availableOr, listDevices, type DeviceOption } from "./devices";
import type { VoicePrefs } from "./prefs";
import type { ToneKind } from "./tones";
import { fromBase64url, type CallKeyResponse } from "./voice-api";

type LiveKit = typeof import("livekit-client");

/** Where a call happens: a community voice channel or a DM / group DM. */
export interface CallTarget {
  channelId: string;
  /** null for DMs (no CommunityHub). */
  communityId: string | null;
  /** Shown in the call bar. */
  name: string;
  kind: "voice" | "dm";
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
  /** The last device failure (permission denied, no device), by kind. */
  deviceError: { kind: "microphone" | "camera" | "screen"; message: string } | null;
  /** The browser blocked audio playback until a click (`startAudio`). */
  audioBlocked: boolean;
  e2ee: boolean;
  /** The member's LiveKit identity in this room. */
  identity: string | null;
  /** ms since the epoch the call was joined, 0 when not. */
  joinedAt: number;
  /** Reconnect attempts since the connection dropped (0 when connected). */
  reconnectAttempt: number;
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
  audioBlocked: false,
  e2ee: false,
  identity: null,
  joinedAt: 0,
  reconnectAttempt: 0,
};

export interface CallDeps {
  /** `() => import("livekit-client")` — the only place the client is loaded. */
  loadClient(): Promise<LiveKit>;
  token(channelId: string): Promise<VoiceTokenResponse>;
  /** The E2EE media key of a channel (throws when the server has none). */
  callKey(channelId: string): Promise<CallKeyResponse>;
  /** A Worker running livekit-client's e2ee worker. */
  e2eeWorker(): Promise<Worker>;
  prefs(): VoicePrefs;
  /** Saved playback volume of a participant (by identity), 0..1. */
  volumeOf(identity: string): number | undefined;
  saveVolume(identity: string, volume: number): void;
  /** The member's own mute/deafen changed (sent to the CommunityHub as `voice.set`). */
  onSelfState?(target: CallTarget, self: { selfMute: boolean; selfDeaf: boolean }): void;
  tone?(kind: ToneKind): void;
  /** Where remote audio elements live (hidden); document.body by default. */
  audioHost?(): HTMLElement;
}

/** Opus 48 kHz mono with DTX (silence is not sent) and RED (redundant packets hide loss). */
const PUBLISH_DEFAULTS = (lk: LiveKit): TrackPublishDefaults => ({
  dtx: true,
  red: true,
  audioPreset: lk.AudioPresets.music,
  videoCodec: "vp8",
  videoEncoding: lk.VideoPresets.h720.encoding,
  // Camera 720p plus 180p and 360p layers; the SFU forwards what each viewer's tile needs.
  videoSimulcastLayers: [lk.VideoPresets.h180, lk.VideoPresets.h360],
  screenShareEncoding: lk.ScreenSharePresets.h1080fps30.encoding,
  screenShareSimulcastLayers: [lk.ScreenSharePresets.h720fps15],
});

/** Screen share: 1080p at 30 fps, with the tab's or system's audio where the browser allows. */
export const SCREEN_CAPTURE = {
  audio: true,
  resolution: { width: 1920, height: 1080, frameRate: 30 },
  contentHint: "detail",
  systemAudio: "include",
  selfBrowserSurface: "exclude",
  surfaceSwitching: "include",
} as const;

/** Backoff between full rejoins after LiveKit gave up reconnecting, ms. */
const REJOIN_DELAYS_MS = [300, 1000, 2000, 4000, 8000];
/** Give up rejoining after this long, ms. */
const REJOIN_FOR_MS = 120_000;
/** How long LiveKit may try to resume a dropped connection before a fresh rejoin, ms. */
const RESUME_GRACE_MS = 7000;
/** The same once the browser says it is online again, ms. */
const ONLINE_RESUME_GRACE_MS = 1200;
/** No join/leave sounds for this long after (re)connecting, ms: the room's roster is arriving. */
const QUIET_AFTER_CONNECT_MS = 1500;

/** LiveKit protocol's TrackSource numbers, as in participant permissions (livekit_models.proto). */
const PROTO_SOURCE = { camera: 1, microphone: 2, screen: 3 } as const;

function mapQuality(q: ConnectionQuality | undefined): Quality {
  return q === "excellent" || q === "good" || q === "poor" || q === "lost" ? q : "unknown";
}

function errorCode(err: unknown): CallErrorCode {
  if (isApiError(err)) {
    if (err.code === "unavailable" || err.status === 503) return "unavailable";
    if (err.code === "channel_full") return "channel_full";
    if (err.code === "forbidden" || err.status === 403) return "forbidden";
    if (err.code === "not_found" || err.status === 404) return "not_found";
  }
  return "connect_failed";
}

export type Listener = (state: CallState) => void;

export class CallSession {
  #deps: CallDeps;
  #state: CallState = IDLE_CALL;
  #listeners = new Set<Listener>();
  #lk: LiveKit | null = null;
  #room: Room | null = null;
  /** E2EE calls: the provider the room encrypts with, for a rotated key (`refreshKey`). */
  #keyProvider: InstanceType<LiveKit["ExternalE2EEKeyProvider"]> | null = null;
  /** Bumped on every join/leave: async work of an older call stops when it sees a newer one. */
  #epoch = 0;
  #audioEls = new Map<string, HTMLMediaElement>();
  #localMutes = new Set<string>();
  #trackSince = new Map<string, number>();
  #quietUntil = 0;
  #notifyQueued = false;
  #rejoinTimer: ReturnType<typeof setTimeout> | null = null;
  #droppedAt = 0;
  #micBusy: Promise<void> = Promise.resolve();
  /** Runs while LiveKit resumes by itself; if that takes too long, rejoin from scratch. */
  #resumeTimer: ReturnType<typeof setTimeout> | null = null;
  #onOnline = () => {
    // Back online: rejoin now rather than at the next backoff step, or give LiveKit's own
    // resume a moment (its online probe needs a fetch the page's CSP may refuse).
    if (this.#state.phase !== "reconnecting") return;
    if (this.#rejoinTimer) {
      clearTimeout(this.#rejoinTimer);
      this.#rejoinTimer = null;
      void this.#rejoin(this.#epoch);
    } else this.#watchResume(ONLINE_RESUME_GRACE_MS);
  };

  constructor(deps: CallDeps) {
    this.#deps = deps;
  }

  get state(): CallState {
    return this.#state;
  }

  /** Calls `listener` now and after every change; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    listener(this.#state);
    return () => this.#listeners.delete(listener);
  }

  /** The LiveKit room, for diagnostics (tests, benchmarks); null outside a call. */
  get room(): Room | null {
    return this.#room;
  }

  // -------------------------------------------------------------------------------------
  // Joining and leaving

  /**
   * Joins `target` (leaving any other call first). Resolves when connected, or when the join
   * failed (then `state.phase` is "ended" and `state.error` says why); never throws.
   */
  async join(target: CallTarget): Promise<void> {
    if (this.#state.target?.channelId === target.channelId && (this.#state.phase === "connected" || this.#state.phase === "connecting")) return;
    const keep = { selfMute: this.#state.selfMute, selfDeaf: this.#state.selfDeaf };
    if (this.#room || this.#state.phase !== "idle") await this.#teardown();
    const epoch = ++this.#epoch;
    const prefs = this.#deps.prefs();
    this.#set({
      ...IDLE_CALL,
      ...keep,
      phase: "connecting",
      target,
      pushToTalk: prefs.pushToTalk,
    });
    window.addEventListener("online", this.#onOnline);
    try {
      await this.#connect(epoch, target);
    } catch (err) {
      if (epoch !== this.#epoch) return;
      await this.#teardown();
      this.#set({ ...this.#state, phase: "ended", error: err instanceof CallFailure ? err.code : errorCode(err), participants: [] });
    }
  }

  /**
   * E2EE: the channel got a new key (someone lost access; the hub says `voice.key_rotated`).
   * Fetches it and encrypts and decrypts with it from now on. Nothing outside an E2EE call.
   */
  async refreshKey(channelId: string): Promise<void> {
    const provider = this.#keyProvider;
    if (!provider || this.#state.target?.channelId !== channelId) return;
    try {
      const key = await this.#deps.callKey(channelId);
      if (this.#keyProvider === provider) await provider.setKey(fromBase64url(key.key).buffer);
    } catch {
      // Lost access ourselves, or the network: the server ends the call or the next join fetches it.
    }
  }

  /** Leaves the call (the member's choice). */
  async leave(): Promise<void> {
    if (this.#state.phase === "idle") return;
    const wasIn = this.#state.phase === "connected" || this.#state.phase === "reconnecting";
    this.#epoch++;
    // The UI leaves at once; the room closes behind it.
    this.#set({ ...IDLE_CALL, selfMute: this.#state.selfMute, selfDeaf: this.#state.selfDeaf });
    if (wasIn) this.#tone("self-leave");
    await this.#teardown();
  }

  /** Forgets an ended call's error (the UI dismissed it). */
  dismiss(): void {
    if (this.#state.phase === "ended") this.#set({ ...IDLE_CALL, selfMute: this.#state.selfMute, selfDeaf: this.#state.selfDeaf });
  }

  async #connect(epoch: number, target: CallTarget, rejoin = false): Promise<void> {
    const [lk, token] = await Promise.all([this.#lk ? Promise.resolve(this.#lk) : this.#deps.loadClient(), this.#deps.token(target.channelId)]);
    this.#lk = lk;
    if (epoch !== this.#epoch) return;
    const prefs = this.#deps.prefs();

    const options: RoomOptions = {
      adaptiveStream: true,
      dynacast: true,
      disconnectOnPageLeave: true,
      audioCaptureDefaults: {
        noiseSuppression: prefs.noiseSuppression,
        echoCancellation: prefs.echoCancellation,
        autoGainControl: prefs.autoGainControl,
        ...(prefs.audioInput ? { deviceId: prefs.audioInput } : {}),
      },
      videoCaptureDefaults: {
        resolution: lk.VideoPresets.h720.resolution,
        ...(prefs.videoInput ? { deviceId: prefs.videoInput } : {}),
      },
      audioOutput: prefs.audioOutput ? { deviceId: prefs.audioOutput } : undefined,
      publishDefaults: PUBLISH_DEFAULTS(lk),
    };
    if (token.e2ee) {
      if (!lk.isE2EESupported()) throw new CallFailure("e2ee_unsupported");
      let key: CallKeyResponse;
      try {
        key = await this.#deps.callKey(target.channelId);
      } catch {
        throw new CallFailure("e2ee_unavailable");
      }
      const keyProvider = new lk.ExternalE2EEKeyProvider();
      await keyProvider.setKey(fromBase64url(key.key).buffer);
      options.encryption = { keyProvider, worker: await this.#deps.e2eeWorker() };
      this.#keyProvider = keyProvider;
    } else this.#keyProvider = null;
    if (epoch !== this.#epoch) return;

    const room = new lk.Room(options);
    this.#room = room;
    this.#wire(lk, room, epoch);
    if (token.e2ee) await room.setE2EEEnabled(true);
    try {
      await room.connect(token.url, token.token, { autoSubscribe: true });
    } catch (err) {
      throw new CallFailure(errorCode(err));
    }
    if (epoch !== this.#epoch) {
      await room.disconnect();
      return;
    }
    this.#quietUntil = Date.now() + QUIET_AFTER_CONNECT_MS;
    this.#set({
      ...this.#state,
      phase: "connected",
      identity: room.localParticipant.identity,
      e2ee: token.e2ee,
      pushToTalkForced: token.pushToTalkOnly,
      pushToTalk: token.pushToTalkOnly || prefs.pushToTalk,
      rights: this.#rights(token.grants),
      joinedAt: Date.now(),
      audioBlocked: !room.canPlaybackAudio,
      reconnectAttempt: 0,
    });
    this.#tone(rejoin ? "reconnected" : "self-join");
    this.#applyIncomingAudio();
    void this.#syncMic();
    this.#reportSelf();
  }

  /** Ends the room and everything local. */
  async #teardown(): Promise<void> {
    if (this.#rejoinTimer) clearTimeout(this.#rejoinTimer);
    this.#rejoinTimer = null;
    this.#clearResumeWatch();
    window.removeEventListener("online", this.#onOnline);
    const room = this.#room;
    this.#room = null;
    this.#keyProvider = null;
    for (const el of this.#audioEls.values()) el.remove();
    this.#audioEls.clear();
    this.#trackSince.clear();
    if (room) {
      room.removeAllListeners();
      await room.disconnect().catch(() => {});
    }
  }

  // -------------------------------------------------------------------------------------
  // Room events → state

  #wire(lk: LiveKit, room: Room, epoch: number): void {
    const E = lk.RoomEvent;
    const live = () => epoch === this.#epoch && this.#room === room;
    const refresh = () => {
      if (live()) this.#notify();
    };
    room
      .on(E.ParticipantConnected, (p) => {
        if (!live()) return;
        if (Date.now() > this.#quietUntil) this.#tone("join");
        this.#applyIncomingAudio();
        this.#notify();
        void p;
      })
      .on(E.ParticipantDisconnected, () => {
        if (!live()) return;
        if (Date.now() > this.#quietUntil) this.#tone("leave");
        this.#notify();
      })
      .on(E.TrackSubscribed, (track, pub, p) => {
        if (!live()) return;
        this.#onSubscribed(lk, track, pub, p);
        this.#notify();
      })
      .on(E.TrackUnsubscribed, (track, pub, p) => {
        if (!live()) return;
        const key = `${p.identity}:${pub.source}`;
        const el = this.#audioEls.get(key);
        if (el) {
          track.detach(el);
          el.remove();
          this.#audioEls.delete(key);
        }
        this.#notify();
      })
      .on(E.TrackPublished, () => {
        if (!live()) return;
        this.#applyIncomingAudio();
        this.#notify();
      })
      .on(E.TrackUnpublished, refresh)
      .on(E.TrackMuted, refresh)
      .on(E.TrackUnmuted, refresh)
      .on(E.LocalTrackPublished, refresh)
      .on(E.LocalTrackUnpublished, (pub) => {
        if (!live()) return;
        // The browser's "Stop sharing" button, or the server taking a source away.
        if (pub.source === lk.Track.Source.ScreenShare) this.#set({ ...this.#state, screen: false });
        if (pub.source === lk.Track.Source.Camera) this.#set({ ...this.#state, camera: false });
        this.#notify();
      })
      .on(E.ActiveSpeakersChanged, refresh)
      .on(E.ConnectionQualityChanged, refresh)
      .on(E.TrackStreamStateChanged, refresh)
      .on(E.ParticipantNameChanged, refresh)
      .on(E.AudioPlaybackStatusChanged, () => {
        if (live()) this.#set({ ...this.#state, audioBlocked: !room.canPlaybackAudio });
      })
      .on(E.ParticipantPermissionsChanged, (_prev, p) => {
        if (!live() || !p.isLocal) return;
        const perms = room.localParticipant.permissions;
        const allowed = new Set((perms?.canPublish ? perms.canPublishSources : []) ?? []);
        const all = perms?.canPublish && allowed.size === 0;
        this.#set({
          ...this.#state,
          rights: {
            microphone: !!all || allowed.has(PROTO_SOURCE.microphone),
            camera: !!all || allowed.has(PROTO_SOURCE.camera),
            screen: !!all || allowed.has(PROTO_SOURCE.screen),
          },
        });
        void this.#syncMic();
      })
      .on(E.MediaDevicesChanged, () => {
        if (live()) void this.followDevices();
      })
      .on(E.MediaDevicesError, (e: Error) => {
        if (live()) this.#set({ ...this.#state, deviceError: { kind: "microphone", message: e.message } });
      })
      .on(E.ConnectionStateChanged, (s) => {
        if (!live()) return;
        const C = lk.ConnectionState;
        if (s === C.Reconnecting || s === C.SignalReconnecting) {
          if (this.#state.phase !== "reconnecting") {
            this.#droppedAt = Date.now();
            this.#watchResume(RESUME_GRACE_MS);
          }
          this.#set({ ...this.#state, phase: "reconnecting" });
        } else if (s === C.Connected && this.#state.phase === "reconnecting") {
          this.#clearResumeWatch();
          this.#quietUntil = Date.now() + QUIET_AFTER_CONNECT_MS;
          this.#set({ ...this.#state, phase: "connected", reconnectAttempt: 0 });
          this.#tone("reconnected");
          void this.#syncMic();
          this.#reportSelf();
        }
      })
      .on(E.Disconnected, (reason) => {
        if (!live()) return;
        const R = lk.DisconnectReason;
        if (reason === R.CLIENT_INITIATED) return;
        const final: CallErrorCode | null =
          reason === R.PARTICIPANT_REMOVED ? "removed"
          : reason === R.ROOM_DELETED || reason === R.ROOM_CLOSED ? "room_closed"
          : reason === R.DUPLICATE_IDENTITY ? "duplicate"
          : null;
        if (final) {
          this.#epoch++;
          void this.#teardown();
          this.#tone("self-leave");
          this.#set({ ...this.#state, phase: "ended", error: final, participants: [], camera: false, screen: false, talking: false });
          return;
        }
        // LiveKit gave up resuming: join again with a fresh token, by itself.
        if (this.#state.phase !== "reconnecting") this.#droppedAt = Date.now();
        this.#set({ ...this.#state, phase: "reconnecting", camera: false, screen: false });
        this.#scheduleRejoin(epoch);
      });
  }

  #watchResume(ms: number): void {
    this.#clearResumeWatch();
    const epoch = this.#epoch;
    this.#resumeTimer = setTimeout(() => {
      this.#resumeTimer = null;
      if (epoch !== this.#epoch || this.#state.phase !== "reconnecting" || this.#rejoinTimer) return;
      if (typeof navigator !== "undefined" && navigator.onLine === false) return; // #onOnline takes over
      void this.#rejoin(epoch);
    }, ms);
  }

  #clearResumeWatch(): void {
    if (this.#resumeTimer) clearTimeout(this.#resumeTimer);
    this.#resumeTimer = null;
  }

  #scheduleRejoin(epoch: number): void {
    if (epoch !== this.#epoch) return;
    const attempt = this.#state.reconnectAttempt;
    if (Date.now() - this.#droppedAt > REJOIN_FOR_MS) {
      this.#epoch++;
      void this.#teardown();
      this.#set({ ...this.#state, phase: "ended", error: "connect_failed", participants: [] });
      return;
    }
    const delay = REJOIN_DELAYS_MS[Math.min(attempt, REJOIN_DELAYS_MS.length - 1)]!;
    this.#rejoinTimer = setTimeout(() => {
      this.#rejoinTimer = null;
      void this.#rejoin(epoch);
    }, delay);
  }

  async #rejoin(epoch: number): Promise<void> {
    const target = this.#state.target;
    if (epoch !== this.#epoch || !target) return;
    this.#clearResumeWatch();
    const old = this.#room;
    this.#room = null;
    if (old) {
      old.removeAllListeners();
      await old.disconnect().catch(() => {});
    }
    for (const el of this.#audioEls.values()) el.remove();
    this.#audioEls.clear();
    const next = ++this.#epoch;
    const hadCamera = this.#state.camera;
    // A screen share needs the member's click to start again; the camera comes back by itself.
    this.#set({ ...this.#state, camera: false, screen: false, reconnectAttempt: this.#state.reconnectAttempt + 1 });
    try {
      await this.#connect(next, target, true);
      if (hadCamera && next === this.#epoch) void this.setCamera(true);
    } catch (err) {
      if (next !== this.#epoch) return;
      const code = err instanceof CallFailure ? err.code : errorCode(err);
      // Lost access meanwhile: stop. A network error: try again.
      if (code === "forbidden" || code === "not_found" || code === "unavailable" || code === "e2ee_unavailable") {
        await this.#teardown();
        this.#set({ ...this.#state, phase: "ended", error: code, participants: [] });
        return;
      }
      // #connect may have left a half-made room behind.
      const dead = this.#room as Room | null;
      this.#room = null;
      if (dead) {
        dead.removeAllListeners();
        await dead.disconnect().catch(() => {});
      }
      this.#set({ ...this.#state, phase: "reconnecting" });
      this.#scheduleRejoin(next);
    }
  }

  #onSubscribed(lk: LiveKit, track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant): void {
    const key = `${p.identity}:${pub.source}`;
    this.#trackSince.set(key, Date.now());
    if (track.kind !== lk.Track.Kind.Audio) return;
    // Remote audio plays from hidden <audio> elements (LiveKit routes them to the chosen output).
    const el = track.attach();
    el.dataset.woxlyAudio = "";
    el.dataset.participant = p.identity;
    el.dataset.source = pub.source;
    el.hidden = true;
    (this.#deps.audioHost?.() ?? document.body).append(el);
    this.#audioEls.get(key)?.remove();
    this.#audioEls.set(key, el);
    const v = this.#deps.volumeOf(p.identity);
    if (v !== undefined) p.setVolume(v, pub.source as Parameters<RemoteParticipant["setVolume"]>[1]);
    this.#applyIncomingAudio();
  }

  /** Deafen and per-user local mute: the SFU stops forwarding those audio tracks to us. */
  #applyIncomingAudio(): void {
    const room = this.#room;
    const lk = this.#lk;
    if (!room || !lk) return;
    for (const p of room.remoteParticipants.values()) {
      for (const pub of p.audioTrackPublications.values()) {
        const want = !this.#state.selfDeaf && !this.#localMutes.has(p.identity);
        if (pub.isEnabled !== want) pub.setEnabled(want);
      }
    }
  }

  #rights(g: MediaGrants): PublishRights {
    const s = new Set(g.canPublishSources);
    return { microphone: s.has("microphone"), camera: s.has("camera"), screen: s.has("screen_share") };
  }

  // -------------------------------------------------------------------------------------
  // The member's own controls

  /** Microphone mute (stays published, sends nothing). Unmuting also undeafens, as on Discord. */
  setSelfMute(muted: boolean): void {
    const undeafen = !muted && this.#state.selfDeaf;
    this.#set({ ...this.#state, selfMute: muted, selfDeaf: undeafen ? false : this.#state.selfDeaf });
    if (undeafen) this.#applyIncomingAudio();
    this.#tone(muted ? "mute" : "unmute");
    void this.#syncMic();
    this.#reportSelf();
  }

  /** Deafen: no incoming audio and no microphone. Undeafening restores the earlier mute. */
  setSelfDeaf(deaf: boolean): void {
    this.#set({ ...this.#state, selfDeaf: deaf });
    this.#tone(deaf ? "mute" : "unmute");
    this.#applyIncomingAudio();
    void this.#syncMic();
    this.#reportSelf();
  }

  /** Push-to-talk key pressed or released. */
  setTalking(held: boolean): void {
    if (this.#state.talking === held) return;
    this.#set({ ...this.#state, talking: held });
    void this.#syncMic();
  }

  /** The member switched push-to-talk in the settings (ignored while the channel forces it). */
  setPushToTalk(on: boolean): void {
    this.#set({ ...this.#state, pushToTalk: this.#state.pushToTalkForced || on, talking: false });
    void this.#syncMic();
  }

  get #micOpen(): boolean {
    const s = this.#state;
    return !s.selfMute && !s.selfDeaf && (!s.pushToTalk || s.talking);
  }

  /** Brings the published microphone in line with mute / deafen / push-to-talk / rights. */
  #syncMic(): Promise<void> {
    this.#micBusy = this.#micBusy.then(() => this.#syncMicNow()).catch(() => {});
    return this.#micBusy;
  }

  async #syncMicNow(): Promise<void> {
    const room = this.#room;
    const lk = this.#lk;
    if (!room || !lk || this.#state.phase !== "connected") return;
    const lp = room.localParticipant;
    const pub = lp.getTrackPublication(lk.Track.Source.Microphone) as LocalTrackPublication | undefined;
    const track = pub?.track as LocalAudioTrack | undefined;
    if (!this.#state.rights.microphone) return; // the server stops it itself
    const open = this.#micOpen;
    if (!track) {
      // Publish once, muted unless open, so push-to-talk never leaks a moment of audio.
      try {
        const prefs = this.#deps.prefs();
        const t = await lk.createLocalAudioTrack(this.#captureOptions(prefs));
        if (!open) await t.mute();
        if (this.#room !== room) {
          t.stop();
          return;
        }
        await lp.publishTrack(t, { source: lk.Track.Source.Microphone, dtx: true, red: true });
        if (this.#micOpen !== open) await (this.#micOpen ? t.unmute() : t.mute());
        if (this.#state.deviceError?.kind === "microphone") this.#set({ ...this.#state, deviceError: null });
      } catch (err) {
        this.#set({ ...this.#state, deviceError: { kind: "microphone", message: err instanceof Error ? err.message : String(err) } });
      }
      this.#notify();
      return;
    }
    if (open && track.isMuted) await track.unmute();
    else if (!open && !track.isMuted) await track.mute();
    this.#notify();
  }

  #captureOptions(prefs: VoicePrefs): AudioCaptureOptions {
    return {
      noiseSuppression: prefs.noiseSuppression,
      echoCancellation: prefs.echoCancellation,
      autoGainControl: prefs.autoGainControl,
      ...(prefs.audioInput ? { deviceId: prefs.audioInput } : {}),
    };
  }

  /** Camera on/off (720p with simulcast layers). */
  async setCamera(on: boolean): Promise<void> {
    const room = this.#room;
    const lk = this.#lk;
    if (!room || !lk) return;
    const prefs = this.#deps.prefs();
    try {
      if (on) {
        await room.localParticipant.setCameraEnabled(
          true,
          { resolution: lk.VideoPresets.h720.resolution, ...(prefs.videoInput ? { deviceId: prefs.videoInput } : {}) },
          { simulcast: true, videoSimulcastLayers: [lk.VideoPresets.h180, lk.VideoPresets.h360], videoEncoding: lk.VideoPresets.h720.encoding },
        );
      } else {
        // Unpublished rather than muted: the camera is released, and LiveKit's webhooks tell
        // the hub (a muted track would still show as "camera on" in the channel list).
        const track = room.localParticipant.getTrackPublication(lk.Track.Source.Camera)?.track;
        if (track) await room.localParticipant.unpublishTrack(track);
      }
      this.#set({ ...this.#state, camera: on, deviceError: this.#state.deviceError?.kind === "camera" ? null : this.#state.deviceError });
    } catch (err) {
      this.#set({ ...this.#state, camera: false, deviceError: { kind: "camera", message: err instanceof Error ? err.message : String(err) } });
    }
    this.#notify();
  }

  /** Screen share on/off: 1080p 30 fps with audio where the browser offers it. */
  async setScreenShare(on: boolean): Promise<void> {
    const room = this.#room;
    const lk = this.#lk;
    if (!room || !lk) return;
    try {
      await room.localParticipant.setScreenShareEnabled(on, SCREEN_CAPTURE, {
        screenShareEncoding: lk.ScreenSharePresets.h1080fps30.encoding,
        screenShareSimulcastLayers: [lk.ScreenSharePresets.h720fps15],
      });
      this.#set({ ...this.#state, screen: on, deviceError: this.#state.deviceError?.kind === "screen" ? null : this.#state.deviceError });
    } catch (err) {
      // Closing the browser's picker is not an error worth showing.
      const cancelled = err instanceof DOMException && err.name === "NotAllowedError";
      this.#set({ ...this.#state, screen: false, deviceError: cancelled ? null : { kind: "screen", message: err instanceof Error ? err.message : String(err) } });
    }
    this.#notify();
  }

  /** Playback volume of one participant here, 0..1 (saved for next time). */
  setVolume(identity: string, volume: number): void {
    const v = Math.min(1, Math.max(0, volume));
    const p = this.#room?.remoteParticipants.get(identity);
    if (p && this.#lk) {
      p.setVolume(v, this.#lk.Track.Source.Microphone);
      p.setVolume(v, this.#lk.Track.Source.ScreenShareAudio);
    }
    this.#deps.saveVolume(identity, v);
    this.#notify();
  }

  /** Mutes one participant for this member only. */
  setLocalMute(identity: string, muted: boolean): void {
    if (muted) this.#localMutes.add(identity);
    else this.#localMutes.delete(identity);
    this.#applyIncomingAudio();
    this.#notify();
  }

  /** After a click: lets the browser play the call's audio. */
  async startAudio(): Promise<void> {
    await this.#room?.startAudio();
    if (this.#room) this.#set({ ...this.#state, audioBlocked: !this.#room.canPlaybackAudio });
  }

  /** The chosen devices or audio processing changed (or a device vanished): apply them live. */
  async applyPrefs(devices?: { audioinput: DeviceOption[]; audiooutput: DeviceOption[]; videoinput: DeviceOption[] }): Promise<void> {
    const room = this.#room;
    const lk = this.#lk;
    if (!room || !lk) return;
    const prefs = this.#deps.prefs();
    const input = devices ? availableOr(prefs.audioInput, devices.audioinput) : prefs.audioInput;
    const output = devices ? availableOr(prefs.audioOutput, devices.audiooutput) : prefs.audioOutput;
    const camera = devices ? availableOr(prefs.videoInput, devices.videoinput) : prefs.videoInput;
    const mic = room.localParticipant.getTrackPublication(lk.Track.Source.Microphone)?.track as LocalAudioTrack | undefined;
    if (mic) {
      const s = mic.mediaStreamTrack.getSettings();
      const changed =
        (input || "default") !== (room.getActiveDevice("audioinput") ?? "default") ||
        s.noiseSuppression !== prefs.noiseSuppression ||
        s.echoCancellation !== prefs.echoCancellation ||
        s.autoGainControl !== prefs.autoGainControl;
      if (changed) await mic.restartTrack(this.#captureOptions({ ...prefs, audioInput: input })).catch(() => {});
    }
    if ((room.getActiveDevice("audiooutput") ?? "default") !== (output || "default")) {
      await room.switchActiveDevice("audiooutput", output || "default").catch(() => false);
    }
    if (this.#state.camera && (room.getActiveDevice("videoinput") ?? "") !== camera && camera) {
      await room.switchActiveDevice("videoinput", camera).catch(() => false);
    }
    this.#notify();
  }

  /** A device was plugged in or out: fall back to the default where the chosen one is gone. */
  async followDevices(): Promise<void> {
    await this.applyPrefs(await listDevices());
  }

  /** The member's self mute/deafen to the hub (again after reconnecting). */
  #reportSelf(): void {
    const t = this.#state.target;
    if (t && (this.#state.phase === "connected" || this.#state.phase === "reconnecting")) {
      this.#deps.onSelfState?.(t, { selfMute: this.#state.selfMute, selfDeaf: this.#state.selfDeaf });
    }
  }

  #tone(kind: ToneKind): void {
    if (this.#deps.prefs().sounds) this.#deps.tone?.(kind);
  }

  // -------------------------------------------------------------------------------------
  // Snapshots

  #set(state: CallState): void {
    this.#state = state;
    this.#notify();
  }

  /** Rebuilds the participants from the room and tells the listeners, once per microtask. */
  #notify(): void {
    if (this.#notifyQueued) return;
    this.#notifyQueued = true;
    queueMicrotask(() => {
      this.#notifyQueued = false;
      this.#state = { ...this.#state, participants: this.#participants() };
      for (const l of this.#listeners) l(this.#state);
    });
  }

  #participants(): ParticipantView[] {
    const room = this.#room;
    const lk = this.#lk;
    if (!room || !lk || this.#state.phase === "idle" || this.#state.phase === "ended") return [];
    const S = lk.Track.Source;
    const video = (p: Participant, source: "camera" | "screen_share"): VideoView | null => {
      const pub: TrackPublication | undefined = p.getTrackPublication(source === "camera" ? S.Camera : S.ScreenShare);
      if (!pub) return null;
      const key = `${p.identity}:${source}`;
      let since = this.#trackSince.get(key);
      if (since === undefined) {
        since = Date.now();
        this.#trackSince.set(key, since);
      }
      let width = pub.dimensions?.width ?? 0;
      let height = pub.dimensions?.height ?? 0;
      if ((!width || !height) && pub.track) {
        const s = pub.track.mediaStreamTrack.getSettings();
        width = s.width ?? 0;
        height = s.height ?? 0;
      }
      return { key, source, sid: pub.trackSid, width, height, muted: pub.isMuted, track: pub.track ?? null, since };
    };
    const view = (p: Participant, local: boolean): ParticipantView => {
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
        volume: local ? 1 : (this.#deps.volumeOf(p.identity) ?? 1),
        localMute: !local && this.#localMutes.has(p.identity),
        joinedAt: p.joinedAt?.getTime() ?? 0,
      };
    };
    const others = [...room.remoteParticipants.values()].map((p) => view(p, false)).sort((a, b) => a.joinedAt - b.joinedAt || a.identity.localeCompare(b.identity));
    return [view(room.localParticipant, true), ...others];
  }
}

/** A join failure with a known reason. */
class CallFailure extends Error {
  constructor(readonly code: CallErrorCode) {
    super(code);
  }
}
