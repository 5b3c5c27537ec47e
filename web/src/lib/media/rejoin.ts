/**
 * Reconnect supervision. When the connection drops, LiveKit first resumes it by itself; if
 * that takes too long, or LiveKit gives up, the call joins again from scratch with a fresh
 * token, backing off, until it has been down too long. The policy (delays, which failures
 * end the call) is pure; `RejoinSupervisor` owns the timers and the browser's `online` event
 * and asks its host to rejoin or give up.
 */
import { isApiError } from "$lib/api";
import type { CallErrorCode } from "./call-state";

/** Backoff between full rejoins after LiveKit gave up reconnecting, ms (the last one repeats). */
export const REJOIN_DELAYS_MS: readonly number[] = [300, 1000, 2000, 4000, 8000];
/** Give up rejoining after this long, ms. */
export const REJOIN_FOR_MS = 120_000;
/** How long LiveKit may try to resume a dropped connection before a fresh rejoin, ms. */
export const RESUME_GRACE_MS = 7000;
/** The same once the browser says it is online again, ms. */
export const ONLINE_RESUME_GRACE_MS = 1200;

/** The next rejoin: after `wait` ms, or none (the call has been down longer than `REJOIN_FOR_MS`). */
export type RejoinStep = { wait: number } | "give_up";

/** After `attempt` rejoins since the drop at `droppedAt` (ms since the epoch), at `now` (ms). */
export function nextRejoin(attempt: number, droppedAt: number, now: number): RejoinStep {
  if (now - droppedAt > REJOIN_FOR_MS) return "give_up";
  return { wait: REJOIN_DELAYS_MS[Math.min(attempt, REJOIN_DELAYS_MS.length - 1)]! };
}

/** A rejoin that failed with `code` ends the call (access lost meanwhile, voice gone); anything else (the network) is tried again. */
export function endsRejoining(code: CallErrorCode): boolean {
  return code === "forbidden" || code === "not_found" || code === "unavailable" || code === "e2ee_unavailable";
}

/** A join failure with a known reason. */
export class CallFailure extends Error {
  constructor(readonly code: CallErrorCode) {
    super(code);
  }
}

/** Why a join failed, from what it threw (a `CallFailure`, an API error of the token route, anything else). */
export function joinError(err: unknown): CallErrorCode {
  if (err instanceof CallFailure) return err.code;
  if (isApiError(err)) {
    if (err.code === "unavailable" || err.status === 503) return "unavailable";
    if (err.code === "channel_full") return "channel_full";
    if (err.code === "forbidden" || err.status === 403) return "forbidden";
    if (err.code === "not_found" || err.status === 404) return "not_found";
  }
  return "connect_failed";
}

/** LiveKit's `DisconnectReason` values this policy tells apart (livekit_models.proto). */
export type DisconnectReasons = Readonly<
  Record<"CLIENT_INITIATED" | "PARTICIPANT_REMOVED" | "ROOM_DELETED" | "ROOM_CLOSED" | "DUPLICATE_IDENTITY", number>
>;

/** What LiveKit's `Disconnected` means for the call. */
export type DisconnectOutcome =
  /** The member left (our own disconnect): nothing to do. */
  | { then: "nothing" }
  /** Ended for good; `error` says why. */
  | { then: "end"; error: CallErrorCode }
  /** LiveKit gave up resuming: rejoin with a fresh token. */
  | { then: "rejoin" };

export function disconnectOutcome(reason: number | undefined, R: DisconnectReasons): DisconnectOutcome {
  if (reason === R.CLIENT_INITIATED) return { then: "nothing" };
  if (reason === R.PARTICIPANT_REMOVED) return { then: "end", error: "removed" };
  if (reason === R.ROOM_DELETED || reason === R.ROOM_CLOSED) return { then: "end", error: "room_closed" };
  if (reason === R.DUPLICATE_IDENTITY) return { then: "end", error: "duplicate" };
  return { then: "rejoin" };
}

/** What the supervisor asks of the call. `epoch` is the call's generation: bumped on every join, leave and rejoin. */
export interface RejoinHost {
  epoch(): number;
  /** The call is reconnecting (dropped, or a rejoin under way). */
  reconnecting(): boolean;
  /** Rejoins made since the drop. */
  attempt(): number;
  /** Join again from scratch now, if `epoch` is still the call's. */
  rejoin(epoch: number): void;
  /** Down too long: end the call. */
  giveUp(): void;
}

/** The browser's view of the network (replaceable in tests). */
export interface Network {
  /** Calls `listener` when the browser is back online; returns the unsubscribe function. */
  onOnline(listener: () => void): () => void;
  /** The browser says it is offline. */
  offline(): boolean;
}

export const browserNetwork: Network = {
  onOnline(listener) {
    window.addEventListener("online", listener);
    return () => window.removeEventListener("online", listener);
  },
  offline: () => typeof navigator !== "undefined" && navigator.onLine === false,
};

export class RejoinSupervisor {
  readonly #host: RejoinHost;
  readonly #net: Network;
  /** ms since the epoch the connection dropped */
  #droppedAt = 0;
  #rejoinTimer: ReturnType<typeof setTimeout> | null = null;
  /** Runs while LiveKit resumes by itself; if that takes too long, rejoin from scratch. */
  #resumeTimer: ReturnType<typeof setTimeout> | null = null;
  #stopOnline: (() => void) | null = null;

  constructor(host: RejoinHost, net: Network = browserNetwork) {
    this.#host = host;
    this.#net = net;
  }

  /** A call begins: follow the browser's `online` event. */
  start(): void {
    this.#stopOnline?.();
    this.#stopOnline = this.#net.onOnline(this.#onOnline);
  }

  /** The call is over: no timers, no listener. */
  stop(): void {
    if (this.#rejoinTimer) clearTimeout(this.#rejoinTimer);
    this.#rejoinTimer = null;
    this.#clearResumeWatch();
    this.#stopOnline?.();
    this.#stopOnline = null;
  }

  /** The connection just dropped (the call was connected until now). */
  dropped(): void {
    this.#droppedAt = Date.now();
  }

  /** The connection just dropped and LiveKit is resuming it: rejoin if that takes longer than `RESUME_GRACE_MS`. */
  resuming(): void {
    this.dropped();
    this.#watchResume(RESUME_GRACE_MS);
  }

  /** LiveKit resumed the connection, or a rejoin is taking over. */
  resumed(): void {
    this.#clearResumeWatch();
  }

  /** The next rejoin after its backoff, or give up when the call has been down too long. */
  schedule(epoch: number): void {
    if (epoch !== this.#host.epoch()) return;
    const step = nextRejoin(this.#host.attempt(), this.#droppedAt, Date.now());
    if (step === "give_up") {
      this.#host.giveUp();
      return;
    }
    this.#rejoinTimer = setTimeout(() => {
      this.#rejoinTimer = null;
      this.#host.rejoin(epoch);
    }, step.wait);
  }

  #onOnline = () => {
    // Back online: rejoin now rather than at the next backoff step, or give LiveKit's own
    // resume a moment (its online probe needs a fetch the page's CSP may refuse).
    if (!this.#host.reconnecting()) return;
    if (this.#rejoinTimer) {
      clearTimeout(this.#rejoinTimer);
      this.#rejoinTimer = null;
      this.#host.rejoin(this.#host.epoch());
    } else this.#watchResume(ONLINE_RESUME_GRACE_MS);
  };

  #watchResume(ms: number): void {
    this.#clearResumeWatch();
    const epoch = this.#host.epoch();
    this.#resumeTimer = setTimeout(() => {
      this.#resumeTimer = null;
      if (epoch !== this.#host.epoch() || !this.#host.reconnecting() || this.#rejoinTimer) return;
      if (this.#net.offline()) return; // the online event takes over
      this.#host.rejoin(epoch);
    }, ms);
  }

  #clearResumeWatch(): void {
    if (this.#resumeTimer) clearTimeout(this.#resumeTimer);
    this.#resumeTimer = null;
  }
}
