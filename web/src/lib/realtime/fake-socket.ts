/**
 * A socket for the cores' unit tests (*.test.ts beside this file): the test plays the server
 * — opens it, feeds it frames, drops it with a close code — and reads what the client sent.
 * Like partysocket 1.3, `close()` and `reconnect()` dispatch their close event at once.
 */
import type { PartySocketOptions } from "partysocket";
import type { SocketConfig, SocketLike } from "./socket";

type Listener = (event: { data: unknown; code: number }) => void;

export class FakeSocket implements SocketLike {
  readonly options: PartySocketOptions;
  readyState = 0;
  /** Frames the client sent, parsed. */
  readonly sent: { type: string; [key: string]: unknown }[] = [];
  /** The client closed it for good (`close()`). */
  closedByClient = false;
  reconnects = 0;
  readonly #listeners = new Map<string, Listener[]>();

  constructor(options: PartySocketOptions) {
    this.options = options;
  }

  addEventListener(type: "open" | "message" | "close", listener: Listener): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000): void {
    this.closedByClient = true;
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.#emit("close", { data: undefined, code });
  }

  reconnect(): void {
    this.reconnects++;
    this.closedByClient = false;
    if (this.readyState === 1) {
      this.readyState = 3;
      this.#emit("close", { data: undefined, code: 1000 });
    }
    this.readyState = 0;
  }

  // --- the server's side ---

  /** The connection is up. */
  open(): void {
    this.readyState = 1;
    this.#emit("open", { data: undefined, code: 0 });
  }

  /** A frame from the server (an object is sent as JSON; a string as it is). */
  receive(frame: unknown): void {
    this.#emit("message", { data: typeof frame === "string" ? frame : JSON.stringify(frame), code: 0 });
  }

  /** A frame that is not text. */
  receiveBinary(): void {
    this.#emit("message", { data: new ArrayBuffer(4), code: 0 });
  }

  /** The server closed the connection with `code`; returns whether partysocket would reconnect. */
  drop(code: number): boolean {
    this.readyState = 3;
    const reconnect = this.options.shouldReconnectOnClose?.({ code } as CloseEvent) ?? true;
    this.#emit("close", { data: undefined, code });
    return reconnect && !this.closedByClient;
  }

  /** Frames of one type the client sent. */
  sentOf(type: string): { type: string; [key: string]: unknown }[] {
    return this.sent.filter((f) => f.type === type);
  }

  #emit(type: string, event: { data: unknown; code: number }): void {
    for (const l of this.#listeners.get(type) ?? []) l(event);
  }
}

/** A SocketConfig whose sockets are fakes; `made` lists them in order. */
export function fakeSockets(): { made: FakeSocket[]; config: SocketConfig; last(): FakeSocket } {
  const made: FakeSocket[] = [];
  return {
    made,
    config: {
      create: (options) => {
        const s = new FakeSocket(options);
        made.push(s);
        return s;
      },
    },
    last() {
      const s = made[made.length - 1];
      if (!s) throw new Error("no socket was made");
      return s;
    },
  };
}
