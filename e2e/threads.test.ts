/**
 * Threads in the browser (docs/threads.md), one Chromium for the file: Alice starts a thread
 * from her message and writes in it; Bob sees "1 reply" under that message appear live, opens
 * the thread beside the channel (the starter message on top), answers, and Alice sees his
 * answer and "2 replies". The channel's thread list shows it; Bob leaves and joins again. Then
 * on a phone (390×844, touch) the thread opens as a full pane. Screenshots go to
 * /tmp/woxly-shots/threads-*.png.
 */
import { mkdirSync } from "node:fs";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launch, newPage, uniqueName } from "./browser";
import { communityWith, logInContext, registerUser, type TestCommunity, type TestUser } from "./chat-fixtures";

const base = inject("baseUrl");
const SHOTS = process.env.THREAD_SHOTS_DIR ?? "/tmp/woxly-shots";
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launch();
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
});

async function open(user: TestUser, c: TestCommunity, viewport?: { width: number; height: number }): Promise<Page> {
  const { context, page } = viewport
    ? await browser.newContext({ viewport, hasTouch: true, isMobile: true, locale: "en-US" }).then(async (context) => ({ context, page: await context.newPage() }))
    : await newPage(browser);
  contexts.push(context);
  await logInContext(context, base, user);
  await page.goto(`${base}/c/${c.communityId}/${c.channelId}`);
  await page.locator('[role="log"][aria-busy="false"]').first().waitFor();
  return page;
}

/** The channel's own chat (not the thread's, which sits inside the thread pane). */
const channelChat = (page: Page) => page.locator("section.channel").first();
const pane = (page: Page) => page.getByTestId("thread-pane");

async function send(scope: Locator, text: string): Promise<void> {
  const box = scope.getByRole("combobox", { name: /^Message / }).last();
  await box.click();
  await box.fill(text);
  await box.press("Enter");
  await expect.poll(() => box.inputValue()).toBe("");
}

const messageIn = (scope: Locator, text: string) => scope.locator("article.message").filter({ has: scope.page().locator(".msg-text", { hasText: text }) });

describe("threads", () => {
  it("start from a message, reply on both sides, list, join/leave, and a phone's full pane", async () => {
    const alice = await registerUser(base, uniqueName("alice"), "Alice");
    const bob = await registerUser(base, uniqueName("bob"), "Bob");
    const c = await communityWith(base, alice, [bob], "Threads test");
    const a = await open(alice, c);
    const b = await open(bob, c);

    await send(channelChat(a), "Plan the meetup");
    const starter = messageIn(channelChat(a), "Plan the meetup");
    await starter.hover();
    await starter.getByTestId("thread-action").click();
    // The form, with the starter message above it and a name taken from it.
    await expect.poll(() => pane(a).getByTestId("thread-starter").textContent()).toContain("Plan the meetup");
    expect(await pane(a).getByTestId("thread-name").inputValue()).toBe("Plan the meetup");
    await a.screenshot({ path: `${SHOTS}/threads-desktop-new.png` });
    await pane(a).getByTestId("thread-name").fill("Meetup");
    await pane(a).getByTestId("thread-archive-after").selectOption("10080");
    await pane(a).getByTestId("thread-create").click();
    await pane(a).locator('[role="log"][aria-busy="false"]').waitFor();
    await send(pane(a), "Saturday works for me");
    await messageIn(pane(a), "Saturday works for me").waitFor();

    // Bob sees the summary under the message appear live, and opens the thread from it.
    const summary = messageIn(channelChat(b), "Plan the meetup").getByTestId("thread-summary");
    await expect.poll(() => summary.textContent(), { timeout: 10_000 }).toMatch(/Meetup\s*1 reply/);
    await summary.click();
    await messageIn(pane(b), "Saturday works for me").waitFor();
    expect(await pane(b).getByTestId("thread-starter").textContent()).toContain("Plan the meetup");
    expect(await pane(b).getByTestId("thread-join").textContent()).toContain("Join");
    await send(pane(b), "Count me in");

    // Alice sees it in the open thread, and "2 replies" under her message; Bob joined by writing.
    await messageIn(pane(a), "Count me in").waitFor();
    await pane(a).getByTestId("thread-starter").waitFor();
    await expect.poll(() => starter.getByTestId("thread-summary").textContent()).toMatch(/2 replies/);
    await expect.poll(() => pane(b).getByTestId("thread-join").textContent()).toContain("Leave");
    await a.screenshot({ path: `${SHOTS}/threads-desktop-open.png` });

    // Alice renames it; Bob's line under the message follows.
    await pane(a).getByRole("button", { name: "Rename" }).click();
    await pane(a).getByTestId("thread-rename").fill("Meetup plans");
    await pane(a).getByTestId("thread-rename").press("Enter");
    await expect.poll(() => messageIn(channelChat(b), "Plan the meetup").getByTestId("thread-summary").textContent()).toContain("Meetup plans");

    // Leave and join again.
    await pane(b).getByTestId("thread-join").click();
    await expect.poll(() => pane(b).getByTestId("thread-join").textContent()).toContain("Join");
    await pane(b).getByTestId("thread-join").click();
    await expect.poll(() => pane(b).getByTestId("thread-join").textContent()).toContain("Leave");

    // The channel's list of threads.
    await b.getByTestId("threads-button").first().click();
    await b.getByTestId("thread-item").filter({ hasText: "Meetup plans" }).waitFor();
    expect(await pane(b).textContent()).toMatch(/Active — 1/);
    await b.screenshot({ path: `${SHOTS}/threads-desktop-list.png` });

    // On a phone: the thread is a full pane over the channel.
    const p = await open(bob, c, { width: 390, height: 844 });
    const phoneSummary = messageIn(channelChat(p), "Plan the meetup").getByTestId("thread-summary");
    await phoneSummary.waitFor();
    expect((await phoneSummary.boundingBox())!.height).toBeGreaterThanOrEqual(44);
    await p.screenshot({ path: `${SHOTS}/threads-phone-channel.png` });
    await phoneSummary.tap();
    await messageIn(pane(p), "Count me in").waitFor();
    const box = (await pane(p).boundingBox())!;
    expect([box.x, box.y, box.width, box.height]).toEqual([0, 0, 390, 844]);
    await p.screenshot({ path: `${SHOTS}/threads-phone-open.png` });
    await pane(p).getByRole("button", { name: "Back to threads" }).tap();
    await p.getByTestId("thread-item").first().waitFor();
    await p.screenshot({ path: `${SHOTS}/threads-phone-list.png` });
  });
});
