/**
 * Frame budgets: the one rate limiter for what clients ask of a Durable Object — every frame
 * a ChannelRoom, CommunityHub or UserInbox socket receives, and the DM call requests a
 * ChannelRoom gets over RPC. Token buckets: a bucket holds up to `capacity` tokens and
 * refills `perSecond`; each frame type costs a number of tokens (cheap frames 1, frames that
 * write and fan out an event more), and a frame whose cost is not there is refused with
 * `rate_limited` and `retryAfterMs` — the socket stays up and nothing else of it is dropped.
 *
 * Two buckets per frame: the connection's and the user's (shared by all their sockets in this
 * object), so opening more sockets does not buy more budget. A frame is taken from both or
 * from neither.
 *
 * Where the state lives, and why (hibernation drops the object's memory at any time):
 * - The fast buckets (`FrameBudget`) are O(1) arithmetic per frame and cost no storage write:
 *   each connection carries `{ c, u }` (its bucket and the latest copy of its user's) in its
 *   WebSocket attachment, which the runtime keeps with the hibernated socket. Writing an
 *   attachment is an in-memory serialisation, not a SQLite write, so the hot path (a chat
 *   message) gains no write and no wait on the output gate. After a wake-up the user's bucket
 *   is rebuilt from the freshest copy among that user's sockets. Only when every socket of
 *   the user is gone *and* the object has hibernated is it forgotten — and both buckets refill
 *   completely in less time than an idle object takes to hibernate (~10 s), so forgetting a
 *   bucket then gives nothing away.
 * - Slow caps (`StoredBuckets`, e.g. replayed frames per minute) outlive that: one SQLite row
 *   per key, written only when something is taken — used where the frame already costs far
 *   more than one row write (a replay reads up to 1,000 rows).
 */
import { z } from "zod";

/** A token bucket's shape. */
export interface BucketSpec {
  /** Most tokens it holds: the largest burst. */
  capacity: number;
  /** Tokens added per second. */
  perSecond: number;
}

/** A bucket's state: `tokens` left at time `at` (ms since the epoch). */
export const Bucket = z.object({ tokens: z.number(), at: z.number() });
export type Bucket = z.infer<typeof Bucket>;

/** What a connection keeps in its attachment: its own bucket (`c`) and its user's as last charged through it (`u`). */
export const ConnBudget = z.object({ c: Bucket, u: Bucket });
export type ConnBudget = z.infer<typeof ConnBudget>;

/** Tokens in `b` at `now` (ms); no bucket yet is a full one. */
export function level(b: Bucket | undefined, spec: BucketSpec, now: number): number {
  if (!b) return spec.capacity;
  return Math.min(spec.capacity, b.tokens + (Math.max(0, now - b.at) * spec.perSecond) / 1000);
}

/** ms until `cost` tokens are in `b` (0 = now). */
export function waitMs(b: Bucket | undefined, spec: BucketSpec, cost: number, now: number): number {
  const have = level(b, spec, now);
  return have >= cost ? 0 : Math.max(1, Math.ceil(((cost - have) * 1000) / spec.perSecond));
}

/** `b` after taking `cost` tokens at `now` (the caller checked there are enough). */
export function spend(b: Bucket | undefined, spec: BucketSpec, cost: number, now: number): Bucket {
  return { tokens: level(b, spec, now) - cost, at: now };
}

export interface FrameBudgetSpec<T extends string> {
  /** Each connection's bucket. */
  connection: BucketSpec;
  /** Each user's bucket, shared by all their connections. */
  user: BucketSpec;
  /** Tokens each frame type costs (at most both capacities). A `Record`, so a new frame type does not build until it has a cost. */
  costs: Record<T, number>;
}

export type Charge = { ok: true; budget: ConnBudget } | { ok: false; retryAfterMs: number };

/** Per-user buckets kept in memory before the full ones are dropped. */
const MAX_USERS_IN_MEMORY = 1024;

/**
 * The fast buckets of one object. One instance per object; the connection's half of the
 * state is passed in and handed back (`budget`) for the caller to store in the attachment.
 */
export class FrameBudget<T extends string> {
  /** Each user's bucket while the object is awake (rebuilt from attachments after a wake-up). */
  readonly #users = new Map<string, Bucket>();

  constructor(readonly spec: FrameBudgetSpec<T>) {
    for (const [type, cost] of Object.entries<number>(spec.costs)) {
      if (cost > spec.connection.capacity || cost > spec.user.capacity) throw new Error(`frame budget: ${type} costs more than a full bucket`);
    }
  }

  /**
   * Charges one frame of `type` to a connection and its user at `now` (ms). `mine` is the
   * connection's stored budget (undefined on its first frame; null for a request without a
   * connection, which only has the user's bucket); `siblings` lists the stored budgets of the
   * user's other connections, read only when the user's bucket is not in memory.
   */
  charge(userId: string, type: T, mine: ConnBudget | null | undefined, siblings: () => Iterable<ConnBudget | undefined>, now: number, extraCost = 0): Charge {
    const cost = this.spec.costs[type] + extraCost;
    let user = this.#users.get(userId);
    if (!user) user = freshest([mine?.u, ...[...siblings()].map((b) => b?.u)]);
    const conn = mine?.c;
    const wait = Math.max(waitMs(user, this.spec.user, cost, now), mine === null ? 0 : waitMs(conn, this.spec.connection, cost, now));
    if (wait > 0) return { ok: false, retryAfterMs: wait };
    const u = spend(user, this.spec.user, cost, now);
    this.#users.set(userId, u);
    if (this.#users.size > MAX_USERS_IN_MEMORY) this.#forgetFull(now);
    return { ok: true, budget: { c: spend(conn, this.spec.connection, mine === null ? 0 : cost, now), u } };
  }

  /** Drops users whose bucket has refilled: a full bucket and no bucket are the same. */
  #forgetFull(now: number): void {
    for (const [id, b] of this.#users) if (level(b, this.spec.user, now) >= this.spec.user.capacity) this.#users.delete(id);
  }
}

/** The most recently charged of several copies of one bucket (they only differ in age). */
function freshest(copies: (Bucket | undefined)[]): Bucket | undefined {
  let best: Bucket | undefined;
  for (const b of copies) if (b && (!best || b.at > best.at)) best = b;
  return best;
}

/** How many takes between prunes of rows that have refilled completely. */
const PRUNE_EVERY = 64;

/**
 * Token buckets in the object's SQLite (table `frame_budget`), for caps that must outlive
 * sockets and hibernation. Each successful take writes one row; a refusal writes nothing.
 */
export class StoredBuckets {
  #migrated = false;
  #takes = 0;

  constructor(
    private readonly sql: SqlStorage,
    readonly spec: BucketSpec,
  ) {}

  #table(): SqlStorage {
    if (!this.#migrated) {
      this.sql.exec(`CREATE TABLE IF NOT EXISTS frame_budget (key TEXT PRIMARY KEY, tokens REAL NOT NULL, at INTEGER NOT NULL)`);
      this.#migrated = true;
    }
    return this.sql;
  }

  /** Takes `cost` tokens from `key`'s bucket at `now` (ms): 0 when taken, else ms until they would be there. */
  take(key: string, cost: number, now: number): number {
    const sql = this.#table();
    const row = sql.exec<{ tokens: number; at: number }>(`SELECT tokens, at FROM frame_budget WHERE key = ?`, key).toArray()[0];
    // A cost above the capacity could never be paid: it takes the whole bucket instead.
    const need = Math.min(cost, this.spec.capacity);
    const wait = waitMs(row, this.spec, need, now);
    if (wait > 0) return wait;
    const next = spend(row, this.spec, need, now);
    sql.exec(
      `INSERT INTO frame_budget (key, tokens, at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, at = excluded.at`,
      key,
      next.tokens,
      next.at,
    );
    if (++this.#takes % PRUNE_EVERY === 0) {
      sql.exec(`DELETE FROM frame_budget WHERE at < ?`, now - (this.spec.capacity / this.spec.perSecond) * 1000);
    }
    return 0;
  }

  /** Forgets every bucket (the object's data is being dropped). */
  reset(): void {
    this.#migrated = false;
  }
}
