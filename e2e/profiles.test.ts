/**
 * Profiles and custom emoji in real Chromium (docs/profiles-and-emoji.md), on one set-up: an
 * owner and a member share a community and a DM. The owner picks a picture, crops it in the
 * browser and saves it with pronouns, about me, a banner colour and a status; adds a custom
 * emoji on the settings page; uses it from the picker in a message and as a reaction; the
 * same `:name:` in the DM stays text. The member opens the owner's card from the chat.
 * At 1280×800 and 390×844; screenshots go to /tmp/woxly-shots/profiles-*.png.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launch, uniqueName } from "./browser";
import { communityWith, logInContext, registerUser, type TestCommunity, type TestUser } from "./chat-fixtures";
import { png } from "./images";

const base = inject("baseUrl");
const SHOTS = "/tmp/woxly-shots";
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Serious and critical axe violations on the page as it is now (as in a11y.test.ts). */
async function audit(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
  });
  return found.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}): ${v.targets.join(", ")}`);
}


let browser: Browser;
let owner: TestUser;
let member: TestUser;
let community: TestCommunity;
let dmId = "";

async function open(user: TestUser, width: number, height: number): Promise<{ context: BrowserContext; page: Page }> {
  const phone = width < 500;
  // bypassCSP: the page's CSP (rightly) refuses the injected axe script.
  const context = await browser.newContext({ viewport: { width, height }, locale: "en-US", bypassCSP: true, ...(phone ? { hasTouch: true, isMobile: true } : {}) });
  await logInContext(context, base, user);
  return { context, page: await context.newPage() };
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launch();
  owner = await registerUser(base, uniqueName("owner"), "Olga Owner");
  member = await registerUser(base, uniqueName("member"), "Marat Member");
  community = await communityWith(base, owner, [member], "Parrots");
  const res = await fetch(`${base}/api/dms`, {
    method: "POST",
    headers: { origin: base, cookie: owner.cookie, "content-type": "application/json" },
    body: JSON.stringify({ userIds: [member.id] }),
  });
  dmId = ((await res.json()) as { channel: { id: string } }).channel.id;
});
afterAll(async () => {
  await browser?.close();
});

describe("profiles and custom emoji in the browser", () => {
  it("the owner sets a cropped avatar and a profile card, adds an emoji, uses it in the community and sees it as text in a DM", async () => {
    const { context, page } = await open(owner, 1280, 800);

    // Profile card: a 600×400 picture, cropped to a square in the browser, uploaded at 256×256.
    await page.goto(`${base}/settings`);
    await page.getByRole("heading", { name: "Profile card" }).waitFor();
    await page.getByTestId("avatar-file").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: png(600, 400, [200, 60, 60], true) });
    const cropper = page.getByRole("dialog", { name: "Crop your picture" });
    await cropper.waitFor();
    await cropper.getByRole("slider", { name: "Zoom" }).fill("1.5");
    await cropper.getByRole("button", { name: "Apply" }).click();
    await cropper.waitFor({ state: "detached" });
    const img = page.locator(".profile-settings .avatar img");
    await img.waitFor();
    const src = await img.getAttribute("src");
    expect(src).toMatch(new RegExp(`^/api/avatars/${owner.id}/[0-9a-f]{64}$`));
    const served = await page.evaluate(async (u) => {
      const r = await fetch(u);
      const b = await createImageBitmap(await r.blob());
      return { type: r.headers.get("content-type"), nosniff: r.headers.get("x-content-type-options"), w: b.width, h: b.height };
    }, src!);
    expect(served).toEqual({ type: "image/webp", nosniff: "nosniff", w: 256, h: 256 });

    await page.getByLabel("Pronouns").fill("she/her");
    await page.getByLabel("About me").fill("Keeps parrots. Answers slowly.");
    await page.getByLabel("Emoji", { exact: true }).fill("🦜");
    await page.getByLabel("Status", { exact: true }).fill("Feeding the birds");
    await page.getByLabel("Clear after").selectOption("1h");
    await page.getByTestId("profile-save").click();
    await page.locator(".profile-settings [role=status]", { hasText: "Saved" }).waitFor();
    await page.screenshot({ path: `${SHOTS}/profiles-settings-desktop.png` });
    expect(await audit(page)).toEqual([]);

    // A custom emoji, from the community's settings.
    await page.goto(`${base}/c/${community.communityId}/settings/emoji`);
    await page.getByRole("heading", { name: "Emoji", level: 1 }).waitFor();
    await page.getByTestId("emoji-file").setInputFiles({ name: "Party Parrot.png", mimeType: "image/png", buffer: png(300, 300, [40, 180, 90], true) });
    await expect.poll(() => page.getByTestId("emoji-name").inputValue()).toBe("party_parrot");
    await page.getByTestId("emoji-add").click();
    await page.getByTestId("emoji-row").first().waitFor();
    await expect.poll(() => page.getByTestId("emoji-row").count()).toBe(1);
    // Served from R2 by its own URL, and it decodes (the browser scaled it to fit 128 px).
    await expect.poll(() => page.getByTestId("emoji-row").locator("img").evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(128);
    await page.screenshot({ path: `${SHOTS}/profiles-emoji-settings-desktop.png` });
    expect(await audit(page)).toEqual([]);

    // In the community's channel: from the picker's "This community" section, searched.
    await page.goto(`${base}/c/${community.communityId}/${community.channelId}`);
    const composer = page.getByRole("combobox", { name: /^Message / });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await composer.waitFor({ timeout: 10_000 }).catch(async (e) => {
      await page.screenshot({ path: `${SHOTS}/profiles-debug.png` });
      throw new Error(`${e}\n${errors.join("\n")}`);
    });
    await composer.fill("Hello ");
    await page.getByRole("button", { name: "Emoji", exact: true }).click();
    const picker = page.getByRole("dialog", { name: "Emoji" });
    await picker.getByTestId("picker-custom").waitFor();
    await picker.getByRole("searchbox").fill("parr");
    await page.screenshot({ path: `${SHOTS}/profiles-picker-desktop.png` });
    await picker.getByRole("button", { name: ":party_parrot:" }).click();
    await expect.poll(() => composer.inputValue()).toContain(":party_parrot:");
    await composer.press("Enter");
    const rendered = page.locator(".msg-text img.custom-emoji").last();
    await rendered.waitFor();
    expect(await rendered.getAttribute("src")).toMatch(new RegExp(`^/api/communities/${community.communityId}/emoji/[0-9A-Za-z_-]+$`));
    await expect.poll(() => rendered.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);

    // ... and as a reaction (the message's "Add reaction", the same picker).
    const message = page.locator("[data-message-id]").filter({ has: page.locator("img.custom-emoji") }).last();
    await message.hover();
    await message.getByRole("button", { name: "Add reaction" }).first().click();
    await page.getByRole("dialog", { name: "Emoji" }).getByRole("button", { name: ":party_parrot:" }).click();
    await message.locator(".reaction img.reaction-custom").waitFor();
    await page.screenshot({ path: `${SHOTS}/profiles-chat-desktop.png` });

    // The composer's `:` completion offers the community's emoji first.
    await composer.fill("Again :party");
    await page.getByRole("option", { name: /:party_parrot:/ }).click();
    await expect.poll(() => composer.inputValue()).toBe("Again :party_parrot: ");
    await composer.fill("");

    // In the DM the same text is only text: no image.
    await page.goto(`${base}/dm/${dmId}`);
    const dmComposer = page.getByRole("combobox", { name: /^Message / });
    await dmComposer.waitFor();
    await dmComposer.fill("Elsewhere :party_parrot:");
    await dmComposer.press("Enter");
    const dmText = page.locator(".msg-text", { hasText: "Elsewhere :party_parrot:" });
    await dmText.waitFor();
    expect(await dmText.locator("img").count()).toBe(0);
    await context.close();
  });

  it("the member opens the owner's card from the chat, at 1280×800 and 390×844", async () => {
    for (const [w, h, tag] of [
      [1280, 800, "desktop"],
      [390, 844, "phone"],
    ] as const) {
      const { context, page } = await open(member, w, h);
      await page.goto(`${base}/c/${community.communityId}/${community.channelId}`);
      const author = page.getByRole("button", { name: "Olga Owner" }).first();
      await author.waitFor();
      // The owner's avatar shows in the chat (their own, from the member list).
      await expect.poll(() => page.locator(".gutter .avatar img").first().getAttribute("src")).toMatch(/^\/api\/avatars\//);
      if (tag === "desktop") {
        // The member list shows the owner's status under their name.
        await expect.poll(() => page.getByTestId("member-status").first().innerText()).toContain("Feeding the birds");
      }
      await author.click();
      const card = page.getByRole("dialog", { name: "Olga Owner" });
      await card.getByTestId("profile-status").waitFor();
      expect(await card.getByTestId("profile-status").innerText()).toContain("Feeding the birds");
      expect(await card.getByTestId("profile-pronouns").innerText()).toBe("she/her");
      expect(await card.getByTestId("profile-about").innerText()).toBe("Keeps parrots. Answers slowly.");
      await page.screenshot({ path: `${SHOTS}/profiles-popover-${tag}.png` });
      expect(await audit(page)).toEqual([]);
      if (tag === "phone") {
        await page.keyboard.press("Escape");
        await page.goto(`${base}/settings`);
        await page.getByRole("heading", { name: "Profile card" }).waitFor();
        const save = page.getByTestId("profile-save");
        await save.scrollIntoViewIfNeeded();
        expect((await save.boundingBox())!.height).toBeGreaterThanOrEqual(44);
        // Nothing scrolls sideways on the phone.
        const { scroll, inner } = await page.evaluate(() => ({ scroll: document.scrollingElement!.scrollWidth, inner: window.innerWidth }));
        expect(scroll).toBeLessThanOrEqual(inner);
        await page.screenshot({ path: `${SHOTS}/profiles-settings-phone.png`, fullPage: true });
      }
      await context.close();
    }
  });
});
