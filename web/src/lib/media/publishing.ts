/**
 * Local publishing: the member's microphone (published once, then muted and unmuted for
 * mute / deafen / push-to-talk, with the chosen noise suppression, echo cancellation and
 * gain control), camera (720p with simulcast layers), and screen share (1080p at 30 fps with
 * its audio); devices switched live. The capture and encoding settings are pure; the
 * `LocalPublisher` acts on the host's room. livekit-client types only.
 */
import type { AudioCaptureOptions, LocalAudioTrack, LocalTrackPublication, LocalVideoTrack, Room, RoomOptions, TrackPublishDefaults } from "livekit-client";
import { applyBackground } from "./background";
import type { CallState, DeviceError } from "./call-state";
import { availableOr, type DeviceOption } from "./devices";
import type { VoicePrefs } from "./prefs";

type LiveKit = typeof import("livekit-client");

/** Opus 48 kHz mono with DTX (silence is not sent) and RED (redundant packets hide loss). */
function publishDefaults(lk: LiveKit): TrackPublishDefaults {
  return {
    dtx: true,
    red: true,
    audioPreset: lk.AudioPresets.music,
    videoCodec: "vp8",
    videoEncoding: lk.VideoPresets.h720.encoding,
    // Camera 720p plus 180p and 360p layers; the SFU forwards what each viewer's tile needs.
    videoSimulcastLayers: [lk.VideoPresets.h180, lk.VideoPresets.h360],
    screenShareEncoding: lk.ScreenSharePresets.h1080fps30.encoding,
    screenShareSimulcastLayers: [lk.ScreenSharePresets.h720fps15],
  };
}

/** Screen share: 1080p at 30 fps, with the tab's or system's audio where the browser allows. */
export const SCREEN_CAPTURE = {
  audio: true,
  resolution: { width: 1920, height: 1080, frameRate: 30 },
  contentHint: "detail",
  systemAudio: "include",
  selfBrowserSurface: "exclude",
  surfaceSwitching: "include",
} as const;

/** The microphone's capture settings from the member's choices. */
export function captureOptions(prefs: VoicePrefs): AudioCaptureOptions {
  return {
    noiseSuppression: prefs.noiseSuppression,
    echoCancellation: prefs.echoCancellation,
    autoGainControl: prefs.autoGainControl,
    ...(prefs.audioInput ? { deviceId: prefs.audioInput } : {}),
  };
}

/** A call's room: adaptive stream and dynacast on, the member's devices, the publish defaults above. */
export function roomOptions(lk: LiveKit, prefs: VoicePrefs): RoomOptions {
  return {
    adaptiveStream: true,
    dynacast: true,
    disconnectOnPageLeave: true,
    audioCaptureDefaults: captureOptions(prefs),
    videoCaptureDefaults: {
      resolution: lk.VideoPresets.h720.resolution,
      ...(prefs.videoInput ? { deviceId: prefs.videoInput } : {}),
    },
    audioOutput: prefs.audioOutput ? { deviceId: prefs.audioOutput } : undefined,
    publishDefaults: publishDefaults(lk),
  };
}

/** Whether the microphone sends: not muted, not deafened, and under push-to-talk only while the key is held. */
export function micOpen(s: Pick<CallState, "selfMute" | "selfDeaf" | "pushToTalk" | "talking">): boolean {
  return !s.selfMute && !s.selfDeaf && (!s.pushToTalk || s.talking);
}

/** The member's devices, each falling back to the default ("") where the chosen one is gone from `devices`. */
export function chosenDevices(
  prefs: VoicePrefs,
  devices?: { audioinput: readonly DeviceOption[]; audiooutput: readonly DeviceOption[]; videoinput: readonly DeviceOption[] },
): VoicePrefs {
  if (!devices) return prefs;
  return {
    ...prefs,
    audioInput: availableOr(prefs.audioInput, devices.audioinput),
    audioOutput: availableOr(prefs.audioOutput, devices.audiooutput),
    videoInput: availableOr(prefs.videoInput, devices.videoinput),
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface PublishHost {
  room(): Room | null;
  lk(): LiveKit | null;
  /** The call's current state (the session's working copy). */
  state(): CallState;
  /** Changes the state and tells the listeners. */
  patch(p: Partial<CallState>): void;
  /** Tells the listeners (the room changed). */
  refresh(): void;
  prefs(): VoicePrefs;
}

export class LocalPublisher {
  readonly #host: PublishHost;
  /** Microphone changes, one at a time and in order. */
  #micBusy: Promise<void> = Promise.resolve();
  /** The background effect that last failed (not retried until picked again). */
  #failedBackground: string | null = null;

  constructor(host: PublishHost) {
    this.#host = host;
  }

  /** Brings the published microphone in line with mute / deafen / push-to-talk / rights. */
  syncMic(): Promise<void> {
    this.#micBusy = this.#micBusy.then(() => this.#syncMicNow()).catch(() => {});
    return this.#micBusy;
  }

  async #syncMicNow(): Promise<void> {
    const room = this.#host.room();
    const lk = this.#host.lk();
    if (!room || !lk || this.#host.state().phase !== "connected") return;
    const lp = room.localParticipant;
    const pub = lp.getTrackPublication(lk.Track.Source.Microphone) as LocalTrackPublication | undefined;
    const track = pub?.track as LocalAudioTrack | undefined;
    if (!this.#host.state().rights.microphone) return; // the server stops it itself
    const open = micOpen(this.#host.state());
    if (!track) {
      // Publish once, muted unless open, so push-to-talk never leaks a moment of audio.
      try {
        const t = await lk.createLocalAudioTrack(captureOptions(this.#host.prefs()));
        if (!open) await t.mute();
        if (this.#host.room() !== room) {
          t.stop();
          return;
        }
        await lp.publishTrack(t, { source: lk.Track.Source.Microphone, dtx: true, red: true });
        const now = micOpen(this.#host.state());
        if (now !== open) await (now ? t.unmute() : t.mute());
        if (this.#host.state().deviceError?.kind === "microphone") this.#host.patch({ deviceError: null });
      } catch (err) {
        this.#host.patch({ deviceError: { kind: "microphone", message: message(err) } });
      }
      this.#host.refresh();
      return;
    }
    if (open && track.isMuted) await track.unmute();
    else if (!open && !track.isMuted) await track.mute();
    this.#host.refresh();
  }

  /** Camera on/off (720p with simulcast layers). */
  async setCamera(on: boolean): Promise<void> {
    const room = this.#host.room();
    const lk = this.#host.lk();
    if (!room || !lk) return;
    const prefs = this.#host.prefs();
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
      this.#host.patch({ camera: on, deviceError: this.#clearedError("camera"), ...(on ? {} : { background: { effect: "none", error: null } }) });
    } catch (err) {
      this.#host.patch({ camera: false, deviceError: { kind: "camera", message: message(err) } });
    }
    if (on) await this.syncBackground();
    this.#host.refresh();
  }

  retryBackground(): void {
    this.#failedBackground = null;
  }

  /**
   * Brings the camera's background effect in line with the member's choice (background.ts):
   * loads the processor only for an effect, and only when the camera runs.
   */
  async syncBackground(): Promise<void> {
    const room = this.#host.room();
    const lk = this.#host.lk();
    if (!room || !lk) return;
    const track = room.localParticipant.getTrackPublication(lk.Track.Source.Camera)?.track as LocalVideoTrack | undefined;
    const choice = this.#host.prefs().background;
    const now = this.#host.state().background;
    if (!track) return;
    if (choice === now.effect && (choice === "none" || track.getProcessor())) return;
    // An effect that failed on this browser is not retried on every device change; picking again is.
    if (now.error !== null && this.#failedBackground === choice) return;
    const status = await applyBackground(track, choice);
    this.#failedBackground = status.error ? choice : null;
    if (this.#host.room() === room) this.#host.patch({ background: status });
  }

  /** Screen share on/off: 1080p 30 fps with audio where the browser offers it. */
  async setScreenShare(on: boolean): Promise<void> {
    const room = this.#host.room();
    const lk = this.#host.lk();
    if (!room || !lk) return;
    try {
      await room.localParticipant.setScreenShareEnabled(on, SCREEN_CAPTURE, {
        screenShareEncoding: lk.ScreenSharePresets.h1080fps30.encoding,
        screenShareSimulcastLayers: [lk.ScreenSharePresets.h720fps15],
      });
      this.#host.patch({ screen: on, deviceError: this.#clearedError("screen") });
    } catch (err) {
      // Closing the browser's picker is not an error worth showing.
      const cancelled = err instanceof DOMException && err.name === "NotAllowedError";
      this.#host.patch({ screen: false, deviceError: cancelled ? null : { kind: "screen", message: message(err) } });
    }
    this.#host.refresh();
  }

  /** The microphone captures again where the input device or the audio processing changed. */
  async restartMic(room: Room, lk: LiveKit, chosen: VoicePrefs): Promise<void> {
    const mic = room.localParticipant.getTrackPublication(lk.Track.Source.Microphone)?.track as LocalAudioTrack | undefined;
    if (!mic) return;
    const s = mic.mediaStreamTrack.getSettings();
    const changed =
      (chosen.audioInput || "default") !== (room.getActiveDevice("audioinput") ?? "default") ||
      s.noiseSuppression !== chosen.noiseSuppression ||
      s.echoCancellation !== chosen.echoCancellation ||
      s.autoGainControl !== chosen.autoGainControl;
    if (changed) await mic.restartTrack(captureOptions(chosen)).catch(() => {});
  }

  /** A running camera moves to `camera` (a device id; "" keeps the current one). */
  async switchCamera(room: Room, camera: string): Promise<void> {
    if (this.#host.state().camera && (room.getActiveDevice("videoinput") ?? "") !== camera && camera) {
      await room.switchActiveDevice("videoinput", camera).catch(() => false);
    }
  }

  /** The device error, unless it was of `kind` (that capture works now). */
  #clearedError(kind: DeviceError["kind"]): DeviceError | null {
    const e = this.#host.state().deviceError;
    return e?.kind === kind ? null : e;
  }
}
