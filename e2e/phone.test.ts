/**
 * The phone layout in real Chromium with touch (390×844 portrait and 844×390 landscape): a
 * visitor opens an invite link, registers and lands in the chat, which fills the screen; reads
 * and sends; opens the navigation drawer (button, edge swipe) and the member drawer (button,
 * edge swipe), closes them (Esc returns focus to the button, backdrop tap, picking a channel);
 * shows a message's actions by the "⋯" button and by a long press; joins voice with a fake
 * camera; goes back to the chat with the call in a picture-in-picture window (mute, drag to a
 * corner, tap back to the call) and uses the call bar in the drawer; opens settings, Home and a
 * DM. At each step: nothing overflows sideways, the composer and the newest
 * message are on screen, tap targets are ≥ 44 px. Screenshots go to /tmp/woxly-shots/phone-*.png.
 */
import { mkdirSync } from "node:fs";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launch, uniqueName } from "./browser";
import { PASSWORD, communityWith, logInContext, registerUser, sendOverSocket, type TestCommunity, type TestUser } from "./chat-fixtures";

const base = inject("baseUrl");
const SHOTS = "/tmp/woxly-shots";

let browser: Browser;
let owner: TestUser;
let community: TestCommunity;
let inviteCode = "";
let voiceId = "";

async function phone(width: number, height: number): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width, height }, hasTouch: true, isMobile: true, locale: "en-US" });
  await context.grantPermissions(["camera", "microphone"], { origin: base });
  return { context, page: await context.newPage() };
}

/** Nothing scrolls sideways. */
async function noSidewaysOverflow(page: Page): Promise<void> {
  const { scroll, inner } = await page.evaluate(() => ({ scroll: document.scrollingElement!.scrollWidth, inner: window.innerWidth }));
  expect(scroll).toBeLessThanOrEqual(inner);
}

/** The element's box lies inside the viewport (once its slide-in transition has ended). */
async function onScreen(page: Page, el: Locator): Promise<void> {
  await expect.poll(() => el.evaluate((e) => e.getAnimations().length)).toBe(0);
  const box = await el.boundingBox();
  const vp = page.viewportSize()!;
  expect(box, "element has a box").not.toBeNull();
  expect(box!.x).toBeGreaterThanOrEqual(-0.5);
  expect(box!.y).toBeGreaterThanOrEqual(-0.5);
  expect(box!.x + box!.width).toBeLessThanOrEqual(vp.width + 0.5);
  expect(box!.y + box!.height).toBeLessThanOrEqual(vp.height + 0.5);
}

/** Every visible element matched is at least 44×44 px. */
async function bigTargets(what: Locator): Promise<void> {
  const n = await what.count();
  expect(n).toBeGreaterThan(0);
  for (let i = 0; i < n; i++) {
    const el = what.nth(i);
    if (!(await el.isVisible())) continue;
    const box = (await el.boundingBox())!;
    expect(box.width, `${await el.getAttribute("aria-label")} width`).toBeGreaterThanOrEqual(44);
    expect(box.height, `${await el.getAttribute("aria-label")} height`).toBeGreaterThanOrEqual(44);
  }
}

/** A one-finger swipe through the DevTools touch input (real touch and pointer events). */
async function swipe(page: Page, from: { x: number; y: number }, to: { x: number; y: number }): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [from] });
  for (let i = 1; i <= 5; i++) {
    const p = { x: from.x + ((to.x - from.x) * i) / 5, y: from.y + ((to.y - from.y) * i) / 5 };
    await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [p] });
  }
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  await cdp.detach();
}

/** A finger held on one spot until `done` holds, then lifted. */
async function longPress(page: Page, at: { x: number; y: number }, done: () => Promise<unknown>): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [at] });
  await done();
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  await cdp.detach();
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SHOTS}/phone-${name}.png` });
}

/** The chat's checks: composer and the newest message on screen, nothing sideways. */
async function chatFits(page: Page): Promise<void> {
  await noSidewaysOverflow(page);
  await onScreen(page, page.getByRole("combobox", { name: /^Message / }));
  await onScreen(page, page.locator("article.message").last());
}

/** Opens (or finds) the DM between `from` and the user `toId`. */
async function dmWith(from: TestUser, toId: string): Promise<string> {
  const res = await fetch(`${base}/api/dms`, {
    method: "POST",
    headers: { origin: new URL(base).origin, cookie: from.cookie, "content-type": "application/json" },
    body: JSON.stringify({ userIds: [toId] }),
  });
  expect(res.status).toBeLessThan(300);
  return ((await res.json()) as { channel: { id: string } }).channel.id;
}

/** Opens the invite link, registers through it as `displayName` and lands in #general. */
async function registerThroughInvite(page: Page, displayName: string, shotPrefix: string): Promise<void> {
  await page.goto(`${base}/invite/${inviteCode}`);
  await page.waitForLoadState("networkidle");
  await shot(page, `${shotPrefix}invite`);
  await noSidewaysOverflow(page);
  await page.getByRole("link", { name: "Create an account to join" }).click();
  await page.waitForURL(/\/register\?next=/);
  await page.getByLabel("Username").fill(uniqueName("pia"));
  await page.getByLabel("Display name").fill(displayName);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await noSidewaysOverflow(page);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(new RegExp(`/c/${community.communityId}/[^/]+$`), { timeout: 30_000 });
  await page.getByRole("heading", { name: "general", level: 1 }).waitFor();
}

/** On a voice channel's page: joins, turns the camera on; the stage and its controls fit. */
async function joinVoiceWithCamera(page: Page, shotName: string): Promise<void> {
  await page.locator("[data-voice-join]").tap();
  await page.locator('[data-call-stage][data-phase="connected"]').waitFor({ timeout: 20_000 });
  await page.locator('[data-call-stage] [data-control="camera"]').tap();
  await page.locator("[data-tile][data-local] video").first().waitFor({ timeout: 15_000 });
  await noSidewaysOverflow(page);
  for (const name of ["mute", "camera", "leave"]) await onScreen(page, page.locator(`[data-call-stage] [data-control="${name}"]`));
  await bigTargets(page.locator("[data-call-stage] [data-control]"));
  await onScreen(page, page.locator("[data-tile][data-local]").first());
  await shot(page, shotName);
}

const navDrawer = (page: Page) => page.locator("aside.sidebar");
const memberDrawer = (page: Page) => page.locator("aside.side");
const navButton = (page: Page) => page.locator('[data-drawer-button="nav"]');
const membersButton = (page: Page) => page.locator('[data-drawer-button="members"]');

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launch();
  owner = await registerUser(base, uniqueName("powner"), "Olga Owner");
  community = await communityWith(base, owner, [], `Phones ${uniqueName("c").slice(-5)}`);
  const origin = new URL(base).origin;
  const headers = { cookie: owner.cookie, origin, "content-type": "application/json" };
  const inv = await fetch(`${base}/api/communities/${community.communityId}/invites`, { method: "POST", headers, body: "{}" });
  inviteCode = ((await inv.json()) as { invite: { code: string } }).invite.code;
  const detail = await fetch(`${base}/api/communities/${community.communityId}`, { headers });
  const body = (await detail.json()) as { channels: { id: string; kind: string }[] };
  voiceId = body.channels.find((c) => c.kind === "voice")!.id;
  await sendOverSocket(
    base,
    community.channelId,
    owner,
    Array.from({ length: 30 }, (_, i) => `backlog line ${i + 1} — a message long enough to wrap on a narrow phone screen`),
  );
});

afterAll(async () => {
  await browser?.close();
});

describe("the phone layout", () => {
  it("390×844: invite, register, chat, drawers, message actions, voice with camera, settings", async () => {
    const { context, page } = await phone(390, 844);
    const me = `Pia ${uniqueName("p").slice(-5)}`;

    await registerThroughInvite(page, me, "");

    // Reading: one pane, the chat fills the width; the rail, channel list and members are away.
    await page.locator("article.message", { hasText: "backlog line 30" }).waitFor();
    await chatFits(page);
    const chat = (await page.locator("main.content").boundingBox())!;
    expect(chat.x).toBe(0);
    expect(chat.width).toBe(390);
    expect(await navDrawer(page).isVisible()).toBe(false);
    expect(await page.locator("nav.rail").isVisible()).toBe(false);
    expect(await memberDrawer(page).isVisible()).toBe(false);
    await bigTargets(page.locator("[data-drawer-button]"));
    await shot(page, "chat");

    // Sending: the new message and the composer stay on screen.
    const composer = page.getByRole("combobox", { name: "Message #general" });
    await composer.tap();
    await composer.fill("hello from a phone");
    await composer.press("Enter");
    const mine = page.locator("article.message", { hasText: "hello from a phone" });
    await mine.waitFor();
    await expect.poll(async () => (await mine.getAttribute("data-seq")) !== null).toBe(true);
    await chatFits(page);

    // Message actions: a visible "⋯" button (no hover on touch) shows the toolbar, 44 px targets.
    const toolbar = mine.getByRole("toolbar", { name: "Message actions" });
    expect(await toolbar.isVisible()).toBe(false);
    const more = mine.locator("[data-message-actions]");
    await bigTargets(more);
    await more.tap();
    await toolbar.waitFor();
    expect(await more.getAttribute("aria-expanded")).toBe("true");
    await bigTargets(toolbar.getByRole("button"));
    await onScreen(page, toolbar);
    await shot(page, "message-actions");
    // A tap elsewhere hides it; a long press on another message shows its toolbar.
    const b29 = (await page.locator("article.message", { hasText: "backlog line 29" }).boundingBox())!;
    await page.touchscreen.tap(b29.x + 120, b29.y + b29.height / 2);
    await expect.poll(() => toolbar.isVisible()).toBe(false);
    const other = page.locator("article.message", { hasText: "backlog line 30" });
    const ob = (await other.boundingBox())!;
    const otherBar = other.getByRole("toolbar", { name: "Message actions" });
    await longPress(page, { x: ob.x + 120, y: ob.y + ob.height / 2 }, () => otherBar.waitFor());
    expect(await otherBar.isVisible()).toBe(true);
    await page.keyboard.press("Escape");

    // The navigation drawer by its button: aria-expanded, focus inside, Esc closes and
    // returns focus to the button.
    await navButton(page).tap();
    await navDrawer(page).waitFor();
    expect(await navButton(page).getAttribute("aria-expanded")).toBe("true");
    await onScreen(page, navDrawer(page));
    expect(await page.locator("nav.rail").isVisible()).toBe(true);
    await expect.poll(() => page.evaluate(() => !!document.activeElement?.closest("aside.sidebar"))).toBe(true);
    await noSidewaysOverflow(page);
    await shot(page, "nav-drawer");
    await page.keyboard.press("Escape");
    await navDrawer(page).waitFor({ state: "hidden" });
    expect(await page.evaluate(() => document.activeElement?.getAttribute("data-drawer-button"))).toBe("nav");
    expect(await navButton(page).getAttribute("aria-expanded")).toBe("false");

    // By a swipe from the left edge; a tap on the backdrop closes it.
    const here = page.url();
    await swipe(page, { x: 4, y: 420 }, { x: 240, y: 420 });
    await navDrawer(page).waitFor();
    expect(page.url()).toBe(here);
    await page.touchscreen.tap(380, 420);
    await navDrawer(page).waitFor({ state: "hidden" });
    expect(page.url()).toBe(here);

    // The member drawer by its button and by a swipe from the right edge.
    await bigTargets(membersButton(page));
    await membersButton(page).tap();
    await memberDrawer(page).waitFor();
    expect(await membersButton(page).getAttribute("aria-expanded")).toBe("true");
    await onScreen(page, memberDrawer(page));
    await memberDrawer(page).getByText(me).first().waitFor();
    await shot(page, "members-drawer");
    await page.keyboard.press("Escape");
    await memberDrawer(page).waitFor({ state: "hidden" });
    expect(await page.evaluate(() => document.activeElement?.getAttribute("data-drawer-button"))).toBe("members");
    await swipe(page, { x: 386, y: 420 }, { x: 150, y: 420 });
    await memberDrawer(page).waitFor();
    await swipe(page, { x: 200, y: 420 }, { x: 380, y: 420 });
    await memberDrawer(page).waitFor({ state: "hidden" });

    // Picking a channel in the drawer closes it: the voice channel, then the call with a camera.
    await navButton(page).tap();
    await navDrawer(page).getByRole("link", { name: /General \(voice channel\)/ }).tap();
    await page.waitForURL(new RegExp(`/${voiceId}$`));
    await navDrawer(page).waitFor({ state: "hidden" });
    await noSidewaysOverflow(page);
    await joinVoiceWithCamera(page, "voice-camera");

    // Back to the chat during the call: the call floats in a picture-in-picture window that
    // covers neither the composer nor the newest message's start, with 44 px mute and leave.
    await navButton(page).tap();
    await navDrawer(page).getByRole("link", { name: /general/ }).first().tap();
    await page.getByRole("heading", { name: "general", level: 1 }).waitFor();
    await chatFits(page);
    const pip = page.locator("[data-call-pip]");
    await pip.waitFor();
    await onScreen(page, pip);
    await pip.locator("[data-tile] video").waitFor();
    await bigTargets(pip.locator("[data-pip-control]"));
    const pipBox = (await pip.boundingBox())!;
    const composerBox = (await page.getByRole("combobox", { name: /^Message / }).boundingBox())!;
    expect(pipBox.y + pipBox.height).toBeLessThanOrEqual(composerBox.y);
    await shot(page, "pip");
    // Its mute button mutes the call; a drag takes it to another corner, which is kept.
    const pipMute = pip.locator('[data-pip-control="mute"]');
    await pipMute.tap();
    await expect.poll(() => pipMute.getAttribute("aria-pressed")).toBe("true");
    await swipe(page, { x: pipBox.x + pipBox.width / 2, y: pipBox.y + 40 }, { x: 60, y: pipBox.y + 40 });
    await expect.poll(() => pip.getAttribute("data-call-pip")).toBe("top-left");
    await onScreen(page, pip);
    await noSidewaysOverflow(page);
    // A tap on the picture goes back to the call, where the window is not needed.
    const pipNow = (await pip.boundingBox())!;
    await page.touchscreen.tap(pipNow.x + pipNow.width / 2, pipNow.y + 60);
    await page.waitForURL(new RegExp(`/${voiceId}$`));
    await page.locator('[data-call-stage][data-phase="connected"]').waitFor();
    expect(await pip.count()).toBe(0);
    await page.locator('[data-call-stage] [data-control="mute"]').tap();
    await expect.poll(() => page.locator('[data-call-stage] [data-control="mute"]').getAttribute("aria-pressed")).toBe("false");

    // The call bar in the navigation drawer: usable, 44 px targets; the window hides meanwhile.
    await navButton(page).tap();
    await navDrawer(page).getByRole("link", { name: /general/ }).first().tap();
    await page.getByRole("heading", { name: "general", level: 1 }).waitFor();
    await pip.waitFor();
    await navButton(page).tap();
    const callBar = navDrawer(page).locator('[data-control="leave"]');
    await callBar.waitFor();
    expect(await pip.count()).toBe(0);
    await onScreen(page, navDrawer(page));
    await onScreen(page, callBar);
    await bigTargets(navDrawer(page).locator("[data-call-bar] [data-control]"));
    await shot(page, "call-bar");
    await callBar.tap();
    await callBar.waitFor({ state: "hidden" });
    await page.keyboard.press("Escape");
    expect(await pip.count()).toBe(0);

    // Home and a DM: one pane, the DM's composer and newest message on screen.
    await page.goto(`${base}/`);
    await page.locator("main.content").waitFor();
    await noSidewaysOverflow(page);
    expect((await page.locator("main.content").boundingBox())!.width).toBe(390);
    await bigTargets(navButton(page));
    await shot(page, "home");
    const pia = await page.evaluate(async () => ((await (await fetch("/api/me")).json()) as { user: { id: string } }).user.id);
    const dmId = await dmWith(owner, pia);
    await sendOverSocket(base, dmId, owner, ["a direct message for a phone screen"]);
    await page.goto(`${base}/dm/${dmId}`);
    await page.locator("article.message", { hasText: "a direct message for a phone screen" }).waitFor();
    await chatFits(page);
    expect((await page.locator("main.content").boundingBox())!.width).toBe(390);
    await shot(page, "dm");

    // Settings stack: no sideways scroll.
    await page.goto(`${base}/settings`);
    await page.getByRole("heading", { level: 1 }).first().waitFor();
    await noSidewaysOverflow(page);
    await shot(page, "settings");
    await context.close();
  });

  it("844×390 (a phone on its side): invite, register, chat, drawers, voice with camera, picture-in-picture, settings stacked, Home, a DM", async () => {
    const { context, page } = await phone(844, 390);
    const me = `Lia ${uniqueName("l").slice(-5)}`;
    await registerThroughInvite(page, me, "landscape-");
    await page.locator("article.message", { hasText: "backlog line 30" }).waitFor();
    await chatFits(page);
    const composer = page.getByRole("combobox", { name: "Message #general" });
    await composer.tap();
    await composer.fill("hello from a phone on its side");
    await composer.press("Enter");
    const mine = page.locator("article.message", { hasText: "hello from a phone on its side" });
    await expect.poll(async () => (await mine.getAttribute("data-seq")) !== null).toBe(true);
    await chatFits(page);
    expect((await page.locator("main.content").boundingBox())!.width).toBe(844);
    expect(await navDrawer(page).isVisible()).toBe(false);
    await bigTargets(page.locator("[data-drawer-button]"));
    await shot(page, "landscape-chat");

    await navButton(page).tap();
    await navDrawer(page).waitFor();
    await onScreen(page, navDrawer(page));
    await page.keyboard.press("Escape");
    await navDrawer(page).waitFor({ state: "hidden" });
    await membersButton(page).tap();
    await memberDrawer(page).waitFor();
    await onScreen(page, memberDrawer(page));
    await shot(page, "landscape-members");
    await page.keyboard.press("Escape");
    await memberDrawer(page).waitFor({ state: "hidden" });

    // Voice with the camera, then the picture-in-picture back in the chat, then leave.
    await navButton(page).tap();
    await navDrawer(page).getByRole("link", { name: /General \(voice channel\)/ }).tap();
    await page.waitForURL(new RegExp(`/${voiceId}$`));
    await joinVoiceWithCamera(page, "landscape-voice-camera");
    await navButton(page).tap();
    await navDrawer(page).getByRole("link", { name: /general/ }).first().tap();
    await page.getByRole("heading", { name: "general", level: 1 }).waitFor();
    const pip = page.locator("[data-call-pip]");
    await pip.waitFor();
    await onScreen(page, pip);
    await chatFits(page);
    await bigTargets(pip.locator("[data-pip-control]"));
    await shot(page, "landscape-pip");
    await pip.locator('[data-pip-control="leave"]').tap();
    await pip.waitFor({ state: "detached" });

    // Community settings, as the owner on the same kind of phone.
    const admin = await phone(844, 390);
    await logInContext(admin.context, base, owner);
    await admin.page.goto(`${base}/c/${community.communityId}/settings`);
    const settingsNav = admin.page.locator("nav.settings-nav");
    await settingsNav.waitFor();
    await noSidewaysOverflow(admin.page);
    // The sections sit above the content, not beside it, and are 44 px tall.
    const navBox = (await settingsNav.boundingBox())!;
    const mainBox = (await admin.page.locator("main.settings-main").boundingBox())!;
    expect(navBox.y + navBox.height).toBeLessThanOrEqual(mainBox.y + 0.5);
    expect(mainBox.width).toBe(844);
    for (const link of await settingsNav.getByRole("link").all()) expect((await link.boundingBox())!.height).toBeGreaterThanOrEqual(44);
    await shot(admin.page, "landscape-community-settings");
    await admin.context.close();

    // Home and a DM on its side.
    await page.goto(`${base}/`);
    await page.locator("main.content").waitFor();
    await noSidewaysOverflow(page);
    expect((await page.locator("main.content").boundingBox())!.width).toBe(844);
    const friend = await registerUser(base, uniqueName("pfriend"), "Fay Friend");
    const joined = await fetch(`${base}/api/invites/${inviteCode}/redeem`, {
      method: "POST",
      headers: { origin: new URL(base).origin, cookie: friend.cookie, "content-type": "application/json" },
      body: "{}",
    });
    expect(joined.status).toBeLessThan(300);
    const meId = await page.evaluate(async () => ((await (await fetch("/api/me")).json()) as { user: { id: string } }).user.id);
    const dmId = await dmWith(friend, meId);
    await sendOverSocket(base, dmId, friend, Array.from({ length: 12 }, (_, i) => `dm line ${i + 1}`));
    await page.goto(`${base}/dm/${dmId}`);
    await page.locator("article.message", { hasText: "dm line 12" }).waitFor();
    await chatFits(page);
    await shot(page, "landscape-dm");
    await page.goto(`${base}/settings`);
    await page.getByRole("heading", { level: 1 }).first().waitFor();
    await noSidewaysOverflow(page);
    await shot(page, "landscape-settings");
    await context.close();
  });

  it("800×1000 (a tablet): channel list and chat side by side, members as a drawer", async () => {
    const context = await browser.newContext({ viewport: { width: 800, height: 1000 }, hasTouch: true, locale: "en-US" });
    const page = await context.newPage();
    await logInContext(context, base, owner);
    await page.goto(`${base}/c/${community.communityId}/${community.channelId}`);
    await page.locator("article.message", { hasText: "backlog line 30" }).waitFor();
    await chatFits(page);
    expect(await navDrawer(page).isVisible()).toBe(true);
    expect(await navButton(page).isVisible()).toBe(false);
    expect(await memberDrawer(page).isVisible()).toBe(false);
    await membersButton(page).click();
    await memberDrawer(page).waitFor();
    await onScreen(page, memberDrawer(page));
    await shot(page, "tablet-members");
    await page.keyboard.press("Escape");
    await memberDrawer(page).waitFor({ state: "hidden" });
    await context.close();
  });
});
