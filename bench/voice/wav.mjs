// Test audio for Chromium's fake microphone (`--use-file-for-fake-audio-capture=<wav>`):
// 16-bit mono PCM WAV files made in Node, no binary assets in the repository.
import { writeFileSync } from "node:fs";

/** A WAV file (16-bit PCM mono) from samples in -1..1. */
export function wavBytes(samples, sampleRate = 48_000) {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i])) * 32767), i * 2);
  const h = Buffer.alloc(44);
  h.write("RIFF", 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write("WAVE", 8);
  h.write("fmt ", 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/**
 * Speech-like sound that keeps LiveKit's speaker detection busy: a 220 Hz tone with its
 * harmonics, amplitude-modulated at 4 Hz like syllables (a steady tone would be taken for
 * noise by noise suppression). `seconds` long; Chromium loops the file.
 */
export function voiceLike(seconds = 4, sampleRate = 48_000) {
  const n = seconds * sampleRate;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const env = 0.55 + 0.45 * Math.sin(2 * Math.PI * 4 * t);
    const f0 = 220 * (1 + 0.03 * Math.sin(2 * Math.PI * 0.7 * t));
    out[i] = 0.35 * env * (Math.sin(2 * Math.PI * f0 * t) + 0.5 * Math.sin(4 * Math.PI * f0 * t) + 0.25 * Math.sin(6 * Math.PI * f0 * t)) / 1.75;
  }
  return out;
}

/**
 * Marked audio for mouth-to-ear latency: silence with a short 1 kHz beep every `periodMs`
 * (the beep's start is the mark). The receiver detects beep onsets and compares their phase
 * with the sender's. Returns the samples; the beep onsets are at k·periodMs.
 */
export function beeps({ seconds = 10, periodMs = 1000, beepMs = 60, freq = 1000, sampleRate = 48_000 } = {}) {
  const n = seconds * sampleRate;
  const out = new Float32Array(n);
  const period = Math.round((periodMs / 1000) * sampleRate);
  const len = Math.round((beepMs / 1000) * sampleRate);
  for (let start = 0; start < n; start += period) {
    for (let i = 0; i < len && start + i < n; i++) {
      const ramp = Math.min(1, i / 48, (len - i) / 48); // 1 ms ramps, no clicks
      out[start + i] = 0.6 * ramp * Math.sin((2 * Math.PI * freq * i) / sampleRate);
    }
  }
  return out;
}

export function writeWav(file, samples, sampleRate = 48_000) {
  writeFileSync(file, wavBytes(samples, sampleRate));
  return file;
}
