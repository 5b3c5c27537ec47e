/**
 * Moderation in real Chromium against the running product (docs/moderation.md), one set-up
 * for the file: Ana owns a community, Ben and Cid are members. Cid reports Ben's message from
 * the message's actions and Ana handles it in the reports queue; Ana times Ben out from his
 * profile card, Ben's composer turns into a countdown at once (no reload) and Ana's member
 * list shows the badge; lifting it brings Ben's composer back, and the audit log says it all;
 * slowmode shows Cid a cooldown after a message. Screenshots at 1280×800 and 390×844 go to /tmp/woxly-shots/moderation-*.png.
 */
import { mkdirSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CHROMIUM, CHROMIUM_ARGS, uniqueName } from "./browser";
import { communityWith, logInContext, registerUser, sendOverSocket, type TestUser } from "./chat-fixtures";

const base = inject("baseUrl");
const SHOTS = "/tmp/woxly-shots";
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let browser: Browser;
let ana: TestUser;
let ben: TestUser;
let cid: TestUser;
let communityId: string;
let channelId: string;
const contexts: BrowserContext[] = [];

async function api(user: TestUser, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { origin: base, cookie: user.cookie, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function pageAs(user: TestUser, viewport = DESKTOP): Promise<Page> {
  const context = await browser.newContext({ locale: "en-US", viewport, ...(viewport === PHONE ? { hasTouch: true, isMobile: true } : {}) });
  contexts.push(context);
  await logInContext(context, base, user);
  const page = await context.newPage();
  await page.goto(`${base}/c/${communityId}/${channelId}`);
  await page.locator(`section.channel[data-connection="online"]`).waitFor({ timeout: 20_000 });
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  // Screenshots only: let a dialog's opening animation finish (no assertion depends on it).
  await page.waitForTimeout(250);
  await page.screenshot({ path: `${SHOTS}/moderation-${name}.png` });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  ana = await registerUser(base, uniqueName("mdana"), "Ana");
  ben = await registerUser(base, uniqueName("mdben"), "Ben");
  cid = await registerUser(base, uniqueName("mdcid"), "Cid");
  ({ communityId, channelId } = await communityWith(base, ana, [ben, cid], "Moderation test"));
  await sendOverSocket(base, channelId, ben, ["buy cheap followers at spam.example"]);
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
});

describe("moderation", () => {
  it("a report goes from the message's actions to the moderators' queue, with the message as evidence", async () => {
    const page = await pageAs(cid);
    const message = page.locator("article.message", { hasText: "buy cheap followers" });
    await message.hover();
    await message.getByTestId("report-message").click();
    const dialog = page.getByRole("dialog", { name: "Report message" });
    await dialog.getByLabel("What is wrong with it?").fill("Spam link");
    await shot(page, "report-dialog");
    await dialog.getByRole("button", { name: "Send report" }).click();
    await dialog.getByTestId("report-sent").waitFor();

    const mod = await pageAs(ana);
    await mod.goto(`${base}/c/${communityId}/settings/reports`);
    const report = mod.getByTestId("report");
    await report.waitFor();
    expect(await report.textContent()).toContain("buy cheap followers");
    expect(await report.textContent()).toContain("Spam link");
    await shot(mod, "reports-queue");
    // The same queue on a phone.
    const phone = await pageAs(ana, PHONE);
    await phone.goto(`${base}/c/${communityId}/settings/reports`);
    await phone.getByTestId("report").waitFor();
    await shot(phone, "reports-queue-phone");
    // Deleting the message resolves the report; the message is gone from the channel.
    await report.getByRole("button", { name: "Delete message" }).click();
    await mod.getByTestId("reports-empty").waitFor();
    await page.locator("article.message", { hasText: "buy cheap followers" }).waitFor({ state: "detached" });
  });

  it("a timeout from the member's card turns their composer into a countdown at once, with a badge for others; lifting it gives the composer back", async () => {
    const benPage = await pageAs(ben);
    const benPhone = await pageAs(ben, PHONE);
    const mod = await pageAs(ana);
    await mod.getByRole("complementary", { name: "Members" }).getByRole("button", { name: /^Ben/ }).click();
    await mod.getByTestId("open-timeout").click();
    const dialog = mod.getByRole("dialog", { name: "Time out Ben" });
    await dialog.getByLabel("5 minutes").check();
    await shot(mod, "timeout-dialog");
    await dialog.getByRole("button", { name: "Time out", exact: true }).click();
    await dialog.waitFor({ state: "detached" });

    const notice = benPage.getByTestId("timeout-notice");
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/You are timed out for [45]:\d\d/);
    expect(await benPage.locator(".composer").count()).toBe(0);
    await shot(benPage, "timed-out");
    await benPhone.getByTestId("timeout-notice").waitFor();
    await shot(benPhone, "timed-out-phone");

    await mod.keyboard.press("Escape");
    await mod.getByRole("complementary", { name: "Members" }).getByTestId("timeout-badge").waitFor();
    await shot(mod, "badge");

    const lift = await api(ana, "DELETE", `/api/communities/${communityId}/members/${ben.id}/timeout`);
    expect(lift.status).toBe(200);
    await benPage.locator(".composer").waitFor();
    expect(await benPage.getByTestId("timeout-notice").count()).toBe(0);

    // The audit log names every moderation action in words.
    await mod.goto(`${base}/c/${communityId}/settings/audit-log`);
    await mod.getByText("Ana timed out Ben").waitFor();
    await mod.getByText("Ana removed the timeout of Ben").waitFor();
    await mod.getByText("Ana resolved a report about Ben").waitFor();
    await mod.getByText("The message was deleted").waitFor();
    await shot(mod, "audit-log");
  });

  it("slowmode set in the channel's settings shows members a cooldown after they write", async () => {
    const mod = await pageAs(ana);
    await mod.goto(`${base}/c/${communityId}/settings/channels?channel=${channelId}`);
    const select = mod.getByTestId("slowmode-select");
    await select.waitFor();
    await select.selectOption({ label: "30 seconds" });
    await mod.getByText("Saved.").waitFor();
    await shot(mod, "slowmode-settings");

    const page = await pageAs(cid);
    const bar = page.getByTestId("slowmode-bar");
    await bar.waitFor();
    expect(await bar.textContent()).toContain("one message every 30 seconds");
    const box = page.getByRole("combobox", { name: /^Message #/ });
    await box.click();
    await box.fill("first under slowmode");
    await box.press("Enter");
    await page.locator("article.message", { hasText: "first under slowmode" }).waitFor();
    await bar.filter({ hasText: /you can send again in 0:[0-3]\d/ }).waitFor();
    await shot(page, "slowmode");
  });
});
