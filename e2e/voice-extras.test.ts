/**
 * Issue 15's voice extras in real Chromium with fake devices against the running product and a
 * real livekit-server: (1) the camera's background blur — the effect code loads only when
 * picked, MediaPipe's wasm and model come from Woxly's own /effects/v1/ (no CDN), and the
 * published camera goes through the processor (the call reports the effect only after a frame
 * went through the segmenter; the other member receives the processed track); (2) raised
 * hands in a stage channel — a member raises, another client sees it (the ordered list, the
 * channel list), a moderator lowers it. Screenshots in /tmp/woxly-shots/extras-*.png.
 */
import { mkdirSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CHROMIUM, CHROMIUM_ARGS } from "./browser";
import { person as newPerson, type Person } from "./voice-people";

const base = inject("baseUrl");
const SHOTS = "/tmp/woxly-shots";

let browser: Browser;
let alice: Person; // owner: moderates
let bob: Person; // member
let communityId = "";
let voiceId = "";

/** Requests a page made to hosts other than the product (a CDN would show here). */
const foreign: string[] = [];

function watch(page: Page): void {
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith(base) && !u.startsWith("ws://127.0.0.1") && !u.startsWith("data:") && !u.startsWith("blob:")) foreign.push(u);
  });
}

async function resources(page: Page): Promise<string[]> {
  return page.evaluate(() => performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname));
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  [alice, bob] = await Promise.all([newPerson(browser, base, "xalice"), newPerson(browser, base, "xbob")]);
  const created = await alice.api<{ community: { id: string }; channels: { id: string; kind: string }[] }>("POST", "/api/communities", { name: "Voice extras" });
  communityId = created.community.id;
  voiceId = created.channels.find((c) => c.kind === "voice")!.id;
  const { invite } = await alice.api<{ invite: { code: string } }>("POST", `/api/communities/${communityId}/invites`, {});
  await bob.api("POST", `/api/invites/${invite.code}/redeem`);
  watch(alice.page);
  watch(bob.page);
});

afterAll(async () => {
  await browser?.close();
});

describe("voice extras", () => {
  it("background blur: loaded only when picked, assets from Woxly, the published camera is processed", async () => {
    await alice.page.goto(`${base}/c/${communityId}/${voiceId}`);
    await alice.page.click("[data-voice-join]");
    await alice.page.locator('[data-call-status="connected"], [data-call-stage] [data-control="camera"]').first().waitFor();
    await bob.page.goto(`${base}/c/${communityId}/${voiceId}`);
    await bob.page.click("[data-voice-join]");

    // Nothing of the effect is loaded before it is picked.
    expect((await resources(alice.page)).filter((p) => p.startsWith("/effects/"))).toEqual([]);

    await alice.page.locator('[data-call-stage] [data-control="settings"]').click();
    await alice.page.locator('label:has([data-background-option="blur"])').click();
    await expect.poll(() => alice.page.locator('[data-background-option="blur"]').isChecked(), { timeout: 10_000 }).toBe(true);
    await alice.page.keyboard.press("Escape");
    await alice.page.locator("dialog[open]").waitFor({ state: "detached" });
    await alice.page.locator('[data-call-stage] [data-control="camera"]').click();

    // Either the effect runs (a frame went through the segmenter) or the call says why not.
    const outcome = await Promise.race([
      alice.page.locator('[data-voice-view][data-background-effect="blur"]').waitFor({ timeout: 45_000 }).then(() => "blur"),
      alice.page.locator("[data-background-failed]").waitFor({ timeout: 45_000 }).then(async () => `failed: ${await alice.page.locator("[data-background-failed]").textContent()}`),
    ]);
    expect(outcome).toBe("blur");

    const loaded = await resources(alice.page);
    expect(loaded).toContain("/effects/v1/selfie_segmentation.tflite");
    expect(loaded.some((p) => p.startsWith("/effects/v1/wasm/vision_wasm"))).toBe(true);
    expect(foreign).toEqual([]); // no CDN, no Google storage

    // The track LiveKit publishes is the processor's output, not the camera itself.
    const published = await alice.page.evaluate(() => {
      const v = document.querySelector<HTMLVideoElement>('[data-tile][data-local][data-source="camera"] video');
      const track = (v?.srcObject as MediaStream | null)?.getVideoTracks()[0];
      return { label: track?.label ?? null, kind: track?.constructor.name ?? null };
    });
    expect(published.label).not.toMatch(/fake|camera/i);

    // Bob receives Alice's (processed) camera.
    const remote = bob.page.locator('[data-tile]:not([data-local])[data-source="camera"] video');
    await remote.waitFor({ timeout: 20_000 });
    await expect.poll(() => remote.evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 20_000 }).toBeGreaterThan(0);
    await alice.page.screenshot({ path: `${SHOTS}/extras-blur-call-1280x800.png` });

    // The settings' self-preview: the camera with the effect, outside the call's track.
    await alice.page.locator('[data-call-stage] [data-control="settings"]').click();
    await alice.page.locator("[data-background-preview-start]").click();
    const preview = alice.page.locator("video[data-background-preview].on");
    await preview.waitFor({ timeout: 45_000 });
    await expect.poll(() => preview.evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 20_000 }).toBeGreaterThan(0);
    await alice.page.locator("[data-background-picker]").scrollIntoViewIfNeeded();
    await alice.page.screenshot({ path: `${SHOTS}/extras-blur-settings-1280x800.png` });
    await alice.page.locator('dialog[open] button[aria-label="Close"]').click();
    await alice.page.locator("dialog[open]").waitFor({ state: "detached" });
  }, 240_000); // MediaPipe's wasm and model load and run on a shared 2-core machine: minutes, not seconds

  it("raise hand in a stage: another client sees it, in order; a moderator lowers it", async () => {
    await alice.api("PATCH", `/api/channels/${voiceId}`, { stage: true });
    // Both are in the call from the test before; the stage's hand button appears.
    const toggle = bob.page.locator("[data-hand-toggle]");
    await toggle.waitFor({ timeout: 15_000 });
    await toggle.click();
    await expect.poll(() => toggle.getAttribute("aria-pressed"), { timeout: 15_000 }).toBe("true");

    const row = alice.page.locator(`[data-raised-hands] [data-hand-user="${bob.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    await alice.page.locator(`[data-voice-user="${bob.id}"] [data-hand-raised]`).first().waitFor();
    await alice.page.screenshot({ path: `${SHOTS}/extras-hands-1280x800.png` });

    // Alice raises too: the list is in the order the hands went up.
    await alice.page.locator("[data-hand-toggle]").click();
    await expect.poll(() => alice.page.locator("[data-raised-hands] li").evaluateAll((els) => els.map((e) => e.getAttribute("data-hand-user"))), { timeout: 15_000 }).toEqual([bob.id, alice.id]);
    await alice.page.locator("[data-hand-toggle]").click();

    // A member without MUTE_MEMBERS gets no "Lower" for others; the moderator lowers Bob's hand.
    await bob.page.locator(`[data-raised-hands] [data-hand-user="${bob.id}"]`).waitFor();
    expect(await bob.page.locator(`[data-hand-lower]:not([data-hand-lower="${bob.id}"])`).count()).toBe(0);
    await alice.page.locator(`[data-hand-lower="${bob.id}"]`).click();
    await row.waitFor({ state: "detached", timeout: 10_000 });
    await expect.poll(() => toggle.getAttribute("aria-pressed"), { timeout: 15_000 }).toBe("false");
    expect(await bob.page.locator("[data-raised-hands]").count()).toBe(0);

    // On a phone: Carol joins the stage and raises her hand by touch; Alice sees it.
    const carol = await newPerson(browser, base, "xcarol");
    const { invite } = await alice.api<{ invite: { code: string } }>("POST", `/api/communities/${communityId}/invites`, {});
    await carol.api("POST", `/api/invites/${invite.code}/redeem`);
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, locale: "en-US" });
    await phone.addCookies(await carol.context.cookies());
    const cp = await phone.newPage();
    watch(cp);
    await cp.goto(`${base}/c/${communityId}/${voiceId}`);
    await cp.locator("[data-voice-join]").tap();
    const hand = cp.locator("[data-hand-toggle]");
    await hand.waitFor({ timeout: 20_000 });
    const box = await hand.boundingBox();
    expect(box!.width).toBeGreaterThanOrEqual(44);
    expect(box!.height).toBeGreaterThanOrEqual(44);
    await hand.tap();
    await cp.locator(`[data-raised-hands] [data-hand-user="${carol.id}"]`).waitFor({ timeout: 15_000 });
    await alice.page.locator(`[data-raised-hands] [data-hand-user="${carol.id}"]`).waitFor({ timeout: 15_000 });
    await cp.screenshot({ path: `${SHOTS}/extras-hands-390x844.png` });
    await phone.close();
    await carol.context.close();
  }, 120_000);
});
