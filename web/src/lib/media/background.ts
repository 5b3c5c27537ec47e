/**
 * Camera background effects (docs/voice.md "Background blur and replacement"): blur, or one of
 * a few built-in pictures, by @livekit/track-processors on the local camera track. The
 * processor and MediaPipe are loaded only when an effect is turned on (dynamic import), and
 * MediaPipe's wasm and the segmentation model come from Woxly's own static assets
 * (`/effects/v1/…`, copied at build time by web/vite-effects.ts), never from a CDN.
 * livekit-client types only; framework-free.
 */
import type { LocalVideoTrack } from "livekit-client";

/** What the member picked. */
export const BACKGROUNDS = ["none", "blur", "dusk", "forest", "paper"] as const;
export type Background = (typeof BACKGROUNDS)[number];

export function isBackground(v: unknown): v is Background {
  return typeof v === "string" && (BACKGROUNDS as readonly string[]).includes(v);
}

/** Where the build puts the effect assets (web/vite-effects.ts EFFECTS_BASE). */
export const EFFECTS_BASE = "/effects/v1";
/** The built-in pictures (generated at build time, small PNGs). */
export const BACKGROUND_IMAGES: Record<Exclude<Background, "none" | "blur">, string> = {
  dusk: `${EFFECTS_BASE}/backgrounds/dusk.png`,
  forest: `${EFFECTS_BASE}/backgrounds/forest.png`,
  paper: `${EFFECTS_BASE}/backgrounds/paper.png`,
};
/** MediaPipe's files, served by Woxly. */
export const EFFECT_ASSETS = {
  tasksVisionFileSet: `${EFFECTS_BASE}/wasm`,
  modelAssetPath: `${EFFECTS_BASE}/selfie_segmentation.tflite`,
};
/** Blur strength, px. */
export const BLUR_RADIUS = 12;
/** How long the first processed frame may take before the effect counts as failed, ms (loading wasm and model included). */
export const FIRST_FRAME_TIMEOUT_MS = 20_000;

/** What runs on a camera track now: the effect and whether it failed (then the plain camera is sent). */
export interface BackgroundStatus {
  effect: Background;
  error: string | null;
}

/** Whether this browser can run the effects at all (loads the processor module). */
export async function backgroundsSupported(): Promise<boolean> {
  const tp = await import("@livekit/track-processors");
  return tp.supportsBackgroundProcessors();
}

/**
 * Puts `choice` on a camera track: none removes any processor; an effect loads the processor
 * (first use only), attaches it and resolves once it has processed a frame — so "blur" in the
 * status means frames really go through the segmenter. On any failure the processor is
 * removed again (the camera is sent unprocessed) and the error is returned.
 */
export async function applyBackground(track: LocalVideoTrack, choice: Background): Promise<BackgroundStatus> {
  if (choice === "none") {
    if (track.getProcessor()) await track.stopProcessor().catch(() => {});
    return { effect: "none", error: null };
  }
  try {
    const tp = await import("@livekit/track-processors");
    if (!tp.supportsBackgroundProcessors()) throw new Error("This browser cannot run background effects (needs WebGL 2 and insertable streams or canvas capture).");
    let firstFrame!: () => void;
    const processed = new Promise<void>((resolve) => (firstFrame = resolve));
    const common = { assetPaths: EFFECT_ASSETS, segmenterOptions: { delegate: "CPU" as const }, onFrameProcessed: () => firstFrame() };
    const processor =
      choice === "blur"
        ? tp.BackgroundProcessor({ mode: "background-blur", blurRadius: BLUR_RADIUS, ...common }, "woxly-background")
        : tp.BackgroundProcessor({ mode: "virtual-background", imagePath: BACKGROUND_IMAGES[choice], ...common }, "woxly-background");
    if (track.getProcessor()) await track.stopProcessor();
    await track.setProcessor(processor);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      processed,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("The background effect processed no frame.")), FIRST_FRAME_TIMEOUT_MS))),
    ]).finally(() => clearTimeout(timer));
    return { effect: choice, error: null };
  } catch (err) {
    if (track.getProcessor()) await track.stopProcessor().catch(() => {});
    return { effect: "none", error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * A self-preview of an effect outside a call (the settings dialog): the chosen camera into
 * `video`, processed. Returns its status and a stop function.
 */
export async function previewBackground(video: HTMLVideoElement, choice: Background, deviceId: string): Promise<{ status: BackgroundStatus; stop: () => void }> {
  const lk = await import("livekit-client");
  const track = await lk.createLocalVideoTrack({ resolution: lk.VideoPresets.h360.resolution, ...(deviceId ? { deviceId } : {}) });
  track.attach(video);
  const status = await applyBackground(track, choice);
  return {
    status,
    stop: () => {
      track.detach(video);
      void track.stopProcessor().catch(() => {});
      track.stop();
    },
  };
}
