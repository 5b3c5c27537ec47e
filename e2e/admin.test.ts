/**
 * Instance administration in Chromium (docs/admin.md), on a product of its own (a fresh
 * database, so the first account this file registers is the instance's owner; no LiveKit):
 * the admin page from the user menu, registration closed, a password-reset link end to end,
 * an instance ban logging out the banned user's open page, a community export downloaded, and
 * the page at 1280×800 and 390×844 (screenshots in e2e/.artifacts/).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startProduct } from "../scripts/product.mjs";
import { launch, newPage, uniqueName } from "./browser";

const PASSWORD = "violet lantern river 93";
const ARTIFACTS = path.resolve(import.meta.dirname, ".artifacts");
let base: string;
let browser: Browser;
let product: Awaited<ReturnType<typeof startProduct>>;
let persistTo: string;
let owner: { context: BrowserContext; page: Page; username: string };

async function registerInUi(page: Page, username: string) {
  await page.goto(`${base}/register`);
  await page.getByRole("heading", { name: "Create your account" }).waitFor();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "You're not in any community yet" }).waitFor();
}

async function member(): Promise<{ context: BrowserContext; page: Page; username: string }> {
  const { context, page } = await newPage(browser);
  const username = uniqueName("member");
  await registerInUi(page, username);
  return { context, page, username };
}

/** The admin page's row for `username`, found with the page's own search. */
async function row(page: Page, username: string) {
  await page.getByPlaceholder("Search usernames").fill(username);
  const r = page.locator(`[data-testid="admin-user"][data-username="${username}"]`);
  await r.waitFor();
  await expect.poll(() => page.locator('[data-testid="admin-user"]').count()).toBe(1);
  return r;
}

beforeAll(async () => {
  persistTo = mkdtempSync(path.join(os.tmpdir(), "woxly-e2e-admin-"));
  // The web app is built by `npm test` (or the global setup) before this file runs.
  product = await startProduct({ port: await freePort(), persistTo, livekit: false, quiet: true, build: false });
  base = product.url;
  browser = await launch();
  const { context, page } = await newPage(browser);
  owner = { context, page, username: uniqueName("owner") };
  await registerInUi(page, owner.username);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await product?.stop();
  if (persistTo) rmSync(persistTo, { recursive: true, force: true });
});

describe("instance administration in the browser", () => {
  it("the first account is the owner and reaches /admin from the user menu; members do not", async () => {
    const { page } = owner;
    await page.getByRole("button", { name: "User menu" }).click();
    await page.getByRole("menuitem", { name: "Administration" }).click();
    await page.waitForURL(/\/admin$/);
    await page.getByRole("heading", { name: "Instance administration" }).waitFor();
    await page.getByText("You are this instance's owner.").waitFor();

    const m = await member();
    await m.page.getByRole("button", { name: "User menu" }).click();
    await m.page.getByRole("menuitem", { name: "Log out", exact: true }).waitFor();
    expect(await m.page.getByRole("menuitem", { name: "Administration" }).count()).toBe(0);
    expect((await m.page.request.get(`${base}/api/admin`)).status()).toBe(403);
    await m.context.close();
  });

  it("registration closed: a new visitor cannot register; open again: they can", async () => {
    const { page } = owner;
    await page.goto(`${base}/admin`);
    await page.getByRole("radio", { name: /^Closed/ }).check();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();

    const { context, page: visitor } = await newPage(browser);
    await visitor.goto(`${base}/register`);
    await visitor.getByRole("heading", { name: "Registration is closed" }).waitFor();
    expect(await visitor.getByRole("button", { name: "Create account" }).count()).toBe(0);
    // The server refuses it too, whatever the page shows.
    const res = await visitor.request.post(`${base}/api/auth/register`, {
      headers: { origin: base },
      data: { username: uniqueName("late"), password: PASSWORD },
    });
    expect(res.status()).toBe(403);
    expect((await res.json()).error.code).toBe("registration_closed");

    await page.getByRole("radio", { name: /^Open/ }).check();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
    await registerInUi(visitor, uniqueName("early"));
    await context.close();
  });

  it("invite only: the register page says so, and an invite link takes a newcomer through registration into the community", async () => {
    const { page } = owner;
    await page.goto(`${base}/admin`);
    await page.getByRole("radio", { name: /^Invite only/ }).check();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
    const made = await page.request.post(`${base}/api/communities`, { headers: { origin: base }, data: { name: "Invite club" } });
    const { community } = (await made.json()) as { community: { id: string } };
    const inv = await page.request.post(`${base}/api/communities/${community.id}/invites`, { headers: { origin: base }, data: {} });
    expect(inv.status()).toBe(201);
    const { invite: { code } } = (await inv.json()) as { invite: { code: string } };

    const { context, page: newcomer } = await newPage(browser);
    // Without an invite: told how to get in, and the server refuses.
    await newcomer.goto(`${base}/register`);
    await newcomer.getByText("This instance takes new accounts only through a community invite link.").waitFor();
    await newcomer.getByLabel("Username").fill(uniqueName("noinvite"));
    await newcomer.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await newcomer.getByRole("button", { name: "Create account" }).click();
    await newcomer.getByText("New accounts need an invite link from a community here.").waitFor();
    // Through the invite page: in.
    await newcomer.goto(`${base}/invite/${code}`);
    await newcomer.getByRole("link", { name: "Create an account to join" }).click();
    await newcomer.getByRole("heading", { name: "Create your account" }).waitFor();
    await newcomer.getByLabel("Username").fill(uniqueName("invited"));
    await newcomer.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await newcomer.getByRole("button", { name: "Create account" }).click();
    await newcomer.waitForURL(new RegExp(`/c/${community.id}/`));
    await context.close();

    await page.getByRole("radio", { name: /^Open/ }).check();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  });

  it("a reset link sets a new password once, and every old session is gone", async () => {
    const m = await member();
    // A second session of the same account, in another browser.
    const other = await newPage(browser);
    await other.page.goto(`${base}/login`);
    await other.page.getByLabel("Username").fill(m.username);
    await other.page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await other.page.getByRole("button", { name: "Log in" }).click();
    await other.page.getByRole("heading", { name: "You're not in any community yet" }).waitFor();

    const { page } = owner;
    await page.goto(`${base}/admin`);
    const r = await row(page, m.username);
    await r.getByRole("button", { name: "Reset link" }).click();
    const link = await page.locator("#reset-link-url").inputValue();
    expect(link).toMatch(new RegExp(`^${base}/reset#[0-9a-z]{52}$`));

    const { context, page: reset } = await newPage(browser);
    await reset.goto(link);
    await reset.getByText(`For the account @${m.username}.`).waitFor();
    // The token leaves the address bar at once.
    expect(reset.url()).toBe(`${base}/reset`);
    const NEW = "amber harbour kite 58";
    await reset.getByLabel("New password").fill(NEW);
    await reset.getByRole("button", { name: "Set password" }).click();
    await reset.getByRole("heading", { name: "Password set" }).waitFor();

    expect((await m.page.request.get(`${base}/api/me`)).status()).toBe(401);
    expect((await other.page.request.get(`${base}/api/me`)).status()).toBe(401);
    // The open pages of the old sessions go to the login page.
    await m.page.waitForURL(/\/login/);
    await other.page.waitForURL(/\/login/);

    // Used once: the same link, opened again, says it does not work.
    const again = await context.newPage();
    await again.goto(link);
    await again.getByRole("heading", { name: "This link does not work" }).waitFor();

    await m.page.getByLabel("Username").fill(m.username);
    await m.page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await m.page.getByRole("button", { name: "Log in" }).click();
    await m.page.getByText("Wrong username or password.").waitFor();
    await m.page.getByLabel("Password", { exact: true }).fill(NEW);
    await m.page.getByRole("button", { name: "Log in" }).click();
    await m.page.getByRole("heading", { name: "You're not in any community yet" }).waitFor();
    await Promise.all([context.close(), other.context.close(), m.context.close()]);
  });

  it("a ban logs the banned user's open page out, and login says the account is suspended", async () => {
    const { context, page: victim } = await newPage(browser);
    const username = uniqueName("banned");
    const socket = victim.waitForEvent("websocket", (ws) => ws.url().includes("/parties/user-inbox/"));
    await registerInUi(victim, username);
    await socket;

    const { page } = owner;
    await page.goto(`${base}/admin`);
    const r = await row(page, username);
    page.once("dialog", (d) => void d.accept());
    await r.getByRole("button", { name: "Ban" }).click();
    await r.getByText("Banned", { exact: true }).waitFor();

    await victim.waitForURL(/\/login/, { timeout: 10_000 });
    await victim.getByLabel("Username").fill(username);
    await victim.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await victim.getByRole("button", { name: "Log in" }).click();
    await victim.getByText("This account has been suspended by the instance's admins.").waitFor();

    await r.getByRole("button", { name: "Unban" }).click();
    await r.getByRole("button", { name: "Ban" }).waitFor();
    await context.close();
  });

  it("exports a community as a JSON download with its members, messages and files list", async () => {
    const { page } = owner;
    const made = await page.request.post(`${base}/api/communities`, { headers: { origin: base }, data: { name: "Export club" } });
    expect(made.status()).toBe(201);
    const { community } = (await made.json()) as { community: { id: string } };
    await page.goto(`${base}/admin`);
    const link = page.getByRole("link", { name: "Export Export club (members, messages, files list) as a JSON file" });
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    expect(download.suggestedFilename()).toMatch(/^woxly-Export-club-\d{4}-\d{2}-\d{2}\.json$/);
    const archive = JSON.parse(readFileSync((await download.path())!, "utf8"));
    expect(archive).toMatchObject({ format: "woxly-community-export", version: 1, community: { id: community.id, name: "Export club" } });
    expect(archive.members.map((m: { username: string }) => m.username)).toEqual([owner.username]);
    expect(archive.channels.map((c: { name: string }) => c.name)).toContain("general");
    expect(archive.files).toEqual([]);
  });

  it("the page at 1280×800 and on a phone (390×844): one column, targets ≥ 44 px, nothing wider than the screen", async () => {
    const { page } = owner;
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${base}/admin`);
    await page.getByRole("heading", { name: "Storage" }).waitFor();
    await page.getByText("Largest tables").waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, "admin-1280x800.png") });
    await page.screenshot({ path: path.join(ARTIFACTS, "admin-1280x800-full.png"), fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/admin`);
    await page.getByText("Largest tables").waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, "admin-390x844.png") });
    await page.screenshot({ path: path.join(ARTIFACTS, "admin-390x844-full.png"), fullPage: true });

    const small = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>(".admin a, .admin button, .admin input:not([type=radio]), .admin label.choice")]
        .filter((el) => el.offsetParent !== null && !el.closest(".visually-hidden"))
        .map((el) => ({ what: el.outerHTML.slice(0, 80), h: el.getBoundingClientRect().height, w: el.getBoundingClientRect().width }))
        .filter((t) => t.h < 44 || t.w < 44),
    );
    expect(small).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // Stacked: the two storage cards sit one above the other.
    const boxes = await page.locator(".stat").evaluateAll((els) => els.map((e) => e.getBoundingClientRect().top));
    expect(boxes[1]).toBeGreaterThan(boxes[0]!);
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
