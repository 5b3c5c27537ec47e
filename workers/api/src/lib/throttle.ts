/**
 * Fixed-window failure counters in D1 for login throttling. One atomic upsert a failure;
 * reads are a single primary-key lookup.
 */
import { eq, sql } from "drizzle-orm";
import type { Db } from "../middleware/db";
import { throttles } from "../db/schema";

export interface Limit {
  /** failures allowed in one window */
  max: number;
  /** window length, ms */
  windowMs: number;
}

/** Returns the seconds until the key may try again, or 0 if it is under its limit. */
export async function retryAfter(db: Db, key: string, limit: Limit, now = Date.now()): Promise<number> {
  const row = (await db.select().from(throttles).where(eq(throttles.key, key)).limit(1))[0];
  if (!row || row.windowStart + limit.windowMs <= now || row.count < limit.max) return 0;
  return Math.max(1, Math.ceil((row.windowStart + limit.windowMs - now) / 1000));
}

export async function recordFailure(db: Db, key: string, limit: Limit, now = Date.now()): Promise<void> {
  const expired = now - limit.windowMs;
  await db
    .insert(throttles)
    .values({ key, windowStart: now, count: 1 })
    .onConflictDoUpdate({
      target: throttles.key,
      set: {
        count: sql`CASE WHEN ${throttles.windowStart} <= ${expired} THEN 1 ELSE ${throttles.count} + 1 END`,
        windowStart: sql`CASE WHEN ${throttles.windowStart} <= ${expired} THEN ${now} ELSE ${throttles.windowStart} END`,
      },
    });
}

export async function clearThrottle(db: Db, key: string): Promise<void> {
  await db.delete(throttles).where(eq(throttles.key, key));
}
