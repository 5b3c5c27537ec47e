/**
 * Link previews in real Chromium against the running product (docs/link-previews.md): a page
 * with Open Graph tags and an image is served by a real HTTP server on loopback (reachable
 * only because the e2e product runs with LINK_PREVIEW_ALLOW_LOOPBACK=1, e2e/global-setup.ts);
 * a link sent in a channel gets its card under the message on both members' screens, the
 * image comes through Woxly's proxy (no request of the browsers reaches the page's host), a
 * reload shows it again, and the author removes it with "×" — gone for the other member too.
 * Screenshots at 1280×800 and 390×844 in /tmp/woxly-shots/extras-*.png.
 */
import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CHROMIUM, CHROMIUM_ARGS, uniqueName } from "./browser";
import { png } from "./images";
import { communityWith, logInContext, registerUser, type TestCommunity, type TestUser } from "./chat-fixtures";

const base = inject("baseUrl");
const SHOTS = "/tmp/woxly-shots";

let browser: Browser;
let site: Server;
let siteUrl = "";
/** Requests the page's host saw, by path (the browsers must never be among them for the image). */
const siteHits: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const image = png(64, 32, [88, 101, 242]);
  site = createServer((req, res) => {
    siteHits.push(req.url ?? "");
    if (req.url === "/article") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(`<!doctype html><html><head><title>fallback</title>
        <meta property="og:title" content="Loopback Gazette: <script>alert(1)</script> news">
        <meta property="og:description" content="A story served by the e2e test's own web server.">
        <meta property="og:site_name" content="Gazette">
        <meta property="og:image" content="/cover.png"></head><body>body</body></html>`);
    } else if (req.url === "/cover.png") {
      res.writeHead(200, { "content-type": "image/png", "content-length": String(image.length) });
      res.end(image);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => site.listen(0, "127.0.0.1", r));
  siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  site?.closeAllConnections();
  await new Promise<void>((r) => (site ? site.close(() => r()) : r()));
});

async function open(user: TestUser, c: TestCommunity, viewport = { width: 1280, height: 800 }, phone = false): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, locale: "en-US", ...(phone ? { hasTouch: true, isMobile: true } : {}) });
  await logInContext(context, base, user);
  const page = await context.newPage();
  await page.goto(`${base}/c/${c.communityId}/${c.channelId}`);
  await page.locator('[role="log"][aria-busy="false"]').waitFor();
  return { context, page };
}

describe("link previews", () => {
  it("a link unfurls under the message for everyone, the image through the proxy; the author removes it", async () => {
    const ana = await registerUser(base, uniqueName("lpana"), "Ana");
    const ben = await registerUser(base, uniqueName("lpben"), "Ben");
    const c = await communityWith(base, ana, [ben], "Previews");
    const a = await open(ana, c);
    const b = await open(ben, c);
    const outside: string[] = [];
    for (const p of [a.page, b.page]) p.on("request", (r) => void (r.url().startsWith(siteUrl) && outside.push(r.url())));

    const link = `${siteUrl}/article`;
    const box = a.page.getByRole("combobox", { name: /^Message #/ });
    await box.click();
    await box.fill(`Read this: ${link}`);
    await box.press("Enter");

    for (const p of [a.page, b.page]) {
      const card = p.locator(`section.card[data-preview-url="${link}"]`);
      await card.waitFor({ timeout: 15_000 });
      await expect.poll(() => card.locator(".title").textContent()).toBe("Loopback Gazette: news");
      expect(await card.locator(".site").textContent()).toBe("Gazette");
      expect(await card.locator(".description").textContent()).toBe("A story served by the e2e test's own web server.");
      expect(await card.locator(".title").getAttribute("href")).toBe(link);
      const img = card.locator("img.image");
      expect(await img.getAttribute("src")).toMatch(/^\/api\/link-previews\/image\?u=/);
      await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(64);
      // Text only: nothing from the page became markup.
      expect(await card.locator("script").count()).toBe(0);
    }
    expect(outside).toEqual([]); // the browsers never asked the page's host for anything
    expect(siteHits.filter((h) => h === "/cover.png").length).toBeGreaterThan(0); // the proxy did

    // Only the author (or a moderator) gets the "×".
    expect(await b.page.locator(`section.card[data-preview-url="${link}"] button.remove`).count()).toBe(0);
    await a.page.screenshot({ path: `${SHOTS}/extras-previews-1280x800.png` });

    // On a phone, the same card (and the remove target is at least 44 px).
    const phone = await open(ana, c, { width: 390, height: 844 }, true);
    const phoneCard = phone.page.locator(`section.card[data-preview-url="${link}"]`);
    await phoneCard.waitFor({ timeout: 10_000 });
    const target = await phoneCard.locator("button.remove").boundingBox();
    expect(target!.width).toBeGreaterThanOrEqual(44);
    expect(target!.height).toBeGreaterThanOrEqual(44);
    await expect.poll(() => phoneCard.locator("img.image").evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(64);
    await phone.page.screenshot({ path: `${SHOTS}/extras-previews-390x844.png` });
    await phone.context.close();

    // A reload (history over HTTP) shows the card again.
    await b.page.reload();
    await b.page.locator(`section.card[data-preview-url="${link}"]`).waitFor({ timeout: 10_000 });

    // The author removes it: gone on both screens, and after a reload.
    await a.page.locator(`section.card[data-preview-url="${link}"] button.remove`).click();
    for (const p of [a.page, b.page]) await p.locator(`section.card[data-preview-url="${link}"]`).waitFor({ state: "detached", timeout: 10_000 });
    await b.page.reload();
    await b.page.locator('[role="log"][aria-busy="false"]').waitFor();
    await b.page.locator("article.message", { hasText: "Read this:" }).waitFor();
    expect(await b.page.locator("section.card").count()).toBe(0);
    await a.context.close();
    await b.context.close();
  });
});
