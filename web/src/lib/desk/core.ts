/**
 * A manager's connection to one desk's SupportDesk (`/parties/support-desk/<deskId>`),
 * framework-free: the waiting queue, the manager's own open tickets, the desk's managers,
 * their availability and the calls in their tickets, as a Core snapshot. Actions (accept,
 * transfer, close, availability, calls) go out with a `ref` and settle on the server's `done`
 * or `error` for that ref; a dropped socket fails them (`disconnected`) since no answer will
 * come. Every (re)connect starts with a `desk.snapshot` that replaces everything, so nothing
 * is asked for again after a reconnect. New requests are a signal (`onRequest`) for the
 * panel's sound and notification. Frames are parsed with the shared schema by socket.ts.
 */
import { DeskClientFrame, DeskServerFrame, type DeskManager, type QueueEntry, type Ticket, type TicketCall } from "$shared/desk";
import { assertNever } from "$shared/realtime";
import { Core } from "$lib/realtime/core";
import { RealtimeSocket, type SocketConfig } from "$lib/realtime/socket";

export type DeskConnection = "connecting" | "online" | "reconnecting" | "closed";

export interface DeskState {
  connection: DeskConnection;
  /** A snapshot has arrived on the current connection. */
  synced: boolean;
  /** Waiting tickets, longest-waiting first. */
  queue: readonly QueueEntry[];
  /** The manager's open tickets, oldest first. */
  mine: readonly Ticket[];
  managers: readonly DeskManager[];
  /** Available for auto-assignment. */
  available: boolean;
  /** Calls by ticket id (ringing or active; ended ones leave). */
  calls: ReadonlyMap<string, TicketCall>;
  /** Tickets with an action on its way (accept, transfer, close), for disabling buttons. */
  busy: ReadonlySet<string>;
}

export const emptyDesk: DeskState = {
  connection: "connecting",
  synced: false,
  queue: [],
  mine: [],
  managers: [],
  available: false,
  calls: new Map(),
  busy: new Set(),
};

/** An action the server refused (its error code), or that got no answer (`disconnected`). */
export class DeskActionError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "DeskActionError";
    this.code = code;
  }
}

type Outgoing = DeskClientFrame extends infer F ? (F extends { ref?: string } ? Omit<F, "ref"> : never) : never;

const byRequested = (a: QueueEntry, b: QueueEntry) => a.requestedAt - b.requestedAt;
const byAccepted = (a: Ticket, b: Ticket) => (a.acceptedAt ?? a.createdAt) - (b.acceptedAt ?? b.createdAt);

/** Applies one desk frame for manager `me`; returns the same object when nothing changed. Pure. */
export function reduceDesk(state: DeskState, frame: DeskServerFrame, me: string): DeskState {
  switch (frame.type) {
    case "desk.snapshot":
      return {
        ...state,
        synced: true,
        queue: [...frame.queue].sort(byRequested),
        mine: frame.mine.filter((t) => t.status === "open" && t.assigneeId === me).sort(byAccepted),
        managers: frame.managers,
        available: frame.available,
        calls: new Map(frame.calls.filter((c) => c.state !== "ended").map((c) => [c.ticketId, c])),
      };
    case "queue.updated":
      return { ...state, queue: [...frame.queue].sort(byRequested) };
    case "queue.requested":
      if (state.queue.some((e) => e.ticketId === frame.entry.ticketId)) return state;
      return { ...state, queue: [...state.queue, frame.entry].sort(byRequested) };
    case "managers.updated":
      return { ...state, managers: frame.managers };
    case "ticket.updated":
      return withTicket(state, frame.ticket, me);
    case "call.updated":
      return withCall(state, frame.call);
    case "queue.position":
    case "done":
    case "error":
      return state;
    default:
      return assertNever(frame);
  }
}

/** A ticket's new state: in "mine" while open and assigned to `me`; out of the queue unless queued. */
export function withTicket(state: DeskState, ticket: Ticket, me: string): DeskState {
  const queue = ticket.status === "queued" ? state.queue : state.queue.filter((e) => e.ticketId !== ticket.id);
  const others = state.mine.filter((t) => t.id !== ticket.id);
  const mine = ticket.status === "open" && ticket.assigneeId === me ? [...others, ticket].sort(byAccepted) : others;
  let calls = state.calls;
  if (ticket.status === "closed" && calls.has(ticket.id)) {
    const next = new Map(calls);
    next.delete(ticket.id);
    calls = next;
  }
  const sameMine = mine.length === state.mine.length && mine.every((t, i) => t === state.mine[i]);
  if (queue.length === state.queue.length && sameMine && calls === state.calls) return state;
  return { ...state, queue, mine: sameMine ? state.mine : mine, calls };
}

function withCall(state: DeskState, call: TicketCall): DeskState {
  const calls = new Map(state.calls);
  if (call.state === "ended") {
    if (!calls.has(call.ticketId)) return state;
    calls.delete(call.ticketId);
  } else calls.set(call.ticketId, call);
  return { ...state, calls };
}

interface Waiting {
  frame: Outgoing;
  resolve(): void;
  reject(err: DeskActionError): void;
}

export class DeskCore extends Core<DeskState> {
  readonly deskId: string;
  readonly me: string;
  readonly #socket: RealtimeSocket<DeskServerFrame, DeskClientFrame>;
  readonly #waiting = new Map<string, Waiting>();
  readonly #requestListeners = new Set<(entry: QueueEntry) => void>();
  #nextRef = 1;

  constructor(deskId: string, me: string, opts: { socket?: SocketConfig } = {}) {
    super(emptyDesk);
    this.deskId = deskId;
    this.me = me;
    this.#socket = new RealtimeSocket<DeskServerFrame, DeskClientFrame>(
      "support-desk",
      deskId,
      {
        frames: DeskServerFrame,
        onFrame: (f) => this.#onFrame(f),
        // Nothing is sent on open: the server's snapshot says everything.
        onOpen: () => this.update((s) => ({ ...s, connection: "online" })),
        onClose: (_code, final) => {
          this.#failAll("disconnected");
          this.update((s) => ({ ...s, connection: final ? "closed" : "reconnecting", synced: false, busy: new Set() }));
        },
      },
      opts.socket,
    );
  }

  /** A new visitor asked for a manager (not told for the snapshot's queue). Returns the unsubscribe function. */
  onRequest(listener: (entry: QueueEntry) => void): () => void {
    this.#requestListeners.add(listener);
    return () => this.#requestListeners.delete(listener);
  }

  /** Takes a waiting ticket; rejects with `not_found` when another manager was quicker. */
  accept(ticketId: string): Promise<void> {
    return this.#act({ type: "ticket.accept", ticketId }, ticketId);
  }

  transfer(ticketId: string, toUserId: string): Promise<void> {
    return this.#act({ type: "ticket.transfer", ticketId, toUserId }, ticketId);
  }

  close(ticketId: string): Promise<void> {
    return this.#act({ type: "ticket.close", ticketId }, ticketId);
  }

  /** Available for auto-assignment or away; shown at once, put back if the server refuses. */
  async setAvailable(available: boolean): Promise<void> {
    const before = this.state.available;
    this.update((s) => (s.available === available ? s : { ...s, available }));
    try {
      await this.#act({ type: "status.set", available }, null);
    } catch (err) {
      this.update((s) => ({ ...s, available: before }));
      throw err;
    }
  }

  startCall(ticketId: string, video: boolean): Promise<void> {
    return this.#act({ type: "call.start", ticketId, video }, null);
  }

  answerCall(ticketId: string, accept: boolean): Promise<void> {
    return this.#act({ type: "call.answer", ticketId, accept }, null);
  }

  endCall(ticketId: string): Promise<void> {
    return this.#act({ type: "call.end", ticketId }, null);
  }

  /** Applies a ticket the API answered with (the socket says the same a moment later). */
  applyTicket(ticket: Ticket): void {
    this.update(withTicket(this.state, ticket, this.me));
  }

  /** Drops the connection and connects again (the network is back). */
  reconnect(): void {
    this.#socket.reconnect();
  }

  destroy(): void {
    this.#socket.close();
    this.#failAll("disconnected");
    this.#requestListeners.clear();
    this.update({ ...emptyDesk, connection: "closed" });
  }

  #act(frame: Outgoing, busyTicket: string | null): Promise<void> {
    const ref = `d${this.#nextRef++}`;
    if (!this.#socket.send({ ...frame, ref } as DeskClientFrame)) {
      return Promise.reject(new DeskActionError("disconnected", "the desk is not connected"));
    }
    if (busyTicket) this.update((s) => ({ ...s, busy: new Set([...s.busy, busyTicket]) }));
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(ref, { frame, resolve, reject });
    });
  }

  #settle(ref: string | null, error: { code: string; message: string } | null): void {
    if (ref === null) return;
    const w = this.#waiting.get(ref);
    if (!w) return;
    this.#waiting.delete(ref);
    const ticketId = "ticketId" in w.frame && w.frame.type.startsWith("ticket.") ? w.frame.ticketId : null;
    this.update((s) => {
      let next = s;
      if (ticketId && s.busy.has(ticketId)) {
        const busy = new Set(s.busy);
        busy.delete(ticketId);
        next = { ...next, busy };
      }
      // Lost the race for a waiting ticket (or it left the queue): it is not waiting any more.
      if (error?.code === "not_found" && w.frame.type === "ticket.accept" && ticketId) {
        next = { ...next, queue: next.queue.filter((e) => e.ticketId !== ticketId) };
      }
      return next;
    });
    if (error) w.reject(new DeskActionError(error.code, error.message));
    else w.resolve();
  }

  #failAll(code: string): void {
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) w.reject(new DeskActionError(code, "no answer from the desk"));
  }

  #onFrame(f: DeskServerFrame): void {
    const fresh = f.type === "queue.requested" && !this.state.queue.some((e) => e.ticketId === f.entry.ticketId);
    this.update(reduceDesk(this.state, f, this.me));
    switch (f.type) {
      case "done":
        this.#settle(f.ref, null);
        break;
      case "error":
        this.#settle(f.ref, f);
        break;
      case "queue.requested":
        if (fresh) for (const l of [...this.#requestListeners]) l(f.entry);
        break;
      default:
        break;
    }
  }
}
