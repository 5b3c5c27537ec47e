/**
 * A ChannelRoom's moderation state (docs/moderation.md), in the room's SQLite beside
 * channel-store.ts's tables and kept apart from them:
 *   mod_meta       the channel's slowmode, seconds (copied from D1 `channels.slowmode_seconds`
 *                  on first use and whenever it is changed: ChannelRoom.setSlowmode)
 *   mod_last_send  each member's last message while slowmode was on, ms since the epoch
 * Synchronous, like ChannelStore: a check and the write after it cannot interleave with
 * another frame. Who bypasses slowmode and how long to wait is policy.ts (slowmodeWait).
 */
import type { ConnectionIdentity } from "../workers/shared/realtime";
import { SLOWMODE_SECONDS } from "../workers/shared/moderation";

/** The longest slowmode, ms: last-send rows older than this decide nothing and are pruned. */
const LONGEST_SLOWMODE_MS = Math.max(...SLOWMODE_SECONDS) * 1000;

export class RoomModeration {
  #slowmode: number | null | undefined;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS mod_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS mod_last_send (user_id TEXT PRIMARY KEY, at INTEGER NOT NULL)`);
  }

  /** The channel's slowmode, seconds; null when this room has not learnt it yet (read D1 then). */
  slowmode(): number | null {
    if (this.#slowmode === undefined) {
      const row = this.sql.exec<{ value: number }>(`SELECT value FROM mod_meta WHERE key = 'slowmode'`).toArray()[0];
      this.#slowmode = row ? row.value : null;
    }
    return this.#slowmode;
  }

  setSlowmode(seconds: number): void {
    this.sql.exec(`INSERT INTO mod_meta (key, value) VALUES ('slowmode', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, seconds);
    this.#slowmode = seconds;
  }

  /** The member's last message while slowmode was on, ms since the epoch, or null. */
  lastSent(userId: string): number | null {
    return this.sql.exec<{ at: number }>(`SELECT at FROM mod_last_send WHERE user_id = ?`, userId).toArray()[0]?.at ?? null;
  }

  /** Records a message sent at `at` (ms) while slowmode is on; drops rows no slowmode can need. */
  recordSent(userId: string, at: number): void {
    this.sql.exec(`INSERT INTO mod_last_send (user_id, at) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET at = excluded.at`, userId, at);
    if (Math.random() < 0.02) this.sql.exec(`DELETE FROM mod_last_send WHERE at < ?`, at - LONGEST_SLOWMODE_MS);
  }
}

/** The earliest timeout among these connections that ends after `now` (ms since the epoch), or null. */
export function nextTimeoutEnd(identities: Iterable<ConnectionIdentity>, now: number): number | null {
  let next: number | null = null;
  for (const id of identities) {
    const until = id.timeoutUntil;
    if (until !== undefined && until > now && (next === null || until < next)) next = until;
  }
  return next;
}
