// Headless Chromium for the voice benchmarks: fake camera and microphone (optionally a WAV
// file as the microphone), every RTCPeerConnection and getUserMedia stream of a page kept
// where page-side probes can read them, and the product's call UI driven like a member would.
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../../scripts/chromium.mjs";

// The probes' AudioContexts start without a click.
const ARGS = [...CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"];

/** A Chromium whose fake microphone plays `wav` (looped) when given. */
export function launch({ wav } = {}) {
  return chromium.launch({ executablePath: CHROMIUM, args: wav ? [...ARGS, `--use-file-for-fake-audio-capture=${wav}`] : ARGS });
}

/** Runs in every page before its scripts: keeps peer connections and captured streams. */
function hooks() {
  const PC = window.RTCPeerConnection;
  window.__pcs = [];
  class Tapped extends PC {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  }
  window.RTCPeerConnection = Tapped;
  window.__mics = [];
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (c) => {
    const s = await gum(c);
    if (s.getAudioTracks().length) window.__mics.push(s);
    return s;
  };
}

/** A logged-in member's page (cookies from `storageState`), with the hooks installed. */
export async function memberPage(browser, storageState, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ storageState, viewport, locale: "en-US" });
  await context.addInitScript(hooks);
  const page = await context.newPage();
  return { context, page };
}

/** Opens a voice channel's page and joins its call; resolves when connected. */
export async function joinCall(page, url, { camera = false } = {}) {
  await page.goto(url);
  await page.locator("[data-voice-join]").click();
  await page.locator('[data-call-stage][data-phase="connected"]').waitFor({ timeout: 30_000 });
  if (camera) await page.locator('[data-call-stage] [data-control="camera"]').click();
}

export async function leaveCall(page) {
  await page.locator('[data-call-stage] [data-control="leave"]').click();
  await page.locator("[data-voice-join]").waitFor({ timeout: 10_000 });
}

/** Inbound RTP totals of a page's peer connections (created at index `from` or later). */
export function inboundTotals(page, from = 0) {
  return page.evaluate(async (from) => {
    const out = { audio: { received: 0, lost: 0, samples: 0, concealed: 0, jbDelay: 0, jbEmitted: 0 }, video: { received: 0, lost: 0, frames: 0, tracks: 0, fps: 0 } };
    for (const pc of window.__pcs.slice(from)) {
      if (pc.connectionState === "closed") continue;
      const stats = await pc.getStats();
      stats.forEach((r) => {
        if (r.type !== "inbound-rtp") return;
        const k = r.kind === "audio" ? out.audio : out.video;
        k.received += r.packetsReceived ?? 0;
        k.lost += Math.max(0, r.packetsLost ?? 0);
        if (r.kind === "audio") {
          out.audio.samples += r.totalSamplesReceived ?? 0;
          out.audio.concealed += r.concealedSamples ?? 0;
          out.audio.jbDelay += r.jitterBufferDelay ?? 0;
          out.audio.jbEmitted += r.jitterBufferEmittedCount ?? 0;
        } else {
          out.video.frames += r.framesDecoded ?? 0;
          if ((r.framesPerSecond ?? 0) > 0) {
            out.video.tracks++;
            out.video.fps += r.framesPerSecond;
          }
        }
      });
    }
    return out;
  }, from);
}
