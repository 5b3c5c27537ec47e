/**
 * The support desk end to end, in real Chromium against the running product and a real
 * livekit-server: a manager sets up a desk (community, allowed website, two FAQ entries)
 * through the HTTP API; a visitor on a plain third-party page (another port, so another
 * origin) opens the widget, gets the FAQ answer with its source, asks for a manager and sees
 * position 1; the manager accepts in the panel; they chat both ways, files too; the visitor reloads the
 * page and the conversation is all there and goes on (no line twice); the manager starts a
 * video call, the visitor accepts, and both receive audio with sound in it and decoded video
 * (inbound RTP stats of every peer connection, in the page and in the widget's frame); the
 * manager closes, the visitor rates 4 of 5 with a comment, and the manager's ticket route
 * shows the rating and the transcript. Files go both ways in step 4 (the widget's attach button
 * and the panel's), each side opening the other's.
 *
 * The steps run in order and share the conversation: a failure names the step that broke.
 * Screenshots of both sides at the live chat (1280×800, the widget also at 390×844) and in
 * the call go to /tmp/woxly-shots.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Frame, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { voiceLike, writeWav } from "../bench/voice/wav.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "./browser";
import { receiving } from "./media-probes";
import { FAQ, deskScene, launcher, openWidget, tappedContext, ticketOf, type DeskScene } from "./desk-fixtures";

const base = inject("baseUrl");
const SHOTS = "/tmp/woxly-shots";
const LINES = {
  visitorFirst: "Hello, my reset link never arrived.",
  managerFirst: "Hi! I am looking at your account now.",
  visitorAfterReload: "I reloaded the page, are you still there?",
  managerAfterReload: "Still here. Let us switch to video.",
};
const COMMENT = "Quick and friendly, thank you.";
/** A 1×1 PNG the browser decodes (the visitor's attachment). */
const PNG_FILE = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");
const INVOICE = "Invoice 1234: paid.\n";

let browser: Browser;
let tmp = "";
let scene: DeskScene;
let visitor: Page;
let widget: Frame;
let manager: Page;
let ticketId = "";

// --- the visitor's widget (the panel iframe, web/widget/panel) -------------------------------
const composer = (f: Frame) => f.locator("form.composer textarea");
const lines = (f: Frame, text: string) => f.locator("[data-message] .text", { hasText: text });

async function ask(f: Frame, text: string): Promise<void> {
  const box = composer(f);
  await box.fill(text);
  await box.press("Enter");
  await expect.poll(() => box.inputValue()).toBe("");
}

/** The widget's desk config as the launcher reads it: how many managers are online now. */
async function managersOnline(): Promise<number> {
  const res = await fetch(`${base}/api/widget/desks/${scene.desk.id}`);
  return ((await res.json()) as { managersOnline: number }).managersOnline;
}

/**
 * The panel's layout in a call: the composer wholly inside the frame's viewport, the
 * conversation at least 120 px tall (several lines) with its newest line in view, and the
 * remote video drawn.
 */
function callLayout(f: Frame): Promise<{ composerInView: boolean; conversationTall: boolean; newestInView: boolean; video: boolean; conversation: number; composerBottom: number; height: number }> {
  return f.evaluate(() => {
    const composer = document.querySelector("form.composer")!.getBoundingClientRect();
    const conversation = document.querySelector(".conversation")!.getBoundingClientRect();
    const remote = document.querySelector<HTMLVideoElement>('.call .media video[data-local="0"]');
    const newest = [...document.querySelectorAll(".conversation [data-message]")].at(-1)?.getBoundingClientRect();
    return {
      composerInView: composer.top >= 0 && composer.bottom <= window.innerHeight + 0.5 && composer.height >= 44,
      conversationTall: conversation.height >= 120,
      newestInView: Boolean(newest && newest.bottom <= conversation.bottom + 1 && newest.top >= conversation.top - 1),
      video: Boolean(remote && remote.getBoundingClientRect().height > 60),
      conversation: Math.round(conversation.height),
      composerBottom: Math.round(composer.bottom),
      height: window.innerHeight,
    };
  });
}

// --- the manager's panel (web/src/lib/desk/components) ---------------------------------------
const row = (p: Page, id: string) => p.locator(`li.waiting-item[data-ticket="${id}"]`);
const replyBox = (p: Page) => p.getByRole("combobox", { name: /^Message to / });
const managerLines = (p: Page, text: string) => p.locator(".conversation li.msg .bubble", { hasText: text });

async function reply(p: Page, text: string): Promise<void> {
  const box = replyBox(p);
  await box.fill(text);
  await box.press("Enter");
  await expect.poll(() => box.inputValue()).toBe("");
}

/** Every line of the conversation appears exactly once on both sides. */
async function eachOnceOnBothSides(texts: string[]): Promise<void> {
  for (const t of texts) {
    await expect.poll(() => lines(widget, t).count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => managerLines(manager, t).count(), { timeout: 10_000 }).toBe(1);
  }
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  tmp = mkdtempSync(path.join(os.tmpdir(), "woxly-desk-e2e-"));
  // A speech-like microphone on both sides, so received audio has sound in it.
  const wav = writeWav(path.join(tmp, "voice.wav"), voiceLike());
  browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, `--use-file-for-fake-audio-capture=${wav}`] });
  scene = await deskScene(browser, base);
  visitor = await (await tappedContext(browser)).newPage();
  const managerContext = await tappedContext(browser);
  await managerContext.addCookies(await scene.manager.context.cookies());
  manager = await managerContext.newPage();
});

afterEach(async (ctx) => {
  // What each side showed when a step failed.
  if (ctx.task.result?.state !== "fail") return;
  const step = ctx.task.name.slice(0, 1);
  await visitor?.screenshot({ path: `${SHOTS}/desk-failed-step${step}-visitor.png` }).catch(() => {});
  await manager?.screenshot({ path: `${SHOTS}/desk-failed-step${step}-manager.png` }).catch(() => {});
});

afterAll(async () => {
  await browser?.close();
  await scene?.site.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("the support desk, visitor and manager", () => {
  it("1. the widget on a third-party page answers from the FAQ, with its source", async () => {
    // The visitor's page loads while nobody is online: the widget's config says so.
    expect(await managersOnline()).toBe(0);
    expect(new URL(scene.site.url).origin).not.toBe(new URL(base).origin);
    await visitor.goto(scene.site.url);
    await launcher(visitor).waitFor({ timeout: 15_000 });
    expect(await launcher(visitor).getAttribute("aria-label")).toBe("Open chat: Acme support");
    widget = await openWidget(visitor, scene.desk.id);
    expect(await widget.locator(".panel h1").textContent()).toBe("Acme support");
    await widget.getByText("Hi! Ask us anything.").waitFor();
    await ask(widget, "how can I reset my password");
    // The answer shows at once from the HTTP answer, then as a line of the ticket's room once
    // the room's socket has the conversation: either way, once, word for word.
    const answer = widget.locator("[data-answer] .text, [data-message] .text").filter({ hasText: FAQ[0].answer });
    await answer.first().waitFor({ timeout: 15_000 });
    expect(await answer.allTextContents()).toEqual([FAQ[0].answer]);
    expect(await widget.locator(".answer-extra .source").textContent()).toBe(`Source: ${FAQ[0].question}`);

    // Only now does the manager come to work: the panel opens (they are online), after the
    // widget read its config; the widget is not reloaded.
    await manager.goto(`${base}/c/${scene.communityId}/desk/${scene.desk.id}`);
    await manager.locator(".desk-panel .available input:not([disabled])").waitFor({ timeout: 20_000 });
    await expect.poll(managersOnline, { timeout: 10_000 }).toBe(1);
  });

  it("2. “Talk to a manager” puts the visitor first in the queue (the manager came online after the widget loaded)", async () => {
    await widget.getByRole("button", { name: "Talk to a manager" }).click();
    await expect.poll(() => widget.locator(".status strong").textContent(), { timeout: 10_000 }).toBe("You are number 1 in the queue");
    expect(await widget.locator(".status").textContent()).toContain("Managers online: 1");
    const queued = await scene.manager.api<{ tickets: { id: string; status: string }[] }>("GET", `/api/desks/${scene.desk.id}/tickets?status=queued`);
    expect(queued.tickets).toHaveLength(1);
    ticketId = queued.tickets[0]!.id;
  });

  it("3. the manager sees the request in the panel and accepts it", async () => {
    const waiting = row(manager, ticketId);
    await waiting.waitFor({ timeout: 15_000 });
    expect(await waiting.locator(".preview").textContent()).toContain("reset my password");
    await waiting.getByRole("button", { name: /Accept/ }).click();
    await waiting.waitFor({ state: "detached" });
    await replyBox(manager).waitFor({ timeout: 10_000 });
    // The manager sees the assistant part of the conversation; the visitor sees the divider.
    await managerLines(manager, FAQ[0].answer).waitFor({ timeout: 10_000 });
    await widget.getByText("A manager has joined").waitFor({ timeout: 10_000 });
    const t = (await ticketOf(scene.manager, scene.desk.id, ticketId)).ticket;
    expect(t).toMatchObject({ status: "open", assigneeId: scene.manager.id });

    // At 1280 wide with the visitor's details open (as they start on a wide screen), the
    // conversation's title is the whole name.
    const details = manager.locator(".conv-header").getByRole("button", { name: "Visitor", exact: true });
    if ((await details.getAttribute("aria-pressed")) !== "true") await details.click();
    await manager.locator(".details-col").waitFor();
    const title = manager.locator(".conv-header .title");
    expect(await title.textContent()).toBe(t.visitor.name);
    expect(await title.evaluate((el) => ({ cut: el.scrollWidth > el.clientWidth, width: el.clientWidth }))).toMatchObject({ cut: false });
    await manager.screenshot({ path: `${SHOTS}/w1-manager-details-1280x800.png` });
  });

  it("4. live chat both ways", async () => {
    await ask(widget, LINES.visitorFirst);
    await managerLines(manager, LINES.visitorFirst).waitFor({ timeout: 10_000 });
    await reply(manager, LINES.managerFirst);
    await lines(widget, LINES.managerFirst).waitFor({ timeout: 10_000 });
    await eachOnceOnBothSides([LINES.visitorFirst, LINES.managerFirst]);

    // Files both ways: the visitor attaches a PNG in the widget (a labelled 44 px button opens
    // the picker), the manager's panel shows it as an image; the manager attaches a text file,
    // the widget shows it as a named link that opens it (a signed link: no cookie there).
    const attach = widget.getByRole("button", { name: "Attach a file" });
    const box = await attach.boundingBox();
    expect(Math.min(box!.width, box!.height)).toBeGreaterThanOrEqual(44);
    await widget.locator("[data-attach-input]").setInputFiles({ name: "screenshot.png", mimeType: "image/png", buffer: PNG_FILE });
    await widget.locator("[data-upload]", { hasText: "screenshot.png" }).waitFor();
    const send = widget.locator("form.composer button.send");
    await expect.poll(() => send.isEnabled(), { timeout: 10_000 }).toBe(true);
    await send.click();
    const managerImg = manager.locator('.conversation li.msg .thumb img[alt="screenshot.png"]');
    await managerImg.waitFor({ timeout: 10_000 });
    await expect.poll(() => managerImg.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 10_000 }).toBe(1);
    const visitorImg = widget.locator('[data-message] .thumb img[alt="screenshot.png"]');
    await visitorImg.waitFor({ timeout: 10_000 });
    await expect.poll(() => visitorImg.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 10_000 }).toBe(1);

    await manager.locator(".conversation [data-attach-input]").setInputFiles({ name: "invoice.txt", mimeType: "text/plain", buffer: Buffer.from(INVOICE) });
    const managerSend = manager.locator(".conversation form.composer button.send");
    await expect.poll(() => managerSend.isEnabled(), { timeout: 10_000 }).toBe(true);
    await managerSend.click();
    const link = widget.locator("[data-message] a.file", { hasText: "invoice.txt" });
    await link.waitFor({ timeout: 10_000 });
    await expect.poll(() => link.getAttribute("href"), { timeout: 10_000 }).toMatch(/\?vt=/);
    const opened = await widget.evaluate(async (href) => {
      const res = await fetch(href, { credentials: "omit" });
      return { status: res.status, nosniff: res.headers.get("x-content-type-options"), text: await res.text() };
    }, (await link.getAttribute("href"))!);
    expect(opened).toEqual({ status: 200, nosniff: "nosniff", text: INVOICE });

    await visitor.screenshot({ path: `${SHOTS}/desk-visitor-chat-1280x800.png` });
    await manager.screenshot({ path: `${SHOTS}/desk-manager-chat-1280x800.png` });
    await visitor.setViewportSize({ width: 390, height: 844 });
    await lines(widget, LINES.managerFirst).waitFor();
    await visitor.screenshot({ path: `${SHOTS}/desk-visitor-chat-390x844.png` });
    await visitor.setViewportSize({ width: 1280, height: 800 });
  });

  it("5. after a reload of the page the whole conversation is there and goes on, nothing twice", async () => {
    await visitor.reload();
    widget = await openWidget(visitor, scene.desk.id);
    await widget.getByText("A manager has joined").waitFor({ timeout: 15_000 });
    await eachOnceOnBothSides([LINES.visitorFirst, LINES.managerFirst]);

    await ask(widget, LINES.visitorAfterReload);
    await reply(manager, LINES.managerAfterReload);
    await eachOnceOnBothSides([LINES.visitorFirst, LINES.managerFirst, LINES.visitorAfterReload, LINES.managerAfterReload]);
    // The question to the assistant and its answer are still the first lines, once.
    await expect.poll(() => lines(widget, FAQ[0].answer).count()).toBe(1);
    await expect.poll(() => managerLines(manager, FAQ[0].answer).count()).toBe(1);
  });

  it("6. the manager starts a video call, the visitor accepts, both receive audio and video", async () => {
    await manager.getByRole("button", { name: "Start video call" }).click();
    const ring = widget.getByRole("region", { name: "The manager is calling you with video" });
    await ring.waitFor({ timeout: 10_000 });
    await ring.getByRole("button", { name: "Accept" }).click();

    // Both directions, judged by what each side's peer connections receive.
    const flowing = async (where: Page | Frame) => {
      const r = await receiving(where);
      return { audio: r.audio, video: r.video };
    };
    await expect.poll(() => flowing(widget), { timeout: 30_000 }).toEqual({ audio: true, video: true });
    await expect.poll(() => flowing(manager), { timeout: 30_000 }).toEqual({ audio: true, video: true });
    // And the videos play in the page: the remote tile on each side has frames.
    await expect.poll(() => widget.locator(".media video").count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => manager.locator(".in-call .tile:not([data-local]) video").count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await visitor.screenshot({ path: `${SHOTS}/desk-visitor-call-1280x800.png` });
    await manager.screenshot({ path: `${SHOTS}/desk-manager-call-1280x800.png` });
    // In the call the panel (380×600 on a desktop page, the whole screen on a phone) keeps the
    // conversation readable and the composer in view.
    await expect.poll(() => callLayout(widget), { timeout: 10_000 }).toMatchObject({ composerInView: true, conversationTall: true, newestInView: true, video: true });
    await visitor.screenshot({ path: `${SHOTS}/w1-call-380x600.png` });
    await visitor.setViewportSize({ width: 390, height: 844 });
    await expect.poll(() => callLayout(widget), { timeout: 10_000 }).toMatchObject({ composerInView: true, conversationTall: true, newestInView: true, video: true });
    await visitor.screenshot({ path: `${SHOTS}/w1-call-390x844.png` });
    await visitor.setViewportSize({ width: 1280, height: 800 });

    await manager.getByRole("button", { name: "Hang up" }).click();
    await widget.locator(".call").waitFor({ state: "detached", timeout: 10_000 });
  });

  it("7. the manager closes, the visitor rates 4 of 5 with a comment, the ticket route shows it", async () => {
    await manager.locator("button.close-btn").click();
    await manager.locator(".strip").getByRole("button", { name: "Close ticket" }).click();
    await widget.getByText("How did we do?").waitFor({ timeout: 10_000 });
    await widget.locator("label.star").nth(3).click();
    await widget.getByLabel("Comment (optional)").fill(COMMENT);
    await widget.getByRole("button", { name: "Send rating" }).click();
    await widget.getByText("Thank you for your feedback!").waitFor({ timeout: 10_000 });

    const { ticket, lines: transcript } = await ticketOf(scene.manager, scene.desk.id, ticketId);
    expect(ticket).toMatchObject({ status: "closed", rating: 4, ratingComment: COMMENT, assigneeId: scene.manager.id });
    const said = transcript.map((l) => l.content);
    for (const t of Object.values(LINES)) expect(said.filter((c) => c === t)).toHaveLength(1);
    // The files are named in the transcript.
    expect(said.filter((c) => c === "[file: screenshot.png]")).toHaveLength(1);
    expect(said.filter((c) => c === "[file: invoice.txt]")).toHaveLength(1);
  });
});
