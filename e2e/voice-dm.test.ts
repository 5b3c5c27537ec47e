/**
 * Calls in DMs in real Chromium against the running product and a real livekit-server: one
 * member rings another from their DM; the other, on another page of the app, gets the
 * incoming-call toast (through their UserInbox socket), accepts, lands in the DM's call and
 * hears the caller; a declined call stops ringing and leaves a missed-call message in the DM.
 * The 30 s timeout and the rest of the state machine are covered in tests/dm-calls.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { voiceLike, writeWav } from "../bench/voice/wav.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "./browser";
import { person, remoteEnergy, type Person } from "./voice-people";

const base = inject("baseUrl");
const SOUND = 0.02;

let browser: Browser;
let tmp = "";
let alice: Person;
let bob: Person;
let dmId = "";

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "woxly-dm-call-e2e-"));
  const wav = writeWav(path.join(tmp, "voice.wav"), voiceLike());
  browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, `--use-file-for-fake-audio-capture=${wav}`] });
  [alice, bob] = await Promise.all([person(browser, base, "dmalice"), person(browser, base, "dmbob")]);
  const created = await alice.api<{ community: { id: string } }>("POST", "/api/communities", { name: "DM call e2e" });
  const { invite } = await alice.api<{ invite: { code: string } }>("POST", `/api/communities/${created.community.id}/invites`, {});
  await bob.api("POST", `/api/invites/${invite.code}/redeem`);
  dmId = (await alice.api<{ channel: { id: string } }>("POST", "/api/dms", { userIds: [bob.id] })).channel.id;
});

afterAll(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const callOf = async (p: Person) => (await p.api<{ call: { joined: string[]; ringing: string[]; answered: boolean } | null }>("GET", `/api/dms/${dmId}/call`)).call;

describe("calls in DMs", () => {
  it("rings the other member anywhere in the app; accepting joins the call and they hear each other", async () => {
    await bob.page.goto(`${base}/settings`); // far from the DM: the toast shows on every page
    await alice.page.goto(`${base}/dm/${dmId}`);
    await alice.page.click("[data-dm-call]");
    await alice.page.locator('[data-call-stage][data-phase="connected"]').waitFor({ timeout: 20_000 });
    await expect.poll(() => alice.page.locator("[data-call-note]").textContent()).toContain(bob.username);
    await alice.page.locator("[data-dm-in-call]").waitFor(); // the DM list marks the conversation with a call

    const toast = bob.page.locator(`[data-incoming-call="${dmId}"]`);
    await toast.waitFor({ timeout: 10_000 });
    expect(await toast.textContent()).toContain(`${alice.username} is calling you`);
    await toast.locator("[data-call-accept]").click();
    await bob.page.waitForURL(`**/dm/${dmId}`);
    await bob.page.locator('[data-call-stage][data-phase="connected"]').waitFor({ timeout: 20_000 });
    await toast.waitFor({ state: "detached" });

    await expect.poll(() => remoteEnergy(bob.page), { timeout: 15_000 }).toBeGreaterThan(SOUND);
    await expect.poll(() => remoteEnergy(alice.page), { timeout: 15_000 }).toBeGreaterThan(SOUND);
    await alice.page.locator("[data-call-note]").waitFor({ state: "detached" }); // no longer ringing
    expect(await callOf(alice)).toMatchObject({ ringing: [], answered: true });

    // Both hang up: the call is over for everyone.
    await bob.page.click('[data-control="leave"]');
    await alice.page.click('[data-control="leave"]');
    await expect.poll(() => callOf(alice), { timeout: 10_000 }).toBeNull();
    await alice.page.locator("[data-dm-call]").waitFor();
    await alice.page.locator("[data-dm-in-call]").waitFor({ state: "detached" });
  });

  it("a declined call stops ringing and leaves a missed-call message", async () => {
    await bob.page.goto(`${base}/`);
    await alice.page.goto(`${base}/dm/${dmId}`);
    await alice.page.click("[data-dm-call]");
    await alice.page.locator('[data-call-stage][data-phase="connected"]').waitFor({ timeout: 20_000 });
    const toast = bob.page.locator(`[data-incoming-call="${dmId}"]`);
    await toast.waitFor({ timeout: 10_000 });
    await toast.locator("[data-call-decline]").click();
    await toast.waitFor({ state: "detached" });
    await expect.poll(() => alice.page.locator("[data-call-note]").textContent(), { timeout: 10_000 }).toContain(`${bob.username} declined`);
    // Alice gives up; the call stage goes and the chat (narrower than the stage's chat column) shows the message.
    await alice.page.click('[data-control="leave"]');
    await expect.poll(() => callOf(alice), { timeout: 10_000 }).toBeNull();
    await alice.page.getByText(`Missed call from ${alice.username}.`).waitFor({ timeout: 10_000 });
    await bob.page.goto(`${base}/dm/${dmId}`);
    await bob.page.getByText(`Missed call from ${alice.username}.`).waitFor({ timeout: 10_000 });
  });
});
