/**
 * What a channel's first load downloads (issue 14, goal 1), as behaviour: highlight.js (its
 * core and each language) is fetched only once a message with a fenced code block is shown,
 * and the block is then highlighted; a channel without code blocks never requests it. The
 * chunks have hashed names, so the JavaScript the page receives is recognised by content.
 * Neither zod classic nor an ICU message parser is among the scripts of a channel's load.
 * The invite page ships none of the app's JavaScript (server-rendered; static/invite.js only).
 * The bytes and times themselves are measured by bench/first-load/run.mjs, not here.
 */
import type { Browser, Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launch, newPage, uniqueName } from "./browser";
import { communityWith, logInContext, registerUser, sendOverSocket } from "./chat-fixtures";

const base = inject("baseUrl");
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

/** A string of highlight.js's core (an error message it keeps when minified). */
const HLJS_CORE = "did you forget to load/include a language module";
/** A string of the python language definition only (one of its built-ins). */
const HLJS_PYTHON = "__import__";
/** zod classic (a method every schema of it carries): the browser parses with zod-lite instead. */
const ZOD_CLASSIC = "toJSONSchema";
/** intl-messageformat's ICU parser (one of its error kinds): messages are compiled at build time. */
const ICU_PARSER = "EXPECT_ARGUMENT_CLOSING_BRACE";

describe("first load", () => {
  it("requests highlight.js only when a code block appears, then highlights it", async () => {
    const owner = await registerUser(base, uniqueName("fl"), "Owner FL");
    const { channelId, communityId } = await communityWith(base, owner, [], "First load");
    await sendOverSocket(base, channelId, owner, ["plain **bold** text", "a link https://example.org and `inline code`", "> a quote\n- a list"]);

    const { context, page } = await newPage(browser);
    await logInContext(context, base, owner);
    const scripts: { url: string; body: string }[] = [];
    const pending: Promise<void>[] = [];
    page.on("response", (res: Response) => {
      if (res.request().resourceType() !== "script" && !/\.m?js(\?|$)/.test(new URL(res.url()).pathname)) return;
      pending.push(
        res.text().then(
          (body) => void scripts.push({ url: res.url(), body }),
          () => undefined,
        ),
      );
    });
    const received = async (marker: string) => {
      await Promise.all(pending);
      return scripts.filter((s) => s.body.includes(marker)).map((s) => s.url);
    };

    await page.goto(`${base}/c/${communityId}/${channelId}`);
    const log = page.locator('[role="log"]');
    await log.locator("article.message").filter({ hasText: "a quote" }).waitFor();
    await page.waitForLoadState("networkidle");
    // Inline code is not a code block: nothing of highlight.js was fetched.
    expect(await log.locator("code").count()).toBeGreaterThan(0);
    expect(await received(HLJS_CORE)).toEqual([]);
    expect(await received(HLJS_PYTHON)).toEqual([]);
    expect(await log.locator("[class*='hljs-']").count()).toBe(0);
    // No schema library and no ICU parser either: the shared schemas run on zod-lite, and the
    // strings arrive compiled (web/build/i18n.ts).
    expect(scripts.length).toBeGreaterThan(10);
    expect(await received(ZOD_CLASSIC)).toEqual([]);
    expect(await received(ICU_PARSER)).toEqual([]);

    // A code block arrives: the core and its language are fetched, and the block is highlighted.
    await sendOverSocket(base, channelId, owner, ["```python\nimport os\ndef main():\n    return os.getcwd()\n```"]);
    const block = log.locator("pre code.language-python");
    await block.waitFor({ timeout: 30_000 });
    await expect.poll(() => block.locator(".hljs-keyword").count(), { timeout: 30_000 }).toBeGreaterThan(0);
    expect((await received(HLJS_CORE)).length).toBe(1);
    expect((await received(HLJS_PYTHON)).length).toBe(1);
    await context.close();
  });

  it("the invite page loads none of the app's JavaScript, and still takes a member in", async () => {
    const owner = await registerUser(base, uniqueName("fl"), "Owner FL2");
    const member = await registerUser(base, uniqueName("fl"), "Member FL2");
    const { communityId } = await communityWith(base, owner, [], "Invite weight");
    const res = await fetch(`${base}/api/communities/${communityId}/invites`, {
      method: "POST",
      headers: { cookie: owner.cookie, origin: base, "content-type": "application/json" },
      body: "{}",
    });
    const { invite } = (await res.json()) as { invite: { code: string } };

    for (const who of [null, member]) {
      const { context, page } = await newPage(browser);
      if (who) await logInContext(context, base, who);
      const scripts: string[] = [];
      page.on("request", (req) => {
        if (req.resourceType() === "script") scripts.push(new URL(req.url()).pathname);
      });
      await page.goto(`${base}/invite/${invite.code}`);
      await page.getByRole("heading", { name: "Invite weight" }).waitFor();
      await page.waitForLoadState("networkidle");
      expect(scripts.filter((p) => p.startsWith("/_app/"))).toEqual([]);
      expect(scripts).toContain("/invite.js");
      if (who) {
        // The accept form posts to the page's action, which opens the community.
        await page.getByRole("button", { name: "Accept invite" }).click();
        await page.waitForURL(new RegExp(`/c/${communityId}/[^/]+$`));
        await page.getByRole("heading", { name: "general", level: 1 }).waitFor();
      } else {
        await page.getByRole("link", { name: "Create an account to join" }).waitFor();
      }
      await context.close();
    }
  });
});
