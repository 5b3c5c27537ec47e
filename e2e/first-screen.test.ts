/**
 * The channel page's server-rendered first screen (issue 14 goal 1; web/src/hooks.server.ts,
 * web/src/lib/server/first-screen.ts): a member's page HTML carries the channel's latest
 * messages, rendered from markdown, before any script runs; an outsider, a kicked member and
 * a logged-out visitor get the plain shell with no message text; the XSS corpus stays inert in
 * it (the HTML loaded without the app, with a tripwire, and checked for dangerous markup); and
 * the app takes over: the first screen lies inert under the app while its history loads, then
 * goes once the app's messages are on screen, on desktop and on a phone.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launch, newPage, uniqueName } from "./browser";
import { communityWith, logInContext, registerUser, sendOverSocket, type TestUser } from "./chat-fixtures";
import { XSS_CORPUS } from "./markdown-corpus";

const base = inject("baseUrl");
let browser: Browser;

let owner: TestUser;
let member: TestUser;
let kicked: TestUser;
let outsider: TestUser;
let communityId: string;
let channelId: string;
const pagePath = () => `/c/${communityId}/${channelId}`;

const SECRET = "the pass phrase is marmalade";

beforeAll(async () => {
  browser = await launch();
  owner = await registerUser(base, uniqueName("fso"), "Owner FS");
  member = await registerUser(base, uniqueName("fsm"), "Member FS");
  kicked = await registerUser(base, uniqueName("fsk"), "Kicked FS");
  outsider = await registerUser(base, uniqueName("fsx"), "Outsider FS");
  ({ communityId, channelId } = await communityWith(base, owner, [member, kicked], "First screen"));
  await sendOverSocket(base, channelId, owner, [
    "plain **bold** text and `inline code`",
    `> a quote\n- a list item\n\n${SECRET}`,
    "a link https://example.org/docs",
  ]);
  const res = await fetch(`${base}/api/communities/${communityId}/members/${kicked.id}/kick`, {
    method: "POST",
    headers: { cookie: owner.cookie, origin: base, "content-type": "application/json" },
    body: "{}",
  });
  expect(res.status).toBe(204);
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

/** The channel page's HTML as `user` (or a visitor without a session) fetches it. */
async function pageHtml(user: TestUser | null, path = pagePath()): Promise<Response> {
  return fetch(`${base}${path}`, { headers: { accept: "text/html", ...(user ? { cookie: user.cookie } : {}) } });
}

/** Elements and attributes that must never come out of a message (as e2e/xss.test.ts checks the app's). */
async function dangerousNodes(page: Page): Promise<string[]> {
  return page.locator("#first-screen").evaluate((root) => {
    const bad: string[] = [];
    for (const el of root.querySelectorAll("*")) {
      const tag = el.tagName.toLowerCase();
      if (["script", "iframe", "object", "embed", "svg", "math", "style", "form", "meta", "details", "noscript", "input", "button"].includes(tag)) bad.push(tag);
      if (tag === "img" && !el.classList.contains("custom-emoji") && !el.parentElement?.classList.contains("fs-avatar")) bad.push(`img ${el.outerHTML}`);
      for (const attr of el.getAttributeNames()) {
        // first-screen.js colours names and avatars through the CSSOM; nothing else has a style.
        if (attr.startsWith("on") || attr === "srcdoc" || (attr === "style" && !el.matches(".fs-author, .fs-avatar"))) bad.push(`${tag}[${attr}]`);
      }
      for (const attr of ["href", "src"]) {
        const v = el.getAttribute(attr);
        if (v && !/^(https?:|mailto:|\/)/i.test(v)) bad.push(`${tag}[${attr}=${v}]`);
      }
      if (tag === "a" && el.hasAttribute("href") && el.getAttribute("rel") !== "noopener noreferrer nofollow ugc") bad.push(`a[rel=${el.getAttribute("rel")}]`);
    }
    return bad;
  });
}

async function loggedInPage(user: TestUser, opts: { javaScriptEnabled?: boolean; phone?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    locale: "en-US",
    viewport: opts.phone ? { width: 390, height: 844 } : { width: 1280, height: 800 },
    isMobile: opts.phone ?? false,
    hasTouch: opts.phone ?? false,
    javaScriptEnabled: opts.javaScriptEnabled ?? true,
  });
  await logInContext(context, base, user);
  return { context, page: await context.newPage() };
}

describe("channel first screen", () => {
  it("is in a member's page HTML, rendered from markdown, private to them", async () => {
    const res = await pageHtml(member);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("vary") ?? "").toMatch(/cookie/i);
    const html = await res.text();
    expect(html).toContain('id="first-screen"');
    expect(html).toContain("<strong>bold</strong>");
    expect(html).toContain("<code>inline code</code>");
    expect(html).toContain("<blockquote>");
    expect(html).toContain(SECRET);
    expect(html).toMatch(/<time [^>]*datetime="\d{4}-\d\d-\d\dT/);
    // Its markup is its own: nothing the app's tests select.
    expect(html).not.toContain('class="message');
  });

  it("shows before any script runs (JavaScript disabled)", async () => {
    const { context, page } = await loggedInPage(member, { javaScriptEnabled: false });
    await page.goto(`${base}${pagePath()}`);
    const screen = page.locator("#first-screen");
    await expect.poll(() => screen.locator(".fs-msg").count()).toBe(3);
    expect(await screen.locator(".fs-msg strong").first().textContent()).toBe("bold");
    expect(await screen.locator("h1").textContent()).toBe("general");
    expect(await screen.getByText(SECRET).isVisible()).toBe(true);
    expect(await page.title()).toBe("#general · First screen · Woxly");
    await context.close();
  });

  it("is not given to an outsider, a kicked member or a logged-out visitor", async () => {
    for (const who of [outsider, kicked, null]) {
      const res = await pageHtml(who);
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).not.toContain("first-screen");
      expect(html).not.toContain(SECRET);
      expect(html).not.toContain("bold");
    }
    // Nor for a channel id of another community, or none at all.
    const other = await communityWith(base, outsider, [], "Elsewhere");
    const crossed = await (await pageHtml(member, `/c/${other.communityId}/${channelId}`)).text();
    expect(crossed).not.toContain("first-screen");
    const unknown = await (await pageHtml(member, `/c/${communityId}/06nosuchchannel0000000000`)).text();
    expect(unknown).not.toContain("first-screen");
    // A logged-in outsider of this channel still gets the app's shell.
    expect(await (await pageHtml(outsider)).text()).toContain('<div id="app">');
  });

  it("keeps every XSS payload inert", async () => {
    const sender = await registerUser(base, uniqueName("fsxs"), `<img src=x onerror=__xss=1>`);
    const viewer = await registerUser(base, uniqueName("fsxv"), "Viewer");
    const room = await communityWith(base, viewer, [sender], `<script>window.__xss=1</script>`);
    const path = `/c/${room.communityId}/${room.channelId}`;
    // The first screen shows the latest 30: the corpus in two halves, each checked.
    const half = Math.ceil(XSS_CORPUS.length / 2);
    for (const part of [XSS_CORPUS.slice(0, half), XSS_CORPUS.slice(half)]) {
      await sendOverSocket(base, room.channelId, sender, part.map((x) => x.content));
      const html = await (await pageHtml(viewer, path)).text();
      const screen = html.slice(html.indexOf('<div id="first-screen"'), html.indexOf('<div id="app">'));
      expect(screen.length).toBeGreaterThan(1000);
      expect(screen).not.toMatch(/<(script|iframe|object|embed|svg|math|style|form|meta|details|noscript|input|button)\b/i);

      // Loaded in Chromium without the page's CSP and without the app, a tripwire armed.
      const { context, page } = await newPage(browser);
      const dialogs: string[] = [];
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      await page.route(`${base}/**`, (r) => (r.request().url().endsWith("/first-screen.js") || r.request().url().endsWith("/first-screen.css") ? r.continue() : r.abort()));
      await page.goto(`${base}/first-screen.css`);
      await page.setContent(screen.replace(/^/, '<!doctype html><meta charset="utf-8"><link rel="stylesheet" href="/first-screen.css"><body>') + '<script src="/first-screen.js"></script>');
      await page.waitForTimeout(300);
      for (const el of await page.locator("#first-screen a, #first-screen .spoiler, #first-screen .mention").all()) await el.hover({ timeout: 1000 }).catch(() => undefined);
      expect(await page.locator(".fs-msg").count()).toBeGreaterThanOrEqual(part.length);
      expect(await dangerousNodes(page)).toEqual([]);
      expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss ?? null)).toBeNull();
      expect(dialogs).toEqual([]);
      await context.close();
    }
  }, 240_000);

  for (const phone of [false, true]) {
    it(`goes away once the app shows the messages (${phone ? "phone" : "desktop"})`, async () => {
      const { context, page } = await loggedInPage(member, { phone });
      // Records, when the first screen leaves, whether the app's messages were there already.
      await context.addInitScript(() => {
        const w = window as unknown as { __handover?: { appMessages: number; appUp: boolean } };
        new MutationObserver((_, obs) => {
          if (document.readyState === "loading" || document.getElementById("first-screen")) return;
          w.__handover = { appMessages: document.querySelectorAll("article.message").length, appUp: !!document.querySelector("#app *") };
          obs.disconnect();
        }).observe(document, { childList: true, subtree: true });
      });
      // The app's history waits until released: meanwhile the first screen covers it, inert.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      await page.route(`${base}/api/channels/${channelId}/messages**`, async (r) => {
        await held;
        await r.continue();
      });
      await page.goto(`${base}${pagePath()}`);
      const screen = page.locator("#first-screen");
      await page.locator('[role="log"]').waitFor({ state: "attached" });
      expect(await screen.count()).toBe(1);
      expect(await screen.getAttribute("aria-hidden")).toBe("true");
      expect(await screen.evaluate((el) => (el as HTMLElement).inert)).toBe(true);
      // A click where the composer is reaches the app's composer, not the first screen.
      const box = page.getByRole("combobox", { name: /^Message #/ });
      const at = await box.boundingBox();
      expect(at).not.toBeNull();
      await page.mouse.click(at!.x + at!.width / 2, at!.y + at!.height / 2);
      expect(await box.evaluate((el) => el === document.activeElement)).toBe(true);

      release();
      await page.locator("article.message").filter({ hasText: SECRET }).waitFor();
      await expect.poll(() => screen.count()).toBe(0);
      const handover = await page.evaluate(() => (window as unknown as { __handover?: unknown }).__handover);
      expect(handover).toEqual({ appMessages: 3, appUp: true });
      await context.close();
    });
  }

  it("goes away when the app navigates elsewhere first", async () => {
    const { context, page } = await loggedInPage(member);
    await page.route(`${base}/api/channels/${channelId}/messages**`, () => new Promise(() => undefined));
    await page.goto(`${base}${pagePath()}`);
    await page.locator('[role="log"]').waitFor({ state: "attached" });
    expect(await page.locator("#first-screen").count()).toBe(1);
    // The app's own link home (the rail's logo), under the inert first screen.
    await page.locator('#app a[href="/"]').first().click();
    await page.waitForURL(`${base}/`);
    await expect.poll(() => page.locator("#first-screen").count()).toBe(0);
    await context.close();
  });
});
