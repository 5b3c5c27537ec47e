/**
 * Set-up and probes for the call-link and self-test browser tests (e2e/call-links.test.ts,
 * e2e/self-test.test.ts; docs/call-links.md): one Chromium with a speech-like fake microphone,
 * guests (a browser context with no account), the pre-join → call path of /call/<code>, what
 * a page receives over WebRTC (inbound RTP stats of every peer connection it made), and a
 * LiveKit token's payload.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { expect } from "vitest";
import { voiceLike, writeWav } from "../bench/voice/wav.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "./browser";
import { tap } from "./media-probes";

/** Where the screenshots the brief asks for go (looked at by hand). */
export const SHOTS = process.env.CALL_SHOTS_DIR ?? "/tmp/woxly-shots";

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Chromium with fake camera/screen and a fake microphone playing a speech-like WAV; `close` removes the WAV too. */
export async function launchWithVoice(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "woxly-call-e2e-"));
  const wav = writeWav(path.join(tmp, "voice.wav"), voiceLike());
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, `--use-file-for-fake-audio-capture=${wav}`] });
  mkdirSync(SHOTS, { recursive: true });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Someone without an account: a fresh context (cookie jar of its own), its peer connections tapped. */
export interface Guest {
  context: BrowserContext;
  page: Page;
  name: string;
  /** A JSON call to the API with this context's cookies: status and parsed body, never throws on 4xx. */
  fetch<T = unknown>(method: string, path: string, data?: unknown): Promise<{ status: number; body: T }>;
}

export async function guest(browser: Browser, base: string, name: string, opts: { phone?: boolean } = {}): Promise<Guest> {
  const context = await browser.newContext(
    opts.phone ? { viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: "en-US" } : { viewport: DESKTOP, locale: "en-US" },
  );
  await tap(context);
  const page = await context.newPage();
  const origin = new URL(base).origin;
  return {
    context,
    page,
    name,
    fetch: async <T>(method: string, p: string, data?: unknown) => {
      const res = await context.request.fetch(base + p, { method, data: data ?? (method === "GET" ? undefined : {}), headers: { origin } });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: kept as text for the assertion's message
      }
      return { status: res.status(), body: body as T };
    },
  };
}

// ---------------------------------------------------------------------------------------
// The pages (web/src/routes/call…, web/src/routes/test): one place for their selectors.
// ---------------------------------------------------------------------------------------

/** The pre-join screen of /call/<code>. */
export const prejoin = (page: Page) => ({
  root: page.getByTestId("call-prejoin"),
  name: page.getByTestId("call-guest-name"),
  join: page.getByTestId("call-join"),
  /** Why the caller may not join (locked, accounts only, ended, refused). */
  refused: page.getByTestId("call-refused"),
  waiting: page.getByTestId("call-lobby-waiting"),
});

/** The call view of /call/<code>. */
export const callView = (page: Page) => ({
  root: page.getByTestId("call-view"),
  connected: page.locator('[data-testid="call-view"][data-phase="connected"]'),
  control: (name: string) => page.locator(`[data-testid="call-view"] [data-control="${name}"]`).first(),
  people: page.getByTestId("call-people"),
  person: page.getByTestId("call-person"),
  count: page.getByTestId("call-count"),
  chat: page.getByTestId("call-chat"),
  chatToggle: page.getByTestId("call-chat-toggle"),
  peopleToggle: page.getByTestId("call-people-toggle"),
  composer: page.getByTestId("call-chat").getByRole("combobox", { name: /^Message/ }),
  lobby: page.getByTestId("call-lobby"),
  settings: page.getByTestId("call-settings"),
  settingsToggle: page.getByTestId("call-settings-toggle"),
  lock: page.getByTestId("call-setting-locked"),
  lobbySwitch: page.getByTestId("call-setting-lobby"),
});

/** The call chat's messages (ordinary and system) that contain `text` — not the screen-reader announcement of them. */
export function chatLines(page: Page, text: string): Locator {
  return page.getByTestId("call-chat").locator(".message", { hasText: text });
}

/** A lobby entry (on the host's side) for someone called `name`. */
export function lobbyEntry(page: Page, name: string): Locator {
  return page.getByTestId("call-lobby-entry").filter({ hasText: name });
}

/** On the pre-join screen: camera and microphone on (the remembered choice otherwise), then Join. */
export async function pressJoin(page: Page): Promise<void> {
  const pre = prejoin(page);
  await pre.join.waitFor({ timeout: 15_000 });
  for (const id of ["prejoin-camera", "prejoin-mic"]) {
    const toggle = page.getByTestId(id);
    if ((await toggle.getAttribute("aria-pressed")) !== "true") await toggle.click();
    await page.locator(`[data-testid="${id}"][aria-pressed="true"]`).waitFor();
  }
  await pre.join.click();
}

/** Opens `/call/<code>` as a guest, types `name` on the pre-join screen and presses Join. */
export async function joinAsGuest(g: Guest, base: string, code: string): Promise<void> {
  await g.page.goto(`${base}/call/${code}`);
  const pre = prejoin(g.page);
  await pre.name.waitFor({ timeout: 15_000 });
  await pre.name.fill(g.name);
  await pressJoin(g.page);
}

/** Waits until the call view says it is connected with the camera on (the pre-join choice). */
export async function inCallWithCamera(page: Page): Promise<void> {
  await callView(page).connected.waitFor({ timeout: 20_000 });
  await page.locator('[data-testid="call-view"] [data-control="camera"][aria-pressed="true"]').first().waitFor({ timeout: 15_000 });
}

/** Sends `text` from the call's chat composer and waits for the composer to clear. */
export async function sendChat(page: Page, text: string): Promise<void> {
  const composer = callView(page).composer;
  await composer.click();
  await composer.fill(text);
  await composer.press("Enter");
  await expect.poll(() => composer.inputValue()).toBe("");
}

/** The payload of a JWT (LiveKit access token), unverified: what it claims. */
export function jwtPayload(token: string): Record<string, unknown> & { video?: Record<string, unknown>; exp?: number; nbf?: number; iat?: number; sub?: string } {
  const part = token.split(".")[1];
  if (!part) throw new Error("not a JWT");
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

export async function shot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<string> {
  const file = path.join(SHOTS, name);
  await page.screenshot({ path: file, fullPage: opts.fullPage ?? false });
  return file;
}

/** The self-test page (/test). */
export const selfTest = (page: Page) => ({
  root: page.getByTestId("self-test"),
  preview: page.getByTestId("self-test-preview"),
  meter: page.getByTestId("self-test-meter"),
  echoStart: page.getByTestId("self-test-echo-start"),
  echoResult: page.getByTestId("self-test-echo-result"),
});

/** Frames a <video> under (or at) `locator` has presented so far, and its size: waits for one more frame (up to 3 s). */
export function videoFrames(locator: Locator): Promise<{ frames: number; width: number; height: number }> {
  return locator.evaluate(async (el) => {
    const v = el instanceof HTMLVideoElement ? el : el.querySelector("video");
    if (!v) return { frames: 0, width: 0, height: 0 };
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 3000);
      v.requestVideoFrameCallback(() => {
        clearTimeout(t);
        resolve();
      });
    });
    return { frames: v.getVideoPlaybackQuality().totalVideoFrames, width: v.videoWidth, height: v.videoHeight };
  });
}

/** Whether the <video> under (or at) `locator` is playing: over ~1 s it presents new frames and its time moves on. */
export function videoAdvances(locator: Locator): Promise<boolean> {
  return locator.evaluate(async (el) => {
    const v = el instanceof HTMLVideoElement ? el : el.querySelector("video");
    if (!v) return false;
    const frames = v.getVideoPlaybackQuality().totalVideoFrames;
    const time = v.currentTime;
    await new Promise((r) => setTimeout(r, 1000));
    return v.isConnected && !v.paused && v.getVideoPlaybackQuality().totalVideoFrames > frames && v.currentTime > time && v.videoWidth > 0;
  });
}

/** A level meter's current reading, 0..1: its raw data-level (LevelMeter.svelte), else aria-valuenow in percent. */
export function meterLevel(locator: Locator): Promise<number> {
  return locator.evaluate((el) => {
    const raw = el.getAttribute("data-level");
    if (raw != null) return Number(raw);
    return Number(el.getAttribute("aria-valuenow") ?? NaN) / 100;
  });
}
