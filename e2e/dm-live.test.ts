/**
 * DMs are live without a hub: a message in a DM reaches the other member's open app through
 * their UserInbox socket — a conversation they have never seen appears in the DM list with
 * its unread badge, and a further message raises the badge — without waiting for the list's
 * 60 s poll or a window focus. Real Chromium against the running product.
 */
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CHROMIUM, CHROMIUM_ARGS, uniqueName } from "./browser";
import { communityWith, logInContext, registerUser, sendOverSocket, type TestUser } from "./chat-fixtures";

const base = inject("baseUrl");
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
});

async function dmWith(from: TestUser, to: TestUser): Promise<string> {
  const res = await fetch(`${base}/api/dms`, {
    method: "POST",
    headers: { origin: base, cookie: from.cookie, "content-type": "application/json" },
    body: JSON.stringify({ userIds: [to.id] }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { channel: { id: string } }).channel.id;
}

describe("DMs without a poll", () => {
  it("a new conversation and each new message show in the other member's DM list at once", async () => {
    const ana = await registerUser(base, uniqueName("dlana"), "Ana");
    const ben = await registerUser(base, uniqueName("dlben"), "Ben");
    await communityWith(base, ana, [ben], "DM live");
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
    await logInContext(context, base, ben);
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.locator("#dm-list-title").waitFor();

    // Ana opens a DM that Ben's list does not have yet, and writes.
    const dm = await dmWith(ana, ben);
    await sendOverSocket(base, dm, ana, ["hello Ben"]);
    const link = page.locator(`a[href="/dm/${dm}"]`);
    await link.waitFor({ timeout: 5_000 });
    await expect.poll(() => link.getAttribute("aria-label"), { timeout: 5_000 }).toMatch(/1 unread/);

    await sendOverSocket(base, dm, ana, ["are you there?"]);
    await expect.poll(() => link.getAttribute("aria-label"), { timeout: 5_000 }).toMatch(/2 unread/);
    await context.close();
  });
});
