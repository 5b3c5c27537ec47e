/**
 * The one WebSocket of Woxly's client cores (channel, hub, inbox): a partysocket to
 * `/parties/<party>/<room>` that reconnects with backoff, parses every frame with the shared
 * zod schema (a bad frame is logged and ignored, never thrown), and stops for good on a close
 * code that workers/shared/close-codes.ts marks final. Nothing is queued while the socket is
 * down: each core knows what to send again once it is back.
 */
import PartySocket, { type PartySocketOptions } from "partysocket";
import type { z } from "zod";
import { closeMeaning, type CloseName } from "$shared/close-codes";

/** What the cores use of a WebSocket: partysocket in the app, a fake in unit tests. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** Drops the connection and connects again. */
  reconnect(): void;
  addEventListener(type: "open", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number }) => void): void;
}

/** How a core's socket is made: partysocket options over the defaults, or another socket entirely. */
export interface SocketConfig {
  /**
   * partysocket options over the defaults. In the browser host and protocol come from
   * `location`; in Node pass `host`, `protocol` and a `WebSocket` class that sends the cookie.
   */
  options?: Partial<PartySocketOptions>;
  /** Builds the socket instead of partysocket (unit tests pass a fake). */
  create?: (options: PartySocketOptions) => SocketLike;
}

export type Party = "channel-room" | "community-hub" | "user-inbox" | "support-desk" | "call-link";

export interface SocketHandlers<In> {
  /** The shared schema of the server's frames. */
  frames: z.ZodType<In>;
  onFrame(frame: In): void;
  onOpen?(): void;
  /** Every close; `final` names a close that ends the socket for good (no reconnect follows). */
  onClose?(code: number, final: CloseName | null): void;
}

const OPEN = 1;

/** The reason a close is final (workers/shared/close-codes.ts), or null when reconnecting may help. */
export function finalClose(code: number): CloseName | null {
  const meaning = closeMeaning(code);
  return meaning?.final ? meaning.name : null;
}

/** One frame parsed with `schema`; null (and a log line) for anything else. */
export function parseFrame<T>(party: Party, schema: z.ZodType<T>, data: unknown): T | null {
  if (typeof data !== "string") {
    console.warn({ event: "frame.ignored", party, reason: "not_text" });
    return null;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    console.warn({ event: "frame.ignored", party, reason: "invalid_json" });
    return null;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const type = typeof raw === "object" && raw !== null && "type" in raw ? String(raw.type).slice(0, 64) : null;
    console.warn({ event: "frame.ignored", party, reason: "invalid_frame", type, issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`) });
    return null;
  }
  return parsed.data;
}

function defaultOptions(party: Party, room: string, config: SocketConfig, final: (code: number) => boolean): PartySocketOptions {
  const browser = typeof location !== "undefined";
  return {
    host: browser ? location.host : "",
    protocol: browser && location.protocol === "https:" ? "wss" : "ws",
    party,
    room,
    // Frames go out only while the socket is open; each core resends what matters itself.
    maxEnqueuedMessages: 0,
    ...config.options,
    shouldReconnectOnClose: (event) => !final(event.code),
  };
}

/** A core's socket: frames in through the schema, frames out as JSON while open. */
export class RealtimeSocket<In, Out> {
  readonly #socket: SocketLike;
  #closed = false;

  constructor(party: Party, room: string, handlers: SocketHandlers<In>, config: SocketConfig = {}) {
    const final = (code: number) => finalClose(code) !== null;
    const options = defaultOptions(party, room, config, final);
    const socket: SocketLike = config.create ? config.create(options) : new PartySocket(options);
    this.#socket = socket;
    socket.addEventListener("open", () => {
      if (!this.#closed) handlers.onOpen?.();
    });
    socket.addEventListener("message", (event) => {
      if (this.#closed) return;
      const frame = parseFrame(party, handlers.frames, event.data);
      if (frame !== null) handlers.onFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      if (this.#closed) return;
      const reason = finalClose(event.code);
      if (reason) {
        this.#closed = true;
        socket.close();
      }
      handlers.onClose?.(event.code, reason);
    });
  }

  /** Open and not ended: a frame sent now goes out. */
  get open(): boolean {
    return !this.#closed && this.#socket.readyState === OPEN;
  }

  /** Sends `frame` if the socket is open; false (nothing queued) when it is not. */
  send(frame: Out): boolean {
    if (!this.open) return false;
    this.#socket.send(JSON.stringify(frame));
    return true;
  }

  /** Drops the connection and connects again (the network is back, or a benchmark's storm). */
  reconnect(): void {
    if (!this.#closed) this.#socket.reconnect();
  }

  /** Drops the connection and stays down until `reconnect()` (the browser went offline). */
  suspend(): void {
    if (!this.#closed) this.#socket.close();
  }

  /** Closes for good; no handler is called after this. */
  close(code?: number, reason?: string): void {
    this.#closed = true;
    this.#socket.close(code, reason);
  }
}
