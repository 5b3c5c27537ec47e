/**
 * The composer in real Chromium (docs/composer.md): a role mention offered by the autocomplete
 * pings the role's members (a second user sees the mention badge, then a coloured pill), a
 * role its author may not mention stays text; standard `:shortcode:` converted on send with the
 * emoji set loaded only then, unknown names kept, and the inline `:sm` completion by keys;
 * an image pasted (a real ClipboardEvent with a File) and one dropped are attached; a draft and
 * its reply target survive a channel switch and a reload, with a pencil in the channel list,
 * and go once sent; on a phone the completion is tapped. Screenshots: /tmp/woxly-shots/composer-*.png.
 */
import { mkdirSync } from "node:fs";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launch, newPage, uniqueName } from "./browser";
import { communityWith, logInContext, registerUser, type TestUser } from "./chat-fixtures";
import { png } from "./images";

const base = inject("baseUrl");
const SHOTS = "/tmp/woxly-shots";
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});


async function api<T>(user: TestUser, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { origin: base, accept: "application/json", cookie: user.cookie, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (res.status === 204 ? null : await res.json()) as T;
}

function composer(page: Page): Locator {
  return page.locator("textarea[data-composer]");
}

function message(page: Page, text: string | RegExp): Locator {
  return page.locator("article.message").filter({ has: page.locator(".msg-text", { hasText: text }) });
}

function channelLink(page: Page, communityId: string, channelId: string): Locator {
  return page.locator(`a.channel-link[href="/c/${communityId}/${channelId}"]`);
}

async function open(page: Page, communityId: string, channelId: string): Promise<void> {
  await page.goto(`${base}/c/${communityId}/${channelId}`);
  await composer(page).waitFor();
  await page.locator('[role="log"][aria-busy="false"]').waitFor();
}

async function pressSend(page: Page): Promise<void> {
  await composer(page).press("Enter");
  await expect.poll(() => composer(page).inputValue()).toBe("");
}

/** Every JavaScript body this page has loaded, as text (to see when the emoji data arrives). */
function recordScripts(page: Page): string[] {
  const bodies: string[] = [];
  page.on("response", (res) => {
    if (!/\.js(\?|$)/.test(res.url())) return;
    res.text().then(
      (t) => bodies.push(t),
      () => {},
    );
  });
  return bodies;
}

describe("composer", () => {
  it("role mentions, shortcodes, pasted and dropped images, drafts across channels and reloads", async () => {
    const alice = await registerUser(base, uniqueName("alice"), "Alice Composer");
    const bob = await registerUser(base, uniqueName("bob"), "Bob Composer");
    const c = await communityWith(base, alice, [bob], "Composer e2e");
    const { channel: random } = await api<{ channel: { id: string } }>(alice, "POST", `/api/communities/${c.communityId}/channels`, { kind: "text", name: "random" });
    const { role: mods } = await api<{ role: { id: string } }>(alice, "POST", `/api/communities/${c.communityId}/roles`, {
      name: "Moderators",
      color: 0xe67e22,
      mentionable: true,
    });
    const { role: quiet } = await api<{ role: { id: string } }>(alice, "POST", `/api/communities/${c.communityId}/roles`, { name: "Quiet Team", color: 0x3498db });
    await api(alice, "PUT", `/api/communities/${c.communityId}/members/${bob.id}/roles/${mods.id}`);
    await api(alice, "PUT", `/api/communities/${c.communityId}/members/${bob.id}/roles/${quiet.id}`);

    const a = await newPage(browser);
    await logInContext(a.context, base, alice);
    const scripts = recordScripts(a.page);
    await open(a.page, c.communityId, c.channelId);
    const b = await newPage(browser);
    await logInContext(b.context, base, bob);
    await open(b.page, c.communityId, random.id);

    // The channel page loads without the emoji data.
    await a.page.waitForLoadState("networkidle");
    expect(scripts.some((t) => t.includes("thumbsup"))).toBe(false);

    // --- shortcodes converted on send: the set loads then; unknown names stay as typed ------
    await composer(a.page).fill("ship it :rocket: :partyparrot: `:rocket:`");
    await pressSend(a.page);
    const shipped = message(a.page, "ship it");
    await shipped.waitFor();
    await expect.poll(() => shipped.locator(".msg-text").textContent()).toContain("ship it 🚀 :partyparrot: :rocket:");
    await expect.poll(() => scripts.some((t) => t.includes("thumbsup"))).toBe(true);

    // --- the inline :sm completion, by keys ---------------------------------------------------
    await composer(a.page).fill("");
    await composer(a.page).pressSequentially("well :smi");
    const options = a.page.getByRole("listbox").getByRole("option");
    await expect.poll(() => options.count()).toBeGreaterThan(1);
    await a.page.screenshot({ path: `${SHOTS}/composer-shortcode-1280.png` });
    await composer(a.page).press("ArrowDown");
    await expect.poll(() => options.nth(1).getAttribute("aria-selected")).toBe("true");
    const second = (await options.nth(1).locator(".sugg-emoji").textContent())!.trim();
    await composer(a.page).press("Tab");
    await expect.poll(() => composer(a.page).inputValue()).toBe(`well ${second} `);
    await composer(a.page).pressSequentially(":sm");
    await options.first().waitFor();
    await composer(a.page).press("Escape");
    await expect.poll(() => a.page.getByRole("listbox").count()).toBe(0);
    await expect.poll(() => composer(a.page).inputValue()).toBe(`well ${second} :sm`);
    await composer(a.page).fill("");

    // --- a role mention from the autocomplete pings Bob (in another channel) -------------------
    await composer(a.page).pressSequentially("@Mod");
    const roleOption = a.page.getByRole("option", { name: /@Moderators/ });
    await roleOption.waitFor();
    await a.page.screenshot({ path: `${SHOTS}/composer-role-autocomplete-1280.png` });
    await composer(a.page).press("Enter");
    await expect.poll(() => composer(a.page).inputValue()).toBe("@Moderators ");
    await composer(a.page).pressSequentially("please look");
    await pressSend(a.page);
    const badge = channelLink(b.page, c.communityId, c.channelId).locator(".mention-badge");
    await expect.poll(() => badge.textContent(), { timeout: 15_000 }).toBe("1");
    await channelLink(b.page, c.communityId, c.channelId).click();
    const pinged = message(b.page, "please look");
    await pinged.waitFor();
    const pill = pinged.locator('.mention[data-mention="role"]');
    await expect.poll(() => pill.textContent()).toBe("@Moderators");
    expect(await pill.getAttribute("data-id")).toBe(mods.id);
    await expect.poll(() => pill.evaluate((el) => getComputedStyle(el).color)).toBe("rgb(230, 126, 34)");
    expect(await pinged.getAttribute("class")).toContain("mentioned");
    await b.page.screenshot({ path: `${SHOTS}/composer-role-pill-1280.png` });

    // Bob may not mention the Quiet Team: not offered, and its raw form pings no one (text).
    await composer(b.page).fill("");
    await composer(b.page).pressSequentially("@Quiet");
    await expect.poll(() => b.page.getByRole("option", { name: /Quiet Team/ }).count()).toBe(0);
    await composer(b.page).fill(`hello <@&${quiet.id}> friends`);
    await pressSend(b.page);
    const quietMsg = message(a.page, "friends");
    await quietMsg.waitFor();
    await expect.poll(() => quietMsg.locator(".msg-text").textContent()).toContain("hello @Quiet Team friends");
    expect(await quietMsg.locator(".mention").count()).toBe(0);

    // --- paste an image (a real ClipboardEvent carrying a File), then drop one --------------
    const image = png(40, 30).toString("base64");
    await composer(a.page).focus();
    await a.page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], "pasted.png", { type: "image/png" }));
      const ev = new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true });
      document.querySelector("textarea[data-composer]")!.dispatchEvent(ev);
    }, image);
    await a.page.locator(".composer .file", { hasText: "pasted.png" }).locator(".file-status").waitFor();
    await a.page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], "dropped.png", { type: "image/png" }));
      const zone = document.querySelector("section.channel")!;
      zone.dispatchEvent(new DragEvent("dragenter", { dataTransfer: data, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
    }, image);
    await a.page.locator(".composer .file", { hasText: "dropped.png" }).locator(".file-status").waitFor();
    await a.page.screenshot({ path: `${SHOTS}/composer-pasted-1280.png` });
    await composer(a.page).fill("two pictures");
    await pressSend(a.page);
    await message(b.page, "two pictures").locator("img[alt='pasted.png']").waitFor();
    await message(b.page, "two pictures").locator("img[alt='dropped.png']").waitFor();

    // --- drafts: text and reply target survive a channel switch and a reload ------------------
    const target = message(a.page, "friends");
    await target.hover();
    await target.getByRole("toolbar").getByRole("button", { name: "Reply", exact: true }).click();
    await a.page.getByText("Replying to").waitFor();
    await composer(a.page).fill("a half-written thought");
    await channelLink(a.page, c.communityId, random.id).click();
    await a.page.waitForURL(`**/c/${c.communityId}/${random.id}`);
    await composer(a.page).waitFor();
    expect(await composer(a.page).inputValue()).toBe("");
    const pencil = channelLink(a.page, c.communityId, c.channelId).getByTestId("draft-mark");
    await pencil.waitFor();
    await a.page.screenshot({ path: `${SHOTS}/composer-draft-pencil-1280.png` });
    await channelLink(a.page, c.communityId, c.channelId).click();
    await a.page.waitForURL(`**/c/${c.communityId}/${c.channelId}`);
    await expect.poll(() => composer(a.page).inputValue()).toBe("a half-written thought");
    await a.page.getByText("Replying to").waitFor();
    await a.page.reload();
    await composer(a.page).waitFor();
    await expect.poll(() => composer(a.page).inputValue()).toBe("a half-written thought");
    await a.page.getByText("Replying to").waitFor();
    await pressSend(a.page);
    const reply = message(b.page, "a half-written thought");
    await reply.waitFor();
    await expect.poll(() => reply.locator(".reply-preview").textContent()).toContain("friends");
    // Sent: gone from storage too.
    await a.page.reload();
    await composer(a.page).waitFor();
    await a.page.locator('[role="log"][aria-busy="false"]').waitFor();
    expect(await composer(a.page).inputValue()).toBe("");
    expect(await a.page.getByText("Replying to").count()).toBe(0);
    expect(await a.page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("woxly.draft.")).length)).toBe(0);

    // --- phone: the completion is tapped ------------------------------------------------------
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, locale: "en-US" });
    await logInContext(phone, base, alice);
    const p = await phone.newPage();
    await open(p, c.communityId, c.channelId);
    await composer(p).tap();
    await composer(p).pressSequentially("@Mod");
    const phoneOption = p.getByRole("option", { name: /@Moderators/ });
    await phoneOption.waitFor();
    expect((await phoneOption.boundingBox())!.height).toBeGreaterThanOrEqual(44);
    await p.screenshot({ path: `${SHOTS}/composer-role-autocomplete-390.png` });
    await phoneOption.tap();
    await expect.poll(() => composer(p).inputValue()).toBe("@Moderators ");
    await composer(p).pressSequentially(":smi");
    await p.getByRole("listbox").getByRole("option").first().waitFor();
    await p.screenshot({ path: `${SHOTS}/composer-shortcode-390.png` });
    await p.getByRole("listbox").getByRole("option").first().tap();
    await expect.poll(() => composer(p).inputValue()).toMatch(/^@Moderators \p{RGI_Emoji} $/v);

    await phone.close();
    await a.context.close();
    await b.context.close();
  });
});
