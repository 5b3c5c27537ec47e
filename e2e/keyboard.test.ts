/**
 * The keyboard-only path, with no mouse at all (keyboard presses and typing only): the quick
 * switcher (Ctrl+K) to a channel, send, reply, react, the switcher again to the voice channel,
 * join, mute and deafen with their shortcuts, leave; Alt+↓ between channels and Esc marking
 * read; and the shortcut sheet opened with `?`, keeping Tab inside it and giving focus back.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchWithVoice } from "./call-link-fixtures";
import { uniqueName } from "./browser";
import { communityWith, logInContext, registerUser, sendOverSocket, type TestCommunity, type TestUser } from "./chat-fixtures";

const base = inject("baseUrl");

let browser: Browser;
let close = async () => {};
let owner: TestUser;
let other: TestUser;
let room: TestCommunity;
let voiceName = "";
let textName = "";
let context: BrowserContext;
let page: Page;

async function api<T>(user: TestUser, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { origin: base, cookie: user.cookie, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Presses `key` until `focused()` says the wanted element has focus; fails after `max` presses. */
async function pressUntil(key: string, focused: () => Promise<boolean>, max = 80): Promise<void> {
  const trail: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key);
    if (await focused()) return;
    trail.push(await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 100) ?? "(none)"));
  }
  throw new Error(`${key} ×${max} never focused what was wanted; focus went:\n${trail.slice(0, 30).join("\n")}`);
}

/** Whether focus is on the button labelled `label` in the message that says `text`. */
const onMessageButton = (label: string, text: string) => () =>
  page.evaluate(
    ([l, t]) => {
      const el = document.activeElement;
      return !!el && el.getAttribute("aria-label") === l && !!el.closest("article.message")?.querySelector(".msg-text")?.textContent?.includes(t!);
    },
    [label, text],
  );

/** From the composer: Shift+Tab to the message log, ↑ to the message, Tab to its button. */
async function toMessageButton(label: string, text: string): Promise<void> {
  await pressUntil("Shift+Tab", () => focusedMatches('[role="log"]'));
  await pressUntil("ArrowUp", () => page.evaluate((t) => !!document.activeElement?.matches("article.message") && !!document.activeElement.querySelector(".msg-text")?.textContent?.includes(t), text), 20);
  await pressUntil("Tab", onMessageButton(label, text), 15);
}

const focusedMatches = (selector: string) => page.evaluate((s) => !!document.activeElement?.matches(s), selector);

/** The switcher: Ctrl+K, type, arrows until the active option is the wanted kind and name, Enter. */
async function jump(name: string, kind: "text" | "voice"): Promise<void> {
  await page.keyboard.press("Control+K");
  const input = page.getByTestId("quick-switcher-input");
  await input.waitFor();
  expect(await focusedMatches('[data-testid="quick-switcher-input"]')).toBe(true);
  await page.keyboard.type(name);
  /** The kind and name of the option the input points at (aria-activedescendant). */
  const activeOption = async () => {
    const id = await input.getAttribute("aria-activedescendant");
    if (!id) return "";
    const option = page.locator(`[id="${id}"]`);
    return `${await option.getAttribute("data-kind")} ${await option.locator(".name").textContent()}`;
  };
  const wanted = `${kind} ${name}`;
  const option = page.getByRole("option").and(page.locator(`[data-kind="${kind}"]`)).filter({ has: page.locator(".name", { hasText: new RegExp(`^${name}$`) }) });
  // The community's channels come from its hub, live: wait until they are listed.
  await option.first().waitFor();
  // Its accessible name says what it is, not only the icon.
  expect(await option.first().textContent()).toContain(kind === "voice" ? "voice channel" : "text channel");
  for (let i = 0; i < 10 && (await activeOption()) !== wanted; i++) await page.keyboard.press("ArrowDown");
  expect(await activeOption()).toBe(wanted);
  await page.keyboard.press("Enter");
  await input.waitFor({ state: "hidden" });
}

beforeAll(async () => {
  ({ browser, close } = await launchWithVoice());
  owner = await registerUser(base, uniqueName("kb"), "Keys Owner");
  other = await registerUser(base, uniqueName("kb"), "Keys Friend");
  room = await communityWith(base, owner, [other], "Keyboard place");
  const { channels } = await api<{ channels: { id: string; name: string; kind: string }[] }>(owner, "GET", `/api/communities/${room.communityId}`);
  textName = channels.find((c) => c.id === room.channelId)!.name;
  voiceName = channels.find((c) => c.kind === "voice")!.name;
  await sendOverSocket(base, room.channelId, other, ["Ping from a friend"]);
  context = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(["microphone", "camera"], { origin: base });
  await logInContext(context, base, owner);
  page = await context.newPage();
});
afterAll(async () => {
  await context?.close();
  await close();
});

describe("keyboard only", () => {
  it("switcher → channel → send → reply → react → join voice → mute → deafen → leave", async () => {
    await page.goto(`${base}/`);
    await page.locator("nav.rail").waitFor();

    // The switcher to the text channel lands in its composer.
    await jump(textName, "text");
    await page.waitForURL(`**/c/${room.communityId}/${room.channelId}`);
    await page.locator('[role="log"][aria-busy="false"]').waitFor();
    await expect.poll(() => focusedMatches("textarea[data-composer]")).toBe(true);

    // Send.
    await page.keyboard.type("Typed without a mouse");
    await page.keyboard.press("Enter");
    const mine = page.locator("article.message").filter({ has: page.locator(".msg-text", { hasText: "Typed without a mouse" }) });
    await mine.waitFor();

    // Reply: back through the list to the friend's message's Reply button.
    await toMessageButton("Reply", "Ping from a friend");
    await page.keyboard.press("Enter");
    await expect.poll(() => focusedMatches("textarea[data-composer]")).toBe(true);
    await page.keyboard.type("A keyboard reply");
    await page.keyboard.press("Enter");
    const reply = page.locator("article.message").filter({ has: page.locator(".msg-text", { hasText: "A keyboard reply" }) });
    await reply.locator(".reply-ref", { hasText: "Ping from a friend" }).waitFor();

    // React: the friend's message's Add reaction button, the picker's search, Enter.
    await toMessageButton("Add reaction", "Ping from a friend");
    await page.keyboard.press("Enter");
    await expect.poll(() => focusedMatches('.picker[role="dialog"] input[type="search"]')).toBe(true);
    await page.keyboard.type("thumbs");
    await page.locator(".picker button.cell").first().waitFor();
    await page.keyboard.press("Enter");
    const friend = page.locator("article.message").filter({ has: page.locator(".msg-text", { hasText: "Ping from a friend" }) });
    await friend.locator('.reactions button.reaction[aria-pressed="true"]').first().waitFor();

    // Join the voice channel: the switcher lands on its Join button.
    await jump(voiceName, "voice");
    await expect.poll(() => focusedMatches("[data-voice-join]")).toBe(true);
    await page.keyboard.press("Enter");
    const stage = page.locator('[data-call-stage][data-phase="connected"]');
    await stage.waitFor({ timeout: 20_000 });

    // Mute and deafen with their shortcuts, and back.
    const mute = page.locator('[data-call-stage] [data-control="mute"]');
    const deafen = page.locator('[data-call-stage] [data-control="deafen"]');
    expect(await mute.getAttribute("aria-pressed")).toBe("false");
    await page.keyboard.press("Control+Shift+M");
    await expect.poll(() => mute.getAttribute("aria-pressed")).toBe("true");
    await page.keyboard.press("Control+Shift+M");
    await expect.poll(() => mute.getAttribute("aria-pressed")).toBe("false");
    await page.keyboard.press("Control+Shift+D");
    await expect.poll(() => deafen.getAttribute("aria-pressed")).toBe("true");
    await page.keyboard.press("Control+Shift+D");
    await expect.poll(() => deafen.getAttribute("aria-pressed")).toBe("false");

    // Leave: Tab to the Leave button.
    await pressUntil("Tab", () => focusedMatches('[data-call-stage] [data-control="leave"]'));
    await page.keyboard.press("Enter");
    await page.locator("[data-voice-join]").waitFor();
    await expect.poll(() => page.locator("[data-call-stage][data-phase='connected']").count()).toBe(0);
  });

  it("Alt+↑/↓ walks the text channels and Esc marks the channel read", async () => {
    const { channel: second } = await api<{ channel: { id: string } }>(owner, "POST", `/api/communities/${room.communityId}/channels`, { name: "second-lane", kind: "text" });
    const secondId = second.id;
    // A page of its own that never marks read by itself (it thinks it is hidden): only Esc can.
    const main = page;
    page = await context.newPage();
    await page.addInitScript(() => Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" }));
    try {
      await page.goto(`${base}/c/${room.communityId}/${room.channelId}`);
      await page.locator('[role="log"][aria-busy="false"]').waitFor();
      // A message in the other channel; its unread mark comes from the community's hub, so the
      // hub's channel list is live once the sidebar shows it.
      await sendOverSocket(base, secondId, other, ["Unread in second lane"]);
      await page.getByRole("link", { name: /second-lane.*unread/ }).waitFor();
      await page.keyboard.press("Alt+ArrowDown");
      await page.waitForURL(`**/c/${room.communityId}/${secondId}`);
      await page.keyboard.press("Alt+ArrowUp");
      await page.waitForURL(`**/c/${room.communityId}/${room.channelId}`);

      // Alt+Shift+↓ goes to the unread channel (still unread: this page never marks by itself); Esc there marks it read.
      await page.keyboard.press("Alt+Shift+ArrowDown");
      await page.waitForURL(`**/c/${room.communityId}/${secondId}`);
      await page.locator("article.message", { hasText: "Unread in second lane" }).waitFor();
      await page.locator('[role="log"][aria-busy="false"]').waitFor();
      const unread = async () => (await api<{ unreadCount: number }>(owner, "GET", `/api/channels/${secondId}/read-state`)).unreadCount;
      expect(await unread()).toBe(1);
      await page.keyboard.press("Escape");
      await expect.poll(unread).toBe(0);
    } finally {
      await page.close();
      page = main;
    }
  });

  it("? opens the shortcut sheet, Tab stays inside it, Esc closes it and gives focus back", async () => {
    await page.goto(`${base}/`);
    await page.locator("nav.rail").waitFor();
    // Focus something outside the sheet first, by keyboard.
    await page.keyboard.press("Tab");
    const before = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120) ?? "");
    await page.keyboard.press("?");
    const sheet = page.getByRole("dialog", { name: "Keyboard shortcuts" });
    await sheet.waitFor();
    await sheet.getByText("Jump to a channel, conversation or community").waitFor();
    const insideSheet = () => page.evaluate(() => !!document.activeElement?.closest("dialog[open]"));
    expect(await insideSheet()).toBe(true);
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press("Tab");
      expect(await insideSheet()).toBe(true);
    }
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press("Shift+Tab");
      expect(await insideSheet()).toBe(true);
    }
    await page.keyboard.press("Escape");
    await sheet.waitFor({ state: "hidden" });
    expect(await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120) ?? "")).toBe(before);
  });
});
