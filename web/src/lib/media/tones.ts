/**
 * Call sounds made with WebAudio on the spot (no audio files): short two-note chimes for
 * join/leave, a click for mute/unmute. One AudioContext, created on first use (after a click).
 */

export type ToneKind = "self-join" | "self-leave" | "join" | "leave" | "mute" | "unmute" | "reconnected" | "ring";

/** Notes per sound: [frequency Hz, start s, length s]. */
const NOTES: Record<ToneKind, [number, number, number][]> = {
  "self-join": [
    [523.25, 0, 0.09],
    [783.99, 0.08, 0.14],
  ],
  "self-leave": [
    [783.99, 0, 0.09],
    [392.0, 0.08, 0.16],
  ],
  join: [
    [659.25, 0, 0.07],
    [880.0, 0.06, 0.1],
  ],
  leave: [
    [659.25, 0, 0.07],
    [493.88, 0.06, 0.12],
  ],
  mute: [[330, 0, 0.05]],
  unmute: [[660, 0, 0.05]],
  reconnected: [
    [587.33, 0, 0.06],
    [880.0, 0.07, 0.08],
  ],
  /** An incoming call, repeated every couple of seconds while the toast is up. */
  ring: [
    [659.25, 0, 0.18],
    [830.61, 0.2, 0.18],
    [659.25, 0.45, 0.18],
    [830.61, 0.65, 0.18],
  ],
};

let ctx: AudioContext | null = null;

/** Plays a sound at a low volume; silently does nothing where WebAudio is unavailable. */
export function playTone(kind: ToneKind, volume = 0.12, sinkId = ""): void {
  try {
    ctx ??= new AudioContext({ latencyHint: "interactive" });
    if (ctx.state === "suspended") void ctx.resume();
    // Sounds follow the chosen output device where the browser can route WebAudio.
    const withSink = ctx as AudioContext & { setSinkId?: (id: string) => Promise<void>; sinkId?: string };
    if (withSink.setSinkId && (withSink.sinkId ?? "") !== sinkId) void withSink.setSinkId(sinkId).catch(() => {});
    const t0 = ctx.currentTime + 0.01;
    for (const [freq, start, len] of NOTES[kind]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      // A soft attack and an exponential tail, so there is no click.
      gain.gain.setValueAtTime(0.0001, t0 + start);
      gain.gain.exponentialRampToValueAtTime(volume, t0 + start + 0.012);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + start + len);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0 + start);
      osc.stop(t0 + start + len + 0.02);
    }
  } catch {
    // No WebAudio (or blocked): calls work without sounds.
  }
}
