// A reconnecting Woxly chat client for Node (benchmarks and the chaos test): partysocket
// for the reconnecting WebSocket, `ws` underneath so the upgrade can carry the session cookie
// and an Origin (Node's built-in WebSocket cannot set headers), and the resume protocol of
// workers/shared/chat.ts on top:
//
//  - the room greets every connection with `ready` (headSeq); after every (re)connect the client
//    sends `hello` with the last seq it applied (none the first time) and is live once the
//    room answers `resumed` (after replaying what was missed) or `resync`;
//  - it applies channel events strictly in seq order and records every gap and duplicate.
//    Between `ready` and `resumed` the socket already gets live broadcasts while the replay
//    (everything after the seq its `hello` named) is still to come: a live event ahead of the
//    replay is held back until the replay reaches it, and replayed events that had already
//    arrived live are dropped. Both are counted in `resumeOverlap`, not as anomalies; a seq at
//    or below the `hello`'s is a real duplicate;
//  - `send()` gives each message a nonce and keeps it until `message.ack`; after a reconnect it
//    sends every unacknowledged message again with the same nonce (the room answers a known
//    nonce with the original message, so nothing is doubled); a `rate_limited` error frame is
//    retried after its `retryAfterMs`;
//  - on `resync` (gap too large) it loads what it missed over HTTP, page by page.
import { randomBytes } from "node:crypto";
import PartySocket from "partysocket";
import WebSocket from "ws";

/** A `ws` WebSocket class that sends fixed headers (Cookie, Origin) with its upgrade. */
export function webSocketWithHeaders(headers) {
  return class HeaderWebSocket extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { headers, perMessageDeflate: false });
    }
  };
}

/** Every message of a channel, oldest first, through GET /api/channels/:id/messages pages. */
export async function fetchHistory(baseUrl, channelId, cookie, { after = 0 } = {}) {
  const out = [];
  let cursor = after;
  for (;;) {
    const res = await fetch(`${baseUrl}/api/channels/${channelId}/messages?after=${cursor}&limit=50`, {
      headers: { cookie, origin: baseUrl },
    });
    if (!res.ok) throw new Error(`history after ${cursor}: ${res.status} ${await res.text()}`);
    const page = await res.json();
    for (const m of page.messages) out.push(m);
    if (!page.hasAfter || page.messages.length === 0) return { messages: out, headSeq: page.headSeq };
    cursor = page.messages[page.messages.length - 1].seq;
  }
}

export const newNonce = () => randomBytes(12).toString("base64url");

const EVENT_TYPES = new Set(["message.created", "message.updated", "message.deleted", "reaction.added", "reaction.removed", "pin.added", "pin.removed"]);

export class ChatClient {
  /**
   * @param {object} o
   * @param {string} o.baseUrl   e.g. http://localhost:8787
   * @param {string} o.channelId
   * @param {string} o.cookie    `woxly_session=…`
   * @param {(event: any) => void} [o.onEvent]  every channel event, in seq order, once
   * @param {boolean} [o.recordView]  keep the applied events (seq, type, message id) in `view`
   * @param {object} [o.socketOptions] partysocket options (delays, timeouts)
   */
  constructor({ baseUrl, channelId, cookie, onEvent, recordView = false, socketOptions = {} }) {
    this.baseUrl = baseUrl;
    this.channelId = channelId;
    this.cookie = cookie;
    this.onEvent = onEvent ?? (() => {});
    this.recordView = recordView;
    /** Last seq applied; null until the first `ready`. */
    this.lastSeq = null;
    /** Applied events when recordView: { seq, type, id } */
    this.view = [];
    /** Protocol violations seen: { kind: "gap" | "duplicate", seq, expected } */
    this.anomalies = [];
    /** nonce -> { content, resolve, reject, sentAt, timer } */
    this.pending = new Map();
    /** nonce -> message, for every ack received */
    this.acked = new Map();
    /** live events that arrived during a resume ahead of the replay, held until `resumed` */
    this._held = [];
    /** events dropped because the replay had delivered them (expected overlap, see above) */
    this.resumeOverlap = 0;
    this.live = false;
    this.connects = 0;
    this.resumes = 0;
    this.resyncs = 0;
    /** `events` frames received (several events coalesced into one frame by a busy room) */
    this.batches = 0;
    this.errors = [];
    this._liveWaiters = [];
    this._resyncing = null;
    this._buffered = [];
    const origin = new URL(baseUrl).origin;
    this.socket = new PartySocket({
      host: new URL(baseUrl).host,
      party: "channel-room",
      room: channelId,
      WebSocket: webSocketWithHeaders({ cookie, origin }),
      // Frames are never queued inside partysocket: unacknowledged sends live in `pending`
      // and go out again after `hello`, in order.
      maxEnqueuedMessages: 0,
      minReconnectionDelay: 200 + Math.random() * 300,
      maxReconnectionDelay: 3000,
      reconnectionDelayGrowFactor: 1.5,
      connectionTimeout: 15_000,
      ...socketOptions,
    });
    this.socket.addEventListener("open", () => this._onOpen());
    this.socket.addEventListener("close", () => {
      this.live = false;
    });
    this.socket.addEventListener("message", (e) => this._onFrame(e.data));
  }

  /** Resolves once the client is live (after ready, and after resumed/resync on a reconnect). */
  whenLive() {
    if (this.live) return Promise.resolve();
    return new Promise((resolve) => this._liveWaiters.push(resolve));
  }

  _setLive() {
    this.live = true;
    const w = this._liveWaiters;
    this._liveWaiters = [];
    for (const r of w) r();
    // Everything not yet acknowledged goes out again, oldest first, with its nonce.
    for (const [nonce, p] of this.pending) if (!p.timer) this._transmit(nonce, p.content);
  }

  _onOpen() {
    this.connects++;
    this.live = false;
    this._awaitingResume = true;
    this._held = [];
    this._helloSeq = this.lastSeq;
    const hello = { type: "hello" };
    if (this.lastSeq !== null) hello.lastSeq = this.lastSeq;
    this.socket.send(JSON.stringify(hello));
  }

  _onFrame(data) {
    let f;
    try {
      f = JSON.parse(typeof data === "string" ? data : data.toString());
    } catch {
      return;
    }
    switch (f.type) {
      case "ready":
        if (this.lastSeq === null) {
          this.lastSeq = f.headSeq;
          this.startSeq = f.headSeq;
        }
        this.me = f.me;
        return;
      case "resumed":
        if (f.fromSeq <= f.toSeq) this.resumes++;
        this._endResume();
        this._setLive();
        return;
      case "resync":
        this.resyncs++;
        // "reset": the room has fewer events than this client saw; that is data loss.
        if (f.reason === "reset") this.anomalies.push({ kind: "reset", seq: f.headSeq, expected: this.lastSeq });
        {
          const connection = this.connects;
          this._resync().then(() => {
            if (connection !== this.connects) return; // reconnected meanwhile; that hello decides
            this._endResume();
            this._setLive();
          });
        }
        return;
      case "message.ack":
        return this._onAck(f);
      case "error":
        return this._onError(f);
      case "events": // a busy room's coalesced fan-out: several events, in seq order
        this.batches++;
        for (const e of f.events) this._event(e);
        return;
      default:
        if (EVENT_TYPES.has(f.type)) this._event(f);
    }
  }

  _event(f) {
    if (this._resyncing) this._buffered.push(f);
    else this._apply(f);
  }

  _apply(f) {
    const seq = f.seq;
    if (this.lastSeq === null) return; // before ready: the ready's headSeq covers it
    if (this._awaitingResume && seq > this.lastSeq + 1) {
      this._held.push(f); // a live event ahead of the replay
      return;
    }
    if (seq <= this.lastSeq) {
      // During a resume the replay repeats what arrived live after `hello` was sent.
      if (this._awaitingResume && this._helloSeq !== null && seq > this._helloSeq) this.resumeOverlap++;
      else this.anomalies.push({ kind: "duplicate", seq, expected: this.lastSeq + 1 });
      return;
    }
    if (seq !== this.lastSeq + 1) this.anomalies.push({ kind: "gap", seq, expected: this.lastSeq + 1 });
    this.lastSeq = seq;
    if (this.recordView) this.view.push({ seq, type: f.type, id: f.message?.id ?? f.id ?? f.messageId ?? null });
    this.onEvent(f);
  }

  /** After `resumed`/`resync`: held live events the replay covered are dropped, the rest applied. */
  _endResume() {
    this._awaitingResume = false;
    const held = this._held.sort((a, b) => a.seq - b.seq);
    this._held = [];
    for (const f of held) {
      if (f.seq <= this.lastSeq) this.resumeOverlap++;
      else this._apply(f);
    }
  }

  _onAck(f) {
    const p = this.pending.get(f.nonce);
    // The sender's own message.created follows as a broadcast like everyone else's.
    this.acked.set(f.nonce, f.message);
    if (!p) return;
    this.pending.delete(f.nonce);
    if (p.timer) clearTimeout(p.timer);
    p.resolve(f.message);
  }

  _onError(f) {
    this.errors.push({ code: f.code, ref: f.ref, message: f.message });
    const p = f.ref ? this.pending.get(f.ref) : undefined;
    if (!p) return;
    if (f.code === "rate_limited") {
      p.rateLimited = (p.rateLimited ?? 0) + 1;
      p.timer = setTimeout(() => {
        p.timer = undefined;
        if (this.live) this._transmit(f.ref, p.content);
      }, (f.retryAfterMs ?? 1000) + 10);
      return;
    }
    this.pending.delete(f.ref);
    p.reject(Object.assign(new Error(`${f.code}: ${f.message}`), { code: f.code }));
  }

  async _resync() {
    this._resyncing = true;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const { messages, headSeq } = await fetchHistory(this.baseUrl, this.channelId, this.cookie, { after: this.lastSeq ?? 0 });
          for (const m of messages) {
            if (m.seq <= this.lastSeq) continue;
            this.lastSeq = m.seq;
            if (this.recordView) this.view.push({ seq: m.seq, type: "message.created", id: m.id, fromHistory: true });
            this.onEvent({ type: "message.created", seq: m.seq, message: m, fromHistory: true });
          }
          // Events without a message of their own (reactions, pins…) are not in history.
          this.lastSeq = Math.max(this.lastSeq, headSeq);
          break;
        } catch (e) {
          if (attempt >= 20) throw e;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    } finally {
      this._resyncing = null;
      const buf = this._buffered;
      this._buffered = [];
      for (const f of buf) if (f.seq > this.lastSeq) this._apply(f);
    }
  }

  _transmit(nonce, content) {
    const p = this.pending.get(nonce);
    if (p) p.transmissions = (p.transmissions ?? 0) + 1;
    this.socket.send(JSON.stringify({ type: "message.send", nonce, content }));
  }

  /** Sends a message; resolves with the stored message once the room acknowledges it. */
  send(content, nonce = newNonce()) {
    return new Promise((resolve, reject) => {
      this.pending.set(nonce, { content, resolve, reject, sentAt: performance.now() });
      if (this.live) this._transmit(nonce, content);
    });
  }

  /** Drops the connection and connects again; resolves once resumed. */
  reconnect() {
    this.live = false;
    const p = this.whenLive();
    this.socket.reconnect();
    return p;
  }

  close() {
    this.live = false;
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
    this.socket.close();
  }
}
