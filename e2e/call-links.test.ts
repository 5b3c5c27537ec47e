/**
 * Call links in real Chromium with fake devices against the running product and a real
 * livekit-server (docs/call-links.md): a member makes a link from /call, a guest with no
 * account joins it from another browser context through the pre-join screen, and they hear,
 * see and write to each other; the host locks the room (a third guest is refused) and turns
 * the lobby on (one guest admitted, another refused); the guest's tokens reach the link's
 * room and nothing else; and the call view on a phone.
 *
 * Media is checked from the receiving side's inbound RTP stats (audio energy and decoded
 * video frames growing); the fake microphone plays a speech-like WAV.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { CallLink, CallLinkPreview, CallLinkToken } from "../workers/shared/call-links";
import type { HistoryPage } from "../workers/shared/chat";
import {
  PHONE,
  callView,
  chatLines,
  guest,
  inCallWithCamera,
  joinAsGuest,
  jwtPayload,
  launchWithVoice,
  lobbyEntry,
  prejoin,
  pressJoin,
  sendChat,
  shot,
  type Guest,
} from "./call-link-fixtures";
import { receiving, tap } from "./media-probes";
import { person, type Person } from "./voice-people";

const base = inject("baseUrl");

let browser: Browser;
let close = async () => {};
let host: Person;
let link: CallLink;
let ann: Guest; // joins in the first test and stays

beforeAll(async () => {
  ({ browser, close } = await launchWithVoice());
  host = await person(browser, base, "clhost");
  await tap(host.context);
});

afterAll(async () => {
  await close();
});

const preview = async (g: Guest) => (await g.fetch<CallLinkPreview>("GET", `/api/calls/${link.code}`)).body;

describe("call links", () => {
  it("a member makes a link; a guest with no account joins by name; they hear, see and write to each other", async () => {
    // The host: /call → New call → the pre-join screen of the new link → Join.
    await host.page.goto(`${base}/call`);
    await host.page.getByTestId("call-new").click();
    await host.page.waitForURL(/\/call\/[a-z0-9-]{3,}$/, { timeout: 15_000 });
    const code = new URL(host.page.url()).pathname.split("/").pop()!;
    const { links } = await host.api<{ links: CallLink[] }>("GET", "/api/calls");
    link = links.find((l) => l.code === code)!;
    expect(link, `GET /api/calls lists ${code}`).toBeDefined();
    expect(link.host.id).toBe(host.id);
    expect(link.code).toMatch(/^[0-9a-z]{26,}$/); // random: 128 bits of base32
    await pressJoin(host.page);
    await inCallWithCamera(host.page);

    // The guest: another context, no account; the link's preview says who they are not yet.
    ann = await guest(browser, base, "Ann Guest");
    expect(await preview(ann)).toMatchObject({ code, ended: false, you: { kind: "nobody" } });
    await joinAsGuest(ann, base, code);
    await inCallWithCamera(ann.page);
    expect(await preview(ann)).toMatchObject({ you: { kind: "guest", name: ann.name, admission: "admitted" } });

    // Audio and video both ways, measured where they arrive.
    await expect.poll(() => receiving(host.page), { timeout: 25_000 }).toMatchObject({ audio: true, video: true });
    await expect.poll(() => receiving(ann.page), { timeout: 25_000 }).toMatchObject({ audio: true, video: true });

    // Two people, on both sides.
    for (const p of [host.page, ann.page]) {
      const view = callView(p);
      await expect.poll(() => view.count.first().textContent(), { timeout: 15_000 }).toMatch(/\b2\b/);
      if (!(await view.people.isVisible())) await view.peopleToggle.click();
      await expect.poll(() => view.person.count(), { timeout: 15_000 }).toBe(2);
      const names = (await view.person.allTextContents()).join(" | ");
      expect(names).toContain(ann.name);
      expect(names).toContain(host.username);
    }

    // The chat, both ways; and the system message for the guest's arrival.
    for (const p of [host.page, ann.page]) {
      const view = callView(p);
      if (!(await view.chat.isVisible())) await view.chatToggle.click();
      await view.composer.waitFor({ timeout: 15_000 });
    }
    await shot(host.page, "e2e-call-desktop.png"); // again below, with the messages
    const said = async () => (await host.api<HistoryPage>("GET", `/api/calls/${code}/history`)).messages.map((m) => m.content);
    await sendChat(host.page, "hello from the host");
    await expect.poll(said, { timeout: 10_000 }).toContain("hello from the host"); // stored in the call's chat…
    await chatLines(ann.page, "hello from the host").first().waitFor({ timeout: 15_000 }); // …and delivered
    await sendChat(ann.page, "hi, guest here");
    await expect.poll(said, { timeout: 10_000 }).toContain("hi, guest here");
    await chatLines(host.page, "hi, guest here").first().waitFor({ timeout: 15_000 });
    await shot(host.page, "e2e-call-desktop.png");

    // The server writes it into the call's chat (from LiveKit's webhook)…
    const systemOf = async () =>
      (await host.api<HistoryPage>("GET", `/api/calls/${code}/history`)).messages.map((m) => m.system).filter((x) => x?.kind === "call_joined");
    await expect.poll(systemOf, { timeout: 15_000 }).toContainEqual(expect.objectContaining({ kind: "call_joined", name: ann.name }));
    // …and the chat shows it.
    await chatLines(host.page, `${ann.name} joined`).first().waitFor({ timeout: 15_000 });
    await chatLines(ann.page, `${ann.name} joined`).first().waitFor({ timeout: 15_000 });
  });

  it("a locked room refuses a third guest with a clear message", async () => {
    const view = callView(host.page);
    if (!(await view.lock.isVisible())) await view.settingsToggle.click();
    await view.lock.click();
    await expect.poll(async () => (await preview(ann)).settings.locked, { timeout: 10_000 }).toBe(true);

    const bo = await guest(browser, base, "Bo Locked");
    await bo.page.goto(`${base}/call/${link.code}`);
    // Either the pre-join screen says so at once, or when they try.
    const pre = prejoin(bo.page);
    await pre.refused.or(pre.name).first().waitFor({ timeout: 15_000 });
    if (!(await pre.refused.isVisible())) {
      await pre.name.fill(bo.name);
      await pressJoin(bo.page);
    }
    await pre.refused.waitFor({ timeout: 15_000 });
    expect(await pre.refused.textContent()).toMatch(/locked/i);
    expect(await callView(bo.page).connected.count()).toBe(0);
    // The server refuses too, not just the page.
    const tried = await bo.fetch("POST", `/api/calls/${link.code}/guests`, { name: bo.name });
    expect(tried.status).toBeGreaterThanOrEqual(400);
    expect(tried.status).toBeLessThan(500);
    expect((await bo.fetch("POST", `/api/calls/${link.code}/token`)).status).toBeGreaterThanOrEqual(400);
    // Ann, already in, stays.
    await expect.poll(() => receiving(ann.page), { timeout: 10_000 }).toMatchObject({ audio: true, video: true });
    await bo.context.close();

    await view.lock.click();
    await expect.poll(async () => (await preview(ann)).settings.locked, { timeout: 10_000 }).toBe(false);
  });

  it("with the lobby on, a guest waits for the host, who admits them; another is refused", async () => {
    const view = callView(host.page);
    if (!(await view.lobbySwitch.isVisible())) await view.settingsToggle.click();
    await view.lobbySwitch.click();
    await expect.poll(async () => (await preview(ann)).settings.lobby, { timeout: 10_000 }).toBe(true);

    const cy = await guest(browser, base, "Cy Waiting");
    await joinAsGuest(cy, base, link.code);
    await prejoin(cy.page).waiting.waitFor({ timeout: 15_000 });
    expect(await prejoin(cy.page).waiting.textContent()).toMatch(/waiting for the host/i);
    expect(await preview(cy)).toMatchObject({ you: { kind: "guest", admission: "waiting" } });
    expect((await cy.fetch("POST", `/api/calls/${link.code}/token`)).status).toBeGreaterThanOrEqual(400); // no token while waiting

    // The host sees them and lets them in.
    const entry = lobbyEntry(host.page, cy.name);
    await entry.waitFor({ timeout: 15_000 });
    await entry.getByTestId("call-lobby-admit").click();
    await callView(cy.page).connected.waitFor({ timeout: 20_000 });
    expect(await preview(cy)).toMatchObject({ you: { admission: "admitted" } });
    await expect.poll(() => receiving(cy.page), { timeout: 25_000 }).toMatchObject({ audio: true });
    await entry.waitFor({ state: "detached", timeout: 10_000 });

    // The next one is refused and told so.
    const di = await guest(browser, base, "Di Refused");
    await joinAsGuest(di, base, link.code);
    await prejoin(di.page).waiting.waitFor({ timeout: 15_000 });
    const diEntry = lobbyEntry(host.page, di.name);
    await diEntry.waitFor({ timeout: 15_000 });
    await diEntry.getByTestId("call-lobby-refuse").click();
    await prejoin(di.page).refused.waitFor({ timeout: 15_000 });
    expect(await callView(di.page).connected.count()).toBe(0);
    expect(await preview(di)).toMatchObject({ you: { admission: "refused" } });
    expect((await di.fetch("POST", `/api/calls/${link.code}/token`)).status).toBeGreaterThanOrEqual(400);

    await cy.context.close();
    await di.context.close();
    await view.lobbySwitch.click();
    await expect.poll(async () => (await preview(ann)).settings.lobby, { timeout: 10_000 }).toBe(false);
  });

  it("a guest's tokens reach the link's room only: no community voice, no other link", async () => {
    // A community with a voice channel, and another link, both the host's.
    const made = await host.api<{ community: { id: string }; channels: { id: string; kind: string }[] }>("POST", "/api/communities", { name: "Call links e2e" });
    const voiceId = made.channels.find((c) => c.kind === "voice")!.id;
    const other = await host.api<CallLink>("POST", "/api/calls", {});

    const denied = await ann.fetch("POST", `/api/channels/${voiceId}/voice/token`);
    expect([401, 403, 404]).toContain(denied.status);
    expect(denied.body).toMatchObject({ error: { code: expect.any(String) } });
    expect([401, 403, 404]).toContain((await ann.fetch("POST", `/api/calls/${other.code}/token`)).status);
    expect([401, 403, 404]).toContain((await ann.fetch("GET", `/api/calls/${other.code}/history`)).status);

    const mine = await ann.fetch<CallLinkToken>("POST", `/api/calls/${link.code}/token`);
    expect(mine.status).toBe(200);
    expect(mine.body.room).toBe(`call-${link.id}`);
    const claims = jwtPayload(mine.body.token);
    expect(claims.video?.room).toBe(`call-${link.id}`);
    expect(claims.video?.roomJoin).toBe(true);
    for (const power of ["roomAdmin", "roomCreate", "roomList", "roomRecord", "ingressAdmin"]) expect(claims.video?.[power] ?? false).toBe(false);
    expect(claims.sub).toBe(mine.body.identity);
    expect(claims.exp! - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(600); // short-lived (minutes, not the guest session's hours)
  });

  it("on a phone: the call view's controls are in reach and the chat opens as a sheet", async () => {
    const eve = await guest(browser, base, "Eve Phone", { phone: true });
    await joinAsGuest(eve, base, link.code);
    const view = callView(eve.page);
    await view.connected.waitFor({ timeout: 20_000 });
    await view.root.evaluate(() => new Promise((r) => requestAnimationFrame(r)));

    for (const name of ["mute", "camera", "leave"]) {
      const button = view.control(name);
      await button.waitFor({ state: "visible" });
      const box = (await button.boundingBox())!;
      expect(box.width, `${name} is wide enough to touch`).toBeGreaterThanOrEqual(44);
      expect(box.height, `${name} is tall enough to touch`).toBeGreaterThanOrEqual(44);
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
      expect(box.y + box.height).toBeLessThanOrEqual(PHONE.height);
    }
    // Nothing is wider than the screen.
    expect(await eve.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await shot(eve.page, "e2e-call-phone.png");

    await view.chatToggle.tap();
    await view.composer.waitFor({ state: "visible", timeout: 10_000 });
    const sheet = (await view.chat.boundingBox())!;
    expect(sheet.width).toBeGreaterThan(PHONE.width * 0.9);
    await sendChat(eve.page, "typed on a phone");
    const hostChat = callView(host.page);
    if (!(await hostChat.chat.isVisible())) await hostChat.chatToggle.click();
    await chatLines(host.page, "typed on a phone").first().waitFor({ timeout: 15_000 });
    await shot(eve.page, "e2e-call-phone-chat.png");
    await eve.context.close();
  });
});
