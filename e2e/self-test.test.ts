/**
 * The device self-test (/test, docs/call-links.md) in real Chromium with fake devices, without
 * an account, against the running product and a real livekit-server: the camera preview plays,
 * the microphone meter moves, and the echo test — the page's camera and microphone sent to a
 * throwaway room on the SFU and received back — reports a received video frame with its
 * resolution and an audio level above zero. What the page reports is checked against what its
 * peer connections actually received (inbound RTP stats).
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ECHO_TOKEN_TTL_SECONDS, type EchoTokens } from "../workers/shared/call-links";
import { inbound } from "./media-probes";
import { guest, jwtPayload, launchWithVoice, meterLevel, selfTest, shot, videoAdvances, videoFrames, type Guest } from "./call-link-fixtures";

const base = inject("baseUrl");

let browser: Browser;
let close = async () => {};
let anon: Guest;

beforeAll(async () => {
  ({ browser, close } = await launchWithVoice());
  anon = await guest(browser, base, "nobody");
});

afterAll(async () => {
  await close();
});

describe("the self-test", () => {
  it("works without an account: preview, meter, and the echo through the SFU receives video and sound", async () => {
    expect((await anon.fetch("GET", "/api/me")).status).toBe(401); // really nobody
    await anon.page.goto(`${base}/test`);
    expect(new URL(anon.page.url()).pathname).toBe("/test"); // not sent to the login page
    const t = selfTest(anon.page);
    await t.root.waitFor({ timeout: 15_000 });

    // The camera preview plays: frames keep coming.
    await t.preview.waitFor({ timeout: 15_000 });
    await expect.poll(() => videoAdvances(t.preview), { timeout: 20_000 }).toBe(true);
    expect((await videoFrames(t.preview)).width).toBeGreaterThan(0);

    // The microphone meter moves with the fake microphone's speech-like sound.
    await t.meter.waitFor({ timeout: 15_000 });
    await expect.poll(() => meterLevel(t.meter), { timeout: 15_000 }).toBeGreaterThan(0);

    // The echo test through the SFU.
    await t.echoStart.click();
    await t.echoResult.waitFor({ timeout: 30_000 });
    await expect.poll(async () => Number(await t.echoResult.getAttribute("data-frames")), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(async () => Number(await t.echoResult.getAttribute("data-audio-level")), { timeout: 30_000 }).toBeGreaterThan(0);
    const width = Number(await t.echoResult.getAttribute("data-width"));
    const height = Number(await t.echoResult.getAttribute("data-height"));
    expect(width).toBeGreaterThan(0);
    expect(height).toBeGreaterThan(0);
    expect(await t.echoResult.textContent()).toContain(`${width}×${height}`);
    await expect.poll(() => t.echoResult.getAttribute("data-verdict"), { timeout: 30_000 }).toBe("ok");
    expect(await anon.page.getByTestId("self-test-verdict").textContent()).toContain("Camera and microphone work through the server");

    // What the page shows is what came back over the wire.
    const got = await inbound(anon.page);
    expect(got.videoFrames).toBeGreaterThan(0);
    expect(got.videoWidth).toBeGreaterThan(0);
    expect(got.audioSamples).toBeGreaterThan(0);
    expect(got.audioEnergy).toBeGreaterThan(0);

    // The preview keeps playing beside the echo.
    await expect.poll(() => videoAdvances(t.preview), { timeout: 10_000 }).toBe(true);
    await shot(anon.page, "e2e-call-self-test.png", { fullPage: true });
  });

  it("the echo tokens are for a throwaway room of their own, and only for it", async () => {
    const a = await anon.fetch<EchoTokens>("POST", "/api/self-test/echo");
    expect(a.status).toBe(200);
    expect(a.body.room).toMatch(/^echo-/);
    const b = await anon.fetch<EchoTokens>("POST", "/api/self-test/echo");
    expect(b.body.room).not.toBe(a.body.room);
    const sender = jwtPayload(a.body.sender);
    const receiver = jwtPayload(a.body.receiver);
    for (const claims of [sender, receiver]) {
      expect(claims.video?.room).toBe(a.body.room);
      expect(claims.video?.roomJoin).toBe(true);
      for (const power of ["roomAdmin", "roomCreate", "roomList", "roomRecord"]) expect(claims.video?.[power] ?? false).toBe(false);
      expect(claims.exp! - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(ECHO_TOKEN_TTL_SECONDS);
    }
    // The sender only sends, the receiver only receives.
    expect(sender.video?.canSubscribe ?? true).toBe(false); // LiveKit takes a missing grant as allowed
    expect(receiver.video?.canPublish ?? true).toBe(false);
    expect(sender.sub).not.toBe(receiver.sub);
  });
});
