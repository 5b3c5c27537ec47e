/**
 * The storage of one CallLink: a mirror of the link's settings (D1 is the record; the object
 * keeps the copy its rules read), the people of the call — everyone who asked to come in, with
 * their admission, raised hand and whether LiveKit has them in the room — and the LiveKit
 * webhook ids already applied. All in the object's SQLite, since hibernation drops memory.
 * Every method is synchronous: SQLite calls in a Durable Object do not yield, so a method (or
 * several in a row without an `await`) is atomic — a join and a lock cannot interleave.
 *
 * Tables (schema version in `meta`):
 *   link     one row: the link's id, chat channel, host, settings and end
 *   people   id (user id or g_<guestId>), name, guest, admission, since (ms), hand raised at (ms), in the room now
 *   hooks    LiveKit webhook event ids applied, with when (ms); pruned after a day
 */
import type { CallLinkSettings, CallPerson, LobbyEntry } from "../workers/shared/call-links";
import type { LinkMirror } from "../workers/core/call-links";
import type { CallAdmission } from "../workers/core/policy";

const SCHEMA_VERSION = 1;
const HOOK_KEEP_MS = 24 * 3600_000;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)`,
  `CREATE TABLE IF NOT EXISTS link (
     one INTEGER PRIMARY KEY CHECK (one = 1), id TEXT NOT NULL, channel_id TEXT NOT NULL, host_id TEXT NOT NULL,
     locked INTEGER NOT NULL, lobby INTEGER NOT NULL, require_account INTEGER NOT NULL, ended_at INTEGER)`,
  `CREATE TABLE IF NOT EXISTS people (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, guest INTEGER NOT NULL, admission TEXT NOT NULL, since INTEGER NOT NULL,
     hand_raised_at INTEGER, in_call INTEGER NOT NULL DEFAULT 0)`,
  `CREATE TABLE IF NOT EXISTS hooks (id TEXT PRIMARY KEY, at INTEGER NOT NULL)`,
];


type PersonRow = { id: string; name: string; guest: number; admission: CallAdmission; since: number; hand_raised_at: number | null; in_call: number };
export type StoredPerson = { id: string; name: string; guest: boolean; admission: CallAdmission; since: number; handRaisedAt: number | null; inCall: boolean };

const person = (r: PersonRow): StoredPerson => ({
  id: r.id,
  name: r.name,
  guest: r.guest === 1,
  admission: r.admission,
  since: r.since,
  handRaisedAt: r.hand_raised_at,
  inCall: r.in_call === 1,
});

export class CallLinkStore {
  constructor(private readonly sql: SqlStorage) {}

  migrate(): void {
    for (const s of SCHEMA) this.sql.exec(s);
    this.sql.exec(`INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING`, SCHEMA_VERSION);
  }

  // --- the link ---------------------------------------------------------------------------

  link(): LinkMirror | null {
    const r = this.sql
      .exec<{ id: string; channel_id: string; host_id: string; locked: number; lobby: number; require_account: number; ended_at: number | null }>(
        `SELECT id, channel_id, host_id, locked, lobby, require_account, ended_at FROM link WHERE one = 1`,
      )
      .toArray()[0];
    if (!r) return null;
    return {
      id: r.id,
      channelId: r.channel_id,
      hostId: r.host_id,
      locked: r.locked === 1,
      lobby: r.lobby === 1,
      requireAccount: r.require_account === 1,
      endedAt: r.ended_at,
    };
  }

  setLink(l: LinkMirror): void {
    this.sql.exec(
      `INSERT INTO link (one, id, channel_id, host_id, locked, lobby, require_account, ended_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (one) DO UPDATE SET id = excluded.id, channel_id = excluded.channel_id, host_id = excluded.host_id, locked = excluded.locked,
         lobby = excluded.lobby, require_account = excluded.require_account, ended_at = excluded.ended_at`,
      l.id,
      l.channelId,
      l.hostId,
      l.locked ? 1 : 0,
      l.lobby ? 1 : 0,
      l.requireAccount ? 1 : 0,
      l.endedAt,
    );
  }

  setSettings(s: Partial<CallLinkSettings>): void {
    const l = this.link();
    if (l) this.setLink({ ...l, ...s });
  }

  // --- people -----------------------------------------------------------------------------

  person(id: string): StoredPerson | null {
    const r = this.sql.exec<PersonRow>(`SELECT * FROM people WHERE id = ?`, id).toArray()[0];
    return r ? person(r) : null;
  }

  /** Records someone's admission (a new person, or a decision about one already known); their name is refreshed. */
  setAdmission(p: { id: string; name: string; guest: boolean }, admission: CallAdmission, now: number): void {
    this.sql.exec(
      `INSERT INTO people (id, name, guest, admission, since) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, admission = excluded.admission,
         since = CASE WHEN people.admission = excluded.admission THEN people.since ELSE excluded.since END,
         hand_raised_at = CASE WHEN excluded.admission = 'admitted' THEN people.hand_raised_at ELSE NULL END`,
      p.id,
      p.name.slice(0, 64),
      p.guest ? 1 : 0,
      admission,
      now,
    );
  }

  /** Changes a known person's admission; false when there is no such person. */
  decide(id: string, admission: CallAdmission, now: number): boolean {
    const p = this.person(id);
    if (!p) return false;
    this.setAdmission(p, admission, now);
    return true;
  }

  /** Lets everyone waiting in (the host turned the lobby off); their ids. */
  admitWaiting(now: number): string[] {
    return this.sql
      .exec<{ id: string }>(`UPDATE people SET admission = 'admitted', since = ? WHERE admission = 'waiting' RETURNING id`, now)
      .toArray()
      .map((r) => r.id);
  }

  setHand(id: string, at: number | null): boolean {
    return this.sql.exec(`UPDATE people SET hand_raised_at = ? WHERE id = ? AND admission = 'admitted'`, at, id).rowsWritten > 0;
  }

  setInCall(id: string, inCall: boolean): void {
    this.sql.exec(`UPDATE people SET in_call = ? WHERE id = ?`, inCall ? 1 : 0, id);
  }

  /** Everyone let in, the host first, then by when they came in. */
  people(hostId: string): CallPerson[] {
    return this.sql
      .exec<PersonRow>(`SELECT * FROM people WHERE admission = 'admitted' ORDER BY (id = ?) DESC, since, id`, hostId)
      .toArray()
      .map((r) => ({ id: r.id, name: r.name, guest: r.guest === 1, host: r.id === hostId, inCall: r.in_call === 1, handRaisedAt: r.hand_raised_at }));
  }

  lobby(): LobbyEntry[] {
    return this.sql
      .exec<PersonRow>(`SELECT * FROM people WHERE admission = 'waiting' ORDER BY since, id`)
      .toArray()
      .map((r) => ({ id: r.id, name: r.name, guest: r.guest === 1, since: r.since }));
  }

  /** How many are in the LiveKit room now (the preview's count). */
  inCallCount(): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM people WHERE in_call = 1`).one().n;
  }

  endAll(): void {
    this.sql.exec(`UPDATE people SET in_call = 0, hand_raised_at = NULL`);
  }

  // --- webhooks ---------------------------------------------------------------------------

  /** Records a webhook event id; false when it was applied before (LiveKit redelivers). */
  firstHook(id: string, now: number): boolean {
    this.sql.exec(`DELETE FROM hooks WHERE at < ?`, now - HOOK_KEEP_MS);
    return this.sql.exec(`INSERT INTO hooks (id, at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, now).rowsWritten > 0;
  }
}
