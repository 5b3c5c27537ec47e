/**
 * The coordinator in Node, up to the point where a real LiveKit room would be needed: joins
 * that fail (voice not configured, no E2EE in this browser, no call key), leaving while still
 * connecting, and how snapshots are published (a `Core`: one per burst of changes). The
 * browser e2e tests (e2e/voice*.test.ts) cover connected calls.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { VoiceTokenResponse } from "$shared/media";
import { ApiRequestError } from "$lib/api";
import { CallSession, type CallDeps, type CallState, type CallTarget } from "./call";
import { DEFAULT_PREFS } from "./prefs";

type LiveKit = typeof import("livekit-client");

const TARGET: CallTarget = { channelId: "ch1", communityId: "c1", name: "General", kind: "voice" };

/** Just enough of livekit-client for `roomOptions` and the E2EE check. */
function fakeLiveKit(e2ee: boolean): LiveKit {
  const preset = { resolution: { width: 1280, height: 720 }, encoding: { maxBitrate: 1 } };
  return {
    VideoPresets: { h720: preset, h360: preset, h180: preset },
    AudioPresets: { music: { maxBitrate: 1 } },
    ScreenSharePresets: { h1080fps30: preset, h720fps15: preset },
    isE2EESupported: () => e2ee,
  } as unknown as LiveKit;
}

function token(e2ee: boolean): VoiceTokenResponse {
  return {
    url: "ws://127.0.0.1:1",
    token: "t",
    identity: "id",
    e2ee,
    pushToTalkOnly: false,
    grants: { canSubscribe: true, canPublishSources: ["microphone"], canPublishData: false, canUpdateOwnMetadata: false },
    ttlSeconds: 120,
  } as VoiceTokenResponse;
}

function session(over: Partial<CallDeps> = {}) {
  const tones: string[] = [];
  const deps: CallDeps = {
    loadClient: async () => fakeLiveKit(true),
    token: async () => token(false),
    callKey: async () => ({ key: "AAAA", keyIndex: 0 }) as Awaited<ReturnType<CallDeps["callKey"]>>,
    e2eeWorker: async () => {
      throw new Error("no workers in Node");
    },
    prefs: () => DEFAULT_PREFS,
    volumeOf: () => undefined,
    saveVolume: () => {},
    tone: (kind) => tones.push(kind),
    ...over,
  };
  const call = new CallSession(deps);
  const seen: CallState[] = [];
  call.subscribe((s) => seen.push(s));
  return { call, seen, tones };
}

/** Lets queued microtasks (the snapshot) run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => {
  // The rejoin supervisor follows the browser's `online` event.
  vi.stubGlobal("window", new EventTarget());
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe("CallSession", () => {
  it("voice not configured on the server: the join ends with 'unavailable' and no tone", async () => {
    const { call, seen, tones } = session({ token: () => Promise.reject(new ApiRequestError("unavailable", "Voice is not configured", 503)) });
    await call.join(TARGET);
    await settle();
    expect(call.state).toMatchObject({ phase: "ended", error: "unavailable", target: TARGET, participants: [] });
    expect(seen.map((s) => s.phase)).toEqual(["idle", "connecting", "ended"]);
    expect(tones).toEqual([]);
    call.dismiss();
    await settle();
    expect(call.state.phase).toBe("idle");
    expect(call.state.target).toBeNull();
  });

  it("an e2ee channel in a browser without E2EE: 'e2ee_unsupported', no key asked", async () => {
    const callKey = vi.fn();
    const { call } = session({ loadClient: async () => fakeLiveKit(false), token: async () => token(true), callKey });
    await call.join(TARGET);
    await settle();
    expect(call.state).toMatchObject({ phase: "ended", error: "e2ee_unsupported" });
    expect(callKey).not.toHaveBeenCalled();
  });

  it("an e2ee channel whose key the server will not hand out: 'e2ee_unavailable', never an unencrypted call", async () => {
    const { call } = session({ token: async () => token(true), callKey: () => Promise.reject(new ApiRequestError("not_found", "", 404)) });
    await call.join(TARGET);
    await settle();
    expect(call.state).toMatchObject({ phase: "ended", error: "e2ee_unavailable" });
  });

  it("a token asked for before the click is used as it is: no request between the click and connect()", async () => {
    const ask = vi.fn(async (): Promise<VoiceTokenResponse> => token(true));
    let ready: VoiceTokenResponse | null = null;
    const readyToken = vi.fn(() => {
      const t = ready;
      ready = null;
      return t;
    });
    const { call } = session({ loadClient: async () => fakeLiveKit(false), token: ask, readyToken });
    // The client is not loaded yet: the ready token is left alone and one is asked for.
    await call.join(TARGET);
    expect(readyToken).not.toHaveBeenCalled();
    expect(ask).toHaveBeenCalledTimes(1);
    call.dismiss();
    // Client loaded, token at hand: the join gets as far as the E2EE check without asking.
    ready = token(true);
    await call.join(TARGET);
    await settle();
    expect(readyToken).toHaveBeenCalledWith("ch1");
    expect(ask).toHaveBeenCalledTimes(1);
    expect(call.state).toMatchObject({ phase: "ended", error: "e2ee_unsupported" });
    // Nothing at hand: asked again.
    call.dismiss();
    await call.join(TARGET);
    expect(ask).toHaveBeenCalledTimes(2);
  });

  it("client loaded and token at hand: connect() is called in the click's task, 'connecting' shows in the next", async () => {
    const connect = vi.fn(() => new Promise<void>(() => {}));
    class Room {
      connect = connect;
      remoteParticipants = new Map();
      localParticipant = { identity: "me", name: "Me", isSpeaking: false, connectionQuality: "unknown", getTrackPublication: () => undefined };
      on() {
        return this;
      }
      removeAllListeners() {}
      async disconnect() {}
    }
    const names = new Proxy({}, { get: (_t, k) => String(k) });
    const lk = { ...fakeLiveKit(false), Room, RoomEvent: names, Track: { Source: names } } as unknown as LiveKit;
    let ready: VoiceTokenResponse | null = token(false);
    const ask = vi.fn(async () => token(false));
    const { call, seen } = session({
      loadClient: async () => lk,
      token: ask,
      readyToken: () => {
        const t = ready;
        ready = null;
        return t;
      },
    });
    call.warm(lk, token(false)); // the client arrived with the prefetched token
    void call.join(TARGET);
    expect(connect).toHaveBeenCalledWith("ws://127.0.0.1:1", "t", { autoSubscribe: true });
    expect(ask).not.toHaveBeenCalled();
    await Promise.resolve();
    await Promise.resolve();
    expect(call.state.phase).toBe("idle");
    await settle();
    expect(call.state).toMatchObject({ phase: "connecting", target: TARGET });
    await call.leave();
    await settle();
    expect(seen.map((s) => s.phase)).toEqual(["idle", "connecting", "idle"]);
  });

  it("warming: prepareConnection only where the CSP lets the page fetch LiveKit (its own origin)", () => {
    const prepareConnection = vi.fn(async () => {});
    const lk = { ...fakeLiveKit(false), Room: class { prepareConnection = prepareConnection; } } as unknown as LiveKit;
    const { call } = session();
    vi.stubGlobal("location", { origin: "http://app.example" });
    call.warm(lk, token(false));
    expect(prepareConnection).not.toHaveBeenCalled();
    vi.stubGlobal("location", { origin: "http://127.0.0.1:1" });
    call.warm(lk, token(false));
    expect(prepareConnection).toHaveBeenCalledWith("ws://127.0.0.1:1", "t");
    // A client that cannot is harmless.
    expect(() => call.warm(fakeLiveKit(false), token(false))).not.toThrow();
    expect(call.state.phase).toBe("idle");
  });

  it("leaving while still connecting: idle at once, and the late token changes nothing", async () => {
    let answer!: (t: VoiceTokenResponse) => void;
    const { call, seen } = session({ token: () => new Promise((r) => (answer = r)) });
    const joining = call.join(TARGET);
    await settle();
    expect(call.state).toMatchObject({ phase: "connecting", target: TARGET });
    await call.leave();
    answer(token(false));
    await joining;
    await settle();
    expect(call.state.phase).toBe("idle");
    expect(seen.map((s) => s.phase)).toEqual(["idle", "connecting", "idle"]);
  });

  it("self mute and deafen outlive a failed join; changes in one task make one snapshot", async () => {
    const { call, seen } = session({ token: () => Promise.reject(new ApiRequestError("forbidden", "", 403)) });
    call.setSelfMute(true);
    call.setSelfDeaf(true);
    call.setPushToTalk(true);
    await settle();
    expect(seen).toHaveLength(2);
    expect(seen[1]).toMatchObject({ selfMute: true, selfDeaf: true, pushToTalk: true });
    await call.join(TARGET);
    await settle();
    expect(call.state).toMatchObject({ phase: "ended", error: "forbidden", selfMute: true, selfDeaf: true });
  });
});
