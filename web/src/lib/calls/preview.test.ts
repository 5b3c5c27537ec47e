/**
 * The pre-join preview: opens exactly the devices asked for, meters the microphone, releases
 * everything on stop or on a newer request (a slow earlier getUserMedia is not shown), says
 * why it failed; and the remembered choices survive bad storage.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_CHOICES, DevicePreview, loadChoices, previewConstraints, saveChoices, type PreviewRequest } from "./preview";

const processing = { noiseSuppression: true, echoCancellation: true, autoGainControl: false };
const req = (over: Partial<PreviewRequest> = {}): PreviewRequest => ({ camera: true, mic: true, audioInput: "", videoInput: "", processing, ...over });

class FakeTrack {
  stopped = false;
  constructor(readonly kind: "audio" | "video") {}
  stop() {
    this.stopped = true;
  }
}
function fakeStream(c: MediaStreamConstraints) {
  const tracks = [...(c.audio ? [new FakeTrack("audio")] : []), ...(c.video ? [new FakeTrack("video")] : [])];
  return {
    tracks,
    getTracks: () => tracks,
    getAudioTracks: () => tracks.filter((t) => t.kind === "audio"),
    getVideoTracks: () => tracks.filter((t) => t.kind === "video"),
  } as unknown as MediaStream & { tracks: FakeTrack[] };
}

function setup() {
  const asked: MediaStreamConstraints[] = [];
  const meters: { stopped: boolean; push: (l: number) => void }[] = [];
  let gate: Promise<void> | null = null;
  const preview = new DevicePreview({
    async getUserMedia(c) {
      asked.push(c);
      if (gate) await gate;
      return fakeStream(c);
    },
    meter(_track, onlevel) {
      const m = { stopped: false, push: onlevel };
      meters.push(m);
      return () => {
        m.stopped = true;
      };
    },
  });
  return { preview, asked, meters, hold: (p: Promise<void> | null) => (gate = p) };
}

describe("previewConstraints", () => {
  it("asks for the chosen devices only, and nothing when both are off", () => {
    expect(previewConstraints(req({ camera: false, mic: false }))).toBeNull();
    const c = previewConstraints(req({ camera: false, audioInput: "mic-2" }))!;
    expect(c.video).toBe(false);
    expect(c.audio).toMatchObject({ deviceId: { exact: "mic-2" }, autoGainControl: false });
    expect(previewConstraints(req({ mic: false, videoInput: "cam-1" }))).toMatchObject({ audio: false, video: { deviceId: { exact: "cam-1" } } });
  });
});

describe("DevicePreview", () => {
  it("shows the stream, meters the microphone, and releases both on stop", async () => {
    const { preview, meters } = setup();
    await preview.start(req());
    const stream = preview.state.stream as MediaStream & { tracks: FakeTrack[] };
    expect(stream.getVideoTracks()).toHaveLength(1);
    meters[0]!.push(0.4);
    expect(preview.state.level).toBe(0.4);
    preview.stop();
    expect(preview.state.stream).toBeNull();
    expect(stream.tracks.every((t) => t.stopped)).toBe(true);
    expect(meters[0]!.stopped).toBe(true);
  });

  it("a newer request wins over a slower earlier one, whose devices are let go", async () => {
    const { preview, asked, hold } = setup();
    let release!: () => void;
    hold(new Promise<void>((r) => (release = r)));
    const first = preview.start(req());
    hold(null);
    await preview.start(req({ camera: false }));
    release();
    await first;
    expect(asked).toHaveLength(2);
    expect(preview.state.stream?.getVideoTracks()).toHaveLength(0);
  });

  it("says why the devices could not be opened", async () => {
    const preview = new DevicePreview({
      getUserMedia: () => Promise.reject(Object.assign(new Error("denied"), { name: "NotAllowedError" })),
      meter: () => () => {},
    });
    await preview.start(req());
    expect(preview.state).toMatchObject({ stream: null, error: "NotAllowedError", starting: false });
  });
});

describe("remembered choices", () => {
  it("round-trips and falls back to the defaults on bad or missing data", () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    expect(loadChoices(storage)).toEqual(DEFAULT_CHOICES);
    saveChoices({ camera: false, mic: true, guestName: "Ann" }, storage);
    expect(loadChoices(storage)).toEqual({ camera: false, mic: true, guestName: "Ann" });
    store.set("woxly.call.choices", '{"camera":"yes","mic":false}');
    expect(loadChoices(storage)).toEqual({ ...DEFAULT_CHOICES, mic: false });
    store.set("woxly.call.choices", "{not json");
    expect(loadChoices(storage)).toEqual(DEFAULT_CHOICES);
    expect(loadChoices(null)).toEqual(DEFAULT_CHOICES);
  });
});
