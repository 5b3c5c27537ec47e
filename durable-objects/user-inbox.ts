/**
 * UserInbox: one per user, at /parties/user-inbox/<userId>. Every open tab of the user holds
 * one hibernating socket to it; it tells them about calls in their DMs (someone is ringing
 * them, a call they are in changed, a call ended) and new DM messages, wherever they are in
 * the app. The DM's ChannelRoom owns the call (dm-call.ts) and its messages, and pushes each
 * change here over RPC.
 *
 * The worker lets a socket in only for the session's own user id (realtime.ts). The calls it
 * knows live in SQLite, so a tab that connects (or reconnects after hibernation or a restart)
 * gets them all in `ready`.
 */
import { Server, type Connection, type ConnectionContext, type WSMessage } from "partyserver";
import { z } from "zod";
import { DmCall, InboxClientFrame, type InboxServerFrame } from "../workers/shared/calls";
import { IDENTITY_HEADER } from "../workers/shared/realtime";
import { ConnBudget, FrameBudget, type FrameBudgetSpec } from "./frame-budget";

const CLOSE_NO_IDENTITY = 4400;
const CLOSE_SESSION_ENDED = 4401;
const sessionTag = (sessionId: string) => `s:${sessionId}`;

/**
 * The inbox mostly talks; a client frame (`ping`) only gets a `pong`. Still every frame pays
 * (frame-budget.ts): a user's tabs share 20 tokens refilling at 2/s. `invalid`: a frame that
 * does not parse. The whole object is one user's, so its user bucket spans all their tabs.
 */
export const INBOX_FRAME_BUDGET = {
  connection: { capacity: 20, perSecond: 2 },
  user: { capacity: 20, perSecond: 2 },
  costs: { ping: 1, invalid: 1 },
} satisfies FrameBudgetSpec<InboxClientFrame["type"] | "invalid">;

/** What a socket keeps across hibernation: its frame budget. */
const InboxConnState = z.object({ budget: ConnBudget.optional() });

/** A call no one updated for this long is dropped from the snapshot (its end was lost), ms. */
const STALE_MS = 6 * 60 * 60 * 1000;

function sessionOf(request: Request, userId: string): string | null {
  try {
    const id = JSON.parse(request.headers.get(IDENTITY_HEADER) ?? "null") as { userId?: unknown; sessionId?: unknown } | null;
    return id && id.userId === userId && typeof id.sessionId === "string" && id.sessionId ? id.sessionId : null;
  } catch {
    return null;
  }
}

/**
 * A user's inbox, for RPC. A plain stub by name (one round trip a call): its RPC methods need
 * neither partyserver's start-up nor `this.name`, so `getServerByName`'s extra `setName` call
 * would be wasted.
 */
export function inboxOf(env: Env, userId: string): DurableObjectStub<UserInbox> {
  return env.UserInbox.getByName(userId);
}

export class UserInbox extends Server<Env> {
  static override options = { hibernate: true };

  #migrated = false;
  #budget = new FrameBudget(INBOX_FRAME_BUDGET);

  /** The inbox's SQLite, its table created on first use from any entry point (socket or RPC). */
  get #sql(): SqlStorage {
    const sql = this.ctx.storage.sql;
    if (!this.#migrated) {
      sql.exec(`CREATE TABLE IF NOT EXISTS calls (channel_id TEXT PRIMARY KEY, call TEXT NOT NULL, updated_at INTEGER NOT NULL)`);
      this.#migrated = true;
    }
    return sql;
  }

  override getConnectionTags(_conn: Connection, ctx: ConnectionContext): string[] {
    const s = sessionOf(ctx.request, this.name);
    return s ? [sessionTag(s)] : [];
  }

  override onConnect(conn: Connection, ctx: ConnectionContext): void {
    if (!sessionOf(ctx.request, this.name)) {
      conn.close(CLOSE_NO_IDENTITY, "no identity");
      return;
    }
    this.#send(conn, { type: "ready", calls: this.#calls() });
  }

  override onMessage(conn: Connection, raw: WSMessage): void {
    let value: unknown = null;
    try {
      value = typeof raw === "string" ? JSON.parse(raw) : null;
    } catch {
      // answered below
    }
    const f = InboxClientFrame.safeParse(value);
    // The budget is kept in the socket's attachment (no storage write per frame; see frame-budget.ts).
    const mine = InboxConnState.safeParse(conn.state);
    const charge = this.#budget.charge(
      this.name,
      f.success ? f.data.type : "invalid",
      mine.success ? mine.data.budget : undefined,
      () => [...this.getConnections()].map((c) => {
        const s = InboxConnState.safeParse(c.state);
        return s.success ? s.data.budget : undefined;
      }),
      Date.now(),
    );
    if (!charge.ok) {
      this.#send(conn, { type: "error", code: "rate_limited", message: "Too many frames.", retryAfterMs: charge.retryAfterMs });
      return;
    }
    conn.setState({ budget: charge.budget });
    if (!f.success) {
      this.#send(conn, { type: "error", code: "invalid_frame", message: "This socket only understands {\"type\":\"ping\"}." });
      return;
    }
    this.#send(conn, { type: "pong" });
  }

  #calls(): DmCall[] {
    const rows = this.#sql.exec<{ call: string }>(`SELECT call FROM calls WHERE updated_at > ? ORDER BY updated_at`, Date.now() - STALE_MS).toArray();
    return rows.flatMap((r) => {
      const c = DmCall.safeParse(JSON.parse(r.call));
      return c.success ? [c.data] : [];
    });
  }

  #send(ws: WebSocket, frame: InboxServerFrame): void {
    try {
      ws.send(JSON.stringify(frame));
    } catch {
      // closing; the tab gets the state again in `ready`
    }
  }

  #broadcastFrame(frame: InboxServerFrame): void {
    const data = JSON.stringify(frame);
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(data);
      } catch {
        // closing
      }
    }
  }

  // --- RPC (from the DM's ChannelRoom and the api worker) -------------------------------

  /** A call in one of the user's DMs started or changed. */
  async callChanged(call: DmCall): Promise<void> {
    this.#sql.exec(
      `INSERT INTO calls (channel_id, call, updated_at) VALUES (?, ?, ?) ON CONFLICT(channel_id) DO UPDATE SET call = excluded.call, updated_at = excluded.updated_at`,
      call.channelId,
      JSON.stringify(call),
      Date.now(),
    );
    this.#broadcastFrame({ type: "call", call });
  }

  /** A call ended (only if it is still the one this inbox knows: an older end does not clear a newer call). */
  async callEnded(input: { channelId: string; callId: string; missed: boolean }): Promise<void> {
    const known = this.#sql.exec<{ call: string }>(`SELECT call FROM calls WHERE channel_id = ?`, input.channelId).toArray()[0];
    if (known && (JSON.parse(known.call) as { callId?: string }).callId === input.callId) {
      this.#sql.exec(`DELETE FROM calls WHERE channel_id = ?`, input.channelId);
    }
    this.#broadcastFrame({ type: "call.ended", ...input });
  }

  /**
   * A message in one of the user's DMs (not their own): the tabs update the DM list's badge
   * and fetch a conversation they do not know yet. Nothing is stored: after a reconnect the
   * tabs read unread state over HTTP.
   */
  async dmActivity(a: { channelId: string; seq: number; authorId: string | null; mentioned: boolean }): Promise<void> {
    this.#broadcastFrame({ type: "dm.activity", ...a });
  }

  /** The calls this inbox knows (for tests and the HTTP fallback). */
  async calls(): Promise<DmCall[]> {
    return this.#calls();
  }

  /** Closes one session's sockets (logout) or all of them (log out everywhere, password change). */
  async disconnectSession(sessionId: string): Promise<number> {
    return this.#close(this.ctx.getWebSockets(sessionTag(sessionId)));
  }

  async disconnectUser(): Promise<number> {
    return this.#close(this.ctx.getWebSockets());
  }

  #close(list: WebSocket[]): number {
    for (const ws of list) {
      try {
        ws.close(CLOSE_SESSION_ENDED, "session ended");
      } catch {
        // already closing
      }
    }
    return list.length;
  }
}
