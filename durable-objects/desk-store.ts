/**
 * The storage of one SupportDesk: its queue, the tickets given to managers (with each one's
 * load), managers' availability and round-robin turn, the recent waits behind the estimate,
 * each visitor's current ticket, and ticket calls — all in the object's own SQLite, since
 * hibernation drops memory. Every method is synchronous: SQLite calls in a Durable Object do
 * not yield, so a method (or several in a row without an `await`) is atomic — two managers
 * accepting the same ticket at once cannot both take it.
 *
 * Tables (schema version in `meta`):
 *   queue        waiting tickets; `pos` orders them (requested time; a ticket handed back goes to the head)
 *   assignments  tickets a manager holds: whether auto-assigned, whether the manager has answered yet
 *   managers     every manager seen on the socket: names, available for auto-assignment, last given a ticket
 *   waits        how long the last WAIT_ESTIMATE_WINDOW accepted tickets waited, ms
 *   visitors     each visitor's current ticket id and status (the serialisation point of ticket creation)
 *   calls        each ticket's call: ringing, active or ended
 */
import { type QueueEntry, type TicketCall, type TicketStatus, WAIT_ESTIMATE_WINDOW } from "../workers/shared/desk";

const SCHEMA_VERSION = 1;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)`,
  `CREATE TABLE IF NOT EXISTS queue (
     ticket_id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, visitor_id TEXT NOT NULL, visitor_name TEXT NOT NULL,
     language TEXT, page_url TEXT, preview TEXT NOT NULL, requested_at INTEGER NOT NULL, pos REAL NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS queue_pos ON queue (pos)`,
  `CREATE TABLE IF NOT EXISTS assignments (
     ticket_id TEXT PRIMARY KEY, manager_id TEXT NOT NULL, visitor_id TEXT NOT NULL, channel_id TEXT NOT NULL,
     auto INTEGER NOT NULL, answered INTEGER NOT NULL, assigned_at INTEGER NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS assignments_manager ON assignments (manager_id)`,
  `CREATE TABLE IF NOT EXISTS managers (
     user_id TEXT PRIMARY KEY, username TEXT NOT NULL, display_name TEXT NOT NULL, available INTEGER NOT NULL DEFAULT 1,
     last_assigned_at INTEGER NOT NULL DEFAULT 0)`,
  `CREATE TABLE IF NOT EXISTS waits (ticket_id TEXT PRIMARY KEY, wait_ms INTEGER NOT NULL, at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS visitors (visitor_id TEXT PRIMARY KEY, ticket_id TEXT NOT NULL, status TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS calls (
     ticket_id TEXT PRIMARY KEY, state TEXT NOT NULL, video INTEGER NOT NULL, started_by TEXT NOT NULL, at INTEGER NOT NULL)`,
];

type QueueRow = {
  ticket_id: string;
  channel_id: string;
  visitor_id: string;
  visitor_name: string;
  language: string | null;
  page_url: string | null;
  preview: string;
  requested_at: number;
};

export type Assignment = { ticketId: string; managerId: string; visitorId: string; channelId: string; auto: boolean; answered: boolean };

export interface Waiting extends QueueEntry {
  visitorId: string;
}

/** The queue's preview of a visitor's last words, characters. */
export const PREVIEW_CHARS = 140;

export class DeskStore {
  constructor(private readonly sql: SqlStorage) {}

  migrate(): void {
    for (const s of SCHEMA) this.sql.exec(s);
    this.sql.exec(`INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING`, SCHEMA_VERSION);
  }

  // --- visitors' current tickets --------------------------------------------------------

  visitorTicket(visitorId: string): { ticketId: string; status: TicketStatus } | null {
    const r = this.sql.exec<{ ticket_id: string; status: TicketStatus }>(`SELECT ticket_id, status FROM visitors WHERE visitor_id = ?`, visitorId).toArray()[0];
    return r ? { ticketId: r.ticket_id, status: r.status } : null;
  }
  setVisitorTicket(visitorId: string, ticketId: string, status: TicketStatus): void {
    this.sql.exec(
      `INSERT INTO visitors (visitor_id, ticket_id, status) VALUES (?, ?, ?)
       ON CONFLICT (visitor_id) DO UPDATE SET ticket_id = excluded.ticket_id, status = excluded.status`,
      visitorId,
      ticketId,
      status,
    );
  }
  setTicketStatus(ticketId: string, status: TicketStatus): void {
    this.sql.exec(`UPDATE visitors SET status = ? WHERE ticket_id = ?`, status, ticketId);
  }
  dropVisitor(visitorId: string): void {
    this.sql.exec(`DELETE FROM visitors WHERE visitor_id = ?`, visitorId);
  }

  // --- queue ------------------------------------------------------------------------------

  /** Adds a ticket at the tail (or at the head); false when it is already waiting. */
  enqueue(e: Waiting, head = false): boolean {
    if (this.queued(e.ticketId)) return false;
    const pos = head ? (this.sql.exec<{ p: number | null }>(`SELECT MIN(pos) AS p FROM queue`).one().p ?? e.requestedAt) - 1 : this.tailPos(e.requestedAt);
    this.sql.exec(
      `INSERT INTO queue (ticket_id, channel_id, visitor_id, visitor_name, language, page_url, preview, requested_at, pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      e.ticketId,
      e.channelId,
      e.visitorId,
      e.visitorName,
      e.language,
      e.pageUrl,
      e.preview.slice(0, PREVIEW_CHARS),
      e.requestedAt,
      pos,
    );
    return true;
  }
  /** Past every ticket waiting now, even one handed back with an earlier time. */
  private tailPos(requestedAt: number): number {
    const max = this.sql.exec<{ p: number | null }>(`SELECT MAX(pos) AS p FROM queue`).one().p;
    return max === null ? requestedAt : Math.max(requestedAt, max + 1e-3);
  }
  queued(ticketId: string): Waiting | null {
    return this.rows(`WHERE ticket_id = ?`, ticketId)[0] ?? null;
  }
  /** Removes a waiting ticket; the entry, or null when it was not waiting. */
  dequeue(ticketId: string): Waiting | null {
    const e = this.queued(ticketId);
    if (e) this.sql.exec(`DELETE FROM queue WHERE ticket_id = ?`, ticketId);
    return e;
  }
  queue(): Waiting[] {
    return this.rows(`ORDER BY pos, ticket_id`);
  }
  /** 1 = next; null when not waiting. */
  position(ticketId: string): number | null {
    const me = this.sql.exec<{ pos: number }>(`SELECT pos FROM queue WHERE ticket_id = ?`, ticketId).toArray()[0];
    if (!me) return null;
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM queue WHERE pos < ? OR (pos = ? AND ticket_id < ?)`, me.pos, me.pos, ticketId).one().n + 1;
  }
  waitingCount(): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM queue`).one().n;
  }
  private rows(where: string, ...b: (string | number)[]): Waiting[] {
    return this.sql
      .exec<QueueRow>(`SELECT ticket_id, channel_id, visitor_id, visitor_name, language, page_url, preview, requested_at FROM queue ${where}`, ...b)
      .toArray()
      .map((r) => ({
        ticketId: r.ticket_id,
        channelId: r.channel_id,
        visitorId: r.visitor_id,
        visitorName: r.visitor_name,
        language: r.language,
        pageUrl: r.page_url,
        preview: r.preview,
        requestedAt: r.requested_at,
      }));
  }

  // --- assignments --------------------------------------------------------------------------

  assign(a: Omit<Assignment, "answered">, now: number): void {
    this.sql.exec(
      `INSERT INTO assignments (ticket_id, manager_id, visitor_id, channel_id, auto, answered, assigned_at) VALUES (?, ?, ?, ?, ?, 0, ?)
       ON CONFLICT (ticket_id) DO UPDATE SET manager_id = excluded.manager_id, auto = excluded.auto, assigned_at = excluded.assigned_at`,
      a.ticketId,
      a.managerId,
      a.visitorId,
      a.channelId,
      a.auto ? 1 : 0,
      now,
    );
    this.sql.exec(`UPDATE managers SET last_assigned_at = ? WHERE user_id = ?`, now, a.managerId);
  }
  assignment(ticketId: string): Assignment | null {
    return this.assignments(`WHERE ticket_id = ?`, ticketId)[0] ?? null;
  }
  assignmentsOf(managerId: string): Assignment[] {
    return this.assignments(`WHERE manager_id = ? ORDER BY assigned_at`, managerId);
  }
  unassign(ticketId: string): Assignment | null {
    const a = this.assignment(ticketId);
    if (a) this.sql.exec(`DELETE FROM assignments WHERE ticket_id = ?`, ticketId);
    return a;
  }
  markAnswered(ticketId: string): boolean {
    return this.sql.exec(`UPDATE assignments SET answered = 1 WHERE ticket_id = ? AND answered = 0`, ticketId).rowsWritten > 0;
  }
  load(managerId: string): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM assignments WHERE manager_id = ?`, managerId).one().n;
  }
  private assignments(where: string, ...b: string[]): Assignment[] {
    return this.sql
      .exec<{ ticket_id: string; manager_id: string; visitor_id: string; channel_id: string; auto: number; answered: number }>(
        `SELECT ticket_id, manager_id, visitor_id, channel_id, auto, answered FROM assignments ${where}`,
        ...b,
      )
      .toArray()
      .map((r) => ({ ticketId: r.ticket_id, managerId: r.manager_id, visitorId: r.visitor_id, channelId: r.channel_id, auto: r.auto === 1, answered: r.answered === 1 }));
  }

  // --- managers -------------------------------------------------------------------------------

  seeManager(userId: string, username: string, displayName: string): void {
    this.sql.exec(
      `INSERT INTO managers (user_id, username, display_name) VALUES (?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, display_name = excluded.display_name`,
      userId,
      username,
      displayName,
    );
  }
  setAvailable(userId: string, available: boolean): void {
    this.sql.exec(`UPDATE managers SET available = ? WHERE user_id = ?`, available ? 1 : 0, userId);
  }
  available(userId: string): boolean {
    return (this.sql.exec<{ a: number }>(`SELECT available AS a FROM managers WHERE user_id = ?`, userId).toArray()[0]?.a ?? 1) === 1;
  }
  managers(): { userId: string; username: string; displayName: string; available: boolean; lastAssignedAt: number; load: number }[] {
    return this.sql
      .exec<{ user_id: string; username: string; display_name: string; available: number; last_assigned_at: number; load: number }>(
        `SELECT m.user_id, m.username, m.display_name, m.available, m.last_assigned_at,
           (SELECT COUNT(*) FROM assignments a WHERE a.manager_id = m.user_id) AS load
         FROM managers m ORDER BY m.user_id`,
      )
      .toArray()
      .map((r) => ({ userId: r.user_id, username: r.username, displayName: r.display_name, available: r.available === 1, lastAssignedAt: r.last_assigned_at, load: r.load }));
  }
  forgetManager(userId: string): void {
    this.sql.exec(`DELETE FROM managers WHERE user_id = ?`, userId);
  }

  // --- waits ------------------------------------------------------------------------------------

  recordWait(ticketId: string, waitMs: number, now: number): void {
    this.sql.exec(`INSERT OR REPLACE INTO waits (ticket_id, wait_ms, at) VALUES (?, ?, ?)`, ticketId, Math.max(0, waitMs), now);
    this.sql.exec(`DELETE FROM waits WHERE ticket_id NOT IN (SELECT ticket_id FROM waits ORDER BY at DESC, ticket_id DESC LIMIT ?)`, WAIT_ESTIMATE_WINDOW);
  }
  recentWaits(): number[] {
    return this.sql.exec<{ w: number }>(`SELECT wait_ms AS w FROM waits ORDER BY at DESC LIMIT ?`, WAIT_ESTIMATE_WINDOW).toArray().map((r) => r.w);
  }

  // --- calls ------------------------------------------------------------------------------------

  call(ticketId: string): TicketCall | null {
    const r = this.sql
      .exec<{ state: TicketCall["state"]; video: number; started_by: TicketCall["startedBy"]; at: number }>(`SELECT state, video, started_by, at FROM calls WHERE ticket_id = ?`, ticketId)
      .toArray()[0];
    return r ? { ticketId, state: r.state, video: r.video === 1, startedBy: r.started_by, at: r.at } : null;
  }
  setCall(c: TicketCall): void {
    this.sql.exec(`INSERT OR REPLACE INTO calls (ticket_id, state, video, started_by, at) VALUES (?, ?, ?, ?, ?)`, c.ticketId, c.state, c.video ? 1 : 0, c.startedBy, c.at);
  }
  /** Calls that ring or run. */
  liveCalls(): TicketCall[] {
    return this.sql
      .exec<{ ticket_id: string }>(`SELECT ticket_id FROM calls WHERE state != 'ended'`)
      .toArray()
      .map((r) => this.call(r.ticket_id)!)
      .filter(Boolean);
  }
}
