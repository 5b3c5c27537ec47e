/** Types of wav.mjs (test audio for Chromium's fake microphone). */
export function wavBytes(samples: ArrayLike<number>, sampleRate?: number): Buffer;
export function voiceLike(seconds?: number, sampleRate?: number): Float32Array;
export function beeps(opts?: { seconds?: number; periodMs?: number; beepMs?: number; freq?: number; sampleRate?: number }): Float32Array;
export function writeWav(file: string, samples: ArrayLike<number>, sampleRate?: number): string;
