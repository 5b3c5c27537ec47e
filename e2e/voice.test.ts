/**
 * The call UI in real Chromium with fake devices against the running product and a real
 * livekit-server (started by the global setup): two members join a voice channel through
 * the channel page and hear and see each other; mute, deafen, a moderator's server mute,
 * screen share, the call bar while browsing, a third member's view of the channel list, a
 * 5 s network cut, when livekit-client is loaded (idle preload only where there are voice
 * channels), and the "voice is not configured" answer.
 *
 * Audio is checked as energy at the receiver (a WebAudio AnalyserNode on the remote track's
 * <audio> element stream), video as decoded frames. The fake microphone plays a speech-like
 * WAV made here (Chromium's own beep is too short for LiveKit's speaker detection).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page, type WebSocketRoute } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { voiceLike, writeWav } from "../bench/voice/wav.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "./browser";
import { person as newPerson, remoteEnergy, type Person } from "./voice-people";

const base = inject("baseUrl");
const SHOTS = process.env.VOICE_SHOTS_DIR ?? "";


let browser: Browser;
let tmp = "";

/** A registered user with a browser context of their own. */
const person = (prefix: string) => newPerson(browser, base, prefix);


const SOUND = 0.02;
const SILENCE = 0.002;

/** Waits for a video element under `selector` to present a new frame; its frame count and size. */
async function decodedFrames(page: Page, selector: string): Promise<{ frames: number; width: number; height: number }> {
  return page.evaluate(async (sel) => {
    const v = document.querySelector<HTMLVideoElement>(`${sel} video`);
    if (!v) return { frames: 0, width: 0, height: 0 };
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 3000);
      v.requestVideoFrameCallback(() => {
        clearTimeout(t);
        resolve();
      });
    });
    return { frames: v.getVideoPlaybackQuality().totalVideoFrames, width: v.videoWidth, height: v.videoHeight };
  }, selector);
}

async function shot(page: Page, name: string): Promise<void> {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, name) });
}

/** Script files (same origin) the page has loaded so far. */
async function loadedScripts(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .map((e) => new URL(e.name).pathname)
      .filter((p) => p.endsWith(".js")),
  );
}

/** The built client's Vite manifest (the global setup has just built the web app). */
function manifest(): Record<string, { file: string; isEntry?: boolean; isDynamicEntry?: boolean; imports?: string[]; dynamicImports?: string[] }> {
  return JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../web/.svelte-kit/output/client/.vite/manifest.json"), "utf8"));
}

/** A button of the call stage's controls (the call bar has the same ones). */
function control(p: Person, name: string) {
  return p.page.locator(`[data-call-stage] [data-control="${name}"]`);
}

const REMOTE = "[data-tile]:not([data-local])";
const remoteCamera = `${REMOTE}[data-source="camera"]`;

let alice: Person; // owner, joins
let bob: Person; // member, joins
let carol: Person; // member, does not join
let communityId = "";
let voiceId = "";
let textId = "";
/** Bob's signalling sockets to LiveKit (routed through Playwright so the test can cut them). */
let bobOffline = false;
const bobSockets = new Set<WebSocketRoute>();

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "woxly-voice-e2e-"));
  const wav = writeWav(path.join(tmp, "voice.wav"), voiceLike());
  browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, `--use-file-for-fake-audio-capture=${wav}`] });
  [alice, bob, carol] = await Promise.all([person("valice"), person("vbob"), person("vcarol")]);
  const created = await alice.api<{ community: { id: string }; channels: { id: string; kind: string }[] }>("POST", "/api/communities", { name: "Voice UI e2e" });
  communityId = created.community.id;
  voiceId = created.channels.find((c) => c.kind === "voice")!.id;
  textId = created.channels.find((c) => c.kind === "text")!.id;
  const { invite } = await alice.api<{ invite: { code: string } }>("POST", `/api/communities/${communityId}/invites`, {});
  await bob.api("POST", `/api/invites/${invite.code}/redeem`);
  await carol.api("POST", `/api/invites/${invite.code}/redeem`);
  // `context.setOffline` does not touch loopback WebRTC or open sockets; closing bob's
  // signalling sockets while "offline" (and refusing new ones) makes the cut real for the call.
  await bob.context.routeWebSocket(/\/rtc(\/|\?|$)/, (ws) => {
    if (bobOffline) {
      ws.close({ code: 1011, reason: "offline" });
      return;
    }
    bobSockets.add(ws);
    ws.connectToServer();
    ws.onClose(() => bobSockets.delete(ws));
  });
});

afterAll(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("voice calls in the browser", () => {
  it("livekit-client is not in the app's static chunks; preloaded only in a community with voice channels, after its first messages", async () => {
    const m = manifest();
    const lk = Object.entries(m).find(([k]) => k.includes("node_modules/livekit-client/"));
    expect(lk, "livekit-client has a chunk of its own").toBeDefined();
    const lkFile = lk![1].file;
    expect(lk![1].isDynamicEntry).toBe(true);
    // Nothing an entry or a route imports statically reaches it.
    const seen = new Set<string>();
    const walk = (key: string) => {
      if (seen.has(key)) return;
      seen.add(key);
      for (const i of m[key]?.imports ?? []) walk(i);
    };
    for (const [k, v] of Object.entries(m)) if (v.isEntry) walk(k);
    expect([...seen].map((k) => m[k]!.file)).not.toContain(lkFile);
    const lkLoaded = async () => (await loadedScripts(alice.page)).some((p) => p.endsWith(lkFile));
    const composer = alice.page.getByRole("combobox", { name: /^Message #/ });
    const send = async (text: string) => {
      await composer.click();
      await composer.fill(text);
      await composer.press("Enter");
      await expect.poll(() => composer.inputValue()).toBe("");
      // Acknowledged by the room (it has its seq) before the test reloads the page.
      const row = alice.page.locator("article.message", { hasText: text }).last();
      await expect.poll(async () => (await row.getAttribute("data-seq")) !== null, { timeout: 15_000 }).toBe(true);
    };

    // A community without voice channels: browsing (and chatting) never loads it.
    const plain = await alice.api<{ community: { id: string }; channels: { id: string; kind: string }[] }>("POST", "/api/communities", { name: "No voice e2e" });
    for (const c of plain.channels.filter((c) => c.kind === "voice")) await alice.api("DELETE", `/api/channels/${c.id}`);
    const plainText = plain.channels.find((c) => c.kind === "text")!.id;
    await alice.page.goto(`${base}/c/${plain.community.id}/${plainText}`);
    await send("no calls here");
    await alice.page.goto(`${base}/c/${plain.community.id}/${plainText}`);
    await alice.page.locator("article.message", { hasText: "no calls here" }).waitFor();
    await alice.page.waitForTimeout(3000);
    expect(await lkLoaded()).toBe(false);

    // A community with voice channels: loaded once the channel's first messages are shown, not
    // before. The page stamps when the first message appears and the browser when the chunk's
    // request started (checking "not loaded yet" right after the message shows would race the
    // idle preload, which may run before the test's next step).
    await alice.page.addInitScript(() => {
      const w = window as unknown as { __firstMessageAt?: number };
      new MutationObserver((_, obs) => {
        if (!document.querySelector("article.message")) return;
        w.__firstMessageAt = performance.now();
        obs.disconnect();
      }).observe(document, { childList: true, subtree: true });
    });
    await alice.page.goto(`${base}/c/${communityId}/${textId}`);
    await send("the call is next door");
    await alice.page.goto(`${base}/c/${communityId}/${textId}`);
    await alice.page.locator("article.message", { hasText: "the call is next door" }).waitFor();
    const lkStartedAt = () =>
      alice.page.evaluate((file) => performance.getEntriesByType("resource").find((e) => new URL(e.name).pathname.endsWith(file))?.startTime ?? null, lkFile);
    await expect.poll(lkStartedAt, { timeout: 15_000 }).not.toBeNull();
    const firstMessageAt = await alice.page.evaluate(() => (window as unknown as { __firstMessageAt?: number }).__firstMessageAt ?? null);
    expect(firstMessageAt).not.toBeNull();
    expect(await lkStartedAt()).toBeGreaterThanOrEqual(firstMessageAt!);

    // …and joining works.
    await alice.page.getByRole("link", { name: /General \(voice channel\)/ }).click();
    await alice.page.click("[data-voice-join]");
    await alice.page.locator('[data-call-stage][data-phase="connected"]').waitFor({ timeout: 20_000 });
    expect(await lkLoaded()).toBe(true);
  });

  it("two members hear and see each other", async () => {
    await bob.page.goto(`${base}/c/${communityId}/${voiceId}`);
    await bob.page.click("[data-voice-join]");
    await bob.page.locator('[data-call-stage][data-phase="connected"]').waitFor({ timeout: 20_000 });
    for (const p of [alice, bob]) await p.page.locator(REMOTE).first().waitFor({ timeout: 15_000 });

    // Audio both ways: energy above silence on the remote track.
    await expect.poll(() => remoteEnergy(alice.page), { timeout: 15_000 }).toBeGreaterThan(SOUND);
    await expect.poll(() => remoteEnergy(bob.page), { timeout: 15_000 }).toBeGreaterThan(SOUND);

    // Video both ways: cameras on, frames decoded at the other side.
    await control(alice, "camera").click();
    await control(bob, "camera").click();
    for (const p of [alice, bob]) {
      await expect.poll(async () => (await decodedFrames(p.page, remoteCamera)).frames, { timeout: 20_000 }).toBeGreaterThan(0);
      const f = await decodedFrames(p.page, remoteCamera);
      expect(f.width).toBeGreaterThan(0);
      expect(f.height).toBeGreaterThan(0);
    }
    // The published camera is 720p.
    expect(Number(await alice.page.locator(remoteCamera).getAttribute("data-published-height"))).toBe(720);
    await alice.page.waitForTimeout(500);
    await shot(alice.page, "call-two-cameras.png");
  });

  it("mute silences the microphone at the other side and shows the mute icon", async () => {
    await control(bob, "mute").click();
    await expect.poll(() => remoteEnergy(alice.page, 1200), { timeout: 10_000 }).toBeLessThan(SILENCE);
    await alice.page.locator(`${remoteCamera}[data-muted] [data-icon="micOff"]`).waitFor({ timeout: 5000 });
    expect(await control(bob, "mute").getAttribute("aria-pressed")).toBe("true");

    await control(bob, "mute").click();
    await expect.poll(() => remoteEnergy(alice.page), { timeout: 10_000 }).toBeGreaterThan(SOUND);
    await alice.page.locator(`${remoteCamera}:not([data-muted])`).waitFor({ timeout: 5000 });
  });

  it("deafen stops incoming audio and the member's own microphone", async () => {
    await control(alice, "deafen").click();
    // Alice hears nothing…
    await expect.poll(() => remoteEnergy(alice.page, 1200), { timeout: 10_000 }).toBeLessThan(SILENCE);
    // …and says nothing.
    await expect.poll(() => remoteEnergy(bob.page, 1200), { timeout: 10_000 }).toBeLessThan(SILENCE);
    await bob.page.locator(`${remoteCamera}[data-muted]`).waitFor({ timeout: 5000 });

    await control(alice, "deafen").click();
    await expect.poll(() => remoteEnergy(alice.page), { timeout: 10_000 }).toBeGreaterThan(SOUND);
    await expect.poll(() => remoteEnergy(bob.page), { timeout: 10_000 }).toBeGreaterThan(SOUND);
  });

  it("a moderator's server mute from the tile menu silences the member until lifted", async () => {
    const menu = async (item: RegExp) => {
      await alice.page.locator(`${remoteCamera} button[aria-haspopup="menu"]`).click();
      await alice.page.getByRole("menuitem", { name: item }).click();
    };
    await menu(/^Server mute$/);
    await expect.poll(() => remoteEnergy(alice.page, 1200), { timeout: 10_000 }).toBeLessThan(SILENCE);
    await alice.page.locator(`${remoteCamera}[data-muted]`).waitFor({ timeout: 5000 });
    // Bob's own controls say why.
    await expect.poll(() => control(bob, "mute").getAttribute("aria-label"), { timeout: 5000 }).toBe("You may not speak here");

    await menu(/^Lift server mute$/);
    // LiveKit gives the microphone back; bob's client publishes it again by itself.
    await expect.poll(() => remoteEnergy(alice.page), { timeout: 15_000 }).toBeGreaterThan(SOUND);
  });

  it("a screen share arrives as a screen-share track of the published size, in focus", async () => {
    // Cameras off: two 720p encoders on a shared 2-core machine would make the sender drop the
    // 1080p layer for CPU, which is the encoder's choice, not what this checks.
    await control(alice, "camera").click();
    await control(bob, "camera").click();
    // The camera is unpublished, so the channel list (webhooks → hub) stops showing it.
    await expect.poll(() => alice.page.locator(`[data-voice-user="${bob.id}"] [data-icon="video"]`).count(), { timeout: 10_000 }).toBe(0);
    await control(bob, "screen").click();
    const local = bob.page.locator('[data-tile][data-local][data-source="screen_share"]');
    await local.waitFor({ timeout: 15_000 });
    await expect.poll(async () => Number(await local.getAttribute("data-published-width")), { timeout: 10_000 }).toBeGreaterThan(0);
    const published = { w: Number(await local.getAttribute("data-published-width")), h: Number(await local.getAttribute("data-published-height")) };

    const remote = `${REMOTE}[data-source="screen_share"]`;
    await alice.page.locator(remote).waitFor({ timeout: 15_000 });
    expect(Number(await alice.page.locator(remote).getAttribute("data-published-width"))).toBe(published.w);
    expect(Number(await alice.page.locator(remote).getAttribute("data-published-height"))).toBe(published.h);
    // Shown large (focus view) and decoding.
    await alice.page.locator(`.focus-main ${remote}`).waitFor();
    await expect.poll(async () => (await decodedFrames(alice.page, remote)).frames, { timeout: 20_000 }).toBeGreaterThan(0);
    // Full screen on a 1080p display: adaptive stream asks for the top layer, and the frames
    // received have the published size.
    await alice.page.setViewportSize({ width: 1920, height: 1080 });
    await alice.page.click('[data-stage="fullscreen"]');
    try {
      await expect
        .poll(async () => {
          const f = await decodedFrames(alice.page, remote);
          return `${f.width}x${f.height}`;
        }, { timeout: 30_000 })
        .toBe(`${published.w}x${published.h}`);
    } finally {
      await alice.page.evaluate(() => document.fullscreenElement && document.exitFullscreen());
      await alice.page.setViewportSize({ width: 1280, height: 800 });
    }
    await alice.page.waitForTimeout(500);
    await shot(alice.page, "call-screen-share-focus.png");

    await alice.page.locator(`[data-voice-user="${bob.id}"]`).getByText("LIVE").waitFor({ timeout: 10_000 });
    await control(bob, "screen").click();
    await alice.page.locator(remote).waitFor({ state: "detached", timeout: 10_000 });
    await control(bob, "camera").click();
  });

  it("a member who did not join sees both in the channel list, speaking rings show for who talks", async () => {
    await carol.page.goto(`${base}/c/${communityId}/${textId}`);
    const list = carol.page.getByRole("list", { name: /In General/ });
    await list.locator(`[data-voice-user="${alice.id}"]`).waitFor({ timeout: 15_000 });
    await list.locator(`[data-voice-user="${bob.id}"]`).waitFor({ timeout: 15_000 });
    // Alice, in the call, sees bob's beeps as a speaking ring in her sidebar.
    await alice.page.locator(`[data-voice-user="${bob.id}"][data-speaking]`).waitFor({ timeout: 15_000 });
    // Self mute and deafen reach everyone's sidebar through the hub (`voice.set`), and go again.
    await alice.page.click('[data-control="mute"]');
    await list.locator(`[data-voice-user="${alice.id}"][data-muted]`).waitFor({ timeout: 5_000 });
    await alice.page.click('[data-control="deafen"]');
    await list.locator(`[data-voice-user="${alice.id}"][data-deafened]`).waitFor({ timeout: 5_000 });
    await alice.page.click('[data-control="deafen"]');
    await alice.page.click('[data-control="mute"]');
    await list.locator(`[data-voice-user="${alice.id}"]:not([data-muted]):not([data-deafened])`).waitFor({ timeout: 5_000 });
  });

  it("the call bar stays while browsing other channels, and the call goes on", async () => {
    await alice.page.getByRole("link", { name: /^general/ }).click();
    await alice.page.locator('[data-call-bar][data-phase="connected"]').waitFor();
    expect(await alice.page.locator("[data-call-stage]").count()).toBe(0);
    await expect.poll(() => remoteEnergy(alice.page), { timeout: 10_000 }).toBeGreaterThan(SOUND);
    await shot(alice.page, "call-bar-browsing.png");
    await alice.page.locator("[data-call-bar] a").click();
    await alice.page.locator('[data-call-stage][data-phase="connected"]').waitFor();
  });

  it("a 5 s network cut: 'Reconnecting…' shows and the call comes back by itself", async () => {
    const phases = new Set<string>();
    bobOffline = true;
    await bob.context.setOffline(true);
    for (const ws of bobSockets) await ws.close({ code: 1011, reason: "offline" });
    const t0 = Date.now();
    while (Date.now() - t0 < 5000) {
      phases.add((await bob.page.locator("[data-call-stage]").getAttribute("data-phase")) ?? "");
      await bob.page.waitForTimeout(200);
    }
    await bob.page.locator("[data-reconnecting]").waitFor({ timeout: 1000 });
    await shot(bob.page, "call-reconnecting.png");
    bobOffline = false;
    await bob.context.setOffline(false);
    const back = Date.now();
    await bob.page.locator('[data-call-stage][data-phase="connected"]').waitFor({ timeout: 30_000 });
    console.log(`back in the call ${Date.now() - back} ms after the network returned`);
    expect(phases).toContain("reconnecting");
    await expect.poll(() => remoteEnergy(alice.page), { timeout: 15_000 }).toBeGreaterThan(SOUND);
    await expect.poll(() => remoteEnergy(bob.page), { timeout: 15_000 }).toBeGreaterThan(SOUND);
    // The camera came back too.
    await expect.poll(async () => (await decodedFrames(alice.page, remoteCamera)).frames, { timeout: 20_000 }).toBeGreaterThan(0);
  });

  it("leaving ends the call; without LiveKit the page says voice is not configured", async () => {
    await control(bob, "leave").click();
    await bob.page.locator("[data-voice-join]").waitFor();
    await expect.poll(() => alice.page.locator("[data-tile]").count(), { timeout: 10_000 }).toBe(1);
    await control(alice, "leave").click();
    await expect.poll(() => alice.page.locator("[data-call-bar]").count(), { timeout: 5000 }).toBe(0);

    // The token route's answer when the server has no LiveKit (docs/voice.md).
    await carol.page.route("**/voice/token", (route) =>
      route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ error: { code: "unavailable", message: "Voice is not configured on this server." } }) }),
    );
    await carol.page.goto(`${base}/c/${communityId}/${voiceId}`);
    await carol.page.click("[data-voice-join]");
    const err = carol.page.locator('[data-call-error="unavailable"]');
    await err.waitFor();
    expect(await err.textContent()).toContain("Voice is not configured on this server");
  });
});
