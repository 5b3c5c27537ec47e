/**
 * The user's inbox socket (durable-objects/user-inbox.ts), framework-free: the calls in their
 * DMs — who is ringing them, which DM has a call going on — as a Core snapshot, and new DM
 * messages as a signal (`onDmActivity`). Every (re)connect starts with a `ready` snapshot, and
 * DM listeners are told (`null`) to fetch again, so nothing said while offline is missed.
 * Frames are parsed with the shared schema (`InboxServerFrame`) by socket.ts, never cast.
 */
import { type DmCall, InboxClientFrame, InboxServerFrame } from "$shared/calls";
import { assertNever } from "$shared/realtime";
import { Core } from "./core";
import { RealtimeSocket, type SocketConfig } from "./socket";

export interface InboxState {
  /** Calls by DM channel id. */
  calls: ReadonlyMap<string, DmCall>;
}

export type DmActivity = Omit<Extract<InboxServerFrame, { type: "dm.activity" }>, "type">;

export const emptyInbox: InboxState = { calls: new Map() };

/** Applies one inbox frame; returns the same object when nothing changed. Pure. */
export function reduceInbox(state: InboxState, frame: InboxServerFrame): InboxState {
  switch (frame.type) {
    case "ready":
      return { calls: new Map(frame.calls.map((c) => [c.channelId, c])) };
    case "call": {
      const known = state.calls.get(frame.call.channelId);
      // Frames of one call arrive in order; a frame of an older call never replaces a newer one.
      if (known && known.callId > frame.call.callId) return state;
      return withCall(state, frame.call.channelId, frame.call);
    }
    case "call.ended":
      return state.calls.get(frame.channelId)?.callId === frame.callId ? withCall(state, frame.channelId, null) : state;
    case "dm.activity":
    case "pong":
    case "error":
      return state;
    default:
      return assertNever(frame);
  }
}

function withCall(state: InboxState, channelId: string, call: DmCall | null): InboxState {
  const calls = new Map(state.calls);
  if (call) calls.set(channelId, call);
  else calls.delete(channelId);
  return { calls };
}

export class InboxCore extends Core<InboxState> {
  readonly userId: string;
  readonly #socket: RealtimeSocket<InboxServerFrame, InboxClientFrame>;
  readonly #dmListeners = new Set<(a: DmActivity | null) => void>();
  readonly #endedListeners = new Set<() => void>();

  constructor(userId: string, opts: { socket?: SocketConfig } = {}) {
    super(emptyInbox);
    this.userId = userId;
    this.#socket = new RealtimeSocket<InboxServerFrame, InboxClientFrame>(
      "user-inbox",
      userId,
      {
        frames: InboxServerFrame,
        onFrame: (f) => this.#onFrame(f),
        // The server ended this session (log out elsewhere, a password reset, an instance ban).
        onClose: (_code, final) => {
          if (final === "SESSION_ENDED") for (const l of [...this.#endedListeners]) l();
        },
      },
      opts.socket,
    );
  }

  /**
   * New messages in the user's DMs, as they happen; `null` after every (re)connect, when
   * anything may have been missed. Returns the unsubscribe function.
   */
  onDmActivity(listener: (a: DmActivity | null) => void): () => void {
    this.#dmListeners.add(listener);
    return () => this.#dmListeners.delete(listener);
  }

  /** Called once the server ends this session: the page should leave for the login page. Returns the unsubscribe function. */
  onSessionEnded(listener: () => void): () => void {
    this.#endedListeners.add(listener);
    return () => this.#endedListeners.delete(listener);
  }

  /** Applies a call the API answered with (the socket says the same a moment later). */
  apply(channelId: string, call: DmCall | null): void {
    this.update(withCall(this.state, channelId, call));
  }

  close(): void {
    this.#socket.close();
    this.#dmListeners.clear();
    this.#endedListeners.clear();
    this.update(emptyInbox);
  }

  #onFrame(f: InboxServerFrame): void {
    this.update(reduceInbox(this.state, f));
    if (f.type === "ready") for (const l of [...this.#dmListeners]) l(null);
    else if (f.type === "dm.activity") {
      const { type: _, ...a } = f;
      for (const l of [...this.#dmListeners]) l(a);
    }
  }
}
