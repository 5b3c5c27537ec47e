// (b) Mouth-to-ear latency through the SFU. The sender's fake microphone plays a marked WAV
// (a 60 ms 1 kHz beep every second, wav.mjs); the same onset detector runs on the sender's
// captured track and on the receiver's remote track (WebAudio, 256-sample blocks), stamping
// each beep onset with the machine's clock (performance.timeOrigin + now()). Latency is the
// receiver's onset minus the sender's: capture → Opus (DTX, RED) → LiveKit → jitter buffer →
// decode. Neither the microphone's nor the speaker's device buffering is in it (fake devices).
// Also the receiver's jitterBufferDelay / jitterBufferEmittedCount and the ICE round trip.
import { Samples } from "../lib/stats.mjs";
import { inboundTotals, joinCall, leaveCall, memberPage } from "./browser.mjs";

/** In the page: stamps beep onsets on `stream` into window.__onsets (epoch ms). */
function detectOnsets(which) {
  const stream =
    which === "local"
      ? window.__mics[window.__mics.length - 1]
      : document.querySelector('audio[data-woxly-audio][data-source="microphone"]')?.srcObject;
  if (!stream) return false;
  const ctx = new AudioContext({ latencyHint: "interactive" });
  const src = ctx.createMediaStreamSource(stream);
  const proc = ctx.createScriptProcessor(256, 1, 1);
  const mute = ctx.createGain();
  mute.gain.value = 0;
  window.__onsets = [];
  let quietBlocks = 0;
  proc.onaudioprocess = (e) => {
    const d = e.inputBuffer.getChannelData(0);
    let sum = 0;
    for (let i = 0; i < d.length; i++) sum += d[i] * d[i];
    const rms = Math.sqrt(sum / d.length);
    if (rms > 0.05) {
      // An onset after at least ~200 ms of quiet: the first loud block of a beep.
      if (quietBlocks * 256 > 0.2 * ctx.sampleRate) window.__onsets.push(performance.timeOrigin + performance.now());
      quietBlocks = 0;
    } else quietBlocks++;
  };
  src.connect(proc);
  proc.connect(mute).connect(ctx.destination);
  window.__probeCtx = ctx;
  return true;
}

function pair(sent, received, maxMs = 900) {
  const out = [];
  let j = 0;
  for (const r of received) {
    while (j + 1 < sent.length && sent[j + 1] <= r) j++;
    const s = sent[j];
    if (s !== undefined && s <= r && r - s < maxMs) out.push(r - s);
  }
  return out;
}

export async function mouthToEar({ senderBrowser, receiverBrowser, senderState, receiverState, url, seconds = 20, say }) {
  const sender = await memberPage(senderBrowser, senderState);
  const receiver = await memberPage(receiverBrowser, receiverState);
  try {
    await joinCall(receiver.page, url);
    await joinCall(sender.page, url);
    await receiver.page.locator('audio[data-woxly-audio][data-source="microphone"]').waitFor({ state: "attached", timeout: 15_000 });
    await receiver.page.waitForTimeout(1500);
    if (!(await sender.page.evaluate(detectOnsets, "local"))) throw new Error("no captured microphone on the sender");
    if (!(await receiver.page.evaluate(detectOnsets, "remote"))) throw new Error("no remote audio on the receiver");
    const before = await inboundTotals(receiver.page);
    say?.(`mouth-to-ear: listening for ${seconds} s of beeps`);
    await receiver.page.waitForTimeout(seconds * 1000);
    const after = await inboundTotals(receiver.page);
    const sent = await sender.page.evaluate(() => window.__onsets);
    const received = await receiver.page.evaluate(() => window.__onsets);
    const rtt = await receiver.page.evaluate(async () => {
      for (const pc of window.__pcs) {
        if (pc.connectionState !== "connected") continue;
        let v = null;
        (await pc.getStats()).forEach((r) => {
          if (r.type === "candidate-pair" && r.nominated && r.currentRoundTripTime !== undefined) v = r.currentRoundTripTime * 1000;
        });
        if (v !== null) return v;
      }
      return null;
    });
    const lat = new Samples(256);
    for (const d of pair(sent, received)) lat.add(d);
    const emitted = after.audio.jbEmitted - before.audio.jbEmitted;
    const jb = emitted > 0 ? ((after.audio.jbDelay - before.audio.jbDelay) / emitted) * 1000 : null;
    const samples = after.audio.samples - before.audio.samples;
    await leaveCall(sender.page).catch(() => {});
    await leaveCall(receiver.page).catch(() => {});
    return {
      seconds,
      beepsSent: sent.length,
      beepsHeard: received.length,
      latencyMs: lat.summary(),
      jitterBufferMs: jb === null ? null : Math.round(jb * 10) / 10,
      concealedPct: samples > 0 ? Math.round(((after.audio.concealed - before.audio.concealed) / samples) * 10000) / 100 : null,
      rttMs: rtt === null ? null : Math.round(rtt * 10) / 10,
    };
  } finally {
    await sender.context.close();
    await receiver.context.close();
  }
}
