/**
 * The pre-join screen's and the self-test's devices, framework-free: a camera preview stream
 * and a microphone level meter for the chosen devices (reusing media/devices.ts), plus the
 * choices remembered in this browser for the next call (camera on/off, microphone on/off, a
 * guest's name). The devices themselves are the voice settings' (media/prefs.ts): one choice
 * of microphone, camera and speaker for every call.
 */
import { Core } from "$lib/realtime/core";
import { audioConstraints, meterLevel, type AudioProcessing } from "$lib/media/devices";

export interface PreviewState {
  stream: MediaStream | null;
  /** Microphone level 0..1. */
  level: number;
  /** getUserMedia failed: its error name ("NotAllowedError", "NotFoundError", …). */
  error: string | null;
  starting: boolean;
}

export interface PreviewRequest {
  camera: boolean;
  mic: boolean;
  audioInput: string;
  videoInput: string;
  processing: AudioProcessing;
}

export interface PreviewDeps {
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  /** Meters an audio track: calls `onlevel` with 0..1; returns the stop function (media/devices.ts `meterLevel`). */
  meter(track: MediaStreamTrack, onlevel: (level: number) => void): () => void;
}

const IDLE: PreviewState = { stream: null, level: 0, error: null, starting: false };

/** The constraints of a preview: the chosen devices, 720p video; null when nothing is wanted. */
export function previewConstraints(r: PreviewRequest): MediaStreamConstraints | null {
  if (!r.camera && !r.mic) return null;
  return {
    audio: r.mic ? audioConstraints(r.audioInput, r.processing) : false,
    video: r.camera ? { ...(r.videoInput ? { deviceId: { exact: r.videoInput } } : {}), width: { ideal: 1280 }, height: { ideal: 720 } } : false,
  };
}

export class DevicePreview extends Core<PreviewState> {
  readonly #deps: PreviewDeps;
  #stopMeter: (() => void) | null = null;
  /** Bumped on every start/stop: a slower earlier getUserMedia is released, not shown. */
  #epoch = 0;

  constructor(deps: PreviewDeps) {
    super(IDLE);
    this.#deps = deps;
  }

  /** (Re)opens the devices as asked; nothing wanted closes them. */
  async start(r: PreviewRequest): Promise<void> {
    const epoch = ++this.#epoch;
    this.#release();
    const constraints = previewConstraints(r);
    if (!constraints) {
      this.update(IDLE);
      return;
    }
    this.update({ ...IDLE, starting: true });
    let stream: MediaStream;
    try {
      stream = await this.#deps.getUserMedia(constraints);
    } catch (err) {
      if (epoch === this.#epoch) this.update({ ...IDLE, error: err instanceof Error ? err.name || "Error" : "Error" });
      return;
    }
    if (epoch !== this.#epoch) {
      for (const t of stream.getTracks()) t.stop();
      return;
    }
    const audio = stream.getAudioTracks()[0];
    if (audio) {
      this.#stopMeter = this.#deps.meter(audio, (level) => {
        if (epoch === this.#epoch && this.state.stream === stream) this.update({ ...this.state, level });
      });
    }
    this.update({ stream, level: 0, error: null, starting: false });
  }

  /** Releases the camera and microphone. */
  stop(): void {
    this.#epoch++;
    this.#release();
    this.update(IDLE);
  }

  #release(): void {
    this.#stopMeter?.();
    this.#stopMeter = null;
    for (const t of this.state.stream?.getTracks() ?? []) t.stop();
  }
}

// ---------------------------------------------------------------------------------------
// Remembered choices

export interface CallChoices {
  camera: boolean;
  mic: boolean;
  /** The name a guest typed last time. */
  guestName: string;
}

export const DEFAULT_CHOICES: CallChoices = { camera: true, mic: true, guestName: "" };
const KEY = "woxly.call.choices";

export function loadChoices(storage: Pick<Storage, "getItem"> | null = safeStorage()): CallChoices {
  let raw: unknown = null;
  try {
    raw = JSON.parse(storage?.getItem(KEY) ?? "null");
  } catch {
    raw = null;
  }
  const out = { ...DEFAULT_CHOICES };
  if (raw && typeof raw === "object") {
    const r = raw as Record<string, unknown>;
    if (typeof r.camera === "boolean") out.camera = r.camera;
    if (typeof r.mic === "boolean") out.mic = r.mic;
    if (typeof r.guestName === "string") out.guestName = r.guestName.slice(0, 64);
  }
  return out;
}

export function saveChoices(choices: CallChoices, storage: Pick<Storage, "setItem"> | null = safeStorage()): void {
  try {
    storage?.setItem(KEY, JSON.stringify(choices));
  } catch {
    // Storage disabled: the choice lasts for this page only.
  }
}

function safeStorage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

/** The browser's getUserMedia and the level meter of media/devices.ts. */
export function browserPreviewDeps(): PreviewDeps {
  return { getUserMedia: (c) => navigator.mediaDevices.getUserMedia(c), meter: meterLevel };
}
