/**
 * What a page (or the widget's frame) receives over WebRTC, read from the inbound RTP stats of
 * every peer connection it made. Shared by the call-link, self-test and support-desk tests.
 */
import type { BrowserContext, Frame, Page } from "playwright-core";

/** Runs in every page and frame before their scripts: keeps each RTCPeerConnection where `inbound` can read it. */
export function tapPeerConnections(): void {
  const PC = window.RTCPeerConnection;
  const w = window as unknown as { __pcs: RTCPeerConnection[] };
  w.__pcs = [];
  window.RTCPeerConnection = class extends PC {
    constructor(...args: ConstructorParameters<typeof RTCPeerConnection>) {
      super(...args);
      w.__pcs.push(this);
    }
  } as typeof RTCPeerConnection;
}

/** Makes the peer connections of `context`'s pages and frames (from their next navigation) readable by `inbound`. */
export async function tap(context: BrowserContext): Promise<void> {
  await context.addInitScript(tapPeerConnections);
}

export interface Inbound {
  /** Audio: samples decoded, and the energy in them (grows only with sound, not with silence). */
  audioSamples: number;
  audioEnergy: number;
  /** Video: frames decoded, and the largest frame seen. */
  videoFrames: number;
  videoWidth: number;
  videoHeight: number;
}

/** Inbound RTP totals over every open peer connection of a page or frame. */
export function inbound(where: Page | Frame): Promise<Inbound> {
  return where.evaluate(async () => {
    const out = { audioSamples: 0, audioEnergy: 0, videoFrames: 0, videoWidth: 0, videoHeight: 0 };
    for (const pc of (window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []) {
      if (pc.connectionState === "closed") continue;
      (await pc.getStats()).forEach((r: Record<string, number | string | undefined>) => {
        if (r.type !== "inbound-rtp") return;
        if (r.kind === "audio") {
          out.audioSamples += Number(r.totalSamplesReceived ?? 0);
          out.audioEnergy += Number(r.totalAudioEnergy ?? 0);
        } else if (r.kind === "video") {
          out.videoFrames += Number(r.framesDecoded ?? 0);
          out.videoWidth = Math.max(out.videoWidth, Number(r.frameWidth ?? 0));
          out.videoHeight = Math.max(out.videoHeight, Number(r.frameHeight ?? 0));
        }
      });
    }
    return out;
  });
}

/**
 * Whether `where` keeps receiving audio with sound in it and decoded video: two readings `ms`
 * apart (the window the growth is measured over, not a wait for a condition), both grown.
 */
export async function receiving(where: Page | Frame, ms = 1500): Promise<{ audio: boolean; video: boolean; before: Inbound; after: Inbound }> {
  const before = await inbound(where);
  await new Promise((r) => setTimeout(r, ms));
  const after = await inbound(where);
  return {
    audio: after.audioSamples > before.audioSamples && after.audioEnergy > before.audioEnergy,
    video: after.videoFrames > before.videoFrames && after.videoWidth > 0,
    before,
    after,
  };
}
