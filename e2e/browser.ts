/** Debian's Chromium through playwright-core, with the flags these machines need. */
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  "--allow-loopback-in-peer-connection",
];

/** Playwright gives every non-persistent launch a fresh, empty profile of its own. */
export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export async function newPage(browser: Browser, opts: { locale?: string } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: opts.locale ?? "en-US", viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  return { context, page };
}

let n = 0;
export function uniqueName(prefix = "e2e"): string {
  n++;
  return `${prefix}_${Date.now().toString(36)}${n}`;
}
