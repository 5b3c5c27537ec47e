import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launch, newPage, uniqueName } from "./browser";

const base = inject("baseUrl");
const PASSWORD = "violet lantern river 93";
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

async function registerInUi(page: Page, username: string) {
  await page.goto(`${base}/register`);
  await page.getByRole("heading", { name: "Create your account" }).waitFor();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Display name").fill(`Tester ${username.slice(-4)}`);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "You're not in any community yet" }).waitFor();
}

async function logInInUi(page: Page, username: string, password = PASSWORD) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

async function openUserMenu(page: Page) {
  await page.getByRole("button", { name: "User menu" }).click();
}

describe("accounts in the browser", () => {
  it("register → log out → log in → reload keeps the session", async () => {
    const { context, page } = await newPage(browser);
    const username = uniqueName("alice");
    await registerInUi(page, username);
    await expect.poll(() => page.getByTestId("current-user").textContent()).toContain(username);

    await openUserMenu(page);
    await page.getByRole("menuitem", { name: "Log out", exact: true }).click();
    await page.waitForURL(/\/login/);
    expect((await page.request.get(`${base}/api/me`)).status()).toBe(401);

    await logInInUi(page, username);
    await page.getByRole("heading", { name: "You're not in any community yet" }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "You're not in any community yet" }).waitFor();
    await expect.poll(() => page.getByTestId("current-user").textContent()).toContain(username);

    // The session cookie is HttpOnly: scripts on the page cannot read it.
    expect(await page.evaluate(() => document.cookie)).not.toContain("woxly_session");
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "woxly_session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/" });
    await context.close();
  });

  it("log out everywhere ends another browser's session", async () => {
    const a = await newPage(browser);
    const b = await newPage(browser);
    const username = uniqueName("bob");
    await registerInUi(a.page, username);
    await logInInUi(b.page, username);
    await b.page.getByRole("heading", { name: "You're not in any community yet" }).waitFor();

    await openUserMenu(a.page);
    await a.page.getByRole("menuitem", { name: "Log out everywhere" }).click();
    await a.page.waitForURL(/\/login/);

    await b.page.reload();
    await b.page.waitForURL(/\/login/);
    await b.page.getByRole("heading", { name: "Welcome back" }).waitFor();
    await a.context.close();
    await b.context.close();
  });

  it("shows field errors and a wrong-password error without losing what was typed", async () => {
    const { context, page } = await newPage(browser);
    await page.goto(`${base}/register`);
    await page.getByLabel("Username").fill("x");
    await page.getByLabel("Password", { exact: true }).fill("short");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect.poll(() => page.getByLabel("Username").getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByLabel("Username").inputValue()).toBe("x");

    await logInInUi(page, uniqueName("nobody"), "not the right one");
    await page.getByRole("alert").filter({ hasText: /wrong|incorrect|invalid/i }).first().waitFor();
    expect(page.url()).toContain("/login");
    await context.close();
  });

  it("the forms work from the keyboard alone", async () => {
    const { context, page } = await newPage(browser);
    const username = uniqueName("kbd");
    await page.goto(`${base}/register`);
    await page.getByLabel("Username").focus();
    await page.keyboard.type(username);
    await page.keyboard.press("Tab");
    await page.keyboard.type("Keyboard User");
    await page.keyboard.press("Tab");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "You're not in any community yet" }).waitFor();
    await context.close();
  });

  it("is translated: Russian from the browser's language, switchable, and theme toggles", async () => {
    const { context, page } = await newPage(browser, { locale: "ru-RU" });
    await page.goto(`${base}/login`);
    await page.getByRole("heading", { name: "С возвращением" }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe("ru");

    await page.getByRole("combobox").first().selectOption("ky");
    await expect.poll(() => page.evaluate(() => document.documentElement.lang)).toBe("ky");
    await page.getByRole("combobox").first().selectOption("en");
    await page.getByRole("heading", { name: "Welcome back" }).waitFor();

    const before = await page.evaluate(() => document.documentElement.dataset.theme);
    await page.getByRole("button", { name: /theme/i }).first().click();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).not.toBe(before);
    await page.reload();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).not.toBe(before);
    await context.close();
  });

  it("an unauthenticated visit to the app goes to the login page", async () => {
    const { context, page } = await newPage(browser);
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login/);
    await context.close();
  });
});
