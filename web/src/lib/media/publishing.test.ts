/**
 * The pure rules of local publishing in Node: when the microphone sends (mute, deafen,
 * push-to-talk), the microphone's capture settings, and falling back to the default device
 * when the chosen one is unplugged.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_PREFS } from "./prefs";
import { captureOptions, chosenDevices, micOpen } from "./publishing";

describe("micOpen", () => {
  const base = { selfMute: false, selfDeaf: false, pushToTalk: false, talking: false };

  it("voice activity: open unless muted or deafened", () => {
    expect(micOpen(base)).toBe(true);
    expect(micOpen({ ...base, selfMute: true })).toBe(false);
    expect(micOpen({ ...base, selfDeaf: true })).toBe(false);
  });

  it("push-to-talk: open only while the key is held, and never when muted or deafened", () => {
    const ptt = { ...base, pushToTalk: true };
    expect(micOpen(ptt)).toBe(false);
    expect(micOpen({ ...ptt, talking: true })).toBe(true);
    expect(micOpen({ ...ptt, talking: true, selfMute: true })).toBe(false);
    expect(micOpen({ ...ptt, talking: true, selfDeaf: true })).toBe(false);
  });
});

describe("captureOptions", () => {
  it("carries the audio processing, and the device only when one is chosen", () => {
    expect(captureOptions({ ...DEFAULT_PREFS, noiseSuppression: false })).toEqual({ noiseSuppression: false, echoCancellation: true, autoGainControl: true });
    expect(captureOptions({ ...DEFAULT_PREFS, audioInput: "mic-2" })).toEqual({
      noiseSuppression: true,
      echoCancellation: true,
      autoGainControl: true,
      deviceId: "mic-2",
    });
  });
});

describe("chosenDevices", () => {
  const prefs = { ...DEFAULT_PREFS, audioInput: "mic-2", audioOutput: "spk-2", videoInput: "cam-2" };
  const dev = (deviceId: string) => ({ deviceId, label: deviceId });

  it("keeps devices that are still there and falls back to the default for the others", () => {
    const now = chosenDevices(prefs, { audioinput: [dev("mic-1"), dev("mic-2")], audiooutput: [dev("spk-1")], videoinput: [] });
    expect([now.audioInput, now.audioOutput, now.videoInput]).toEqual(["mic-2", "", ""]);
    expect(now.noiseSuppression).toBe(prefs.noiseSuppression);
  });

  it("without device lists the choices stand", () => {
    expect(chosenDevices(prefs)).toBe(prefs);
  });
});
