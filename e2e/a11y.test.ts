/**
 * Accessibility: axe-core (the engine, injected from node_modules) runs in Chromium on the
 * product's main pages — login, register, home, a channel with messages, community settings,
 * a call link's pre-join screen, /test, the quick switcher and the shortcut sheet — in the
 * light and the dark theme. No serious or critical violation is allowed, colour contrast
 * included.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { CallLink } from "../workers/shared/call-links";
import { launch, uniqueName } from "./browser";
import { communityWith, logInContext, registerUser, sendOverSocket, type TestCommunity, type TestUser } from "./chat-fixtures";

const base = inject("baseUrl");
/** Each audited page is also saved here, to be looked at. */
const SHOTS = "/tmp/woxly-shots";
mkdirSync(SHOTS, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let browser: Browser;
let owner: TestUser;
let room: TestCommunity;
let callCode: string;

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** Serious and critical axe violations on the page as it is now, readable in a failure message. */
async function audit(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: Violation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n${v.nodes.slice(0, 5).map((n) => `  ${n.target.join(" ")} — ${n.failureSummary ?? ""}`).join("\n")}`);
}

beforeAll(async () => {
  browser = await launch();
  owner = await registerUser(base, uniqueName("a11y"), "Ada Lovelace");
  const other = await registerUser(base, uniqueName("a11y"), "Grace Hopper");
  room = await communityWith(base, owner, [other], "Accessible place");
  await sendOverSocket(base, room.channelId, other, ["Hello **there**", "A link: https://example.com and `code`", "> a quote\nand a reply"]);
  const res = await fetch(`${base}/api/calls`, { method: "POST", headers: { origin: base, cookie: owner.cookie, "content-type": "application/json" }, body: "{}" });
  if (!res.ok) throw new Error(`create call link: ${res.status} ${await res.text()}`);
  callCode = ((await res.json()) as CallLink).code;
});
afterAll(async () => {
  await browser?.close();
});

type Ready = (page: Page) => Promise<unknown>;
const pages: { name: string; path: () => string; loggedIn: boolean; ready: Ready }[] = [
  { name: "login", path: () => "/login", loggedIn: false, ready: (p) => p.locator("form").first().waitFor() },
  { name: "register", path: () => "/register", loggedIn: false, ready: (p) => p.locator("form").first().waitFor() },
  { name: "home", path: () => "/", loggedIn: true, ready: (p) => p.locator(".shell").waitFor() },
  {
    name: "channel with messages",
    path: () => `/c/${room.communityId}/${room.channelId}`,
    loggedIn: true,
    ready: async (p) => {
      await p.locator('[role="log"][aria-busy="false"]').waitFor();
      await p.locator("article.message").first().waitFor();
    },
  },
  { name: "community settings", path: () => `/c/${room.communityId}/settings/overview`, loggedIn: true, ready: (p) => p.locator("main form.overview").waitFor() },
  { name: "call pre-join", path: () => `/call/${callCode}`, loggedIn: false, ready: (p) => p.getByTestId("call-prejoin").waitFor({ timeout: 15_000 }) },
  { name: "self-test", path: () => "/test", loggedIn: false, ready: (p) => p.locator("main, h1").first().waitFor() },
  {
    name: "quick switcher (Ctrl+K)",
    path: () => `/c/${room.communityId}/${room.channelId}`,
    loggedIn: true,
    ready: async (p) => {
      await p.locator('[role="log"][aria-busy="false"]').waitFor();
      await p.keyboard.press("Control+K");
      await p.getByRole("option").first().waitFor();
    },
  },
  {
    name: "shortcut sheet (?)",
    path: () => "/",
    loggedIn: true,
    ready: async (p) => {
      await p.locator(".shell").waitFor();
      await p.keyboard.press("?");
      await p.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
    },
  },
];

/** Pages checked at a phone's size too (one pane, drawer buttons, the composer). */
const PHONE_PAGES = new Set(["home", "channel with messages", "community settings"]);
const runs = (["light", "dark"] as const).flatMap((theme) => [
  ...pages.map((p) => ({ ...p, theme, viewport: { width: 1280, height: 800 } })),
  ...pages.filter((p) => PHONE_PAGES.has(p.name)).map((p) => ({ ...p, name: `${p.name} (390×844)`, theme, viewport: { width: 390, height: 844 } })),
]);

describe("axe in the light and the dark theme, at 1280×800 and on a phone", () => {
  it.each(runs)("$theme: $name has no serious or critical violations", async ({ name, path, loggedIn, ready, theme, viewport }) => {
    // bypassCSP: the page's CSP (rightly) refuses the injected axe script.
    const context = await browser.newContext({ locale: "en-US", viewport, bypassCSP: true, hasTouch: viewport.width < 640 });
    const page = await context.newPage();
    try {
      await context.addInitScript((t) => localStorage.setItem("woxly.theme", t), theme);
      if (loggedIn) await logInContext(context, base, owner);
      await page.emulateMedia({ reducedMotion: "reduce" });
      await page.goto(base + path());
      await ready(page);
      expect(await page.locator("html").getAttribute("data-theme")).toBe(theme);
      // Fonts loaded and animations finished: contrast is measured on the final colours.
      await page.evaluate(async () => {
        await document.fonts.ready;
        await Promise.all(document.getAnimations().map((a) => a.finished.catch(() => undefined)));
      });
      expect(await audit(page)).toEqual([]);
      await page.screenshot({ path: `${SHOTS}/a11y-${theme}-${name.replace(/[^a-z0-9]+/gi, "-").replace(/-$/, "")}.png` });
    } finally {
      await context.close();
    }
  });
});
