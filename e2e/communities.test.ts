/**
 * Communities in the browser: one user creates a community and an invite in the UI; a visitor
 * opens the link logged out, registers through it and lands in `general`; the owner sees the
 * newcomer appear online in the member list. Also checks that the invite page is rendered on
 * the server with Open Graph tags (a pasted link unfurls without JavaScript).
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launch, newPage, uniqueName } from "./browser";

const base = inject("baseUrl");
const PASSWORD = "violet lantern river 93";
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

async function fillRegistration(page: Page, username: string, displayName: string) {
  await page.getByRole("heading", { name: "Create your account" }).waitFor();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Display name").fill(displayName);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
}

describe("communities in the browser", () => {
  it("an invite takes a visitor through registration into general; the owner sees them online", async () => {
    const owner = await newPage(browser);
    const visitor = await newPage(browser);
    const community = `Owls ${uniqueName("c").slice(-6)}`;
    const visitorName = `Newcomer ${uniqueName("v").slice(-5)}`;

    // The owner registers and creates a community from the rail.
    await owner.page.goto(`${base}/register`);
    await fillRegistration(owner.page, uniqueName("owner"), "Olga Owner");
    await owner.page.getByRole("heading", { name: "You're not in any community yet" }).waitFor();
    await owner.page.getByRole("button", { name: "Create a community" }).click();
    const create = owner.page.getByRole("dialog", { name: "Create a community" });
    await create.getByLabel("Community name").fill(community);
    await create.getByRole("button", { name: "Create", exact: true }).click();
    await owner.page.waitForURL(/\/c\/[^/]+\/[^/]+$/);
    await owner.page.getByRole("heading", { name: "general", level: 1 }).waitFor();
    const communityId = new URL(owner.page.url()).pathname.split("/")[2];
    await owner.page.getByRole("navigation", { name: "Communities" }).getByRole("link", { name: community }).waitFor();

    // ... and makes an invite link from the community menu.
    await owner.page.getByRole("button", { name: `${community}: community menu` }).click();
    await owner.page.getByRole("menuitem", { name: "Invite people" }).click();
    const inviteDialog = owner.page.getByRole("dialog", { name: `Invite friends to ${community}` });
    const linkBox = inviteDialog.getByLabel("Invite link");
    await expect.poll(() => linkBox.inputValue(), { timeout: 15_000 }).toMatch(/\/invite\/[0-9a-z]{20,64}$/);
    const link = await linkBox.inputValue();
    await inviteDialog.getByRole("button", { name: "Close" }).click();

    // The invite page is server-rendered with Open Graph tags, for anyone.
    const html = await (await fetch(link, { headers: { "accept-language": "en" } })).text();
    expect(html).toContain(`<meta property="og:title" content="Join ${community} on Woxly"`);
    expect(html).toMatch(/<meta property="og:description" content="1 member, \d+ online\./);

    // The visitor opens it logged out, registers through it and lands in general.
    await visitor.page.goto(link);
    await visitor.page.getByRole("heading", { name: community }).waitFor();
    await visitor.page.getByRole("link", { name: "Create an account to join" }).click();
    await visitor.page.waitForURL(/\/register\?next=/);
    await fillRegistration(visitor.page, uniqueName("visitor"), visitorName);
    await visitor.page.waitForURL(new RegExp(`/c/${communityId}/[^/]+$`), { timeout: 30_000 });
    await visitor.page.getByRole("heading", { name: "general", level: 1 }).waitFor();

    // The owner sees the newcomer appear online in the member list.
    const members = owner.page.getByRole("complementary", { name: "Members" });
    await members.getByRole("button", { name: `${visitorName}, Online` }).waitFor({ timeout: 20_000 });
    await members.getByRole("heading", { name: "Online — 2" }).waitFor();

    await owner.context.close();
    await visitor.context.close();
  });
});
