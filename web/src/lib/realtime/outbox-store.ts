/**
 * Where a channel's outbox outlives the page: sends the room has not acknowledged yet are kept
 * in the tab's sessionStorage, so a reload (or a crash of the tab's page) right after pressing
 * Enter loses nothing. The restored sends go out again with their nonces once the room has
 * answered hello, and the room answers a nonce it already stored with the original message
 * (nonces are kept for NONCE_TTL_MS), so nothing is doubled either. Per tab, not per browser:
 * two tabs would otherwise both show (and resend) each other's pending messages.
 */
import { NONCE_TTL_MS } from "$shared/chat";
import type { Outbox, PendingSend } from "./outbox";

export interface OutboxStore {
  load(channelId: string, userId: string): PendingSend[];
  save(channelId: string, userId: string, pending: Outbox): void;
}

const PREFIX = "woxly.outbox.";
/** Older sends are dropped on load: well inside the room's nonce memory, so a resend still dedupes. */
export const OUTBOX_MAX_AGE_MS = NONCE_TTL_MS / 2;

const isString = (v: unknown): v is string => typeof v === "string";

/** One stored send, checked field by field (storage is the user's, and older builds wrote it). */
function parseSend(v: unknown, now: number): PendingSend | null {
  if (!v || typeof v !== "object") return null;
  const p = v as Record<string, unknown>;
  if (!isString(p.nonce) || !isString(p.content) || typeof p.createdAt !== "number") return null;
  if (now - p.createdAt > OUTBOX_MAX_AGE_MS) return null;
  if (!Array.isArray(p.attachments)) return null;
  return {
    nonce: p.nonce,
    content: p.content,
    replyTo: (p.replyTo ?? null) as PendingSend["replyTo"],
    attachments: p.attachments as PendingSend["attachments"],
    createdAt: p.createdAt,
    // What was on its way goes again once the room answers; a failure stays a failure to retry.
    status: p.status === "failed" ? "failed" : "sending",
    error: isString(p.error) ? p.error : null,
    retryAt: typeof p.retryAt === "number" ? p.retryAt : null,
  };
}

/** The tab's sessionStorage (none during server rendering or when the browser refuses it). */
export function sessionOutboxStore(storage: () => Storage | null = defaultStorage, now: () => number = Date.now): OutboxStore {
  const key = (channelId: string, userId: string) => `${PREFIX}${userId}.${channelId}`;
  return {
    load(channelId, userId) {
      try {
        const raw = storage()?.getItem(key(channelId, userId));
        if (!raw) return [];
        const list: unknown = JSON.parse(raw);
        if (!Array.isArray(list)) return [];
        const t = now();
        return list.map((v) => parseSend(v, t)).filter((p): p is PendingSend => p !== null);
      } catch {
        return [];
      }
    },
    save(channelId, userId, pending) {
      try {
        const s = storage();
        if (!s) return;
        if (pending.length) s.setItem(key(channelId, userId), JSON.stringify(pending));
        else s.removeItem(key(channelId, userId));
      } catch {
        // Full or refused: the sends still go out; only a reload before their ack would lose them.
      }
    },
  };
}

function defaultStorage(): Storage | null {
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch {
    return null;
  }
}
