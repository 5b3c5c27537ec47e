/**
 * The realtime kit: the one base of Woxly's Durable Objects that hold client WebSockets
 * (ChannelRoom, CommunityHub, UserInbox). What every such object does, it does here once:
 *
 * - Identity: the worker's IDENTITY_HEADER, parsed with the shared ConnectionIdentity schema
 *   when the socket connects and kept in the connection's state (the WebSocket attachment,
 *   which survives hibernation). No usable identity: closed with CLOSE.NO_IDENTITY. Every
 *   socket is tagged with its user and its session, for closeUser / closeSession.
 * - Frames: JSON text of at most MAX_FRAME_BYTES, `safeParse`d with the subclass's client-frame
 *   schema. A frame that cannot be read, or that a handler refuses (by throwing FrameError),
 *   is answered with the one error frame `{ type: "error", code, message, ref }`; the socket
 *   stays up. Any other exception is logged and answered `internal`.
 * - The frame budget (frame-budget.ts): every frame, an unreadable one too, pays its cost
 *   from the socket's and the user's bucket before any of its work is done.
 * - Order: one socket's frames are handled one after another, even across awaits. A frame the
 *   upgrade URL carries (`upgradeFrame`: ChannelRoom's `?since=` resume) is the socket's first.
 * - send / broadcast / closeUser / closeSession / closeAll.
 *
 * A subclass gives its `frames` (schema and budget), says what a new socket is sent
 * (`welcome`) and handles each parsed frame (`handle`: an exhaustive switch ending in
 * assertNever). Its own per-socket fields (`X`) live beside identity and budget in the state.
 */
import { type Connection, type ConnectionContext, Server, type WSMessage } from "partyserver";
import type { z } from "zod";
import { CLOSE, type CloseCode } from "../workers/shared/close-codes";
import type { RealtimeErrorCode } from "../workers/shared/errors";
import {
  CONNECT_TICKET_HEADER,
  ConnectionIdentity,
  type ErrorFrame,
  type FrameIssue,
  IDENTITY_HEADER,
  MAX_FRAME_BYTES,
  TICKET_ISSUED_HEADER,
  parseJsonWith,
} from "../workers/shared/realtime";
import { log } from "../workers/core/log";
import { type ConnBudget, FrameBudget, type FrameBudgetSpec } from "./frame-budget";

/** A frame a handler refuses, with what to tell the client. */
export class FrameError extends Error {
  constructor(
    readonly code: RealtimeErrorCode,
    message: string,
    readonly extra: { retryAfterMs?: number; issues?: FrameIssue[] } = {},
  ) {
    super(message);
  }
}

/** What a socket keeps across hibernation: who it is, its frame budget (absent before its first frame), and its object's own fields. */
export type SocketState<X extends object = object> = X & { identity: ConnectionIdentity; budget?: ConnBudget };
export type Socket<X extends object = object> = Connection<SocketState<X>>;

/** Whom a broadcast reaches (all given conditions hold; none: every socket). */
export interface Audience<X extends object = object> {
  /** Only this user's sockets. */
  user?: string;
  /** Not this user's sockets. */
  notUser?: string;
  /** Only sockets whose state passes (reads each socket's state: the slower path). */
  where?: (state: SocketState<X>, conn: Socket<X>) => boolean;
}

type Frame = { type: string };

/** A socket's client frames: their schema (a discriminated union on `type`) and what each costs. */
export class ClientFrames<F extends Frame> {
  readonly types: ReadonlySet<string>;
  readonly budget: FrameBudget<F["type"] | "invalid">;
  readonly #known: string;

  constructor(
    readonly schema: z.ZodType<F> & { options: readonly { shape: { type: { value: string } } }[] },
    /** `invalid`: what a frame that cannot be read costs. */
    budget: FrameBudgetSpec<F["type"] | "invalid">,
  ) {
    this.types = new Set(schema.options.map((o) => o.shape.type.value));
    this.#known = [...this.types].join(", ");
    this.budget = new FrameBudget(budget);
  }

  /** A frame from the wire: the frame, or why it is refused; its `ref` either way when it had one. */
  read(raw: WSMessage): Read<F> {
    if (typeof raw !== "string") return { ref: null, error: new FrameError("unsupported_frame", "Frames are JSON text.") };
    // UTF-8 takes at most 3 bytes per UTF-16 unit: most frames need no encoding to be measured.
    if (raw.length > MAX_FRAME_BYTES || (raw.length * 3 > MAX_FRAME_BYTES && utf8.encode(raw).byteLength > MAX_FRAME_BYTES)) {
      return { ref: null, error: new FrameError("frame_too_large", `Frames may be at most ${MAX_FRAME_BYTES} bytes.`) };
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return { ref: null, error: new FrameError("invalid_json", "The frame is not valid JSON.") };
    }
    const ref = refOf(value);
    const type: unknown = value && typeof value === "object" ? Reflect.get(value, "type") : undefined;
    if (typeof type !== "string" || !this.types.has(type)) {
      return { ref, error: new FrameError("unknown_type", `Unknown frame type. Known: ${this.#known}.`) };
    }
    const parsed = this.schema.safeParse(value);
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 10).map((i) => ({ path: i.path.filter((p): p is string | number => typeof p !== "symbol"), message: i.message }));
      return { ref, error: new FrameError("validation_failed", "Some fields are not valid.", { issues }) };
    }
    return { ref, frame: parsed.data };
  }
}

type Read<F> = { ref: string | null; frame: F; error?: undefined } | { ref: string | null; frame?: undefined; error: FrameError };

const utf8 = new TextEncoder();
const userTag = (userId: string) => `u:${userId}`;
const sessionTag = (sessionId: string) => `s:${sessionId}`;
/** The close reason sent with each code: its name in the table, in words ("access lost"). */
const REASON = new Map<number, string>(Object.entries(CLOSE).map(([name, code]) => [code, name.toLowerCase().replace("_", " ")]));

/** The client's correlation id from a frame that may not have parsed: its ref, or for chat's sends its nonce. */
function refOf(value: unknown): string | null {
  if (!value || typeof value !== "object") return null;
  for (const k of ["ref", "nonce"]) {
    const v: unknown = Reflect.get(value, k);
    if (typeof v === "string" && v.length >= 1 && v.length <= 64) return v;
  }
  return null;
}

function trySend(ws: WebSocket, data: string | ArrayBuffer | ArrayBufferView): void {
  try {
    ws.send(data);
  } catch {
    // A socket that is closing; its client catches up when it reconnects.
  }
}

function closeEach(sockets: Iterable<WebSocket>, code: CloseCode): number {
  let n = 0;
  for (const ws of sockets) {
    try {
      ws.close(code, REASON.get(code));
      n++;
    } catch {
      // already closing
    }
  }
  return n;
}

/**
 * The base of Woxly's socket-holding Durable Objects: `In` the client frames, `Out` the
 * server frames (their union includes ErrorFrame), `X` the object's own per-socket fields.
 */
export abstract class RealtimeServer<In extends Frame, Out extends Frame, X extends object = object> extends Server<Env> {
  static override options = { hibernate: true };

  /** The client frames this object reads. */
  protected abstract readonly frames: ClientFrames<In>;
  /** Prefix of this object's log events ("channel_room" → `channel_room.frame_failed`). */
  protected abstract readonly logName: string;

  /**
   * What a new socket is sent once its identity is stored (a snapshot, `ready`, ...).
   * `via.newTicket`: a connect ticket the worker signed after checking this upgrade in full.
   */
  protected abstract welcome(conn: Socket<X>, me: ConnectionIdentity, via: { newTicket: string | null }): void | Promise<void>;
  /**
   * Whether to refuse a socket that came with a connect ticket issued at `issuedAt` (ms; the
   * worker checked only its signature): a close code, or null to take it. Objects that keep no
   * record of access changes take none (the worker only lets tickets through to ChannelRooms).
   */
  protected refuseTicket(_me: ConnectionIdentity, _issuedAt: number): CloseCode | null {
    return CLOSE.TICKET_STALE;
  }
  /** One parsed, paid-for frame. `state` is the socket's current state. Refuse with FrameError. */
  protected abstract handle(conn: Socket<X>, frame: In, state: SocketState<X>): void | Promise<void>;
  /**
   * A client frame the upgrade itself carries (ChannelRoom: the resume of `?since=`), or null.
   * It is handled right after `welcome` exactly as if it were the socket's first frame: it pays
   * its cost, goes through `handle`, and a refusal is an error frame with `ref: null`.
   */
  protected upgradeFrame(_url: string): In | null {
    return null;
  }
  /** Whether this object takes a socket with this identity (e.g. only its own community's); refused ones close with NO_IDENTITY. */
  protected admits(_me: ConnectionIdentity): boolean {
    return true;
  }
  /** A socket closed (after the kit forgot it). */
  protected closed(_conn: Socket<X>): void {}

  /** Parsed identities of connecting requests (tags and onConnect see the same request). */
  readonly #identities = new WeakMap<Request, ConnectionIdentity | null>();
  /** Per-socket chains, so one socket's frames are handled in the order sent even across awaits. */
  readonly #chains = new Map<string, Promise<void>>();
  /**
   * Every socket of this object as `ctx.getWebSockets()` last listed them, for the fan-out to
   * all (a busy room broadcasts many times a second; the list changes far less often). Dropped
   * whenever it may change: a socket accepted (partyserver calls onConnect right after it
   * accepts), closed or failed (onClose, onError) or closed here. An instance woken from
   * hibernation starts without it. A socket that closed and is still listed costs one failed send.
   */
  #everySocket: WebSocket[] | null = null;

  #identityOf(request: Request): ConnectionIdentity | null {
    let id = this.#identities.get(request);
    if (id === undefined) {
      id = parseJsonWith(ConnectionIdentity, request.headers.get(IDENTITY_HEADER));
      if (id && !this.admits(id)) id = null;
      this.#identities.set(request, id);
    }
    return id;
  }

  /** A socket's state (written only by the kit and its subclass), or null when it has none. */
  protected stateOf(conn: Connection): SocketState<X> | null {
    return conn.state as SocketState<X> | null;
  }

  // --- lifecycle ---------------------------------------------------------------------

  override getConnectionTags(_conn: Connection, ctx: ConnectionContext): string[] {
    const id = this.#identityOf(ctx.request);
    return id ? [userTag(id.userId), sessionTag(id.sessionId)] : [];
  }

  override onConnect(conn: Connection, ctx: ConnectionContext): void | Promise<void> {
    this.#everySocket = null;
    const identity = this.#identityOf(ctx.request);
    if (!identity) return conn.close(CLOSE.NO_IDENTITY, REASON.get(CLOSE.NO_IDENTITY));
    const issued = ctx.request.headers.get(TICKET_ISSUED_HEADER);
    if (issued !== null) {
      const refused = this.refuseTicket(identity, Number(issued) || 0);
      if (refused !== null) return conn.close(refused, REASON.get(refused));
    }
    const socket = conn as Socket<X>;
    const frame = this.upgradeFrame(ctx.request.url);
    let state = { identity } as SocketState<X>;
    let refused: unknown = null;
    if (frame) {
      // Paid for before the socket's state is first written, so it is written once.
      try {
        state = this.#price(state, frame.type);
      } catch (e) {
        refused = e;
      }
    }
    conn.setState(state);
    const welcomed = this.welcome(socket, identity, { newTicket: ctx.request.headers.get(CONNECT_TICKET_HEADER) });
    if (!frame) return welcomed;
    const first = (): Promise<void> | undefined => {
      if (refused) return void this.#refuse(socket, identity, null, refused);
      try {
        const done = this.handle(socket, frame, state);
        if (done instanceof Promise) return done.catch((e: unknown) => this.#refuse(socket, identity, null, e));
      } catch (e) {
        this.#refuse(socket, identity, null, e);
      }
    };
    // In the socket's chain, so the frames it sends next wait for it.
    return this.#enqueue(socket.id, welcomed instanceof Promise ? welcomed.then(first) : first());
  }

  override onMessage(conn: Connection, raw: WSMessage): void | Promise<void> {
    const socket = conn as Socket<X>;
    const prev = this.#chains.get(socket.id);
    return this.#enqueue(socket.id, prev ? prev.then(() => this.#receive(socket, raw)) : this.#receive(socket, raw));
  }

  /** Makes `next` (a frame's work, if still running) the tail of socket `id`'s chain. */
  #enqueue(id: string, next: Promise<void> | undefined): Promise<void> | undefined {
    if (!next) return;
    this.#chains.set(id, next);
    return next.finally(() => {
      if (this.#chains.get(id) === next) this.#chains.delete(id);
    });
  }

  override onClose(conn: Connection): void {
    this.#everySocket = null;
    this.#chains.delete(conn.id);
    this.closed(conn as Socket<X>);
  }

  override onError(conn: Connection, error: unknown): void {
    this.#everySocket = null;
    log({ event: `${this.logName}.socket_error`, name: this.name, connectionId: conn.id, error: String(error) });
  }

  /** Reads, charges and handles one frame; a promise only while a handler is still at work. */
  #receive(conn: Socket<X>, raw: WSMessage): Promise<void> | undefined {
    const state = this.stateOf(conn);
    if (!state?.identity) {
      conn.close(CLOSE.NO_IDENTITY, REASON.get(CLOSE.NO_IDENTITY));
      return;
    }
    const read = this.frames.read(raw);
    try {
      // Every frame pays, an unreadable one too, before any of its work is done.
      const paid = this.#charge(conn, state, read.frame?.type ?? "invalid");
      if (read.error) throw read.error;
      const done = this.handle(conn, read.frame, paid);
      if (done instanceof Promise) return done.catch((e: unknown) => this.#refuse(conn, state.identity, read.ref, e));
    } catch (e) {
      this.#refuse(conn, state.identity, read.ref, e);
    }
  }

  #refuse(conn: Socket<X>, me: ConnectionIdentity, ref: string | null, e: unknown): void {
    if (e instanceof FrameError) return this.send(conn, { type: "error", code: e.code, message: e.message, ref, ...e.extra });
    log({ event: `${this.logName}.frame_failed`, name: this.name, userId: me.userId, error: String(e) });
    this.send(conn, { type: "error", code: "internal", message: "Something went wrong on our side. It has been logged.", ref });
  }

  /**
   * Takes a frame's cost from the socket's and the user's budget, or throws rate_limited.
   * O(1); the new state goes into the socket's attachment (memory the runtime keeps across
   * hibernation, not a SQLite write: see frame-budget.ts). Returns the socket's new state.
   */
  #charge(conn: Socket<X>, state: SocketState<X>, type: In["type"] | "invalid"): SocketState<X> {
    const next = this.#price(state, type);
    conn.setState(next);
    return next;
  }

  /** The state after paying for a frame of `type` (not yet written), or throws rate_limited. */
  #price(state: SocketState<X>, type: In["type"] | "invalid"): SocketState<X> {
    const userId = state.identity.userId;
    const r = this.frames.budget.charge(userId, type, state.budget, () => this.#budgetsOf(userId), Date.now());
    if (!r.ok) throw new FrameError("rate_limited", "You are doing that too fast.", { retryAfterMs: r.retryAfterMs });
    return { ...state, budget: r.budget };
  }

  /** The stored budgets of a user's sockets (read after a wake-up, when the user's bucket is not in memory). */
  *#budgetsOf(userId: string): Iterable<ConnBudget | undefined> {
    for (const c of this.getConnections(userTag(userId))) yield this.stateOf(c)?.budget;
  }

  // --- sending and closing -------------------------------------------------------------

  /** Sends one frame (or one already serialised) to one socket; a socket that is closing is skipped. */
  protected send(ws: WebSocket, frame: Out | ErrorFrame | string): void {
    trySend(ws, typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /**
   * Sends one frame, serialised once, to every socket or to an `Audience`; returns how many
   * sockets it went to. Without `where` it reads no socket's state (the room's fan-out path).
   * Also serves partyserver's own form, `broadcast(message, withoutConnectionIds)`.
   */
  override broadcast(frame: Out | ErrorFrame | string | ArrayBuffer | ArrayBufferView, to?: Audience<X> | string[]): number {
    const data = typeof frame === "string" || frame instanceof ArrayBuffer || ArrayBuffer.isView(frame) ? frame : JSON.stringify(frame);
    const audience: Audience<X> = Array.isArray(to) ? { where: (_s, c) => !to.includes(c.id) } : (to ?? {});
    const tag = audience.user === undefined ? undefined : userTag(audience.user);
    const skip = audience.notUser === undefined ? null : new Set<WebSocket>(this.ctx.getWebSockets(userTag(audience.notUser)));
    const where = audience.where;
    let n = 0;
    if (where) {
      for (const c of this.getConnections(tag)) {
        const state = this.stateOf(c);
        if (!state || skip?.has(c) || !where(state, c as Socket<X>)) continue;
        trySend(c, data);
        n++;
      }
      return n;
    }
    const sockets = tag === undefined ? (this.#everySocket ??= this.ctx.getWebSockets()) : this.ctx.getWebSockets(tag);
    for (const ws of sockets) {
      if (skip?.has(ws)) continue;
      trySend(ws, data);
      n++;
    }
    return n;
  }

  /** Closes every socket of a user with `code`; returns how many it closed. */
  protected closeUser(userId: string, code: CloseCode): number {
    this.#everySocket = null;
    return closeEach(this.ctx.getWebSockets(userTag(userId)), code);
  }

  /** Closes every socket of one session with `code`; returns how many it closed. */
  protected closeSession(sessionId: string, code: CloseCode): number {
    this.#everySocket = null;
    return closeEach(this.ctx.getWebSockets(sessionTag(sessionId)), code);
  }

  /** Closes every socket with `code`; returns how many it closed. */
  protected closeAll(code: CloseCode): number {
    this.#everySocket = null;
    return closeEach(this.ctx.getWebSockets(), code);
  }

  /** The open sockets of one session (e.g. to know whose presence a logout changes). */
  protected socketsOfSession(sessionId: string): Socket<X>[] {
    return [...this.getConnections<SocketState<X>>(sessionTag(sessionId))];
  }

  /** The open sockets of one user. */
  protected socketsOfUser(userId: string): Socket<X>[] {
    return [...this.getConnections<SocketState<X>>(userTag(userId))];
  }
}
