/**
 * Set-up and probes for the support desk's browser test (e2e/desk.test.ts): a manager with a
 * community, a desk that allows one website and a small knowledge base, all through the HTTP
 * API; the widget's launcher (in its shadow root) and its panel iframe; and media probes that
 * read every RTCPeerConnection of a page or frame.
 */
import type { Browser, BrowserContext, Frame, Locator, Page } from "playwright-core";
import type { Desk, KbEntry, Transcript } from "../workers/shared/desk";
import { startThirdPartySite, type ThirdPartySite } from "./third-party-site";
import { person, type Person } from "./voice-people";
import { tapPeerConnections } from "./media-probes";

export interface DeskScene {
  manager: Person;
  communityId: string;
  desk: Desk;
  kb: KbEntry[];
  site: ThirdPartySite;
}

/** The two knowledge-base entries; the first is what the visitor asks about. */
export const FAQ = [
  {
    question: "How do I reset my password?",
    answer: "Open Settings, choose Security and press Reset password; a link arrives by email within a minute.",
    language: "en",
  },
  {
    question: "Which payment methods do you accept?",
    answer: "We accept Visa, Mastercard and bank transfers.",
    language: "en",
  },
] as const;

/**
 * A registered manager (the community's owner, so an admin of its desks) with a browser
 * context of their own, their community, a desk with the FAQ as its knowledge base, and a
 * website embedding it: the desk is made first (the site's page names it), then the site's
 * origin becomes the desk's only allowed origin (PATCH, as the settings page saves it).
 */
export async function deskScene(browser: Browser, base: string): Promise<DeskScene> {
  const manager = await person(browser, base, "deskmgr");
  const created = await manager.api<{ community: { id: string } }>("POST", "/api/communities", { name: "Desk e2e" });
  const communityId = created.community.id;
  const made = await manager.api<Desk>("POST", `/api/communities/${communityId}/desks`, { name: "Acme support", greeting: "Hi! Ask us anything." });
  const site = await startThirdPartySite({ woxlyUrl: base, deskId: made.id });
  const desk = await manager.api<Desk>("PATCH", `/api/desks/${made.id}`, { allowedOrigins: [site.origin] });
  const kb: KbEntry[] = [];
  for (const entry of FAQ) kb.push(await manager.api<KbEntry>("POST", `/api/desks/${desk.id}/kb`, entry));
  return { manager, communityId, desk, kb, site };
}

/** A ticket and its transcript (empty until it closes) as the manager's ticket route shows them. */
export async function ticketOf(manager: Person, deskId: string, ticketId: string): Promise<Transcript> {
  return manager.api<Transcript>("GET", `/api/desks/${deskId}/tickets/${ticketId}`);
}

/** A fresh context whose pages and frames have their peer connections tapped. */
export async function tappedContext(browser: Browser, viewport = { width: 1280, height: 800 }): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport, locale: "en-US" });
  await context.addInitScript(tapPeerConnections);
  return context;
}

/** The panel's iframe of the widget on `page` (served by Woxly at /widget/frame/<deskId>), once it exists. */
export async function widgetFrame(page: Page, deskId: string, timeoutMs = 15_000): Promise<Frame> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const frame = page.frames().find((f) => f.url().includes(`/widget/frame/${deskId}`));
    if (frame) {
      await frame.waitForLoadState("domcontentloaded");
      return frame;
    }
    if (Date.now() > until) throw new Error(`no widget frame for desk ${deskId} within ${timeoutMs} ms`);
    await page.waitForTimeout(50);
  }
}

/** The launcher's button, inside widget.js's shadow root (Playwright's CSS locators pierce open shadow roots). */
export function launcher(page: Page): Locator {
  return page.locator("woxly-widget button.launcher");
}

/** Clicks the launcher unless the panel is already open (an open panel stays open across a reload); the panel's frame. */
export async function openWidget(page: Page, deskId: string): Promise<Frame> {
  const button = launcher(page);
  await button.waitFor({ state: "visible", timeout: 15_000 });
  if ((await button.getAttribute("aria-expanded")) !== "true") await button.click();
  const frame = await widgetFrame(page, deskId);
  await frame.locator(".panel h1").waitFor({ timeout: 15_000 });
  return frame;
}
