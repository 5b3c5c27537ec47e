/**
 * The call as runes — the one place the framework-free media core (`call.ts` and its parts,
 * `devices.ts`, `prefs.ts`) meets Svelte and the rest of the app: the CommunityHub (self
 * mute/deafen out as `voice.set`, moves in as `voice.move_requested`), the member list (who a
 * participant is), the keyboard (push-to-talk). Components read `voice.*` and call its
 * methods; nothing else.
 */
import { SvelteSet } from "svelte/reactivity";
import type { VoiceTokenResponse } from "$shared/media";
import { communities } from "$lib/communities/store.svelte";
import { bind, type Bound } from "$lib/realtime/bind.svelte";
import { hubs } from "$lib/realtime/hub.svelte";
import { dmCallApi, inbox } from "$lib/realtime/inbox.svelte";
import { session } from "$lib/session.svelte";
import { CallSession, type CallState, type CallTarget, type ParticipantView } from "./call";
import { NO_DEVICES, type DeviceLists, watchDevices } from "./devices";
import { remoteSpeakerKey, soleNameMatch, speakingUsers } from "./participants";
import { loadPrefs, loadVolumes, savePrefs, saveVolumes, type VoicePrefs } from "./prefs";
import { playTone } from "./tones";
import { callKey, voiceToken } from "./voice-api";
import { callsApi } from "$lib/calls/api";

/**
 * A token asked for ahead of the click is used within this long, ms, and within half its
 * lifetime (tokens live 120 s; LiveKit checks them when `connect()` starts).
 */
const TOKEN_REUSE_MS = 60_000;
/** An E2EE key fetched ahead of the click is used within this long, ms (a rotation may follow). */
const KEY_REUSE_MS = 15_000;
/** How long a `voice.set` we sent may take to show up in the hub before we send it again, ms. */
const RESEND_AFTER_MS = 3000;

/** A token asked for before the click; `value` once it has arrived. */
interface PreparedToken {
  channelId: string;
  at: number;
  token: Promise<VoiceTokenResponse>;
  reuseMs: number;
  value?: VoiceTokenResponse;
}

class Voice {
  prefs: VoicePrefs = $state(loadPrefs());
  devices: DeviceLists = $state.raw(NO_DEVICES);
  /** The settings dialog is waiting for a new push-to-talk key (the key must not talk). */
  capturingKey = $state(false);
  /** Tile keys the member pinned (one at most) and whether a screen share may take focus. */
  pinned = $state<string | null>(null);
  autoFocus = $state(true);
  /** The camera tile of the remote participant who spoke last (a phone's large tile, the picture-in-picture). */
  lastSpeaker = $state<string | null>(null);

  /** The community whose hub the call follows (also after the server ended the call: a move's removal may come before its frame). */
  #hubKey = $derived(this.state.phase !== "idle" ? (this.state.target?.communityId ?? null) : null);
  readonly #volumes: Record<string, number> = loadVolumes();
  readonly #session: CallSession;
  readonly #call: Bound<CallState>;
  #lastSent: { key: string; at: number } | null = null;
  #deviceWatchers = 0;
  #stopDevices: (() => void) | null = null;
  /** Identities whose user we worked out, for the sidebar and moderation. */
  readonly speakingUsers = new SvelteSet<string>();

  constructor() {
    this.#session = new CallSession({
      loadClient: () => this.#loadClient(),
      token: (channelId) => this.#takeToken(channelId),
      readyToken: (channelId) => this.#takeReadyToken(channelId),
      callKey: (channelId) => this.#takeKey(channelId),
      e2eeWorker: async () => (await import("./e2ee-worker")).createE2EEWorker(),
      prefs: () => this.prefs,
      volumeOf: (identity) => this.#volumes[identity],
      saveVolume: (identity, v) => {
        this.#volumes[identity] = v;
        saveVolumes(this.#volumes);
      },
      onSelfState: (target, self) => this.#sendSelf(target, self),
      tone: (kind) => playTone(kind, 0.12, this.prefs.audioOutput),
    });
    this.#call = bind(this.#session);
    this.#session.subscribe((s) => this.#updateSpeaking(s));
    if (typeof window !== "undefined") {
      window.addEventListener("keydown", this.#onKey);
      window.addEventListener("keyup", this.#onKey);
      window.addEventListener("blur", this.#onBlur);
      this.#bridgeHub();
    }
  }

  // -------------------------------------------------------------------------------------
  // What components read

  /** The current call (a new object after every change). */
  get state(): CallState {
    return this.#call.current;
  }

  get inCall(): boolean {
    return this.state.phase === "connecting" || this.state.phase === "connected" || this.state.phase === "reconnecting";
  }

  /** Whether the member is in (or joining) this channel's call. */
  isIn(channelId: string): boolean {
    return this.inCall && this.state.target?.channelId === channelId;
  }

  /** The user behind a participant of the current call, when it can be told. */
  userIdOf(p: Pick<ParticipantView, "identity" | "name" | "local">): string | null {
    if (p.local) return session.user?.id ?? null;
    const t = this.state.target;
    if (!t) return null;
    if (!t.communityId) {
      // A DM call: its people, by the display name LiveKit shows, when exactly one matches.
      const people = (communities.dms.find((d) => d.id === t.channelId)?.recipients ?? []).filter((u) => u.id !== session.user?.id);
      return soleNameMatch(p.name, people, (u) => u.displayName)?.id ?? null;
    }
    const hub = hubs.get(t.communityId)?.current;
    if (!hub) return null;
    // Identities are sealed user ids (docs/voice.md) the client cannot open; the name LiveKit
    // shows is the member's nickname or display name, so match it against who the hub says is
    // in this channel, and only when exactly one matches.
    const candidates = hub.voiceStates.filter((v) => v.channelId === t.channelId && v.userId !== session.user?.id);
    return soleNameMatch(p.name, candidates, (v) => {
      const m = hub.members?.[v.userId];
      return m && (m.nickname ?? m.user.displayName);
    })?.userId ?? null;
  }

  /** Whether a user (by id) is speaking in the member's current call. */
  isSpeaking(userId: string): boolean {
    return this.speakingUsers.has(userId);
  }

  // -------------------------------------------------------------------------------------
  // Actions

  #prefetched: PreparedToken | null = null;
  #prefetchedKey: { channelId: string; at: number; key: ReturnType<typeof callKey> } | null = null;

  /** livekit-client once loaded (idle preload in a community with voice channels, a Join button's hover or focus, or a join). */
  #client: Promise<typeof import("livekit-client")> | null = null;

  #loadClient(): Promise<typeof import("livekit-client")> {
    if (!this.#client) {
      const client = import("livekit-client");
      this.#client = client;
      client.catch(() => {
        if (this.#client === client) this.#client = null;
      });
    }
    return this.#client;
  }

  /**
   * A voice channel is shown or pointed at: ask for the token (and, for an E2EE channel, the
   * key) now, so no request to the API sits between the click and `connect()`. The client's
   * chunk is not loaded here (`preloadWhenIdle` does that, after the page has settled), only
   * warmed up with when it is already loaded.
   */
  prefetch(channelId: string): void {
    if (this.isIn(channelId)) return;
    const p = this.#prefetched;
    if (p && p.channelId === channelId && Date.now() - p.at < p.reuseMs) return;
    const token = voiceToken(channelId);
    const entry: PreparedToken = { channelId, at: Date.now(), token, reuseMs: TOKEN_REUSE_MS };
    this.#prefetched = entry;
    // A failure shows when the member clicks (the token is asked again then).
    token.then(
      (t) => {
        entry.value = t;
        entry.reuseMs = Math.min(TOKEN_REUSE_MS, (t.ttlSeconds * 1000) / 2);
        if (t.e2ee) {
          const key = callKey(channelId);
          key.catch(() => {});
          this.#prefetchedKey = { channelId, at: Date.now(), key };
          void import("./e2ee-worker").catch(() => {});
        }
        void this.#client?.then((lk) => this.#session.warm(lk, t)).catch(() => {});
      },
      () => {},
    );
  }

  /**
   * The community on screen has voice channels: load the call chunk (livekit-client) ahead of
   * a first join, at low priority — once the page has loaded, nothing on it is still loading
   * (no `aria-busy` region, e.g. the channel's first messages), and the main thread is idle.
   * The returned function cancels a preload not yet started (the member went elsewhere).
   */
  preloadWhenIdle(): () => void {
    if (typeof window === "undefined" || this.#client) return () => {};
    let cancelled = false;
    let handle: number | undefined;
    const idle = (fn: () => void): void => {
      handle = typeof requestIdleCallback === "function" ? requestIdleCallback(fn, { timeout: 5000 }) : window.setTimeout(fn, 200);
    };
    const attempt = (): void => {
      if (cancelled || this.#client) return;
      if (document.querySelector('[aria-busy="true"]')) window.setTimeout(() => idle(attempt), 250);
      else void this.#loadClient().catch(() => {});
    };
    const start = (): void => idle(attempt);
    if (document.readyState === "complete") start();
    else window.addEventListener("load", start, { once: true });
    return () => {
      cancelled = true;
      window.removeEventListener("load", start);
      if (handle !== undefined) (typeof cancelIdleCallback === "function" ? cancelIdleCallback : clearTimeout)(handle);
    };
  }

  /**
   * The pointer or focus reached a Join button: load the client too (and warm the connection
   * to LiveKit once the token is known), so the click itself only connects.
   */
  prepare(channelId: string): void {
    if (this.isIn(channelId)) return;
    const client = this.#loadClient();
    const p = this.#prefetched;
    this.prefetch(channelId);
    const value = p === this.#prefetched ? p?.value : undefined;
    if (value) void client.then((lk) => this.#session.warm(lk, value)).catch(() => {});
  }

  /** Call links joined in this tab: their chat channel id → the link's code (the token comes from the link). */
  readonly #linkCodes = new Map<string, string>();

  /**
   * A call link's token as a voice token: no E2EE, no forced push-to-talk, and the usual call
   * sources (the server's grants in the token decide; LiveKit tells about any change).
   */
  async #linkToken(code: string): Promise<VoiceTokenResponse> {
    const t = await callsApi.token(code);
    return {
      url: t.url,
      token: t.token,
      identity: t.identity,
      e2ee: false,
      pushToTalkOnly: false,
      grants: { canSubscribe: true, canPublishSources: ["microphone", "camera", "screen_share"], canPublishData: true, canUpdateOwnMetadata: false },
      ttlSeconds: 120,
    };
  }

  /** A prepared token when fresh, else a new one; a token is used once. */
  #takeToken(channelId: string): ReturnType<typeof voiceToken> {
    const code = this.#linkCodes.get(channelId);
    if (code) return this.#linkToken(code);
    const p = this.#prefetched;
    this.#prefetched = null;
    if (p && p.channelId === channelId && Date.now() - p.at < p.reuseMs) return p.token.catch(() => voiceToken(channelId));
    return voiceToken(channelId);
  }

  /** The prepared token when it has arrived and is fresh (taken), else null. */
  #takeReadyToken(channelId: string): VoiceTokenResponse | null {
    const p = this.#prefetched;
    if (!p?.value || p.channelId !== channelId || Date.now() - p.at >= p.reuseMs) return null;
    this.#prefetched = null;
    return p.value;
  }

  /** A prepared E2EE key when very fresh, else a new one (a rotated key is always fetched). */
  #takeKey(channelId: string): ReturnType<typeof callKey> {
    const k = this.#prefetchedKey;
    this.#prefetchedKey = null;
    if (k && k.channelId === channelId && Date.now() - k.at < KEY_REUSE_MS) return k.key.catch(() => callKey(channelId));
    return callKey(channelId);
  }

  join(target: CallTarget): Promise<void> {
    if (target.kind === "link" && target.code) this.#linkCodes.set(target.channelId, target.code);
    return this.#session.join(target);
  }

  async leave(): Promise<void> {
    this.pinned = null;
    this.autoFocus = true;
    const t = this.state.target;
    await this.#session.leave();
    // A DM call ends when its last member leaves; LiveKit's webhook says so too, this is sooner.
    if (t?.kind === "dm") {
      const r = await dmCallApi.leave(t.channelId).catch(() => null);
      if (r) inbox.apply(t.channelId, r.call);
    }
  }

  dismiss(): void {
    this.#session.dismiss();
  }

  toggleMute(): void {
    // While deafened, "unmute" undeafens too (as on Discord).
    this.#session.setSelfMute(!(this.state.selfMute || this.state.selfDeaf));
  }

  toggleDeafen(): void {
    this.#session.setSelfDeaf(!this.state.selfDeaf);
  }

  toggleCamera(): Promise<void> {
    return this.#session.setCamera(!this.state.camera);
  }

  toggleScreenShare(): Promise<void> {
    return this.#session.setScreenShare(!this.state.screen);
  }

  setVolume(identity: string, volume: number): void {
    this.#session.setVolume(identity, volume);
  }

  setLocalMute(identity: string, muted: boolean): void {
    this.#session.setLocalMute(identity, muted);
  }

  startAudio(): Promise<void> {
    return this.#session.startAudio();
  }

  /** Changes settings, saves them, and applies them to a running call. */
  setPrefs(patch: Partial<VoicePrefs>): void {
    const before = this.prefs.pushToTalk;
    Object.assign(this.prefs, patch);
    if (patch.background !== undefined) this.#session.retryBackground();
    savePrefs($state.snapshot(this.prefs));
    if (patch.pushToTalk !== undefined && patch.pushToTalk !== before) this.#session.setPushToTalk(patch.pushToTalk);
    void this.#session.applyPrefs(this.devices.labelled ? this.devices : undefined);
  }

  /** Keeps `devices` current (following `devicechange`) while at least one caller wants it. */
  watchDevices(): () => void {
    if (this.#deviceWatchers++ === 0) {
      this.#stopDevices = watchDevices((lists) => {
        this.devices = lists;
        if (this.inCall) void this.#session.applyPrefs(lists);
      });
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      if (--this.#deviceWatchers === 0) {
        this.#stopDevices?.();
        this.#stopDevices = null;
      }
    };
  }

  /** The LiveKit room of the current call, for diagnostics. */
  get room() {
    return this.#session.room;
  }

  // -------------------------------------------------------------------------------------
  // Push-to-talk

  #onKey = (e: KeyboardEvent) => {
    if (!this.state.pushToTalk || this.capturingKey || e.code !== this.prefs.pushToTalkKey) return;
    if (this.state.phase !== "connected" && this.state.phase !== "reconnecting") return;
    // A key that types text does not talk while the member is typing.
    const t = e.target as HTMLElement | null;
    const typing = !!t && (t.isContentEditable || t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT");
    if (typing && e.key.length === 1 && e.type === "keydown") return;
    if (e.type === "keydown") {
      if (!e.repeat) this.#session.setTalking(true);
    } else this.#session.setTalking(false);
  };

  #onBlur = () => {
    // The keyup may never come once the window lost focus.
    if (this.state.talking) this.#session.setTalking(false);
  };

  // -------------------------------------------------------------------------------------
  // The CommunityHub

  /** `voice.set` through the community's hub socket, so the sidebar shows self mute/deafen. */
  #sendSelf(target: CallTarget, self: { selfMute: boolean; selfDeaf: boolean }): void {
    if (!target.communityId) return;
    const conn = hubs.get(target.communityId)?.core;
    if (!conn) return;
    this.#lastSent = { key: `${self.selfMute}:${self.selfDeaf}`, at: Date.now() };
    conn.setVoiceState(self);
  }

  /** Follows the hub of the community the call is in: moves, and our state after a hub reconnect. */
  #bridgeHub(): void {
    $effect.root(() => {
      $effect(() => {
        const communityId = this.#hubKey;
        const hub = communityId ? hubs.get(communityId) : undefined;
        if (!hub || !communityId) return;
        return hub.core.subscribe((hubState, frame) => {
          const t = this.state.target;
          if (!t) return;
          const me = session.user?.id;
          if (!me) return;
          if (frame?.type === "voice.key_rotated") {
            if (this.#prefetchedKey?.channelId === frame.channelId) this.#prefetchedKey = null;
            void this.#session.refreshKey(frame.channelId);
            return;
          }
          if (frame?.type === "voice.move_requested" && frame.userId === me && frame.fromChannelId === this.state.target?.channelId) {
            const dest = hubState.channels.find((c) => c.id === frame.toChannelId);
            void this.join({ channelId: frame.toChannelId, communityId, name: dest?.name ?? t.name, kind: "voice" });
            return;
          }
          // The hub forgot or never got our mute/deafen (it restarted, a frame was lost): say it again.
          const mine = hubState.voiceStates.find((v) => v.userId === me && v.channelId === this.state.target?.channelId);
          const s = this.state;
          if (mine && s.phase === "connected" && (mine.selfMute !== s.selfMute || mine.selfDeaf !== s.selfDeaf)) {
            const key = `${s.selfMute}:${s.selfDeaf}`;
            if (!this.#lastSent || this.#lastSent.key !== key || Date.now() - this.#lastSent.at > RESEND_AFTER_MS) {
              this.#sendSelf(t, { selfMute: s.selfMute, selfDeaf: s.selfDeaf });
            }
          }
        });
      });
    });
  }

  #updateSpeaking(s: CallState): void {
    const now = speakingUsers(s.participants, (p) => this.userIdOf(p));
    for (const id of this.speakingUsers) if (!now.has(id)) this.speakingUsers.delete(id);
    for (const id of now) if (!this.speakingUsers.has(id)) this.speakingUsers.add(id);
    const speaker = remoteSpeakerKey(s.participants);
    if (speaker && speaker !== this.lastSpeaker) this.lastSpeaker = speaker;
  }
}

/** The member's call, shared by the call stage, the call bar and the sidebar. */
export const voice = new Voice();
