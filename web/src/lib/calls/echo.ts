/**
 * The self-test's echo through the media server, framework-free. `POST /api/self-test/echo`
 * gives two tokens for a throwaway room; the page joins it twice: the sender publishes the
 * chosen camera and microphone, the receiver subscribes to them, and what arrives is measured
 * from the receiver's WebRTC stats (inbound-rtp: decoded frames, frame size, frame rate, audio
 * level).
 *
 * Round trip: the `currentRoundTripTime` of the selected ICE candidate pair (STUN consent
 * checks, no media needed) on both legs — sender ↔ SFU and SFU ↔ receiver — added up, which
 * is the network part of the time your voice takes to come back. livekit-client is loaded on
 * demand (`deps.loadClient`). The verdict is given after ECHO_MEASURE_MS; the figures stay
 * live until `stop()`.
 */
import type { Room, RemoteTrack } from "livekit-client";
import type { EchoTokens } from "$shared/call-links";
import { Core } from "$lib/realtime/core";

type LiveKit = typeof import("livekit-client");

export interface EchoFigures {
  /** Video frames decoded by the receiver so far. */
  frames: number;
  width: number;
  height: number;
  fps: number;
  /** Received audio level 0..1 (inbound-rtp audioLevel, or from the energy between two reads). */
  audioLevel: number;
  /** ms, both legs added; null until measured. */
  rttMs: number | null;
  sendRttMs: number | null;
  receiveRttMs: number | null;
}

export type EchoVerdict = "ok" | "no_video" | "no_audio" | "failed";

export interface EchoState {
  phase: "idle" | "connecting" | "measuring" | "done";
  figures: EchoFigures;
  verdict: EchoVerdict | null;
  /** Why it failed: an API error code, "connect_failed" or a getUserMedia error name. */
  error: string | null;
  /** The video as it came back through the server, for the page to show. */
  received: MediaStreamTrack | null;
}

export interface EchoDeps {
  loadClient(): Promise<LiveKit>;
  tokens(): Promise<EchoTokens>;
  /** Chosen devices ("" = default). */
  devices(): { audioInput: string; videoInput: string };
  /** Where the received audio plays (silently): Chromium reports its level only while it plays. */
  audioHost?(): HTMLElement;
}

const NO_FIGURES: EchoFigures = { frames: 0, width: 0, height: 0, fps: 0, audioLevel: 0, rttMs: null, sendRttMs: null, receiveRttMs: null };
const IDLE: EchoState = { phase: "idle", figures: NO_FIGURES, verdict: null, error: null, received: null };

/**
 * The received sound plays at this volume, hidden: Chromium decodes and measures a remote
 * track's audio (inbound-rtp audioLevel, totalAudioEnergy) only while it plays, after applying
 * the element's volume — at 0 it reports silence. −34 dB is inaudible next to the room; the
 * level shown is scaled back up by it.
 */
export const ECHO_PLAYBACK_VOLUME = 0.02;

/** How long the measurement runs, ms. */
export const ECHO_MEASURE_MS = 8000;
const SAMPLE_MS = 500;

/** The figures an RTCStatsReport holds: the receiver's inbound video and audio. */
export function readInbound(report: Iterable<RTCStats & Record<string, unknown>>, previous?: { energy: number; duration: number }): {
  frames?: number;
  width?: number;
  height?: number;
  fps?: number;
  audioLevel?: number;
  energy?: { energy: number; duration: number };
  rtt?: number;
} {
  const out: ReturnType<typeof readInbound> = {};
  for (const s of report) {
    const kind = s.kind ?? s.mediaType;
    if (s.type === "inbound-rtp" && kind === "video") {
      if (typeof s.framesDecoded === "number") out.frames = s.framesDecoded;
      if (typeof s.frameWidth === "number") out.width = s.frameWidth;
      if (typeof s.frameHeight === "number") out.height = s.frameHeight;
      if (typeof s.framesPerSecond === "number") out.fps = s.framesPerSecond;
    } else if (s.type === "inbound-rtp" && kind === "audio") {
      if (typeof s.audioLevel === "number") out.audioLevel = s.audioLevel;
      if (typeof s.totalAudioEnergy === "number" && typeof s.totalSamplesDuration === "number") {
        out.energy = { energy: s.totalAudioEnergy, duration: s.totalSamplesDuration };
        if (previous && out.energy.duration > previous.duration) {
          // totalAudioEnergy sums level² × seconds: the mean level between the two reads.
          const level = Math.sqrt(Math.max(0, out.energy.energy - previous.energy) / (out.energy.duration - previous.duration));
          out.audioLevel = Math.max(out.audioLevel ?? 0, Math.min(1, level));
        }
      }
    }
  }
  out.rtt = selectedRtt(report);
  return out;
}

/** The selected candidate pair's currentRoundTripTime, seconds. */
export function selectedRtt(report: Iterable<RTCStats & Record<string, unknown>>): number | undefined {
  let best: number | undefined;
  for (const s of report) {
    if (s.type !== "candidate-pair" || typeof s.currentRoundTripTime !== "number") continue;
    if (s.nominated === true || s.selected === true || s.state === "succeeded") best = s.currentRoundTripTime;
  }
  return best;
}

/** A plain verdict from the figures. */
export function verdictOf(f: EchoFigures): EchoVerdict {
  if (f.frames <= 0) return "no_video";
  if (f.audioLevel <= 0) return "no_audio";
  return "ok";
}

export class EchoTest extends Core<EchoState> {
  readonly #deps: EchoDeps;
  #rooms: Room[] = [];
  #timers: ReturnType<typeof setInterval>[] = [];
  #audioEls: HTMLMediaElement[] = [];
  #epoch = 0;

  constructor(deps: EchoDeps) {
    super(IDLE);
    this.#deps = deps;
  }

  /** Runs the echo test: connect, publish, receive, measure for ECHO_MEASURE_MS, then a verdict. */
  async run(): Promise<void> {
    const epoch = ++this.#epoch;
    await this.#cleanup();
    this.update({ ...IDLE, phase: "connecting" });
    let lk: LiveKit;
    let tokens: EchoTokens;
    try {
      [lk, tokens] = await Promise.all([this.#deps.loadClient(), this.#deps.tokens()]);
    } catch (err) {
      if (epoch === this.#epoch) this.#fail(errorCode(err));
      return;
    }
    if (epoch !== this.#epoch) return;
    const sender = new lk.Room({ adaptiveStream: false, dynacast: false });
    const receiver = new lk.Room({ adaptiveStream: false, dynacast: false });
    this.#rooms = [sender, receiver];
    let video: RemoteTrack | null = null;
    let audio: RemoteTrack | null = null;
    receiver.on(lk.RoomEvent.TrackSubscribed, (track) => {
      if (epoch !== this.#epoch) return;
      if (track.kind === lk.Track.Kind.Video) {
        video = track;
        this.update({ ...this.state, received: track.mediaStreamTrack });
      } else if (track.kind === lk.Track.Kind.Audio) {
        audio = track;
        const el = track.attach();
        el.volume = ECHO_PLAYBACK_VOLUME;
        el.hidden = true;
        (this.#deps.audioHost?.() ?? document.body).append(el);
        this.#audioEls.push(el);
      }
    });
    try {
      await Promise.all([sender.connect(tokens.url, tokens.sender, { autoSubscribe: false }), receiver.connect(tokens.url, tokens.receiver, { autoSubscribe: true })]);
      if (epoch !== this.#epoch) return;
      const { audioInput, videoInput } = this.#deps.devices();
      const tracks = await lk.createLocalTracks({
        audio: { ...(audioInput ? { deviceId: { exact: audioInput } } : {}), echoCancellation: false, noiseSuppression: false, autoGainControl: false },
        video: { ...(videoInput ? { deviceId: { exact: videoInput } } : {}), resolution: lk.VideoPresets.h720.resolution },
      });
      if (epoch !== this.#epoch) {
        for (const t of tracks) t.stop();
        return;
      }
      for (const t of tracks) await sender.localParticipant.publishTrack(t, { simulcast: false });
    } catch (err) {
      if (epoch === this.#epoch) {
        await this.#cleanup();
        this.#fail(err instanceof Error && /^(NotAllowed|NotFound|NotReadable|Overconstrained)Error$/.test(err.name) ? err.name : "connect_failed");
      }
      return;
    }
    if (epoch !== this.#epoch) return;
    this.update({ ...this.state, phase: "measuring" });
    const started = Date.now();
    let energy: { energy: number; duration: number } | undefined;
    let peak = 0;
    const sample = async () => {
      const [vReport, aReport, sendReport] = await Promise.all([
        (video as RemoteTrack | null)?.getRTCStatsReport(),
        (audio as RemoteTrack | null)?.getRTCStatsReport(),
        sender.localParticipant.getTrackPublications()[0]?.track?.getRTCStatsReport(),
      ]).catch(() => [undefined, undefined, undefined] as const);
      if (epoch !== this.#epoch) return;
      const v = vReport ? readInbound(vReport.values() as Iterable<RTCStats & Record<string, unknown>>) : {};
      const a = aReport ? readInbound(aReport.values() as Iterable<RTCStats & Record<string, unknown>>, energy) : {};
      if (a.energy) energy = a.energy;
      const sendRtt = sendReport ? selectedRtt(sendReport.values() as Iterable<RTCStats & Record<string, unknown>>) : undefined;
      const recvRtt = v.rtt ?? a.rtt;
      const f = this.state.figures;
      peak = Math.max(peak, Math.min(1, (a.audioLevel ?? 0) / ECHO_PLAYBACK_VOLUME));
      const sendRttMs = sendRtt !== undefined ? Math.round(sendRtt * 1000) : f.sendRttMs;
      const receiveRttMs = recvRtt !== undefined ? Math.round(recvRtt * 1000) : f.receiveRttMs;
      const figures: EchoFigures = {
        frames: v.frames ?? f.frames,
        width: v.width ?? f.width,
        height: v.height ?? f.height,
        fps: Math.round(v.fps ?? f.fps),
        audioLevel: Math.round(Math.max(peak, f.audioLevel) * 1000) / 1000,
        sendRttMs,
        receiveRttMs,
        rttMs: sendRttMs !== null && receiveRttMs !== null ? sendRttMs + receiveRttMs : (sendRttMs ?? receiveRttMs),
      };
      // After the measuring time the verdict stands; the figures stay live until `stop()`.
      const finished = this.state.phase === "done" || Date.now() - started >= ECHO_MEASURE_MS;
      this.update({ ...this.state, figures, ...(finished ? { phase: "done" as const, verdict: verdictOf(figures) } : {}) });
    };
    this.#timers.push(setInterval(() => void sample(), SAMPLE_MS));
  }

  /** Stops a running test and leaves the rooms (the last figures and verdict stay). */
  async stop(): Promise<void> {
    this.#epoch++;
    await this.#cleanup();
    if (this.state.phase !== "done") this.update(IDLE);
  }

  get running(): boolean {
    return this.#rooms.length > 0;
  }

  #fail(error: string): void {
    this.update({ ...IDLE, phase: "done", verdict: "failed", error });
  }

  async #cleanup(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    for (const el of this.#audioEls) el.remove();
    this.#audioEls = [];
    const rooms = this.#rooms;
    this.#rooms = [];
    for (const r of rooms) for (const p of r.localParticipant.getTrackPublications()) p.track?.stop();
    await Promise.all(rooms.map((r) => r.disconnect().catch(() => {})));
    if (this.state.received) this.update({ ...this.state, received: null });
  }
}

function errorCode(err: unknown): string {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string" ? err.code : "connect_failed";
}
