/**
 * Notifications in real Chromium against the running product, with the page hidden (an init
 * script overrides document.visibilityState and dispatches visibilitychange) and
 * window.Notification replaced by a recorder (the rest of the engine is real): a mention and a
 * DM each produce one notification with the right title and body; a channel set to "nothing"
 * and a muted channel produce none; the tab title shows the count.
 */
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CHROMIUM, CHROMIUM_ARGS, uniqueName } from "./browser";
import { communityWith, logInContext, registerUser, sendOverSocket, type TestUser } from "./chat-fixtures";

const base = inject("baseUrl");
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
});

const INIT = `
  window.__hidden = true;
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (window.__hidden ? "hidden" : "visible") });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => window.__hidden });
  window.__setHidden = (h) => { window.__hidden = h; document.dispatchEvent(new Event("visibilitychange")); };
  window.__notes = [];
  class RecordedNotification {
    static permission = "granted";
    static requestPermission() { return Promise.resolve("granted"); }
    constructor(title, options) { this.title = title; window.__notes.push({ title, body: (options && options.body) || "", tag: (options && options.tag) || "" }); }
    close() {}
  }
  window.Notification = RecordedNotification;
`;

async function api(user: TestUser, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { origin: base, cookie: user.cookie, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

type Note = { title: string; body: string; tag: string };
const notes = (page: Page) => page.evaluate(() => (window as unknown as { __notes: Note[] }).__notes);

describe("notifications", () => {
  it("notify of a mention and a DM while hidden, not of muted or silenced channels, with the count in the title", async () => {
    const ana = await registerUser(base, uniqueName("ntana"), "Ana");
    const ben = await registerUser(base, uniqueName("ntben"), "Ben");
    const cid = await registerUser(base, uniqueName("ntcid"), "Cid");
    const { communityId, channelId: general } = await communityWith(base, ana, [ben, cid], "Notify test");
    const mk = async (name: string) =>
      ((await api(ana, "POST", `/api/communities/${communityId}/channels`, { kind: "text", name })) as { channel: { id: string } }).channel.id;
    const quiet = await mk("quiet");
    const muted = await mk("muted");
    // Ben's settings: "quiet" notifies of nothing, "muted" is muted for an hour.
    await api(ben, "PUT", `/api/channels/${quiet}/notifications`, { level: "nothing", mutedUntil: null });
    await api(ben, "PUT", `/api/channels/${muted}/notifications`, { level: null, mutedUntil: Date.now() + 3600_000 });
    // And the DM with Cid notifies of nothing.
    const quietDm = ((await api(cid, "POST", "/api/dms", { userIds: [ben.id] })) as { channel: { id: string } }).channel.id;
    await api(ben, "PUT", `/api/channels/${quietDm}/notifications`, { level: "nothing", mutedUntil: null });

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
    await context.addInitScript(INIT);
    await logInContext(context, base, ben);
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.locator("#dm-list-title").waitFor();
    // The hub is live once a plain message shows as unread on the rail.
    await sendOverSocket(base, general, ana, ["good morning"]);
    await page.locator(".rail-row.unread").first().waitFor({ timeout: 10_000 });
    expect(await notes(page)).toEqual([]); // not a mention: no notification

    await sendOverSocket(base, quiet, ana, [`<@${ben.id}> in quiet`]);
    await sendOverSocket(base, muted, ana, [`<@${ben.id}> in muted`]);
    await sendOverSocket(base, general, ana, [`<@${ben.id}> lunch?`]);
    await expect.poll(() => notes(page), { timeout: 10_000 }).toHaveLength(1);
    const [mention] = await notes(page);
    expect(mention!.title).toBe("Ana in #general (Notify test)");
    expect(mention!.body).toBe("@Ben lunch?");

    // A DM, after one in the silenced DM.
    await sendOverSocket(base, quietDm, cid, ["psst"]);
    const dm = ((await api(ana, "POST", "/api/dms", { userIds: [ben.id] })) as { channel: { id: string } }).channel.id;
    await sendOverSocket(base, dm, ana, ["are you there?"]);
    await expect.poll(() => notes(page), { timeout: 10_000 }).toHaveLength(2);
    const dmNote = (await notes(page))[1]!;
    expect(dmNote.title).toBe("Ana");
    expect(dmNote.body).toBe("are you there?");

    // The title counts the general mention and the unread DM (not the silenced or muted ones),
    // and the silenced DM has no badge in the DM list while the other has one.
    await expect.poll(() => page.title(), { timeout: 10_000 }).toMatch(/^\(2\) /);
    await expect.poll(() => page.locator(`a[href="/dm/${dm}"]`).getAttribute("aria-label"), { timeout: 10_000 }).toMatch(/1 unread/);
    expect(await page.locator(`a[href="/dm/${quietDm}"]`).getAttribute("aria-label")).not.toMatch(/unread/);
    // Still exactly one notification per message.
    expect((await notes(page)).map((n) => n.title)).toEqual(["Ana in #general (Notify test)", "Ana"]);

    // Visible again: a new mention does not notify.
    await page.evaluate(() => (window as unknown as { __setHidden(h: boolean): void }).__setHidden(false));
    await sendOverSocket(base, general, ana, [`<@${ben.id}> still there?`]);
    await expect.poll(() => page.title(), { timeout: 10_000 }).toMatch(/^\(3\) /);
    expect(await notes(page)).toHaveLength(2);
    await context.close();
  });

  it("the community menu and the channel's bell open the notification settings and save them", async () => {
    const ana = await registerUser(base, uniqueName("nsana"), "Ana");
    const { communityId, channelId } = await communityWith(base, ana, [], "Settings test");
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
    await context.addInitScript(INIT);
    await logInContext(context, base, ana);
    const page = await context.newPage();
    await page.goto(`${base}/c/${communityId}/${channelId}`);

    await page.locator("[data-notification-button]").click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("radio", { name: "Nothing" }).check();
    await expect
      .poll(async () => ((await api(ana, "GET", `/api/channels/${channelId}/notifications`)) as { setting: { level: string | null } }).setting.level)
      .toBe("nothing");
    await dialog.getByRole("button", { name: "For 15 min" }).click();
    await dialog.locator("[data-muted]").waitFor();
    await dialog.getByRole("button", { name: "Done" }).click();

    await page.locator(".community-button").click();
    await page.getByRole("menuitem", { name: "Notification settings" }).click();
    await page.getByRole("dialog").getByRole("radio", { name: "Only mentions" }).check();
    await expect
      .poll(async () => ((await api(ana, "GET", `/api/communities/${communityId}/notifications`)) as { community: { level: string | null } }).community.level)
      .toBe("mentions");
    await context.close();
  });
});
