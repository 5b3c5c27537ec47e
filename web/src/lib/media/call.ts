/**
 * One voice/video call, framework-free (the LiveKit components-core idea): a `CallSession`
 * is a `Core<CallState>` (realtime/core.ts) that owns the LiveKit `Room` and coordinates the
 * call's parts — local publishing (publishing.ts), the others' audio (remote-audio.ts),
 * reconnect supervision (rejoin.ts), what the member may publish (rights.ts) and the
 * participant projection (participants.ts). `call.svelte.ts` binds it to runes; components
 * only render.
 *
 * livekit-client is never imported here at run time: `deps.loadClient()` loads it
 * (`await import("livekit-client")`) when the member joins, so the chat-only app does not
 * carry it. Type imports are erased.
 */
import type { ExternalE2EEKeyProvider, Room, RoomOptions } from "livekit-client";
import type { VoiceTokenResponse } from "$shared/media";
import { Core } from "$lib/realtime/core";
import { IDLE_CALL, type CallState, type CallTarget, type ParticipantView } from "./call-state";
import { listDevices, type DeviceOption } from "./devices";
import { projectParticipants, TrackClock } from "./participants";
import type { VoicePrefs } from "./prefs";
import { chosenDevices, LocalPublisher, roomOptions } from "./publishing";
import { CallFailure, disconnectOutcome, endsRejoining, joinError, RejoinSupervisor } from "./rejoin";
import { RemoteAudio } from "./remote-audio";
import { rightsFromGrants, rightsFromPermissions } from "./rights";
import type { ToneKind } from "./tones";
import { fromBase64url, type CallKeyResponse } from "./voice-api";

export * from "./call-state";
export { SCREEN_CAPTURE } from "./publishing";

type LiveKit = typeof import("livekit-client");

export interface CallDeps {
  /** `() => import("livekit-client")` — the only place the client is loaded. */
  loadClient(): Promise<LiveKit>;
  token(channelId: string): Promise<VoiceTokenResponse>;
  /**
   * A token for the channel already at hand (asked for before the click), taken (used once);
   * null when there is none. With the client loaded too, the click reaches `connect()` in the
   * same task, before anything else runs.
   */
  readyToken?(channelId: string): VoiceTokenResponse | null;
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

/** Whether LiveKit's `url` (ws/wss) is served from the page's own origin (http/https). */
function sameOrigin(url: string): boolean {
  if (typeof location === "undefined") return false;
  try {
    return new URL(url.replace(/^ws/, "http")).origin === location.origin;
  } catch {
    return false;
  }
}

/** No join/leave sounds for this long after (re)connecting, ms: the room's roster is arriving. */
const QUIET_AFTER_CONNECT_MS = 1500;

/**
 * `state` is the published snapshot. The session works on a draft and publishes it once per
 * microtask, with the participants rebuilt from the room, so a burst of room events makes
 * one snapshot.
 */
export class CallSession extends Core<CallState> {
  readonly #deps: CallDeps;
  #draft: CallState = IDLE_CALL;
  #notifyQueued = false;
  /** `join` changed the draft to "connecting" and has not published it yet. */
  #held = false;
  #lk: LiveKit | null = null;
  #room: Room | null = null;
  /** E2EE calls: the provider the room encrypts with, for a rotated key (`refreshKey`). */
  #keyProvider: ExternalE2EEKeyProvider | null = null;
  /** Bumped on every join/leave/rejoin: async work of an older call stops when it sees a newer one. */
  #epoch = 0;
  #quietUntil = 0;
  readonly #clock = new TrackClock();
  readonly #local: LocalPublisher;
  readonly #audio: RemoteAudio;
  readonly #rejoin: RejoinSupervisor;

  constructor(deps: CallDeps) {
    super(IDLE_CALL);
    this.#deps = deps;
    const room = () => this.#room;
    const lk = () => this.#lk;
    this.#local = new LocalPublisher({
      room,
      lk,
      state: () => this.#draft,
      patch: (p) => this.#set({ ...this.#draft, ...p }),
      refresh: () => this.#notify(),
      prefs: () => deps.prefs(),
    });
    this.#audio = new RemoteAudio({
      room,
      lk,
      deafened: () => this.#draft.selfDeaf,
      volumeOf: (identity) => deps.volumeOf(identity),
      saveVolume: (identity, v) => deps.saveVolume(identity, v),
      audioHost: () => deps.audioHost?.() ?? document.body,
    });
    this.#rejoin = new RejoinSupervisor({
      epoch: () => this.#epoch,
      reconnecting: () => this.#draft.phase === "reconnecting",
      attempt: () => this.#draft.reconnectAttempt,
      rejoin: (epoch) => void this.#rejoinRoom(epoch),
      giveUp: () => {
        this.#epoch++;
        void this.#teardown();
        this.#set({ ...this.#draft, phase: "ended", error: "connect_failed", participants: [] });
      },
    });
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
    const s = this.#draft;
    if (s.target?.channelId === target.channelId && (s.phase === "connected" || s.phase === "connecting")) return;
    const keep = { selfMute: s.selfMute, selfDeaf: s.selfDeaf };
    const epoch = ++this.#epoch;
    const connecting: CallState = { ...IDLE_CALL, ...keep, phase: "connecting", target, pushToTalk: this.#deps.prefs().pushToTalk };
    if (this.#room || s.phase !== "idle") {
      // The UI shows "connecting" at once; the previous call closes behind it.
      this.#set(connecting);
      await this.#teardown();
      if (epoch !== this.#epoch) return;
    } else {
      // Published as soon as `#connect` waits for anything, or right after it has called
      // `connect()` (then in the next task: the stage's first render does not hold up the
      // signalling socket). Never later than that, and never after a network answer.
      this.#draft = connecting;
      this.#held = true;
    }
    this.#rejoin.start();
    try {
      await this.#connect(epoch, target);
    } catch (err) {
      if (epoch !== this.#epoch) return;
      await this.#teardown();
      this.#set({ ...this.#draft, phase: "ended", error: joinError(err), participants: [] });
    }
  }

  /**
   * The token of a join to come is known (asked for ahead of the click): keep the client, and
   * warm the connection to its LiveKit server (`prepareConnection`: DNS, TCP, TLS), so the
   * click's `connect()` starts on a warm connection. A room that never connects holds nothing;
   * this one is dropped. `prepareConnection` is a plain `fetch` of the server's http(s) URL,
   * which the app's CSP (`connect-src 'self' ws: wss:`, web/svelte.config.js) allows only when
   * LiveKit is served from the app's own origin; elsewhere it is skipped rather than blocked.
   */
  warm(lk: LiveKit, token: Pick<VoiceTokenResponse, "url" | "token">): void {
    this.#lk ??= lk;
    if (this.#draft.phase === "connecting" || !sameOrigin(token.url)) return;
    try {
      void new lk.Room().prepareConnection(token.url, token.token).catch(() => {});
    } catch {
      // Warming is only a head start; the join connects anyway.
    }
  }

  /**
   * E2EE: the channel got a new key (someone lost access; the hub says `voice.key_rotated`).
   * Fetches it and encrypts and decrypts with it from now on. Nothing outside an E2EE call.
   */
  async refreshKey(channelId: string): Promise<void> {
    const provider = this.#keyProvider;
    if (!provider || this.#draft.target?.channelId !== channelId) return;
    try {
      const key = await this.#deps.callKey(channelId);
      if (this.#keyProvider === provider) await provider.setKey(fromBase64url(key.key).buffer);
    } catch {
      // Lost access ourselves, or the network: the server ends the call or the next join fetches it.
    }
  }

  /** Leaves the call (the member's choice). */
  async leave(): Promise<void> {
    const s = this.#draft;
    if (s.phase === "idle") return;
    const wasIn = s.phase === "connected" || s.phase === "reconnecting";
    this.#epoch++;
    // The UI leaves at once; the room closes behind it.
    this.#set({ ...IDLE_CALL, selfMute: s.selfMute, selfDeaf: s.selfDeaf });
    if (wasIn) this.#tone("self-leave");
    await this.#teardown();
  }

  /** Forgets an ended call's error (the UI dismissed it). */
  dismiss(): void {
    const s = this.#draft;
    if (s.phase === "ended") this.#set({ ...IDLE_CALL, selfMute: s.selfMute, selfDeaf: s.selfDeaf });
  }

  async #connect(epoch: number, target: CallTarget, rejoin = false): Promise<void> {
    const ready = this.#lk ? (this.#deps.readyToken?.(target.channelId) ?? null) : null;
    if (!ready) this.#release();
    const [lk, token] =
      this.#lk && ready
        ? [this.#lk, ready]
        : await Promise.all([this.#lk ? Promise.resolve(this.#lk) : this.#deps.loadClient(), this.#deps.token(target.channelId)]);
    this.#lk = lk;
    if (epoch !== this.#epoch) return;
    const prefs = this.#deps.prefs();
    const options = roomOptions(lk, prefs);
    if (token.e2ee) {
      this.#release();
      await this.#encrypt(lk, options, target.channelId);
    } else this.#keyProvider = null;
    if (epoch !== this.#epoch) return;

    const room = new lk.Room(options);
    this.#room = room;
    this.#wire(lk, room, epoch);
    if (token.e2ee) await room.setE2EEEnabled(true);
    const connected = room.connect(token.url, token.token, { autoSubscribe: true });
    if (this.#held) setTimeout(() => this.#release(), 0);
    try {
      await connected;
    } catch (err) {
      throw new CallFailure(joinError(err));
    }
    if (epoch !== this.#epoch) {
      await room.disconnect();
      return;
    }
    this.#quietUntil = Date.now() + QUIET_AFTER_CONNECT_MS;
    this.#set({
      ...this.#draft,
      phase: "connected",
      identity: room.localParticipant.identity,
      e2ee: token.e2ee,
      pushToTalkForced: token.pushToTalkOnly,
      pushToTalk: token.pushToTalkOnly || prefs.pushToTalk,
      rights: rightsFromGrants(token.grants),
      joinedAt: Date.now(),
      audioBlocked: !room.canPlaybackAudio,
      reconnectAttempt: 0,
    });
    this.#tone(rejoin ? "reconnected" : "self-join");
    this.#audio.apply();
    void this.#local.syncMic();
    this.#reportSelf();
  }

  /** E2EE: the channel's key from the server into `options` (never a made-up one). */
  async #encrypt(lk: LiveKit, options: RoomOptions, channelId: string): Promise<void> {
    if (!lk.isE2EESupported()) throw new CallFailure("e2ee_unsupported");
    let key: CallKeyResponse;
    try {
      key = await this.#deps.callKey(channelId);
    } catch {
      throw new CallFailure("e2ee_unavailable");
    }
    const keyProvider = new lk.ExternalE2EEKeyProvider();
    await keyProvider.setKey(fromBase64url(key.key).buffer);
    options.encryption = { keyProvider, worker: await this.#deps.e2eeWorker() };
    this.#keyProvider = keyProvider;
  }

  /** Closes the room, if any, its listeners off first (its last events are not this call's). */
  async #closeRoom(): Promise<void> {
    const room = this.#room;
    this.#room = null;
    if (room) {
      room.removeAllListeners();
      await room.disconnect().catch(() => {});
    }
  }

  /** Ends the room and everything local. */
  async #teardown(): Promise<void> {
    this.#rejoin.stop();
    this.#keyProvider = null;
    this.#audio.clear();
    this.#clock.clear();
    await this.#closeRoom();
  }

  /** Joins again from scratch with a fresh token (LiveKit could not resume). */
  async #rejoinRoom(epoch: number): Promise<void> {
    const target = this.#draft.target;
    if (epoch !== this.#epoch || !target) return;
    this.#rejoin.resumed();
    await this.#closeRoom();
    this.#audio.clear();
    const next = ++this.#epoch;
    const hadCamera = this.#draft.camera;
    // A screen share needs the member's click to start again; the camera comes back by itself.
    this.#set({ ...this.#draft, camera: false, screen: false, reconnectAttempt: this.#draft.reconnectAttempt + 1 });
    try {
      await this.#connect(next, target, true);
      if (hadCamera && next === this.#epoch) void this.setCamera(true);
    } catch (err) {
      if (next !== this.#epoch) return;
      const code = joinError(err);
      if (endsRejoining(code)) {
        await this.#teardown();
        this.#set({ ...this.#draft, phase: "ended", error: code, participants: [] });
        return;
      }
      await this.#closeRoom(); // #connect may have left a half-made room behind
      this.#set({ ...this.#draft, phase: "reconnecting" });
      this.#rejoin.schedule(next);
    }
  }

  // -------------------------------------------------------------------------------------
  // Room events → the parts and the state

  #wire(lk: LiveKit, room: Room, epoch: number): void {
    const E = lk.RoomEvent;
    const live = () => epoch === this.#epoch && this.#room === room;
    const refresh = () => {
      if (live()) this.#notify();
    };
    room
      .on(E.ParticipantConnected, () => {
        if (!live()) return;
        if (Date.now() > this.#quietUntil) this.#tone("join");
        this.#audio.apply();
        this.#notify();
      })
      .on(E.ParticipantDisconnected, () => {
        if (!live()) return;
        if (Date.now() > this.#quietUntil) this.#tone("leave");
        this.#notify();
      })
      .on(E.TrackSubscribed, (track, pub, p) => {
        if (!live()) return;
        this.#clock.mark(`${p.identity}:${pub.source}`, Date.now());
        this.#audio.subscribed(lk, track, pub, p);
        this.#notify();
      })
      .on(E.TrackUnsubscribed, (track, pub, p) => {
        if (!live()) return;
        this.#audio.unsubscribed(track, pub, p);
        this.#notify();
      })
      .on(E.TrackPublished, () => {
        if (!live()) return;
        this.#audio.apply();
        this.#notify();
      })
      .on(E.TrackUnpublished, refresh)
      .on(E.TrackMuted, refresh)
      .on(E.TrackUnmuted, refresh)
      .on(E.LocalTrackPublished, refresh)
      .on(E.LocalTrackUnpublished, (pub) => {
        if (!live()) return;
        // The browser's "Stop sharing" button, or the server taking a source away.
        if (pub.source === lk.Track.Source.ScreenShare) this.#set({ ...this.#draft, screen: false });
        if (pub.source === lk.Track.Source.Camera) this.#set({ ...this.#draft, camera: false });
        this.#notify();
      })
      .on(E.ActiveSpeakersChanged, refresh)
      .on(E.ConnectionQualityChanged, refresh)
      .on(E.TrackStreamStateChanged, refresh)
      .on(E.ParticipantNameChanged, refresh)
      .on(E.AudioPlaybackStatusChanged, () => {
        if (live()) this.#set({ ...this.#draft, audioBlocked: !room.canPlaybackAudio });
      })
      .on(E.ParticipantPermissionsChanged, (_prev, p) => {
        if (!live() || !p.isLocal) return;
        this.#set({ ...this.#draft, rights: rightsFromPermissions(room.localParticipant.permissions) });
        void this.#local.syncMic();
      })
      .on(E.MediaDevicesChanged, () => {
        if (live()) void this.followDevices();
      })
      .on(E.MediaDevicesError, (e: Error) => {
        if (live()) this.#set({ ...this.#draft, deviceError: { kind: "microphone", message: e.message } });
      })
      .on(E.ConnectionStateChanged, (s) => {
        if (!live()) return;
        const C = lk.ConnectionState;
        if (s === C.Reconnecting || s === C.SignalReconnecting) {
          if (this.#draft.phase !== "reconnecting") this.#rejoin.resuming();
          this.#set({ ...this.#draft, phase: "reconnecting" });
        } else if (s === C.Connected && this.#draft.phase === "reconnecting") {
          this.#rejoin.resumed();
          this.#quietUntil = Date.now() + QUIET_AFTER_CONNECT_MS;
          this.#set({ ...this.#draft, phase: "connected", reconnectAttempt: 0 });
          this.#tone("reconnected");
          void this.#local.syncMic();
          this.#reportSelf();
        }
      })
      .on(E.Disconnected, (reason) => {
        if (!live()) return;
        const outcome = disconnectOutcome(reason, lk.DisconnectReason);
        if (outcome.then === "nothing") return;
        if (outcome.then === "end") {
          this.#epoch++;
          void this.#teardown();
          this.#tone("self-leave");
          this.#set({ ...this.#draft, phase: "ended", error: outcome.error, participants: [], camera: false, screen: false, talking: false });
          return;
        }
        // LiveKit gave up resuming: join again with a fresh token, by itself.
        if (this.#draft.phase !== "reconnecting") this.#rejoin.dropped();
        this.#set({ ...this.#draft, phase: "reconnecting", camera: false, screen: false });
        this.#rejoin.schedule(epoch);
      });
  }

  // -------------------------------------------------------------------------------------
  // The member's own controls

  /** Microphone mute (stays published, sends nothing). Unmuting also undeafens, as on Discord. */
  setSelfMute(muted: boolean): void {
    const undeafen = !muted && this.#draft.selfDeaf;
    this.#set({ ...this.#draft, selfMute: muted, selfDeaf: undeafen ? false : this.#draft.selfDeaf });
    if (undeafen) this.#audio.apply();
    this.#tone(muted ? "mute" : "unmute");
    void this.#local.syncMic();
    this.#reportSelf();
  }

  /** Deafen: no incoming audio and no microphone. Undeafening restores the earlier mute. */
  setSelfDeaf(deaf: boolean): void {
    this.#set({ ...this.#draft, selfDeaf: deaf });
    this.#tone(deaf ? "mute" : "unmute");
    this.#audio.apply();
    void this.#local.syncMic();
    this.#reportSelf();
  }

  /** Push-to-talk key pressed or released. */
  setTalking(held: boolean): void {
    if (this.#draft.talking === held) return;
    this.#set({ ...this.#draft, talking: held });
    void this.#local.syncMic();
  }

  /** The member switched push-to-talk in the settings (ignored while the channel forces it). */
  setPushToTalk(on: boolean): void {
    this.#set({ ...this.#draft, pushToTalk: this.#draft.pushToTalkForced || on, talking: false });
    void this.#local.syncMic();
  }

  /** Camera on/off (720p with simulcast layers). */
  setCamera(on: boolean): Promise<void> {
    return this.#local.setCamera(on);
  }

  /** Screen share on/off: 1080p 30 fps with audio where the browser offers it. */
  setScreenShare(on: boolean): Promise<void> {
    return this.#local.setScreenShare(on);
  }

  /** Playback volume of one participant here, 0..1 (saved for next time). */
  setVolume(identity: string, volume: number): void {
    this.#audio.setVolume(identity, volume);
    this.#notify();
  }

  /** Mutes one participant for this member only. */
  setLocalMute(identity: string, muted: boolean): void {
    this.#audio.setLocalMute(identity, muted);
    this.#notify();
  }

  /** After a click: lets the browser play the call's audio. */
  async startAudio(): Promise<void> {
    await this.#room?.startAudio();
    if (this.#room) this.#set({ ...this.#draft, audioBlocked: !this.#room.canPlaybackAudio });
  }

  /** The member picked a background effect again: a failed one may be tried once more. */
  retryBackground(): void {
    this.#local.retryBackground();
  }

  /** The chosen devices or audio processing changed (or a device vanished): apply them live. */
  async applyPrefs(devices?: { audioinput: DeviceOption[]; audiooutput: DeviceOption[]; videoinput: DeviceOption[] }): Promise<void> {
    const room = this.#room;
    const lk = this.#lk;
    if (!room || !lk) return;
    const chosen = chosenDevices(this.#deps.prefs(), devices);
    await this.#local.restartMic(room, lk, chosen);
    await this.#audio.useOutput(room, chosen.audioOutput);
    await this.#local.switchCamera(room, chosen.videoInput);
    await this.#local.syncBackground();
    this.#notify();
  }

  /** A device was plugged in or out: fall back to the default where the chosen one is gone. */
  async followDevices(): Promise<void> {
    await this.applyPrefs(await listDevices());
  }

  /** The member's self mute/deafen to the hub (again after reconnecting). */
  #reportSelf(): void {
    const s = this.#draft;
    if (s.target && (s.phase === "connected" || s.phase === "reconnecting")) {
      this.#deps.onSelfState?.(s.target, { selfMute: s.selfMute, selfDeaf: s.selfDeaf });
    }
  }

  #tone(kind: ToneKind): void {
    if (this.#deps.prefs().sounds) this.#deps.tone?.(kind);
  }

  // -------------------------------------------------------------------------------------
  // Snapshots

  /** Publishes the draft held back by `join` (if it still is). */
  #release(): void {
    if (this.#held) this.#notify();
  }

  #set(state: CallState): void {
    this.#draft = state;
    this.#notify();
  }

  /** Publishes the draft with the participants rebuilt from the room, once per microtask. */
  #notify(): void {
    this.#held = false;
    if (this.#notifyQueued) return;
    this.#notifyQueued = true;
    queueMicrotask(() => {
      this.#notifyQueued = false;
      this.#draft = { ...this.#draft, participants: this.#participants() };
      this.update(this.#draft);
    });
  }

  #participants(): ParticipantView[] {
    const room = this.#room;
    const lk = this.#lk;
    if (!room || !lk || this.#draft.phase === "idle" || this.#draft.phase === "ended") return [];
    return projectParticipants({
      local: room.localParticipant,
      remote: room.remoteParticipants.values(),
      sources: lk.Track.Source,
      volumeOf: (identity) => this.#deps.volumeOf(identity),
      localMutes: this.#audio.localMutes,
      clock: this.#clock,
      now: Date.now(),
    });
  }
}
