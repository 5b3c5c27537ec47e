/**
 * UserInbox: one per user, at /parties/user-inbox/<userId>. Every open tab of the user holds
 * one hibernating socket to it; it tells them about calls in their DMs (someone is ringing
 * them, a call they are in changed, a call ended) and new DM messages, wherever they are in
 * the app. The DM's ChannelRoom owns the call (dm-call.ts) and its messages, and pushes each
 * change here over RPC.
 *
 * The worker lets a socket in only for the session's own user id (realtime.ts); sockets,
 * frames and their budget go through the realtime kit (kit.ts). The calls it knows live in SQLite, so a tab that connects (or reconnects after hibernation or a restart)
 * gets them all in `ready`.
 */
import { DmCall, InboxClientFrame, type InboxServerFrame } from "../workers/shared/calls";
import { CLOSE } from "../workers/shared/close-codes";
import { type ConnectionIdentity, assertNever, parseJsonWith } from "../workers/shared/realtime";
import type { FrameBudgetSpec } from "./frame-budget";
import { ClientFrames, RealtimeServer, type Socket } from "./kit";

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

/** A call no one updated for this long is dropped from the snapshot (its end was lost), ms. */
const STALE_MS = 6 * 60 * 60 * 1000;

/**
 * A user's inbox, for RPC. A plain stub by name (one round trip a call): its RPC methods need
 * neither partyserver's start-up nor `this.name`, so `getServerByName`'s extra `setName` call
 * would be wasted.
 */
export function inboxOf(env: Env, userId: string): DurableObjectStub<UserInbox> {
  return env.UserInbox.getByName(userId);
}

export class UserInbox extends RealtimeServer<InboxClientFrame, InboxServerFrame> {
  protected readonly frames = new ClientFrames(InboxClientFrame, INBOX_FRAME_BUDGET);
  protected readonly logName = "user_inbox";

  #migrated = false;

  /** The inbox's SQLite, its table created on first use from any entry point (socket or RPC). */
  get #sql(): SqlStorage {
    const sql = this.ctx.storage.sql;
    if (!this.#migrated) {
      sql.exec(`CREATE TABLE IF NOT EXISTS calls (channel_id TEXT PRIMARY KEY, call TEXT NOT NULL, updated_at INTEGER NOT NULL)`);
      this.#migrated = true;
    }
    return sql;
  }

  /** Only the inbox's own user (the worker lets no one else in; this holds even for a direct hit). */
  protected override admits(me: ConnectionIdentity): boolean {
    return me.userId === this.name;
  }

  protected welcome(conn: Socket): void {
    this.send(conn, { type: "ready", calls: this.#calls() });
  }

  protected handle(conn: Socket, frame: InboxClientFrame): void {
    switch (frame.type) {
      case "ping":
        return this.send(conn, { type: "pong" });
      default:
        return assertNever(frame.type);
    }
  }

  #calls(): DmCall[] {
    const rows = this.#sql.exec<{ call: string }>(`SELECT call FROM calls WHERE updated_at > ? ORDER BY updated_at`, Date.now() - STALE_MS).toArray();
    return rows.flatMap((r) => parseJsonWith(DmCall, r.call) ?? []);
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
    this.broadcast({ type: "call", call });
  }

  /** A call ended (only if it is still the one this inbox knows: an older end does not clear a newer call). */
  async callEnded(input: { channelId: string; callId: string; missed: boolean }): Promise<void> {
    const known = this.#sql.exec<{ call: string }>(`SELECT call FROM calls WHERE channel_id = ?`, input.channelId).toArray()[0];
    if (known && (JSON.parse(known.call) as { callId?: string }).callId === input.callId) {
      this.#sql.exec(`DELETE FROM calls WHERE channel_id = ?`, input.channelId);
    }
    this.broadcast({ type: "call.ended", ...input });
  }

  /**
   * A message in one of the user's DMs (not their own): the tabs update the DM list's badge
   * and fetch a conversation they do not know yet. Nothing is stored: after a reconnect the
   * tabs read unread state over HTTP.
   */
  async dmActivity(a: { channelId: string; seq: number; authorId: string | null; mentioned: boolean }): Promise<void> {
    this.broadcast({ type: "dm.activity", ...a });
  }

  /** The calls this inbox knows (for tests and the HTTP fallback). */
  async calls(): Promise<DmCall[]> {
    return this.#calls();
  }

  /** Closes one session's sockets (logout) or all of them (log out everywhere, password change). */
  async disconnectSession(sessionId: string): Promise<number> {
    return this.closeSession(sessionId, CLOSE.SESSION_ENDED);
  }

  async disconnectUser(): Promise<number> {
    return this.closeAll(CLOSE.SESSION_ENDED);
  }
}
