/**
 * Media devices, framework-free: the current lists of microphones, speakers and cameras,
 * refreshed on `devicechange` (a headset plugged in or out), and a camera/microphone self-test
 * (preview stream plus a level meter). Labels appear once the page has media permission.
 */

export interface DeviceOption {
  deviceId: string;
  label: string;
}

export interface DeviceLists {
  audioinput: DeviceOption[];
  audiooutput: DeviceOption[];
  videoinput: DeviceOption[];
  /** False until the browser shows device names (no permission yet). */
  labelled: boolean;
}

export const NO_DEVICES: DeviceLists = { audioinput: [], audiooutput: [], videoinput: [], labelled: false };

/** Reads the device lists. */
export async function listDevices(): Promise<DeviceLists> {
  if (typeof navigator === "undefined" || !navigator.mediaDevices?.enumerateDevices) return NO_DEVICES;
  const all = await navigator.mediaDevices.enumerateDevices();
  const out: DeviceLists = { audioinput: [], audiooutput: [], videoinput: [], labelled: false };
  for (const d of all) {
    // "default" / "communications" are aliases Chrome adds; the empty id stands for the default.
    if (!d.deviceId || d.deviceId === "default" || d.deviceId === "communications") continue;
    if (d.label) out.labelled = true;
    out[d.kind].push({ deviceId: d.deviceId, label: d.label });
  }
  return out;
}

/**
 * Calls `onchange` with the lists now and after every `devicechange`; returns the stop
 * function. The listener is added and removed under the same event name.
 */
export function watchDevices(onchange: (lists: DeviceLists) => void): () => void {
  if (typeof navigator === "undefined" || !navigator.mediaDevices) return () => {};
  let stopped = false;
  const refresh = () => {
    void listDevices()
      .then((l) => {
        if (!stopped) onchange(l);
      })
      .catch(() => {});
  };
  navigator.mediaDevices.addEventListener("devicechange", refresh);
  refresh();
  return () => {
    stopped = true;
    navigator.mediaDevices.removeEventListener("devicechange", refresh);
  };
}

/** The id to use for `wanted` when it is gone from `list`: the default (""). */
export function availableOr(wanted: string, list: readonly DeviceOption[]): string {
  return wanted && list.some((d) => d.deviceId === wanted) ? wanted : "";
}

export interface AudioProcessing {
  noiseSuppression: boolean;
  echoCancellation: boolean;
  autoGainControl: boolean;
}

/** getUserMedia audio constraints for a device and the processing toggles. */
export function audioConstraints(deviceId: string, p: AudioProcessing): MediaTrackConstraints {
  return {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    noiseSuppression: p.noiseSuppression,
    echoCancellation: p.echoCancellation,
    autoGainControl: p.autoGainControl,
  };
}

/**
 * Measures the loudness of an audio track: `onlevel` gets 0..1 (RMS, scaled so speech sits
 * around 0.3-0.7) about 20 times a second. Returns the stop function.
 */
export function meterLevel(track: MediaStreamTrack, onlevel: (level: number) => void): () => void {
  const ctx = new AudioContext();
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const v of buf) sum += v * v;
    const rms = Math.sqrt(sum / buf.length);
    onlevel(Math.min(1, rms * 4));
  }, 50);
  return () => {
    clearInterval(timer);
    source.disconnect();
    void ctx.close();
  };
}

export interface SelfTest {
  stream: MediaStream;
  stop(): void;
}

/**
 * Opens the chosen microphone and, when `withCamera`, the camera, for a preview outside a
 * call. The caller shows `stream` and meters its audio; `stop()` releases the devices.
 */
export async function startSelfTest(opts: { audioInput: string; videoInput: string; withCamera: boolean; processing: AudioProcessing }): Promise<SelfTest> {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: audioConstraints(opts.audioInput, opts.processing),
    video: opts.withCamera ? { ...(opts.videoInput ? { deviceId: { exact: opts.videoInput } } : {}), width: { ideal: 1280 }, height: { ideal: 720 } } : false,
  });
  return {
    stream,
    stop() {
      for (const t of stream.getTracks()) t.stop();
    },
  };
}
