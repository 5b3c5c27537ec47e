/**
 * The embeddable widget on a website that is not Woxly (e2e/third-party-site.ts, another port
 * of 127.0.0.1, so another origin), in real Chromium against the running product: the launcher
 * draws itself only on an allowed origin; the panel page can be framed only there (CSP
 * frame-ancestors); a hostile page stylesheet neither hides nor restyles the launcher and the
 * widget's CSS does not leak into the page; postMessage from anything but the panel is ignored;
 * keyboard focus moves into the panel and back; the open state survives a reload; and a question
 * asked in the panel is answered from the desk's knowledge base. Screenshots go to /tmp/woxly-shots.
 */
import { gzipSync } from "node:zlib";
import { mkdirSync } from "node:fs";
import type { Browser, Frame, Page } from "playwright-core";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Desk } from "../workers/shared/desk";
import { launch } from "./browser";
import { person, type Person } from "./voice-people";
import { startThirdPartySite, type ThirdPartySite } from "./third-party-site";

const base = inject("baseUrl");
const SHOTS = "/tmp/woxly-shots";
const COLOUR = "#0a7d5a";
const ANSWER = "Open Settings, choose Security and press Reset password.";

let browser: Browser;
let owner: Person;
let desk: Desk;
let site: ThirdPartySite;
let hostile: ThirdPartySite;
let stranger: ThirdPartySite;

/** The launcher's button inside its shadow root (Playwright's CSS locators pierce open shadow roots). */
const launcher = (page: Page) => page.locator("woxly-widget button.launcher");
const panelBox = (page: Page) => page.locator("woxly-widget .panel");

async function panelFrame(page: Page): Promise<Frame> {
  const until = Date.now() + 15_000;
  for (;;) {
    const frame = page.frames().find((f) => f.url().includes(`/widget/frame/${desk.id}`));
    if (frame) {
      await frame.waitForSelector(".panel", { timeout: 15_000 });
      return frame;
    }
    if (Date.now() > until) throw new Error("no panel frame");
    await page.waitForTimeout(100);
  }
}

/** Which element of the page has focus, looking into the launcher's shadow root. */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const a = document.activeElement;
    if (a?.tagName === "WOXLY-WIDGET") {
      const inner = a.shadowRoot?.activeElement;
      return inner ? `shadow:${inner.tagName.toLowerCase()}.${inner.className}` : "woxly-widget";
    }
    return a ? a.tagName.toLowerCase() : "none";
  });
}

/** A socket of the manager (the desk's owner) as the web app opens it: their session cookie, Woxly's origin. */
async function managerSocket(path: string): Promise<{ ws: WebSocket; frames: { type: string; [k: string]: unknown }[]; next(type: string, timeoutMs?: number): Promise<{ type: string; [k: string]: unknown }> }> {
  const cookie = (await owner.context.cookies(base)).map((c) => `${c.name}=${c.value}`).join("; ");
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}${path}`, { headers: { cookie, origin: new URL(base).origin } });
  const frames: { type: string; [k: string]: unknown }[] = [];
  const waiting: { type: string; resolve: (f: { type: string }) => void }[] = [];
  ws.on("message", (d) => {
    const f = JSON.parse(String(d)) as { type: string };
    frames.push(f);
    for (const w of waiting.filter((x) => x.type === f.type)) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(f);
    }
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return {
    ws,
    frames,
    next: (type, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        waiting.push({ type, resolve: resolve as (f: { type: string }) => void });
        setTimeout(() => reject(new Error(`no ${type} frame within ${timeoutMs} ms`)), timeoutMs).unref();
      }),
  };
}

async function freshPage(viewport = { width: 1280, height: 800 }, locale = "en-US"): Promise<Page> {
  const context = await browser.newContext({ viewport, locale });
  return context.newPage();
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launch();
  // The sites first: the desk must list their origins (a free port each, so an origin each).
  site = await startThirdPartySite({ woxlyUrl: base, deskId: "pending" });
  hostile = await startThirdPartySite({ woxlyUrl: base, deskId: "pending", hostileCss: true });
  stranger = await startThirdPartySite({ woxlyUrl: base, deskId: "pending" });
  owner = await person(browser, base, "widgetowner");
  const { community } = await owner.api<{ community: { id: string } }>("POST", "/api/communities", { name: "Widget e2e" });
  desk = await owner.api<Desk>("POST", `/api/communities/${community.id}/desks`, {
    name: "Acme help",
    greeting: "Hi! Ask us anything.",
    colour: COLOUR,
    allowedOrigins: [site.origin, hostile.origin],
  });
  await owner.api("POST", `/api/desks/${desk.id}/kb`, { question: "How do I reset my password?", answer: ANSWER, language: "en" });
  // The same servers again, now pointing at the real desk (same ports, so the same origins).
  const ports = [site, hostile, stranger].map((s) => Number(new URL(s.origin).port));
  await Promise.all([site.close(), hostile.close(), stranger.close()]);
  site = await startThirdPartySite({ woxlyUrl: base, deskId: desk.id, port: ports[0] });
  hostile = await startThirdPartySite({ woxlyUrl: base, deskId: desk.id, hostileCss: true, port: ports[1] });
  stranger = await startThirdPartySite({ woxlyUrl: base, deskId: desk.id, port: ports[2] });
});

afterAll(async () => {
  await Promise.all([site?.close(), hostile?.close(), stranger?.close()]);
  await owner?.context.close();
  await browser?.close();
});

describe("the widget on a third-party site", () => {
  it("serves a small widget.js and a panel page framable only by the desk's origins", async () => {
    const js = await fetch(`${base}/widget.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    const gz = gzipSync(Buffer.from(await js.arrayBuffer()), { level: 9 }).length;
    expect(gz).toBeLessThan(15 * 1024);

    const frame = await fetch(`${base}/widget/frame/${desk.id}?lang=ru`);
    expect(frame.status).toBe(200);
    const csp = frame.headers.get("content-security-policy") ?? "";
    expect(csp).toContain(`frame-ancestors ${site.origin} ${hostile.origin}`);
    expect(csp).not.toContain(stranger.origin);
    expect(csp).toContain("script-src 'self'");
    expect(frame.headers.get("x-frame-options")).toBeNull();
    expect(frame.headers.get("permissions-policy")).toMatch(/camera=\(self\).*microphone=\(self\).*display-capture=\(self\)/);
    const html = await frame.text();
    expect(html).toContain('<html lang="ru">');
    expect(html).toMatch(/<script type="module" src="\/widget-panel\/assets\/panel-[\w-]+\.js">/);

    const unknown = await fetch(`${base}/widget/frame/nosuchdesk`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });

  it("draws the launcher on an allowed origin, in the desk's colour, and nothing elsewhere", async () => {
    const page = await freshPage();
    await page.goto(site.url);
    await launcher(page).waitFor({ state: "visible" });
    const look = await launcher(page).evaluate((b) => {
      const s = getComputedStyle(b);
      const r = b.getBoundingClientRect();
      return { bg: s.backgroundColor, w: r.width, h: r.height, label: b.getAttribute("aria-label") };
    });
    expect(look).toMatchObject({ bg: "rgb(10, 125, 90)", w: 56, h: 56, label: "Open chat: Acme help" });
    await page.screenshot({ path: `${SHOTS}/widget-launcher-1280.png` });
    // The widget's CSS stays inside its shadow root: the page's own button is as the page styled it.
    const pageButton = await page.locator(".page-button").evaluate((b) => {
      const s = getComputedStyle(b);
      return { radius: s.borderRadius, bg: s.backgroundColor, font: s.fontFamily };
    });
    expect(pageButton).toEqual({ radius: "3px", bg: "rgb(255, 230, 128)", font: "Georgia, serif" });

    const other = await freshPage();
    // The config request is made and refused by CORS (Woxly answers no allowed origin for this one).
    const asked = new Promise<void>((resolve) => other.on("requestfailed", (r) => r.url().includes(`/api/widget/desks/${desk.id}`) && resolve()));
    await other.goto(stranger.url);
    await Promise.race([asked, other.waitForTimeout(5000)]);
    await other.waitForTimeout(500);
    expect(await other.locator("woxly-widget").count()).toBe(0);
    await page.context().close();
    await other.context().close();
  });

  it("the panel page framed directly loads on an allowed origin and is blocked elsewhere", async () => {
    const ok = await freshPage();
    await ok.goto(`${site.origin}/direct-frame`);
    const frame = await panelFrame(ok);
    await expect.poll(() => frame.locator(".panel h1").textContent()).toBe("Acme help");

    const blocked = await freshPage();
    const refusals: string[] = [];
    blocked.on("console", (m) => refusals.push(m.text()));
    await blocked.goto(`${stranger.origin}/direct-frame`);
    await blocked.waitForTimeout(1500);
    const f = blocked.frames().find((x) => x !== blocked.mainFrame());
    // Chromium replaces a frame refused by frame-ancestors with its error page: no panel inside.
    const hasPanel = f ? await f.locator(".panel").count().catch(() => 0) : 0;
    expect(hasPanel).toBe(0);
    expect(f?.url().startsWith("chrome-error://") || refusals.some((t) => /frame-ancestors/.test(t))).toBe(true);
    await ok.context().close();
    await blocked.context().close();
  });

  it("a hostile page stylesheet neither hides nor restyles the launcher", async () => {
    const page = await freshPage();
    await page.goto(hostile.url);
    await launcher(page).waitFor({ state: "visible" });
    const look = await launcher(page).evaluate((b) => {
      const s = getComputedStyle(b);
      const r = b.getBoundingClientRect();
      const host = b.getRootNode() as ShadowRoot;
      const hit = host.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
      return { bg: s.backgroundColor, w: r.width, h: r.height, opacity: s.opacity, visibility: s.visibility, onTop: hit === b || b.contains(hit) };
    });
    expect(look).toEqual({ bg: "rgb(10, 125, 90)", w: 56, h: 56, opacity: "1", visibility: "visible", onTop: true });
    await page.screenshot({ path: `${SHOTS}/widget-hostile-1280.png` });
    await launcher(page).click();
    const frame = await panelFrame(page);
    const box = await panelBox(page).boundingBox();
    expect(box).toMatchObject({ width: 380, height: 600 });
    await expect.poll(() => frame.locator(".panel h1").textContent()).toBe("Acme help");
    expect(await frame.locator(".panel h1").isVisible()).toBe(true);
    await page.context().close();
  });

  it("ignores postMessage from anything but its panel, and the panel's close returns focus to the launcher", async () => {
    const page = await freshPage();
    await page.goto(site.url);
    await launcher(page).waitFor({ state: "visible" });
    await launcher(page).focus();
    await page.keyboard.press("Enter");
    const frame = await panelFrame(page);
    await expect.poll(() => focused(page)).toBe("shadow:iframe.");
    expect(await panelBox(page).isVisible()).toBe(true);

    // The page itself, a same-origin frame and an opaque-origin frame all say "close": ignored.
    await page.evaluate((deskId) => {
      window.postMessage({ woxly: 1, type: "close", deskId }, "*");
      for (const sandbox of [null, "allow-scripts"]) {
        const f = document.createElement("iframe");
        if (sandbox) f.setAttribute("sandbox", sandbox);
        f.srcdoc = `<script>parent.postMessage({ woxly: 1, type: "close", deskId: ${JSON.stringify(deskId)} }, "*")<\/script>`;
        document.body.append(f);
      }
    }, desk.id);
    await page.waitForTimeout(800);
    expect(await panelBox(page).isVisible()).toBe(true);

    // The panel's own close button (a message from the real panel) closes it; focus is back on the launcher.
    await frame.getByRole("button", { name: "Close chat" }).first().click();
    await expect.poll(() => panelBox(page).isVisible()).toBe(false);
    await expect.poll(() => focused(page)).toBe("shadow:button.launcher");

    // A forged unread count from the page shows no badge.
    await page.evaluate((deskId) => window.postMessage({ woxly: 1, type: "unread", deskId, count: 5 }, "*"), desk.id);
    await page.waitForTimeout(300);
    expect(await page.locator("woxly-widget .badge").isVisible()).toBe(false);

    // Esc inside the panel closes it too.
    await launcher(page).click();
    await expect.poll(() => panelBox(page).isVisible()).toBe(true);
    await frame.locator("textarea").focus();
    await page.keyboard.press("Escape");
    await expect.poll(() => panelBox(page).isVisible()).toBe(false);
    await expect.poll(() => focused(page)).toBe("shadow:button.launcher");
    await page.context().close();
  });

  it("answers a question from the knowledge base, stays open across a reload, and fills a phone screen", async () => {
    const page = await freshPage();
    await page.goto(site.url);
    await launcher(page).click();
    let frame = await panelFrame(page);
    expect(await frame.locator(".greeting").textContent()).toBe("Hi! Ask us anything.");
    await frame.locator("textarea").fill("how do i reset my password");
    await frame.locator("textarea").press("Enter");
    await frame.getByText(ANSWER).first().waitFor({ timeout: 20_000 });
    await expect.poll(() => frame.locator(".source").textContent()).toContain("How do I reset my password?");
    expect(await frame.getByRole("button", { name: "Talk to a manager" }).isVisible()).toBe(true);
    await page.screenshot({ path: `${SHOTS}/widget-panel-1280.png` });

    // Reload: the panel opens again by itself and shows the same conversation (the token in the frame's storage).
    await page.reload();
    frame = await panelFrame(page);
    expect(await panelBox(page).isVisible()).toBe(true);
    await frame.getByText(ANSWER).first().waitFor({ timeout: 20_000 });

    // A phone: the launcher, then the panel over the whole screen, touch targets of 44 px.
    const phone = await freshPage({ width: 390, height: 844 });
    await phone.goto(site.url);
    await launcher(phone).waitFor({ state: "visible" });
    await phone.screenshot({ path: `${SHOTS}/widget-launcher-390.png` });
    await launcher(phone).click();
    const pframe = await panelFrame(phone);
    expect(await panelBox(phone).boundingBox()).toMatchObject({ x: 0, y: 0, width: 390, height: 844 });
    const small = await pframe.locator("button:visible").evaluateAll((bs) =>
      bs.filter((b) => !b.classList.contains("link")).map((b) => b.getBoundingClientRect()).filter((r) => r.height < 44 || r.width < 44).length,
    );
    expect(small).toBe(0);
    await phone.screenshot({ path: `${SHOTS}/widget-panel-390.png` });
    await page.context().close();
    await phone.context().close();
  });

  it("with nobody online, \"Talk to a manager\" takes a message and an email instead", async () => {
    const page = await freshPage();
    await page.goto(site.url);
    await launcher(page).click();
    const frame = await panelFrame(page);
    await frame.getByRole("button", { name: "Talk to a manager" }).click();
    await frame.getByRole("heading", { name: "Nobody can answer right now" }).waitFor();
    await frame.getByLabel("Email").fill("ann@example.org");
    await frame.getByLabel("Message").fill("Please call me back about order 1234.");
    await frame.getByRole("button", { name: "Send message" }).click();
    await frame.getByText("Thank you! We will answer by email.").waitFor({ timeout: 15_000 });
    await page.context().close();
  });

  it("a live chat: the queue, a manager joining, messages both ways, typing, the unread badge, read receipts, closing and rating", async () => {
    const desk1 = await managerSocket(`/parties/support-desk/${desk.id}`);
    await desk1.next("desk.snapshot");
    desk1.ws.send(JSON.stringify({ type: "status.set", available: true }));
    await expect.poll(async () => (await (await fetch(`${base}/api/widget/desks/${desk.id}`)).json()).managersOnline).toBeGreaterThan(0);

    const page = await freshPage();
    await page.goto(site.url);
    await launcher(page).click();
    const frame = await panelFrame(page);
    await frame.locator("textarea").fill("My order has not arrived");
    await frame.locator("textarea").press("Enter");
    await frame.locator("[data-answer], [data-message]").nth(1).waitFor({ timeout: 20_000 });
    const requested = desk1.next("queue.requested");
    await frame.getByRole("button", { name: "Talk to a manager" }).click();
    await frame.getByText("You are number 1 in the queue").waitFor();
    const entry = (await requested).entry as { ticketId: string; channelId: string };

    desk1.ws.send(JSON.stringify({ type: "ticket.accept", ticketId: entry.ticketId, ref: "accept" }));
    await frame.getByText("A manager has joined").waitFor();
    const room = await managerSocket(`/parties/channel-room/${entry.channelId}`);
    const ready = await room.next("ready");
    room.ws.send(JSON.stringify({ type: "hello", lastSeq: Number(ready.headSeq) }));
    await room.next("resumed");
    room.ws.send(JSON.stringify({ type: "message.send", nonce: crypto.randomUUID(), content: "Hello, I am Anna. <b>Let me check.</b>" }));
    // Text stays text: the markup arrives as characters, not as an element.
    await frame.getByText("Hello, I am Anna. <b>Let me check.</b>").waitFor();
    expect(await frame.locator(".conversation b").count()).toBe(0);

    // Typing, then the visitor's answer reaches the manager; the manager reads it: "Read".
    room.ws.send(JSON.stringify({ type: "typing.start" }));
    await frame.getByText(/is typing…/).waitFor();
    const created = room.next("message.created");
    await frame.locator("textarea").fill("Order 1234, thank you");
    await frame.locator("textarea").press("Enter");
    const visitorMessage = (await created).message as { seq: number; content: string };
    expect(visitorMessage.content).toBe("Order 1234, thank you");
    room.ws.send(JSON.stringify({ type: "read.mark", seq: visitorMessage.seq }));
    await frame.locator("[data-message]", { hasText: "Order 1234, thank you" }).getByText("Read").waitFor();

    // With the panel closed, a manager's message shows on the launcher's badge; opening clears it.
    await launcher(page).click();
    await expect.poll(() => panelBox(page).isVisible()).toBe(false);
    room.ws.send(JSON.stringify({ type: "message.send", nonce: crypto.randomUUID(), content: "Found it: it ships today." }));
    await expect.poll(() => page.locator("woxly-widget .badge").textContent(), { timeout: 15_000 }).toBe("1");
    expect(await page.locator("woxly-widget .badge").isVisible()).toBe(true);
    await launcher(page).click();
    await expect.poll(() => page.locator("woxly-widget .badge").isVisible()).toBe(false);
    await frame.getByText("Found it: it ships today.").waitFor();
    await page.screenshot({ path: `${SHOTS}/widget-live-chat-1280.png` });

    // The manager closes; the visitor rates.
    desk1.ws.send(JSON.stringify({ type: "ticket.close", ticketId: entry.ticketId, ref: "close" }));
    await frame.getByRole("group", { name: "How did we do?" }).waitFor();
    await frame.getByRole("radio", { name: "4 of 5" }).click();
    await frame.getByLabel("Comment (optional)").fill("Quick and kind.");
    await frame.getByRole("button", { name: "Send rating" }).click();
    await frame.getByText("Thank you for your feedback!").waitFor();
    const closed = await owner.api<{ ticket: { status: string; rating: number | null; ratingComment: string | null } }>("GET", `/api/desks/${desk.id}/tickets/${entry.ticketId}`);
    expect(closed.ticket).toMatchObject({ status: "closed", rating: 4, ratingComment: "Quick and kind." });
    room.ws.close();
    desk1.ws.close();
    await page.context().close();
  });

  it("speaks the page's chosen language", async () => {
    const page = await freshPage();
    await page.goto(`${site.url}?lang=ru`);
    await launcher(page).waitFor({ state: "visible" });
    expect(await launcher(page).getAttribute("aria-label")).toBe("Открыть чат: Acme help");
    await launcher(page).click();
    const frame = await panelFrame(page);
    expect(await frame.locator("textarea").getAttribute("placeholder")).toBe("Введите вопрос…");
    expect(await frame.getByRole("button", { name: "Связаться с менеджером" }).isVisible()).toBe(true);
    await page.context().close();
  });
});
