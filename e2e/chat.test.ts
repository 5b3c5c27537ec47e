/**
 * Text chat in the browser, two users in one community channel: they chat, reply, react,
 * edit, delete, upload an image and search; then one goes offline while the other writes,
 * and on reconnecting sees every message exactly once, in order.
 */
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launch, newPage, uniqueName } from "./browser";
import { communityWith, logInContext, registerUser, type TestCommunity, type TestUser } from "./chat-fixtures";
import { png } from "./images";

const base = inject("baseUrl");
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});


interface Seat {
  user: TestUser;
  context: BrowserContext;
  page: Page;
}

async function openChannel(user: TestUser, c: TestCommunity): Promise<Seat> {
  const { context, page } = await newPage(browser);
  await logInContext(context, base, user);
  await page.goto(`${base}/c/${c.communityId}/${c.channelId}`);
  await composer(page).waitFor();
  // Connected once the room has answered (the list is no longer busy).
  await page.locator('[role="log"][aria-busy="false"]').waitFor();
  return { user, context, page };
}

function composer(page: Page): Locator {
  return page.getByRole("combobox", { name: /^Message #/ });
}

/** The message whose own text (not a quoted reply) matches. */
function message(page: Page, text: string | RegExp): Locator {
  return page.locator("article.message").filter({ has: page.locator(".msg-text", { hasText: text }) });
}

async function send(page: Page, text: string): Promise<void> {
  const box = composer(page);
  await box.click();
  await box.fill(text);
  await box.press("Enter");
  await expect.poll(() => box.inputValue()).toBe("");
}

async function hoverAction(page: Page, target: Locator, action: string): Promise<void> {
  await target.hover();
  await target.getByRole("toolbar").getByRole("button", { name: action, exact: true }).click();
}

describe("chat between two members", () => {
  it("chat, reply, react, edit, delete, upload an image, search; offline catch-up without gaps or doubles", async () => {
    const alice = await registerUser(base, uniqueName("alice"), "Alice Chat");
    const bob = await registerUser(base, uniqueName("bob"), "Bob Chat");
    const community = await communityWith(base, alice, [bob], "Chat e2e");
    const a = await openChannel(alice, community);
    const b = await openChannel(bob, community);

    // Chat both ways.
    await send(a.page, "Hello **Bob**, this is Alice");
    await message(b.page, "Hello Bob, this is Alice").waitFor();
    await expect.poll(() => message(b.page, "Hello Bob, this is Alice").locator("strong").textContent()).toBe("Bob");

    // Bob replies: the reply shows a quoted preview of the original.
    await hoverAction(b.page, message(b.page, "Hello Bob, this is Alice"), "Reply");
    await b.page.getByText("Replying to").waitFor();
    await send(b.page, "Hi Alice, replying here");
    const reply = message(a.page, "Hi Alice, replying here");
    await reply.waitFor();
    await expect.poll(() => reply.locator(".reply-preview").textContent()).toContain("Hello Bob, this is Alice");

    // Alice reacts to the reply with the picker; Bob adds his to the same emoji.
    await hoverAction(a.page, reply, "Add reaction");
    const picker = a.page.getByRole("dialog", { name: "Emoji" });
    await picker.getByRole("searchbox").fill("thumbs up");
    await picker.getByRole("button", { name: "thumbs up", exact: true }).click();
    const bobsReaction = message(b.page, "Hi Alice, replying here").locator("button.reaction", { hasText: "👍" });
    await expect.poll(() => bobsReaction.locator(".reaction-count").textContent()).toBe("1");
    await bobsReaction.click();
    await expect.poll(() => bobsReaction.getAttribute("aria-pressed")).toBe("true");
    await expect.poll(() => message(a.page, "Hi Alice, replying here").locator("button.reaction .reaction-count").textContent()).toBe("2");

    // Alice edits her message; Bob sees the new text marked "(edited)".
    await hoverAction(a.page, message(a.page, "Hello Bob, this is Alice"), "Edit");
    const edit = a.page.getByRole("textbox", { name: "Edit message" });
    await edit.fill("Hello Bob, this is Alice (second draft)");
    await edit.press("Enter");
    const edited = message(b.page, "second draft");
    await edited.waitFor();
    await expect.poll(() => edited.locator(".edited").textContent()).toBe("(edited)");

    // Bob writes and deletes a message (with the confirmation); it goes for both.
    await send(b.page, "a message to delete");
    await message(a.page, "a message to delete").waitFor();
    await hoverAction(b.page, message(b.page, "a message to delete"), "Delete");
    await b.page.getByRole("dialog").getByRole("button", { name: "Delete", exact: true }).click();
    await expect.poll(() => message(a.page, "a message to delete").count()).toBe(0);
    await expect.poll(() => message(b.page, "a message to delete").count()).toBe(0);

    // Alice uploads an image: its size is known before it loads, and it is served.
    await a.page.getByTestId("composer-file-input").setInputFiles({ name: "square.png", mimeType: "image/png", buffer: png(64, 48) });
    await a.page.locator(".composer .file .file-status").waitFor();
    await send(a.page, "here is a picture");
    const img = message(b.page, "here is a picture").locator("img[alt='square.png']");
    await img.waitFor();
    expect(await img.getAttribute("width")).toBe("64");
    expect(await img.getAttribute("height")).toBe("48");
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(64);
    const src = (await img.getAttribute("src"))!;
    const served = await b.page.request.get(`${base}${src}`);
    expect(served.status()).toBe(200);
    expect(served.headers()["x-content-type-options"]).toBe("nosniff");

    // Bob searches and jumps to a hit.
    await b.page.getByRole("searchbox", { name: "Search", exact: true }).fill("draft");
    await b.page.getByRole("searchbox", { name: "Search", exact: true }).press("Enter");
    const hit = b.page.locator("button.hit", { hasText: "second draft" });
    await hit.waitFor();
    await hit.click();
    await expect.poll(() => message(b.page, "second draft").getAttribute("class")).toContain("highlighted");

    // Bob's network goes away; Alice writes three messages; Bob comes back and sees each once, in order.
    await b.context.setOffline(true);
    await b.page.getByTestId("connection-banner").waitFor();
    const offline = ["while you were away 1", "while you were away 2", "while you were away 3"];
    for (const text of offline) await send(a.page, text);
    await expect.poll(() => a.page.locator(".message.pending").count()).toBe(0);
    await b.context.setOffline(false);
    await message(b.page, offline[2]!).waitFor({ timeout: 30_000 });
    await expect.poll(() => b.page.getByTestId("connection-banner").count()).toBe(0);
    const seen = await b.page.locator("article.message .msg-text").allTextContents();
    for (const text of offline) expect(seen.filter((t) => t.includes(text))).toHaveLength(1);
    const order = offline.map((text) => seen.findIndex((t) => t.includes(text)));
    expect(order).toEqual([...order].sort((x, y) => x - y));
    // Every message id rendered once.
    const ids = await b.page.locator("article.message").evaluateAll((els) => els.map((e) => e.getAttribute("data-message-id")));
    expect(new Set(ids).size).toBe(ids.length);

    await a.context.close();
    await b.context.close();
  });

  it("a message sent just before a reload is not lost: it goes out after the reload, once", async () => {
    const owner = await registerUser(base, uniqueName("reload"), "Reloader");
    const community = await communityWith(base, owner, [], "Reload");
    const seat = await openChannel(owner, community);
    const { page } = seat;
    // The room's socket is held on the way (the send cannot reach it); then the page reloads.
    let hold = true;
    await page.routeWebSocket(/\/parties\/channel-room\//, (ws) => {
      if (hold) return; // never connected: frames go nowhere, like a socket stuck on a bad network
      ws.connectToServer();
    });
    await page.evaluate(() => window.dispatchEvent(new Event("offline")));
    await page.evaluate(() => window.dispatchEvent(new Event("online")));
    await composer(page).click();
    await composer(page).fill("sent as the page went away");
    await composer(page).press("Enter");
    const text = "sent as the page went away";
    const pending = page.locator(".message.pending", { hasText: text });
    const stored = page.locator("article.message", { hasText: text });
    const any = page.locator(".message", { hasText: text });
    await pending.waitFor();
    expect(await pending.getAttribute("data-status")).toBe("sending");
    expect(await stored.count()).toBe(0);
    hold = false;
    await page.reload();
    // After the reload it shows as pending at once, then as stored (with its seq), once.
    await expect.poll(async () => (await stored.count()) === 1 && (await stored.getAttribute("data-seq")) !== null, { timeout: 20_000 }).toBe(true);
    expect(await any.count()).toBe(1);
    // Stored once: another reload (the history from the server) shows it once, nothing pending.
    await page.reload();
    await page.locator('[role="log"][aria-busy="false"]').waitFor();
    await stored.waitFor();
    expect(await any.count()).toBe(1);
    expect(await page.locator(".message.pending").count()).toBe(0);
    await seat.context.close();
  });

  it("a member without SEND_MESSAGES sees why the composer is disabled", async () => {
    const owner = await registerUser(base, uniqueName("owner"), "Owner");
    const reader = await registerUser(base, uniqueName("reader"), "Reader");
    const community = await communityWith(base, owner, [reader], "Read only");
    // Deny SEND_MESSAGES to @everyone in the channel.
    const detail = (await (await fetch(`${base}/api/communities/${community.communityId}`, { headers: { cookie: owner.cookie, origin: base } })).json()) as {
      roles: { id: string; isEveryone: boolean }[];
    };
    const everyone = detail.roles.find((r) => r.isEveryone)!;
    const res = await fetch(`${base}/api/channels/${community.channelId}/overwrites/role/${everyone.id}`, {
      method: "PUT",
      headers: { cookie: owner.cookie, origin: base, "content-type": "application/json" },
      body: JSON.stringify({ allow: "0", deny: String(1n << 1n) }),
    });
    expect(res.ok).toBe(true);
    const { context, page } = await newPage(browser);
    await logInContext(context, base, reader);
    await page.goto(`${base}/c/${community.communityId}/${community.channelId}`);
    const box = page.getByRole("combobox", { name: "You do not have permission to send messages in this channel." });
    await box.waitFor();
    expect(await box.isDisabled()).toBe(true);
    await context.close();
  });
});
