/** Debian's Chromium through playwright-core, with the flags these machines need. */
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../scripts/chromium.mjs";

export { CHROMIUM, CHROMIUM_ARGS };

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
