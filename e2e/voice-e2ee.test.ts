/**
 * End-to-end encrypted calls in real Chromium against the running product and a real
 * livekit-server (started by the global setup): the owner turns e2ee on for a voice channel
 * (PATCH /api/channels/:id), two members join and hear each other through livekit-client's
 * E2EE with the key from POST /api/channels/:id/voice/key; a third member who had fetched the
 * key is kicked, the key rotates (`voice.key_rotated` on the hub), and the two still hear each
 * other with the new key. See docs/voice.md "End-to-end encryption".
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { voiceLike, writeWav } from "../bench/voice/wav.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "./browser";
import { person as newPerson, remoteEnergy, type Person } from "./voice-people";

const base = inject("baseUrl");


let browser: Browser;
let tmp = "";

/** A registered user with a browser context of their own. */
const person = (prefix: string) => newPerson(browser, base, prefix);


const SOUND = 0.02;
const REMOTE = "[data-tile]:not([data-local])";

let alice: Person; // owner
let bob: Person; // member
let carol: Person; // member, fetches the key, then is kicked
let communityId = "";
let voiceId = "";

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "woxly-e2ee-e2e-"));
  const wav = writeWav(path.join(tmp, "voice.wav"), voiceLike());
  browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, `--use-file-for-fake-audio-capture=${wav}`] });
  [alice, bob, carol] = await Promise.all([person("ealice"), person("ebob"), person("ecarol")]);
  const created = await alice.api<{ community: { id: string }; channels: { id: string; kind: string }[] }>("POST", "/api/communities", { name: "E2EE e2e" });
  communityId = created.community.id;
  voiceId = created.channels.find((c) => c.kind === "voice")!.id;
  const { invite } = await alice.api<{ invite: { code: string } }>("POST", `/api/communities/${communityId}/invites`, {});
  await bob.api("POST", `/api/invites/${invite.code}/redeem`);
  await carol.api("POST", `/api/invites/${invite.code}/redeem`);
});

afterAll(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("end-to-end encrypted calls", () => {
  it("two members in an e2ee channel hear each other, also after a kick rotated the key", async () => {
    const { channel } = await alice.api<{ channel: { e2ee: boolean } }>("PATCH", `/api/channels/${voiceId}`, { e2ee: true });
    expect(channel.e2ee).toBe(true);
    const k0 = await carol.api<{ key: string; keyIndex: number }>("POST", `/api/channels/${voiceId}/voice/key`);
    expect(k0.keyIndex).toBe(0);

    for (const p of [alice, bob]) {
      await p.page.goto(`${base}/c/${communityId}/${voiceId}`);
      await p.page.click("[data-voice-join]");
      await p.page.locator('[data-call-stage][data-phase="connected"]').waitFor({ timeout: 20_000 });
    }
    for (const p of [alice, bob]) {
      await p.page.locator(REMOTE).first().waitFor({ timeout: 15_000 });
      expect(await p.page.locator("[data-call-stage]").textContent()).toContain("End-to-end encrypted");
    }
    await expect.poll(() => remoteEnergy(alice.page), { timeout: 15_000 }).toBeGreaterThan(SOUND);
    await expect.poll(() => remoteEnergy(bob.page), { timeout: 15_000 }).toBeGreaterThan(SOUND);

    // Carol had the key; she is kicked, the channel gets a new one and the call takes it.
    await alice.api("POST", `/api/communities/${communityId}/members/${carol.id}/kick`, {});
    const k1 = await bob.api<{ key: string; keyIndex: number }>("POST", `/api/channels/${voiceId}/voice/key`);
    expect(k1.keyIndex).toBe(1);
    expect(k1.key).not.toBe(k0.key);
    // Bob joins again and so encrypts with the new key only: they hear each other only if
    // Alice's call took the new key from the hub's `voice.key_rotated`.
    await bob.page.locator('[data-call-stage] [data-control="leave"]').click();
    await bob.page.locator("[data-voice-join]").waitFor({ timeout: 10_000 });
    await bob.page.click("[data-voice-join]");
    await bob.page.locator('[data-call-stage][data-phase="connected"]').waitFor({ timeout: 20_000 });
    await bob.page.locator(REMOTE).first().waitFor({ timeout: 15_000 });
    await expect.poll(() => remoteEnergy(alice.page), { timeout: 15_000 }).toBeGreaterThan(SOUND);
    await expect.poll(() => remoteEnergy(bob.page), { timeout: 15_000 }).toBeGreaterThan(SOUND);
  });
});
