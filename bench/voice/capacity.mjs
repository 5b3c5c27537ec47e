// (c) How many participants this machine holds in one room under 1 % loss. Synthetic
// participants (@livekit/rtc-node) join the voice channel's room and publish Opus audio (a
// tone, DTX and RED on) and 1280×720 camera video at 30 fps with simulcast; one real member
// (headless Chromium, the product's call page) subscribes to everyone as the UI asks (adaptive
// stream, dynacast) and measures packet loss, decoded video fps and audio concealment from its
// getStats over a window at each step. LiveKit, wrangler and Chromium all share the machine.
//
// The synthetic participants only publish (each receiving N−1 videos too would spend the CPU
// on decoding in Node, not on what a room costs the server). Each is a member of the community
// with a token from Woxly's token route (`tokenFor`): LiveKit's webhook removes identities
// Woxly did not issue, so tokens minted with the dev key would be kicked.
import os from "node:os";
import {
  AudioFrame,
  AudioSource,
  LocalAudioTrack,
  LocalVideoTrack,
  Room,
  TrackPublishOptions,
  TrackSource,
  VideoBufferType,
  VideoFrame,
  VideoSource,
  dispose,
} from "@livekit/rtc-node";
import { inboundTotals, joinCall, leaveCall, memberPage } from "./browser.mjs";

const W = 1280;
const H = 720;
const FPS = 30;

/** 30 I420 frames of a moving pattern (an encoder has real work, unlike a still image). */
function makeFrames() {
  const frames = [];
  const ySize = W * H;
  const cSize = (W / 2) * (H / 2);
  for (let f = 0; f < FPS; f++) {
    const buf = new Uint8Array(ySize + 2 * cSize);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) buf[y * W + x] = (x + y * 2 + f * 16) & 0xff;
    }
    buf.fill(128 + ((f * 4) & 63), ySize, ySize + cSize);
    buf.fill(128 - ((f * 4) & 63), ySize + cSize);
    frames.push(buf);
  }
  return frames;
}

function cpuTimes() {
  let idle = 0;
  let total = 0;
  for (const c of os.cpus()) {
    for (const v of Object.values(c.times)) total += v;
    idle += c.times.idle;
  }
  return { idle, total };
}

class Synthetic {
  constructor(id) {
    this.id = id;
    this.room = new Room();
    this.audio = new AudioSource(48_000, 1);
    this.video = new VideoSource(W, H);
  }
  async start(livekitUrl, token) {
    await this.room.connect(livekitUrl, token, { autoSubscribe: false, dynacast: true });
    const a = new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE, dtx: true, red: true });
    await this.room.localParticipant.publishTrack(LocalAudioTrack.createAudioTrack("microphone", this.audio), a);
    const v = new TrackPublishOptions({ source: TrackSource.SOURCE_CAMERA, simulcast: true, videoEncoding: { maxBitrate: 1_700_000n, maxFramerate: FPS } });
    await this.room.localParticipant.publishTrack(LocalVideoTrack.createVideoTrack("camera", this.video), v);
  }
  async stop() {
    await this.room.disconnect().catch(() => {});
  }
}

/** `tokenFor(i)`: a Woxly token (the JWT) for the i-th synthetic participant, a member of the channel's community. */
export async function capacity({ browser, observerState, url, livekitUrl, tokenFor, steps = [1, 2, 4, 6, 8, 10, 12, 16, 20, 24], windowSeconds = 8, budgetSeconds = 300, say }) {
  const started = Date.now();
  const frames = makeFrames();
  const tone = new Int16Array(480).map((_, i) => Math.round(3000 * Math.sin((2 * Math.PI * 220 * i) / 48_000)));
  const people = [];
  let tick = 0;
  let late = 0;
  let lastVideo = performance.now();
  // One clock for everyone: audio every 10 ms, video every 33 ms.
  const timer = setInterval(() => {
    tick++;
    for (const p of people) void p.audio.captureFrame(new AudioFrame(tone, 48_000, 1, 480)).catch(() => {});
    const now = performance.now();
    if (now - lastVideo >= 1000 / FPS - 1) {
      if (now - lastVideo > 2000 / FPS) late++;
      lastVideo = now;
      const f = frames[tick % FPS];
      for (const p of people) p.video.captureFrame(new VideoFrame(f, W, H, VideoBufferType.I420));
    }
  }, 10);

  const observer = await memberPage(browser, observerState, { width: 1920, height: 1080 });
  const rows = [];
  let held = 0;
  try {
    await joinCall(observer.page, url);
    for (const n of steps) {
      if ((Date.now() - started) / 1000 > budgetSeconds) {
        say?.(`capacity: time budget of ${budgetSeconds} s used up at ${held} participants`);
        break;
      }
      while (people.length < n) {
        const p = new Synthetic(people.length + 1);
        await p.start(livekitUrl, await tokenFor(p.id));
        people.push(p);
      }
      await observer.page.waitForFunction((n) => document.querySelectorAll("[data-tile]:not([data-local])").length >= n, n, { timeout: 30_000 });
      await observer.page.waitForTimeout(4000); // layers settle, bandwidth estimate ramps up
      const a = await inboundTotals(observer.page);
      const c0 = cpuTimes();
      const late0 = late;
      await observer.page.waitForTimeout(windowSeconds * 1000);
      const b = await inboundTotals(observer.page);
      const c1 = cpuTimes();
      const recv = b.audio.received - a.audio.received + (b.video.received - a.video.received);
      const lost = b.audio.lost - a.audio.lost + (b.video.lost - a.video.lost);
      const samples = b.audio.samples - a.audio.samples;
      const row = {
        participants: n,
        lossPct: recv + lost > 0 ? Math.round((lost / (recv + lost)) * 10000) / 100 : null,
        videoLossPct: Math.round(((b.video.lost - a.video.lost) / Math.max(1, b.video.received - a.video.received + b.video.lost - a.video.lost)) * 10000) / 100,
        audioConcealedPct: samples > 0 ? Math.round(((b.audio.concealed - a.audio.concealed) / samples) * 10000) / 100 : null,
        videoFps: b.video.tracks ? Math.round((b.video.fps / b.video.tracks) * 10) / 10 : 0,
        videoTracks: b.video.tracks,
        cpuBusyPct: Math.round((1 - (c1.idle - c0.idle) / Math.max(1, c1.total - c0.total)) * 1000) / 10,
        lateFrameTicks: late - late0,
      };
      rows.push(row);
      say?.(`capacity: ${n} participants: loss ${row.lossPct} %, video ${row.videoFps} fps over ${row.videoTracks} tracks, concealed ${row.audioConcealedPct} %, CPU ${row.cpuBusyPct} %`);
      if (row.lossPct === null || row.lossPct >= 1 || row.videoTracks < n * 0.5) break;
      held = n;
    }
    await leaveCall(observer.page).catch(() => {});
  } finally {
    clearInterval(timer);
    for (const p of people) await p.stop();
    await observer.context.close();
    await dispose().catch(() => {});
  }
  return { heldUnder1PctLoss: held, windowSeconds, rows };
}
