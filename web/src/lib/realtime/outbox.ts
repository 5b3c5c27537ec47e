/**
 * The outbox of a channel: messages the user sent that the room has not acknowledged yet,
 * shown at once (optimistic) and reconciled by their nonce. A failed send stays until it is
 * retried — with the same nonce, so the room never stores it twice (it answers a known nonce
 * with the original message) — or discarded. Pure functions over an immutable list; the
 * timers and the socket are ChannelCore's.
 */
import type { Attachment, ReplyPreview } from "$shared/chat";

export interface PendingSend {
  nonce: string;
  content: string;
  replyTo: ReplyPreview | null;
  attachments: Attachment[];
  /** ms since the epoch, when the user pressed send */
  createdAt: number;
  status: "sending" | "failed";
  /** Error code of the last failure (`rate_limited`, `timeout`, `forbidden`, …). */
  error: string | null;
  /** rate_limited only: when a retry will be accepted, ms since the epoch. */
  retryAt: number | null;
}

export type Outbox = readonly PendingSend[];

/** A new send, last in the list. */
export function enqueue(outbox: Outbox, send: PendingSend): Outbox {
  return [...outbox, send];
}

/** The send with this nonce, if it is still waiting. */
export function find(outbox: Outbox, nonce: string): PendingSend | undefined {
  return outbox.find((p) => p.nonce === nonce);
}

/** The send goes out again as it was (same nonce); `send` is what to transmit, null if it is gone. */
export function retry(outbox: Outbox, nonce: string): { outbox: Outbox; send: PendingSend | null } {
  const p = find(outbox, nonce);
  if (!p) return { outbox, send: null };
  const send: PendingSend = { ...p, status: "sending", error: null, retryAt: null };
  return { outbox: outbox.map((x) => (x.nonce === nonce ? send : x)), send };
}

/** The send failed with `code`; `retryAt` (ms since the epoch) when the room said when to come back. */
export function fail(outbox: Outbox, nonce: string, code: string, retryAt: number | null): Outbox {
  if (!find(outbox, nonce)) return outbox;
  return outbox.map((x) => (x.nonce === nonce ? { ...x, status: "failed", error: code, retryAt } : x));
}

/** The room acknowledged the nonce: `confirmed` is the send it ends, null for an ack already seen. */
export function confirm(outbox: Outbox, nonce: string): { outbox: Outbox; confirmed: PendingSend | null } {
  const confirmed = find(outbox, nonce) ?? null;
  return { outbox: confirmed ? outbox.filter((x) => x.nonce !== nonce) : outbox, confirmed };
}

/** The user dropped the send. */
export function discard(outbox: Outbox, nonce: string): Outbox {
  return find(outbox, nonce) ? outbox.filter((x) => x.nonce !== nonce) : outbox;
}

/** Sends to transmit once the room has answered `hello` (failed ones wait for the user). */
export function unsent(outbox: Outbox): PendingSend[] {
  return outbox.filter((p) => p.status === "sending");
}
