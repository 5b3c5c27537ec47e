/**
 * Fixed-window attempt counters in D1 (table `throttles`): login, password change,
 * registration and upload limits. An attempt is counted BEFORE the work it guards, with one
 * atomic upsert that returns the new count, so parallel requests cannot all slip under the
 * limit while a slow step (PBKDF2) runs. Attempts that turn out fine are given back
 * (`refund`, `clearThrottle`), so the counters mean "failures" where the caller wants that.
 */
import { and, eq, lt, sql } from "drizzle-orm";
import { ApiError } from "../../../shared/errors";
import type { Db } from "../../../core/db";
import { throttles } from "../../../core/schema";
import { log } from "../../../core/log";

export interface Limit {
  /** attempts allowed in one window */
  max: number;
  /** window length, ms */
  windowMs: number;
}

/** The longest window any limit uses, ms; counters older than this are pruned. */
export const LONGEST_WINDOW_MS = 24 * 3600_000;

/** One counted attempt: over the limit or not, and the window it was counted in. */
export interface Hit {
  /** the count including this attempt */
  count: number;
  /** start of the counter's window, ms since the epoch */
  windowStart: number;
  /** seconds until the key may try again; 0 when this attempt is within the limit */
  retryAfterS: number;
}

/**
 * Counts one attempt for `key` and returns the new count: one INSERT … ON CONFLICT DO UPDATE
 * … RETURNING, so concurrent attempts each see a distinct count. An expired window restarts
 * at 1.
 */
export async function hit(db: Db, key: string, limit: Limit, now = Date.now()): Promise<Hit> {
  const expired = now - limit.windowMs;
  const rows = await db
    .insert(throttles)
    .values({ key, windowStart: now, count: 1 })
    .onConflictDoUpdate({
      target: throttles.key,
      // SQLite evaluates every SET expression against the row as it was, so both see the old window.
      set: {
        count: sql`CASE WHEN ${throttles.windowStart} <= ${expired} THEN 1 ELSE ${throttles.count} + 1 END`,
        windowStart: sql`CASE WHEN ${throttles.windowStart} <= ${expired} THEN ${now} ELSE ${throttles.windowStart} END`,
      },
    })
    .returning({ count: throttles.count, windowStart: throttles.windowStart });
  const row = rows[0] ?? { count: 1, windowStart: now };
  const retryAfterS = row.count > limit.max ? Math.max(1, Math.ceil((row.windowStart + limit.windowMs - now) / 1000)) : 0;
  return { ...row, retryAfterS };
}

/** The client's address as Cloudflare's edge sets it; requests without one share one bucket. */
export function clientIp(req: Request): string {
  return req.headers.get("cf-connecting-ip") ?? "unknown";
}

/** The 429 for an attempt over its limit; `Retry-After` in seconds. */
export function rateLimited(retryAfterS: number, message: string): ApiError {
  return new ApiError("rate_limited", `${message} Try again in ${retryAfterS} s.`, {
    headers: { "Retry-After": String(retryAfterS) },
  });
}

/** Counts one attempt for `key` (see `hit`) and throws a 429 `rate_limited` when it is over the limit. */
export async function take(db: Db, key: string, limit: Limit, message: string, now = Date.now()): Promise<Hit> {
  const h = await hit(db, key, limit, now);
  if (h.retryAfterS) {
    // The scope only (`login-user`, `upload`, ...): keys hold usernames and addresses.
    if (h.count === limit.max + 1) log({ event: "throttle.limit_reached", scope: key.slice(0, key.indexOf(":")) });
    throw rateLimited(h.retryAfterS, message);
  }
  return h;
}

/** Gives back one attempt counted by `hit` (it succeeded), unless its window has since restarted. */
export async function refund(db: Db, key: string, h: Pick<Hit, "windowStart">): Promise<void> {
  await db
    .update(throttles)
    .set({ count: sql`MAX(${throttles.count} - 1, 0)` })
    .where(and(eq(throttles.key, key), eq(throttles.windowStart, h.windowStart)));
}

export async function clearThrottle(db: Db, key: string): Promise<void> {
  await db.delete(throttles).where(eq(throttles.key, key));
}

/** Deletes counters whose window started before `before` (ms); they count for nothing. Returns how many. */
export async function pruneThrottles(db: Db, before: number): Promise<number> {
  const r = await db.delete(throttles).where(lt(throttles.windowStart, before)).run();
  return r.meta.changes ?? 0;
}
