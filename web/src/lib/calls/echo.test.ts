/** The echo test's arithmetic: what an inbound stats report says, the round trip, the verdict. */
import { describe, expect, it } from "vitest";
import { readInbound, selectedRtt, verdictOf } from "./echo";

type S = RTCStats & Record<string, unknown>;
const stat = (o: Record<string, unknown>) => o as S;

describe("readInbound", () => {
  it("reads decoded frames, size and rate of the video, and the audio level", () => {
    const r = readInbound([
      stat({ type: "inbound-rtp", kind: "video", framesDecoded: 42, frameWidth: 1280, frameHeight: 720, framesPerSecond: 29.7 }),
      stat({ type: "inbound-rtp", kind: "audio", audioLevel: 0.12 }),
      stat({ type: "candidate-pair", nominated: true, state: "succeeded", currentRoundTripTime: 0.004 }),
    ]);
    expect(r).toMatchObject({ frames: 42, width: 1280, height: 720, fps: 29.7, audioLevel: 0.12, rtt: 0.004 });
  });

  it("works out the level from the audio energy between two reads", () => {
    const first = readInbound([stat({ type: "inbound-rtp", kind: "audio", totalAudioEnergy: 1, totalSamplesDuration: 10 })]);
    // 0.25² × 2 s more energy over 2 s: a mean level of 0.25.
    const second = readInbound([stat({ type: "inbound-rtp", kind: "audio", totalAudioEnergy: 1 + 0.0625 * 2, totalSamplesDuration: 12 })], first.energy);
    expect(second.audioLevel).toBeCloseTo(0.25, 5);
  });

  it("ignores outbound and unrelated stats", () => {
    expect(readInbound([stat({ type: "outbound-rtp", kind: "video", framesEncoded: 9 })])).toEqual({ rtt: undefined });
  });
});

describe("selectedRtt", () => {
  it("takes the selected pair's round trip, not a failed candidate's", () => {
    expect(
      selectedRtt([
        stat({ type: "candidate-pair", state: "failed", currentRoundTripTime: 9 }),
        stat({ type: "candidate-pair", state: "succeeded", nominated: true, currentRoundTripTime: 0.02 }),
      ]),
    ).toBe(0.02);
    expect(selectedRtt([])).toBeUndefined();
  });
});

describe("verdictOf", () => {
  const base = { frames: 0, width: 0, height: 0, fps: 0, audioLevel: 0, rttMs: null, sendRttMs: null, receiveRttMs: null };
  it("ok only with video frames and sound", () => {
    expect(verdictOf(base)).toBe("no_video");
    expect(verdictOf({ ...base, frames: 3 })).toBe("no_audio");
    expect(verdictOf({ ...base, frames: 3, audioLevel: 0.01 })).toBe("ok");
  });
});
