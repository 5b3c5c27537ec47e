// Time from a visitor's "Talk to a manager" to the manager seeing the request, beside the
// floor of the same kind of event in the same product: one member's chat message reaching
// another member. Runs alternate (desk, floor, desk, floor, …) so load on the machine hits
// both alike.
//
// Desk path, per run: a visitor of its own (a ticket per visitor) asks the assistant a
// question (not timed: it creates the ticket), then `POST /api/widget/request-human` from
// Node, as the widget's iframe sends it. Timed from just before the request to
//   - the manager's SupportDesk socket (Node, `ws` with the session cookie) receiving
//     `queue.requested` for that ticket, and
//   - the manager's real panel page in Chromium (`/c/<communityId>/desk/<deskId>`) having the
//     ticket's row in its DOM (a MutationObserver in the page stamps it).
// After each run the manager's socket accepts and closes the ticket, so every request finds
// an empty queue (the visitor is at position 1), as a request usually does.
//
// Floor, per run: a member sends a chat message over their ChannelRoom socket (`ws`, the
// `message.send` frame); timed to the other member's (the same manager's) ChannelRoom socket
// receiving `message.created`, and to the message's row in their channel page in Chromium.
// Same workerd, same dev proxy, same session checks, a Durable Object that stores the event
// before it broadcasts, the same Svelte app rendering it: what Woxly already takes to carry
// one person's action to another person's screen. The desk's extra is its HTTP route, its D1
// writes and the SupportDesk queue.
//
// Clocks: Node and Chromium both stamp with `performance.timeOrigin + performance.now()`
// (the machine's wall clock, sub-millisecond), so a time taken in Node and one taken in the
// page compare directly.
import WebSocket from "ws";
import { Samples } from "../lib/stats.mjs";

const now = () => performance.timeOrigin + performance.now();

/** The panel's waiting-list row of a ticket (web/src/lib/desk/components/QueuePane.svelte). */
const PANEL_ROW = "li.waiting-item[data-ticket]";
const PANEL_ROW_ID = "data-ticket";
/** The panel is live once its SupportDesk socket has synced (the availability switch is enabled). */
const PANEL_SYNCED = ".desk-panel .available input:not([disabled])";
/** A chat message in the channel page (what e2e/chat.test.ts reads). */
const CHAT_ROW = "article.message";

/** A JSON request to the product; `token`: a visitor's bearer token, `cookie`: a member's session. */
export async function call(base, method, path, { token, cookie, body } = {}) {
  const headers = { origin: new URL(base).origin, accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (cookie) headers.cookie = cookie;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * A `ws` socket with the member's cookie and Origin; every frame is parsed and stamped on
 * arrival. `next(pred)` resolves with the first frame that matches (one that arrived before and
 * was not claimed yet, else the next to arrive), with its arrival time.
 */
export async function frameSocket(url, { cookie, origin }) {
  const ws = new WebSocket(url, { headers: { cookie, origin }, perMessageDeflate: false });
  const waiting = new Set();
  // Frames nobody waited for yet (the first may arrive with the upgrade's answer), newest last.
  const unclaimed = [];
  ws.on("message", (data) => {
    const at = now();
    let frame;
    try {
      frame = JSON.parse(String(data));
    } catch {
      return;
    }
    for (const w of waiting) {
      if (w.pred(frame)) {
        waiting.delete(w);
        clearTimeout(w.timer);
        w.resolve({ frame, at });
        return;
      }
    }
    unclaimed.push({ frame, at });
    if (unclaimed.length > 200) unclaimed.shift();
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return {
    ws,
    next(pred, timeoutMs = 10_000, what = "a frame") {
      const i = unclaimed.findIndex((u) => pred(u.frame));
      if (i >= 0) return Promise.resolve(unclaimed.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve, timer: setTimeout(() => (waiting.delete(w), reject(new Error(`no ${what} within ${timeoutMs} ms`))), timeoutMs) };
        waiting.add(w);
      });
    },
    send(frame) {
      ws.send(JSON.stringify(frame));
    },
    close() {
      ws.removeAllListeners();
      ws.on("error", () => {});
      ws.close();
    },
  };
}

/**
 * Installs a MutationObserver in `page` that stamps, once, every element matching `selector`
 * under the key `keyOf(el)` (null: not yet keyable). Read with `stampOf(page, name, key)`.
 */
async function stampRows(page, name, selector, keyKind) {
  await page.evaluate(
    ({ name, selector, keyKind }) => {
      const seen = new Map();
      window[name] = seen;
      const keyOf = (el) => (keyKind.startsWith("attr:") ? el.getAttribute(keyKind.slice(5)) : (el.querySelector(".msg-text")?.textContent ?? "").trim() || null);
      const mark = () => {
        const t = performance.timeOrigin + performance.now();
        for (const el of document.querySelectorAll(selector)) {
          const k = keyOf(el);
          if (k && !seen.has(k)) seen.set(k, t);
        }
      };
      mark();
      new MutationObserver(mark).observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
    },
    { name, selector, keyKind },
  );
}

async function stampOf(page, name, key, timeoutMs = 10_000) {
  const handle = await page.waitForFunction(({ name, key }) => window[name]?.get(key) ?? false, { name, key }, { timeout: timeoutMs, polling: 20 });
  return handle.jsonValue();
}

/**
 * Runs the measurement. `visitors`: `{ token }` each (at least runs + warmup); `manager` and
 * `member`: seeded users `{ id, cookie }` of the community; the manager may work the desk.
 */
export async function requestToPanel({ base, browser, communityId, channelId, deskId, manager, member, visitors, runs = 30, warmup = 3, say = () => {} }) {
  const origin = new URL(base).origin;
  const wsBase = base.replace(/^http/, "ws");
  const [name, ...rest] = manager.cookie.split("=");
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
  await context.addCookies([{ name, value: rest.join("="), url: base, httpOnly: true, sameSite: "Lax" }]);
  const sockets = [];
  try {
    // The manager: the desk socket and the channel socket from Node, the panel and the channel page in Chromium.
    const desk = await frameSocket(`${wsBase}/parties/support-desk/${deskId}`, { cookie: manager.cookie, origin });
    sockets.push(desk);
    await desk.next((f) => f.type === "desk.snapshot", 15_000, "desk.snapshot");
    const room = await frameSocket(`${wsBase}/parties/channel-room/${channelId}`, { cookie: manager.cookie, origin });
    sockets.push(room);
    room.send({ type: "hello" });
    await room.next((f) => f.type === "ready", 15_000, "ready");
    const sender = await frameSocket(`${wsBase}/parties/channel-room/${channelId}`, { cookie: member.cookie, origin });
    sockets.push(sender);
    sender.send({ type: "hello" });
    await sender.next((f) => f.type === "ready", 15_000, "ready");

    const panel = await context.newPage();
    await panel.goto(`${base}/c/${communityId}/desk/${deskId}`);
    await panel.locator(PANEL_SYNCED).waitFor({ timeout: 30_000 });
    await stampRows(panel, "__deskRows", PANEL_ROW, `attr:${PANEL_ROW_ID}`);
    const chat = await context.newPage();
    await chat.goto(`${base}/c/${communityId}/${channelId}`);
    await chat.locator('[role="log"][aria-busy="false"]').waitFor({ timeout: 30_000 });
    await stampRows(chat, "__chatRows", CHAT_ROW, "text");

    const desk_ = { http: new Samples(64), socket: new Samples(64), panel: new Samples(64), position: [] };
    const floor = { ack: new Samples(64), socket: new Samples(64), panel: new Samples(64), health: new Samples(64) };
    let ref = 0;
    const doneFor = (r) => (f) => (f.type === "done" && f.ref === r) || (f.type === "error" && f.ref === r);
    // The manager's clean-up between runs, not timed; the desk's frame budget (a few
    // accept/close pairs a second) is waited out as a person would.
    const act = async (frame) => {
      for (let attempt = 0; attempt < 20; attempt++) {
        const r = `b${++ref}`;
        const answer = desk.next(doneFor(r), 10_000, `an answer to ${frame.type}`);
        desk.send({ ...frame, ref: r });
        const { frame: f } = await answer;
        if (f.type !== "error") return;
        if (f.code !== "rate_limited") throw new Error(`${frame.type}: ${f.code} ${f.message ?? ""}`);
        await new Promise((resolve) => setTimeout(resolve, (f.retryAfterMs ?? 500) + 20));
      }
      throw new Error(`${frame.type}: still rate-limited after 20 attempts`);
    };

    for (let i = 0; i < warmup + runs; i++) {
      const counted = i >= warmup;
      // --- the desk: one visitor asks for a human
      const v = visitors[i];
      const asked = await call(base, "POST", "/api/widget/ask", { token: v.token, body: { question: "How do I reset my password?", language: "en" } });
      const ticketId = asked.ticket.id;
      const onSocket = desk.next((f) => f.type === "queue.requested" && f.entry?.ticketId === ticketId, 10_000, `queue.requested for ${ticketId}`);
      const onPanel = stampOf(panel, "__deskRows", ticketId);
      // Awaited below; a failure of the other wait first must not leave these unhandled.
      onSocket.catch(() => {});
      onPanel.catch(() => {});
      const t0 = now();
      const requested = await call(base, "POST", "/api/widget/request-human", { token: v.token, body: {} });
      const tHttp = now();
      const { at: tSocket } = await onSocket;
      const tPanel = await onPanel;
      if (counted) {
        desk_.http.add(tHttp - t0);
        desk_.socket.add(tSocket - t0);
        desk_.panel.add(tPanel - t0);
        desk_.position.push(requested.queue?.position ?? null);
      }
      await act({ type: "ticket.accept", ticketId });
      await act({ type: "ticket.close", ticketId });

      // --- the HTTP floor: the cheapest route through the same dev proxy and worker
      const h0 = now();
      const health = await fetch(`${base}/api/health`);
      await health.arrayBuffer();
      if (counted) floor.health.add(now() - h0);

      // --- the floor: one member's chat message to the other
      const content = `floor ${i} ${Math.random().toString(36).slice(2, 10)}`;
      const nonce = `bench${i}${Date.now().toString(36)}`;
      const onRoom = room.next((f) => f.type === "message.created" && f.message?.content === content, 20_000, "message.created");
      const onChat = stampOf(chat, "__chatRows", content, 20_000);
      onRoom.catch(() => {});
      onChat.catch(() => {});
      // The room's per-member budget refuses a send now and then at this pace: the refused
      // send stored nothing, so wait as the room says and time the send that goes through.
      let s0 = 0;
      let sAck = 0;
      for (let attempt = 0; !sAck; attempt++) {
        if (attempt === 20) throw new Error("the floor's message was refused 20 times");
        const answer = sender.next((f) => (f.type === "message.ack" && f.nonce === nonce) || (f.type === "error" && f.ref === nonce), 10_000, "message.ack");
        s0 = now();
        sender.send({ type: "message.send", nonce, content });
        const { frame: f, at } = await answer;
        if (f.type === "message.ack") sAck = at;
        else if (f.code === "rate_limited") await new Promise((resolve) => setTimeout(resolve, (f.retryAfterMs ?? 500) + 20));
        else throw new Error(`message.send: ${f.code} ${f.message ?? ""}`);
      }
      const [{ at: sSocket }, sPanel] = await Promise.all([onRoom, onChat]);
      if (counted) {
        floor.ack.add(sAck - s0);
        floor.socket.add(sSocket - s0);
        floor.panel.add(sPanel - s0);
      }
      if ((i + 1) % 10 === 0) say(`desk: ${i + 1}/${warmup + runs} runs`);
    }
    return {
      runs,
      warmup,
      desk: {
        httpMs: desk_.http.summary(),
        socketMs: desk_.socket.summary(),
        panelMs: desk_.panel.summary(),
        positions: [...new Set(desk_.position)],
      },
      floor: { ackMs: floor.ack.summary(), socketMs: floor.socket.summary(), panelMs: floor.panel.summary(), healthMs: floor.health.summary() },
    };
  } finally {
    for (const s of sockets) s.close();
    await context.close();
  }
}
