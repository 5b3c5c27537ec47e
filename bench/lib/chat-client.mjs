// The Woxly chat client of the benchmarks and the chaos test: the web app's own ChannelCore
// (web/src/lib/realtime/channel.ts — sequencer, outbox, resume, resync), bundled for Node with
// esbuild on first use, over partysocket with a `ws` WebSocket so the upgrade can carry the
// session cookie and an Origin (Node's built-in WebSocket cannot set headers). Nothing of the
// chat protocol is written here; this file only plays the user and the observer around it:
//
//  - `send()` hands the message to the core and resolves with the room's ack; a send the core
//    marks failed is retried the way a user would — `rate_limited` once the room says, a
//    `timeout` (no ack within the core's SEND_TIMEOUT_MS, e.g. across a server restart) at
//    once — always with its nonce, so the room never stores it twice; any other failure
//    rejects;
//  - it counts what a benchmark reports: `events` frames, rate-limited sends, and order
//    anomalies — an event that arrives while the core is live (after `resumed`) and is not the
//    next seq. Between `ready` and `resumed` the replay overlapping live frames is expected;
//    the core drops those copies (`resumeOverlap` counts them).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import WebSocket from "ws";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

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

let bundle;
/**
 * The web app's ChannelCore (and the HistoryPage schema), built for Node once per process:
 * esbuild resolves SvelteKit's `$lib`/`$shared` aliases and inlines the core's packages into a
 * temporary file, which is imported and removed.
 */
export function loadChannelCore() {
  bundle ??= (async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "woxly-channel-core-"));
    const outfile = path.join(dir, "channel-core.mjs");
    try {
      await build({
        stdin: {
          contents:
            'export { ChannelCore } from "$lib/realtime/channel";\nexport { HistoryPage, RATE_LIMIT_MESSAGES, RATE_WINDOW_MS } from "$shared/chat";\n',
          resolveDir: ROOT,
          sourcefile: "bench-channel-core.ts",
          loader: "ts",
        },
        alias: { $lib: path.join(ROOT, "web", "src", "lib"), $shared: path.join(ROOT, "workers", "shared") },
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node22",
        outfile,
        logLevel: "warning",
      });
      return await import(pathToFileURL(outfile).href);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return bundle;
}

/**
 * A ChannelCore for one seeded user, not yet live (see `whenLive`).
 * @param {object} o
 * @param {string} o.baseUrl   e.g. http://localhost:8787
 * @param {string} o.channelId
 * @param {string} o.userId
 * @param {string} o.cookie    `woxly_session=…`
 * @param {(message: any) => void} [o.onMessage]  every message.created the core applies, in seq order, once
 * @param {boolean} [o.recordView]  keep every applied event (seq, type, message id) in `view`
 * @param {number} [o.windowLimit] messages each core keeps (many clients in one process)
 * @param {object} [o.socketOptions] partysocket options (delays, timeouts)
 */
export async function openChat(o) {
  const { ChannelCore, HistoryPage } = await loadChannelCore();
  return new ChatClient(ChannelCore, HistoryPage, o);
}

class ChatClient {
  /** nonce -> message, for every ack received */
  acked = new Map();
  /** With recordView: the applied events, in order; `epoch` counts the resyncs before each. */
  view = [];
  /** Order anomalies: an event while live that is not the next seq. */
  anomalies = [];
  /** Replayed events the core dropped because they had arrived live (expected while resuming). */
  resumeOverlap = 0;
  /** `events` frames received (several events coalesced into one frame by a busy room). */
  batches = 0;
  connects = 0;
  resumes = 0;
  resyncs = 0;
  errors = [];
  /** nonce -> { resolve, reject } of `send()` */
  #waiting = new Map();
  /** nonce -> timer of a retry the "user" scheduled */
  #retries = new Map();
  #lives = 0;
  #waiters = [];
  #lastPending = null;

  constructor(ChannelCore, HistoryPage, { baseUrl, channelId, userId, cookie, onMessage, recordView = false, windowLimit, socketOptions = {} }) {
    const url = new URL(baseUrl);
    const origin = url.origin;
    this.core = new ChannelCore(channelId, userId, {
      windowLimit,
      socket: {
        options: {
          host: url.host,
          protocol: url.protocol === "https:" ? "wss" : "ws",
          WebSocket: webSocketWithHeaders({ cookie, origin }),
          minReconnectionDelay: 200 + Math.random() * 300,
          maxReconnectionDelay: 3000,
          reconnectionDelayGrowFactor: 1.5,
          connectionTimeout: 15_000,
          ...socketOptions,
        },
      },
      history: async (id, at) => {
        const query = new URLSearchParams(Object.entries(at).map(([k, v]) => [k, String(v)]));
        const res = await fetch(`${origin}/api/channels/${encodeURIComponent(id)}/messages?${query}`, { headers: { cookie, origin } });
        if (!res.ok) throw new Error(`history ?${query}: ${res.status}`);
        return HistoryPage.parse(await res.json());
      },
      trace: {
        frame: (f) => this.#observe(f),
        applied: (ev) => {
          if (recordView) this.view.push({ seq: ev.seq, type: ev.type, id: ev.message?.id ?? ev.id ?? ev.messageId ?? null, epoch: this.resyncs });
          if (ev.type === "message.created") onMessage?.(ev.message);
        },
      },
    });
    let online = false;
    this.core.subscribe((s) => {
      if (s.connection === "online" && !online) {
        this.#lives++;
        for (const w of this.#waiters.splice(0)) w();
      }
      online = s.connection === "online";
      if (s.pending !== this.#lastPending) this.#actOnFailures(s.pending);
    });
    this.core.start();
  }

  /** Live: the room has answered `hello` (the first time, after the latest history page). */
  get live() {
    return this.core.state.connection === "online";
  }

  /** Seq the core has applied up to; null before its first history page. */
  get lastSeq() {
    return this.core.appliedSeq;
  }

  /** Sends not acknowledged yet. */
  get unacked() {
    return this.#waiting.size;
  }

  whenLive() {
    if (this.live) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Sends a message; resolves with the stored message once the room acknowledges it. */
  send(content) {
    const { nonce } = this.core.send(content);
    return new Promise((resolve, reject) => this.#waiting.set(nonce, { resolve, reject }));
  }

  /** Drops the connection and connects again; resolves once it has resumed. */
  reconnect() {
    const lives = this.#lives;
    this.core.reconnect();
    return new Promise((resolve) => {
      const check = () => (this.#lives > lives ? resolve() : this.#waiters.push(check));
      check();
    });
  }

  close() {
    for (const t of this.#retries.values()) clearTimeout(t);
    this.#retries.clear();
    this.core.destroy();
  }

  #observe(f) {
    switch (f.type) {
      case "ready":
        this.connects++;
        return;
      case "resumed":
        if (f.fromSeq <= f.toSeq) this.resumes++;
        return;
      case "resync":
        this.resyncs++;
        return;
      case "events":
        this.batches++;
        return this.#checkOrder(f.events);
      case "message.ack": {
        this.acked.set(f.nonce, f.message);
        const w = this.#waiting.get(f.nonce);
        this.#waiting.delete(f.nonce);
        w?.resolve(f.message);
        return;
      }
      case "error":
        this.errors.push({ code: f.code, ref: f.ref, message: f.message });
        return;
      default:
        if (typeof f.seq === "number") this.#checkOrder([f]);
    }
  }

  #checkOrder(events) {
    let last = this.core.appliedSeq;
    if (last === null) return;
    const live = this.live;
    for (const e of events) {
      if (e.seq <= last && !live) this.resumeOverlap++;
      else if (live && e.seq !== last + 1) this.anomalies.push({ kind: e.seq <= last ? "duplicate" : "gap", seq: e.seq, expected: last + 1 });
      last = Math.max(last, e.seq);
    }
  }

  /** What a user does with a failed send: wait out a rate limit, resend a timed-out one, give up on the rest. */
  #actOnFailures(pending) {
    this.#lastPending = pending;
    for (const p of pending) {
      if (p.status !== "failed" || this.#retries.has(p.nonce)) continue;
      if (p.error === "rate_limited" || p.error === "timeout") {
        const delay = p.retryAt === null ? 0 : Math.max(0, p.retryAt - Date.now()) + 10;
        this.#retries.set(
          p.nonce,
          setTimeout(() => {
            this.#retries.delete(p.nonce);
            this.core.retry(p.nonce);
          }, delay),
        );
        continue;
      }
      const w = this.#waiting.get(p.nonce);
      this.#waiting.delete(p.nonce);
      queueMicrotask(() => this.core.discard(p.nonce));
      w?.reject(Object.assign(new Error(`${p.error}`), { code: p.error }));
    }
  }
}
