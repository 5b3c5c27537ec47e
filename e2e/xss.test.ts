/**
 * The chat renders hostile messages harmlessly. Every payload of the XSS corpus is sent as a
 * message (over the socket, and some through the composer) and rendered in Chromium with a
 * tripwire armed before the app loads: `window.__xss` (what each payload would set), any
 * `securitypolicyviolation` (the CSP's report of a blocked inline script or handler) and any
 * dialog. The tripwire must stay silent and no dangerous element or URL may reach the DOM.
 * Pathological 2,000-character inputs must render; their times (measured in the page) are
 * printed, and compared with the 50 ms budget by bench/markdown-render.mjs.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launch, newPage, uniqueName } from "./browser";
import { communityWith, logInContext, registerUser, sendOverSocket, type TestUser } from "./chat-fixtures";
import { PATHOLOGICAL, XSS_CORPUS } from "./markdown-corpus";
import { bundleRenderer, timeRenders } from "./markdown-page";

const base = inject("baseUrl");
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

interface Tripwire {
  xss: unknown;
  violations: string[];
}

const ARM = () => {
  const w = window as unknown as { __violations: string[] };
  w.__violations = [];
  document.addEventListener("securitypolicyviolation", (e) => w.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`));
};

async function tripwire(page: Page): Promise<Tripwire> {
  return page.evaluate(() => {
    const w = window as unknown as { __xss?: unknown; __violations?: string[] };
    return { xss: w.__xss ?? null, violations: w.__violations ?? [] };
  });
}

/** Scrolls the virtualised list from top to bottom so that every row is rendered once. */
async function scrollThrough(page: Page): Promise<void> {
  const log = page.locator('[role="log"]');
  await log.evaluate((el) => (el.scrollTop = 0));
  for (let i = 0; i < 200; i++) {
    await page.waitForTimeout(120);
    const done = await log.evaluate((el) => {
      const before = el.scrollTop;
      el.scrollTop = before + el.clientHeight * 0.8;
      return el.scrollTop === before && el.scrollHeight - el.scrollTop - el.clientHeight < 2;
    });
    if (done) break;
  }
}

/** Elements and attributes that must never come out of a message. */
async function dangerousNodes(page: Page): Promise<string[]> {
  return page.locator('[role="log"]').evaluate((root) => {
    const bad: string[] = [];
    for (const el of root.querySelectorAll(".msg-text *, .reply-text *")) {
      const tag = el.tagName.toLowerCase();
      if (["script", "iframe", "object", "embed", "svg", "math", "img", "style", "form", "meta", "details", "noscript", "input", "button"].includes(tag)) bad.push(tag);
      for (const attr of el.getAttributeNames()) {
        if (attr.startsWith("on") || attr === "style" || attr === "srcdoc") bad.push(`${tag}[${attr}]`);
      }
      if (tag === "a") {
        const href = el.getAttribute("href") ?? "";
        if (href && !/^(https?:|mailto:)/i.test(href)) bad.push(`a[href=${href}]`);
        if (href && el.getAttribute("rel") !== "noopener noreferrer nofollow ugc") bad.push(`a[rel=${el.getAttribute("rel")}]`);
      }
    }
    return bad;
  });
}

describe("XSS corpus in the chat", () => {
  let sender: TestUser;
  let helper: TestUser;
  let viewer: TestUser;
  let communityId: string;
  let channelId: string;

  beforeAll(async () => {
    sender = await registerUser(base, uniqueName("xsender"), `<img src=x onerror=__xss=1>`);
    helper = await registerUser(base, uniqueName("xhelper"), `"><svg onload=__xss=1>`);
    viewer = await registerUser(base, uniqueName("xviewer"), "Viewer");
    ({ communityId, channelId } = await communityWith(base, viewer, [sender, helper], `<script>window.__xss=1</script>`));
    // Two senders halve the wait of the per-member rate limit.
    const half = Math.ceil(XSS_CORPUS.length / 2);
    await Promise.all([
      sendOverSocket(base, channelId, sender, XSS_CORPUS.slice(0, half).map((x) => x.content)),
      sendOverSocket(base, channelId, helper, XSS_CORPUS.slice(half).map((x) => x.content)),
    ]);
  }, 180_000);

  it("renders every payload without running anything", async () => {
    const { context, page } = await newPage(browser);
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await context.addInitScript(ARM);
    await logInContext(context, base, viewer);
    await page.goto(`${base}/c/${communityId}/${channelId}`);
    await page.locator('[role="log"][aria-busy="false"]').waitFor();
    await page.locator("article.message").first().waitFor();
    await scrollThrough(page);

    // Replies and the composer's own (optimistic) rendering take the same path.
    const box = page.getByRole("combobox", { name: /^Message #/ });
    for (const x of XSS_CORPUS.slice(0, 6)) {
      await box.fill(x.content);
      await box.press("Enter");
    }
    await expect.poll(() => page.locator(".message.pending").count(), { timeout: 20_000 }).toBe(0);
    await scrollThrough(page);
    // Hover and click everything a payload might have hooked.
    for (const el of await page.locator(".msg-text a, .msg-text .spoiler, .msg-text .mention").all()) {
      await el.hover({ timeout: 2000 }).catch(() => undefined);
    }
    await page.waitForTimeout(500);

    const rendered = await page.locator("article.message").count();
    expect(rendered).toBeGreaterThan(0);
    expect(await dangerousNodes(page)).toEqual([]);
    expect(await tripwire(page)).toEqual({ xss: null, violations: [] });
    expect(dialogs).toEqual([]);

    // The tripwire itself works: markup that skipped the sanitizer is caught by it.
    await page.evaluate(() => {
      const probe = document.createElement("div");
      probe.innerHTML = '<img src="data:," onerror="window.__xss=1">';
      document.body.append(probe);
    });
    await expect.poll(async () => (await tripwire(page)).violations.length).toBeGreaterThan(0);
    await context.close();
  });

  it("renders pathological 2,000-character inputs (times printed)", async () => {
    // Timed in a bare page with the app's renderer bundle.
    const timingPage = await browser.newPage();
    const timings = await timeRenders(timingPage, await bundleRenderer(), PATHOLOGICAL, 3);
    await timingPage.close();
    console.table(timings.map((t) => ({ input: t.name, chars: t.length, "median ms": t.medianMs.toFixed(1), "max ms": t.maxMs.toFixed(1) })));
    for (const t of timings) expect(t.htmlLength).toBeGreaterThan(0);

    // And in the app, as messages.
    await sendOverSocket(base, channelId, helper, PATHOLOGICAL.map((p) => p.content));
    const { context, page } = await newPage(browser);
    await context.addInitScript(ARM);
    await logInContext(context, base, viewer);
    await page.goto(`${base}/c/${communityId}/${channelId}`);
    await page.locator('[role="log"][aria-busy="false"]').waitFor();
    await page.locator("article.message").first().waitFor();
    await scrollThrough(page);
    expect(await dangerousNodes(page)).toEqual([]);
    expect(await tripwire(page)).toEqual({ xss: null, violations: [] });
    await context.close();
  });
});
