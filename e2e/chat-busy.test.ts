/**
 * A busy room in the browser: 40 more sockets make the channel "busy" (32+ sockets), so the
 * room coalesces its fan-out and the page receives `events` frames carrying several events.
 * Three members fire ten messages each at once; the page must show all thirty exactly once,
 * in the room's order, and it must really have been sent `events` frames (counted from the
 * page's own WebSocket with Chromium's frame events) and applied them as they came, without
 * falling back to a resume.
 */
import type { Browser } from "playwright-core";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launch, newPage, uniqueName } from "./browser";
import { communityWith, logInContext, registerUser, type TestUser } from "./chat-fixtures";

const base = inject("baseUrl");
let browser: Browser;
const crowd: WebSocket[] = [];

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  for (const ws of crowd) ws.terminate();
  await browser?.close();
});

function socket(channelId: string, user: TestUser): Promise<WebSocket> {
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/parties/channel-room/${channelId}`, { headers: { cookie: user.cookie, origin: base } });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** Sends `contents` back to back without waiting, then resolves with the acked messages. */
function burst(ws: WebSocket, contents: string[]): Promise<{ seq: number; content: string }[]> {
  const nonces = contents.map((_, i) => `burst-${i}-${Math.random().toString(36).slice(2)}`);
  const acked = new Map<string, { seq: number; content: string }>();
  return new Promise((resolve, reject) => {
    ws.on("message", (data) => {
      const f = JSON.parse(String(data)) as { type: string; nonce?: string; ref?: string; code?: string; message?: { seq: number; content: string } };
      if (f.type === "message.ack" && f.nonce && nonces.includes(f.nonce)) {
        acked.set(f.nonce, f.message!);
        if (acked.size === nonces.length) resolve(nonces.map((n) => acked.get(n)!));
      } else if (f.type === "error" && f.ref && nonces.includes(f.ref)) reject(new Error(`send refused: ${f.code}`));
    });
    contents.forEach((content, i) => ws.send(JSON.stringify({ type: "message.send", nonce: nonces[i], content })));
  });
}

describe("a busy channel", () => {
  it("shows every message of a burst once, in order, from coalesced events frames", async () => {
    const viewer = await registerUser(base, uniqueName("viewer"), "Viewer");
    const senders = [await registerUser(base, uniqueName("s1"), "Sender One"), await registerUser(base, uniqueName("s2"), "Sender Two"), await registerUser(base, uniqueName("s3"), "Sender Three")];
    const c = await communityWith(base, viewer, senders, "Busy room");
    for (let i = 0; i < 40; i++) crowd.push(await socket(c.channelId, senders[i % 3]!));

    const { context, page } = await newPage(browser);
    await page.setViewportSize({ width: 1280, height: 2400 });
    let eventsFrames = 0;
    let hellos = 0;
    page.on("websocket", (ws) => {
      if (!ws.url().includes("/parties/channel-room/")) return;
      ws.on("framereceived", ({ payload }) => {
        if (typeof payload === "string" && payload.startsWith('{"type":"events"')) eventsFrames++;
      });
      ws.on("framesent", ({ payload }) => {
        if (typeof payload === "string" && payload.includes('"type":"hello"')) hellos++;
      });
    });
    await logInContext(context, base, viewer);
    await page.goto(`${base}/c/${c.communityId}/${c.channelId}`);
    await page.locator('[role="log"][aria-busy="false"]').waitFor();

    const sockets = await Promise.all(senders.map((u) => socket(c.channelId, u)));
    const bursts = await Promise.all(sockets.map((ws, s) => burst(ws, Array.from({ length: 10 }, (_, i) => `busy ${s + 1}.${i + 1}`))));
    const inRoomOrder = bursts.flat().sort((a, b) => a.seq - b.seq).map((m) => m.content);
    expect(inRoomOrder).toHaveLength(30);

    // The page is tall enough for the whole burst, so the (virtualised) list renders all of it.
    await page.locator("article.message .msg-text", { hasText: inRoomOrder.at(-1)! }).waitFor();
    await expect
      .poll(async () => (await page.locator("article.message .msg-text").allTextContents()).map((t) => t.trim()).filter((t) => t.startsWith("busy ")))
      .toEqual(inRoomOrder); // each once, in the room's order
    expect(eventsFrames).toBeGreaterThan(0);
    // Applied as they came: a client that skipped them would have seen a gap and resumed
    // (a second hello) to get the events again from the replay.
    expect(hellos).toBe(1);

    for (const ws of sockets) ws.close();
    await context.close();
  });
});
