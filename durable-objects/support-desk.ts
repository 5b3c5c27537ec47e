/**
 * SupportDesk: one per desk (named by the desk id). The serialisation point of everything a
 * desk does live: each visitor's current ticket (so parallel "talk to a manager" clicks make
 * one ticket), the FIFO queue, accepting (atomic: the state changes in SQLite before any
 * await, so of two managers at once one wins and the other gets `not_found`), capacity and
 * round-robin auto-assignment, transfers, closing (with the transcript copied to D1), ticket
 * calls, and the knowledge base (DeskKnowledge, desk-knowledge.ts). State lives in the
 * object's SQLite (desk-store.ts); D1's `tickets` row follows each change.
 *
 * Sockets (/parties/support-desk/<deskId>) come through the realtime kit: managers with their
 * session cookie (policy canWorkDesk), visitors with a signed socket ticket (identity kind
 * "visitor"). Managers get `desk.snapshot` and the live queue; a visitor gets their place in
 * the queue, their ticket's changes and its calls.
 */
import { and, eq, ne } from "drizzle-orm";
import { getServerByName } from "partyserver";
import { CLOSE } from "../workers/shared/close-codes";
import {
  DeskClientFrame,
  type DeskLanguage,
  type DeskManager,
  type DeskServerFrame,
  type KbEntry,
  type KbEntryBody,
  type QueuePosition,
  type Ticket,
  type TicketCall,
  ticketCallRoom,
  visitorUserId,
} from "../workers/shared/desk";
import { ApiError } from "../workers/shared/errors";
import { newId } from "../workers/shared/ids";
import { P, has, parsePermissions } from "../workers/shared/permissions";
import { type ConnectionIdentity, assertNever } from "../workers/shared/realtime";
import { makeDb, type Db } from "../workers/core/db";
import { type DeskActor, type DeskRow, type LoadedTicket, type Outcome, type Refusal, loadDesk, loadTicket, median, ticketView } from "../workers/core/desk";
import { log } from "../workers/core/log";
import { roomCall } from "../workers/core/media";
import { canWorkDesk, canWorkTicket } from "../workers/core/policy";
import { channels, ticketMessages, tickets } from "../workers/core/schema";
import { CloseResponse } from "../workers/shared/media";
import { RING_TIMEOUT_MS } from "../workers/shared/calls";
import { DeskKnowledge } from "./desk-knowledge";
import { type Assignment, DeskStore, type Waiting } from "./desk-store";
import type { FrameBudgetSpec } from "./frame-budget";
import { ClientFrames, FrameError, RealtimeServer, type Socket, type SocketState } from "./kit";

/**
 * What each client frame costs (frame-budget.ts): a socket holds 30 (5/s), a user's sockets
 * together 40 (6/s). Frames that write D1 and fan out (accept, transfer, close, calls) cost more.
 */
export const DESK_FRAME_BUDGET = {
  connection: { capacity: 30, perSecond: 5 },
  user: { capacity: 40, perSecond: 6 },
  costs: {
    "ticket.accept": 2,
    "ticket.transfer": 3,
    "ticket.close": 3,
    "status.set": 1,
    "call.start": 4,
    "call.answer": 2,
    "call.end": 2,
    invalid: 0.5,
  },
} satisfies FrameBudgetSpec<DeskClientFrame["type"] | "invalid">;


const refuse = (error: Refusal["error"], message: string): Refusal => ({ error, message });

/** The visitor id of a visitor's socket (kind "visitor": userId is `visitorUserId(visitorId)`), or null for a member. */
function visitorOf(me: ConnectionIdentity): string | null {
  return me.kind === "visitor" ? me.userId.slice(2) : null;
}

export class SupportDesk extends RealtimeServer<DeskClientFrame, DeskServerFrame> {
  protected readonly frames = new ClientFrames(DeskClientFrame, DESK_FRAME_BUDGET);
  protected readonly logName = "support_desk";

  #storeInst: DeskStore | undefined;
  get #store(): DeskStore {
    if (!this.#storeInst) {
      const s = new DeskStore(this.ctx.storage.sql);
      s.migrate();
      this.#storeInst = s;
    }
    return this.#storeInst;
  }
  #kbInst: DeskKnowledge | undefined;
  get #kb(): DeskKnowledge {
    if (!this.#kbInst) {
      const k = new DeskKnowledge(this.ctx.storage.sql);
      k.migrate();
      this.#kbInst = k;
    }
    return this.#kbInst;
  }
  /** The desk's settings from D1, once read (refresh() forgets them). */
  #deskRow: DeskRow | undefined;
  /** Tickets being created per visitor: parallel callers wait for the one creation. */
  #creating = new Map<string, Promise<{ ticketId: string; channelId: string }>>();
  /** The auto-assignment run under way (one at a time; `#assignAgain` asks for one more). */
  #autoAssigning: Promise<void> | null = null;
  #assignAgain = false;

  get #db(): Db {
    return makeDb(this.env.DB);
  }

  override onStart(): void {
    void this.#store;
  }

  async #desk(): Promise<DeskRow> {
    if (!this.#deskRow) {
      const d = await loadDesk(this.#db, this.name);
      if (!d) throw new ApiError("not_found", "No such desk.");
      this.#deskRow = d;
    }
    return this.#deskRow;
  }

  // --- who is here ----------------------------------------------------------------------

  /** User ids of managers with a socket now. */
  #online(): string[] {
    const ids = new Set<string>();
    for (const c of this.getConnections<SocketState>()) {
      const id = this.stateOf(c)?.identity;
      if (id && id.kind !== "visitor") ids.add(id.userId);
    }
    return [...ids];
  }

  #managerList(): DeskManager[] {
    const online = new Set(this.#online());
    return this.#store
      .managers()
      .filter((m) => online.has(m.userId) || m.load > 0)
      .map((m) => ({ userId: m.userId, username: m.username, displayName: m.displayName, online: online.has(m.userId), load: m.load }));
  }

  #toManagers(frame: DeskServerFrame): void {
    this.broadcast(frame, { where: (s) => s.identity.kind !== "visitor" });
  }
  #toVisitor(visitorId: string, frame: DeskServerFrame): void {
    this.broadcast(frame, { user: visitorUserId(visitorId) });
  }

  #positionOf(ticketId: string, online = this.#online().length): QueuePosition | null {
    const position = this.#store.position(ticketId);
    if (position === null) return null;
    const m = median(this.#store.recentWaits());
    return { ticketId, position, managersOnline: online, estimatedWaitMs: m === null ? null : Math.round((m * position) / Math.max(1, online)) };
  }

  /** Every waiting visitor's place, after any change to the queue or to who is online. */
  #pushPositions(): void {
    const online = this.#online().length;
    for (const e of this.#store.queue()) {
      const queue = this.#positionOf(e.ticketId, online);
      if (queue) this.#toVisitor(e.visitorId, { type: "queue.position", queue });
    }
  }

  #pushQueue(): void {
    this.#toManagers({ type: "queue.updated", queue: this.#store.queue().map(entryOf) });
    this.#pushPositions();
  }

  async #ticket(ticketId: string): Promise<LoadedTicket | undefined> {
    const t = await loadTicket(this.#db, { ticketId });
    return t && t.ticket.deskId === this.name ? t : undefined;
  }

  /** Tells the ticket's visitor, its assignee (and `alsoUserId`) that it changed. */
  async #pushTicket(ticketId: string, alsoUserId?: string | null): Promise<Ticket | null> {
    const t = await this.#ticket(ticketId);
    if (!t) return null;
    const ticket = ticketView(t.ticket, t.visitor);
    const frame: DeskServerFrame = { type: "ticket.updated", ticket };
    this.#toVisitor(t.ticket.visitorId, frame);
    const users = new Set([t.ticket.assigneeId, alsoUserId].filter((u): u is string => !!u));
    for (const u of users) this.broadcast(frame, { user: u });
    return ticket;
  }

  // --- sockets ----------------------------------------------------------------------------

  protected async welcome(conn: Socket, me: ConnectionIdentity): Promise<void> {
    const visitorId = visitorOf(me);
    if (visitorId) {
      const cur = this.#store.visitorTicket(visitorId);
      if (!cur) return;
      const t = await this.#ticket(cur.ticketId);
      if (t) this.send(conn, { type: "ticket.updated", ticket: ticketView(t.ticket, t.visitor) });
      const queue = this.#positionOf(cur.ticketId);
      if (queue) this.send(conn, { type: "queue.position", queue });
      const call = this.#store.call(cur.ticketId);
      if (call && call.state !== "ended") this.send(conn, { type: "call.updated", call });
      return;
    }
    const firstSocket = this.socketsOfUser(me.userId).length <= 1;
    this.#store.seeManager(me.userId, me.username, me.displayName);
    const rows = await this.#db.select().from(tickets).where(and(eq(tickets.deskId, this.name), eq(tickets.assigneeId, me.userId), eq(tickets.status, "open")));
    const mine: Ticket[] = [];
    for (const r of rows) {
      const t = await this.#ticket(r.id);
      if (t) mine.push(ticketView(t.ticket, t.visitor));
    }
    const ids = new Set(rows.map((r) => r.id));
    this.send(conn, {
      type: "desk.snapshot",
      queue: this.#store.queue().map(entryOf),
      mine,
      managers: this.#managerList(),
      available: this.#store.available(me.userId),
      calls: this.#store.liveCalls().filter((c) => ids.has(c.ticketId)),
    });
    if (firstSocket) {
      this.#toManagers({ type: "managers.updated", managers: this.#managerList() });
      this.#pushPositions();
      this.#kickAutoAssign();
    }
  }

  protected override closed(conn: Socket): void {
    const me = this.stateOf(conn)?.identity;
    if (!me || me.kind === "visitor") return;
    const others = this.socketsOfUser(me.userId).filter((c) => c.id !== conn.id);
    if (others.length) return;
    this.ctx.waitUntil(this.#managerGone(me.userId, "disconnected", conn.id).catch((e) => log({ event: "support_desk.manager_gone_failed", deskId: this.name, error: String(e) })));
  }

  protected async handle(conn: Socket, f: DeskClientFrame, state: SocketState): Promise<void> {
    const me = state.identity;
    const visitorId = visitorOf(me);
    const actor: DeskActor = visitorId ? { kind: "visitor", visitorId } : { kind: "manager", userId: me.userId, isAdmin: has(parsePermissions(me.perms), P.MANAGE_COMMUNITY) };
    const managerOnly = () => {
      if (visitorId) throw new FrameError("forbidden", "Only managers can do that.");
    };
    switch (f.type) {
      case "ticket.accept":
        managerOnly();
        check(await this.#accept(me.userId, f.ticketId, false));
        break;
      case "ticket.transfer":
        managerOnly();
        check(await this.transferTicket(f.ticketId, actor, f.toUserId));
        break;
      case "ticket.close":
        check(await this.closeTicket(f.ticketId, actor));
        break;
      case "status.set":
        managerOnly();
        this.#store.setAvailable(me.userId, f.available);
        if (f.available) this.#kickAutoAssign();
        break;
      case "call.start":
        check(await this.#callStart(actor, f.ticketId, f.video));
        break;
      case "call.answer":
        check(await this.#callAnswer(actor, f.ticketId, f.accept));
        break;
      case "call.end":
        check(await this.#callEnd(actor, f.ticketId));
        break;
      default:
        return assertNever(f);
    }
    if (f.ref) this.send(conn, { type: "done", ref: f.ref });
  }

  // --- tickets: creation, the queue, accepting --------------------------------------------

  /**
   * The visitor's current ticket (status assistant, queued or open), created when there is
   * none (or the last one closed or became a left message): a `channels` row of kind "ticket"
   * and a `tickets` row in D1, and its ChannelRoom told it is a ticket's. Parallel calls for
   * one visitor share one creation.
   */
  async ensureTicket(v: { id: string; name: string | null; preview?: string }): Promise<{ ticketId: string; channelId: string; created: boolean }> {
    const cur = this.#store.visitorTicket(v.id);
    if (cur && cur.status !== "closed" && cur.status !== "offline") {
      const pending = this.#creating.get(v.id);
      if (pending) return { ...(await pending), created: false };
      const t = await this.#ticket(cur.ticketId);
      if (t) return { ticketId: t.ticket.id, channelId: t.ticket.channelId, created: false };
    }
    const pending = this.#creating.get(v.id);
    if (pending) return { ...(await pending), created: false };
    const now = Date.now();
    const ticketId = newId(now);
    const channelId = newId(now);
    // Reserved synchronously: whoever comes next sees it (and waits for the promise).
    this.#store.setVisitorTicket(v.id, ticketId, "assistant");
    const creation = (async () => {
      const db = this.#db;
      await db.batch([
        db.insert(channels).values({ id: channelId, communityId: null, kind: "ticket", name: v.name ?? "Visitor", createdAt: now }),
        db.insert(tickets).values({ id: ticketId, deskId: this.name, visitorId: v.id, channelId, status: "assistant", createdAt: now, preview: (v.preview ?? "").slice(0, 140) }),
      ]);
      await (await getServerByName(this.env.ChannelRoom, channelId)).openTicket({ ticketId, deskId: this.name, visitorUserId: visitorUserId(v.id) });
      return { ticketId, channelId };
    })();
    this.#creating.set(v.id, creation);
    try {
      return { ...(await creation), created: true };
    } catch (e) {
      this.#store.dropVisitor(v.id);
      throw e;
    } finally {
      this.#creating.delete(v.id);
    }
  }

  /**
   * The visitor asks for a human: their ticket (created if need be) joins the queue's tail,
   * once — repeated or parallel calls answer with the same queued ticket. A ticket already
   * open (or queued) is returned as it is.
   */
  async requestHuman(v: { id: string; name: string | null; language: string | null; pageUrl: string | null; preview: string }): Promise<Outcome<{ ticket: Ticket; queue: QueuePosition | null }>> {
    const { ticketId } = await this.ensureTicket(v);
    const cur = this.#store.visitorTicket(v.id);
    if (cur?.ticketId === ticketId && cur.status === "assistant") {
      const t = await this.#ticket(ticketId);
      if (!t) return refuse("not_found", "No such ticket.");
      // Checked again after the await: only one caller moves it from "assistant".
      if (this.#store.visitorTicket(v.id)?.status === "assistant") {
        const now = Date.now();
        const preview = v.preview || t.ticket.preview;
        const entry: Waiting = {
          ticketId,
          channelId: t.ticket.channelId,
          visitorId: v.id,
          visitorName: v.name ?? "Visitor",
          language: v.language,
          pageUrl: v.pageUrl,
          preview,
          requestedAt: now,
        };
        this.#store.enqueue(entry);
        this.#store.setVisitorTicket(v.id, ticketId, "queued");
        await this.#db.update(tickets).set({ status: "queued", requestedAt: now, preview: preview.slice(0, 140) }).where(eq(tickets.id, ticketId));
        this.#toManagers({ type: "queue.requested", entry: entryOf(entry) });
        this.#pushQueue();
        await this.#pushTicket(ticketId);
        this.#kickAutoAssign();
      }
    }
    const t = await this.#ticket(ticketId);
    if (!t) return refuse("not_found", "No such ticket.");
    return { ticket: ticketView(t.ticket, t.visitor), queue: this.#positionOf(ticketId) };
  }

  /** A manager takes a waiting ticket (or auto-assignment gives it). The change is made in SQLite before any await. */
  async #accept(managerId: string, ticketId: string, auto: boolean): Promise<Outcome<{ ticket: Ticket | null }>> {
    const desk = await this.#desk();
    // --- synchronous from here to the first await: of two managers at once, one wins ---
    if (!this.#store.queued(ticketId)) return refuse("not_found", "No such waiting ticket: another manager may have taken it.");
    if (this.#store.load(managerId) >= desk.capacity) return refuse("at_capacity", `You already have ${desk.capacity} chats open.`);
    const entry = this.#store.dequeue(ticketId)!;
    const now = Date.now();
    this.#store.assign({ ticketId, managerId, visitorId: entry.visitorId, channelId: entry.channelId, auto }, now);
    this.#store.setVisitorTicket(entry.visitorId, ticketId, "open");
    this.#store.recordWait(ticketId, now - entry.requestedAt, now);
    // --- D1 and the room follow ---
    this.#pushQueue();
    this.#toManagers({ type: "managers.updated", managers: this.#managerList() });
    await this.#db.update(tickets).set({ status: "open", assigneeId: managerId, acceptedAt: now }).where(eq(tickets.id, ticketId));
    const room = await getServerByName(this.env.ChannelRoom, entry.channelId);
    await room.postSystem({ kind: "manager_joined", userId: managerId });
    await room.revalidate();
    return { ticket: await this.#pushTicket(ticketId) };
  }

  /** Starts auto-assignment unless it is running (then it runs once more when done). */
  #kickAutoAssign(): void {
    if (this.#autoAssigning) {
      this.#assignAgain = true;
      return;
    }
    this.#autoAssigning = (async () => {
      try {
        do {
          this.#assignAgain = false;
          await this.#autoAssignOnce();
        } while (this.#assignAgain);
      } catch (e) {
        log({ event: "support_desk.auto_assign_failed", deskId: this.name, error: String(e) });
      } finally {
        this.#autoAssigning = null;
      }
    })();
    this.ctx.waitUntil(this.#autoAssigning);
  }

  /** Gives waiting tickets, head first, to online, available managers under capacity: the one given a ticket longest ago first. */
  async #autoAssignOnce(): Promise<void> {
    const desk = await this.#desk();
    if (!desk.autoAssign) return;
    for (;;) {
      const head = this.#store.queue()[0];
      if (!head) return;
      const online = new Set(this.#online());
      const next = this.#store
        .managers()
        .filter((m) => online.has(m.userId) && m.available && m.load < desk.capacity)
        .sort((a, b) => a.lastAssignedAt - b.lastAssignedAt || (a.userId < b.userId ? -1 : 1))[0];
      if (!next) return;
      const r = await this.#accept(next.userId, head.ticketId, true);
      if (r.error && r.error !== "not_found") return;
    }
  }

  /**
   * A manager is gone (every socket closed, or they lost the desk): the tickets given to them
   * automatically that they have not answered yet go back to the head of the queue. With
   * `lostAccess`, every ticket of theirs goes back (they may no longer work it).
   */
  async #managerGone(userId: string, why: "disconnected" | "lost_access", closingId?: string): Promise<void> {
    if (why === "disconnected" && this.socketsOfUser(userId).some((c) => c.id !== closingId)) return;
    const back: Assignment[] = [];
    for (const a of this.#store.assignmentsOf(userId)) {
      if (why === "lost_access" || (a.auto && !a.answered)) back.push(a);
    }
    const reentered: { a: Assignment; requestedAt: number }[] = [];
    // Newest first, each to the head: they end up at the head in their original order.
    for (const a of back.reverse()) {
      const t = await this.#ticket(a.ticketId);
      if (!t || t.ticket.status !== "open" || this.#store.assignment(a.ticketId)?.managerId !== userId) continue;
      this.#store.unassign(a.ticketId);
      const requestedAt = t.ticket.requestedAt ?? Date.now();
      this.#store.enqueue(
        {
          ticketId: a.ticketId,
          channelId: a.channelId,
          visitorId: a.visitorId,
          visitorName: t.visitor.name ?? "Visitor",
          language: t.visitor.language,
          pageUrl: t.visitor.pageUrl,
          preview: t.ticket.preview,
          requestedAt,
        },
        true,
      );
      this.#store.setVisitorTicket(a.visitorId, a.ticketId, "queued");
      reentered.push({ a, requestedAt });
    }
    if (why === "lost_access") this.#store.forgetManager(userId);
    if (!reentered.length) {
      this.#toManagers({ type: "managers.updated", managers: this.#managerList() });
      this.#pushPositions();
      return;
    }
    for (const { a } of reentered) {
      await this.#db.update(tickets).set({ status: "queued", assigneeId: null, acceptedAt: null }).where(eq(tickets.id, a.ticketId));
      await (await getServerByName(this.env.ChannelRoom, a.channelId)).revalidate();
      await this.#pushTicket(a.ticketId, userId);
    }
    log({ event: "support_desk.returned_to_queue", deskId: this.name, userId, why, tickets: reentered.length });
    this.#pushQueue();
    this.#toManagers({ type: "managers.updated", managers: this.#managerList() });
    this.#kickAutoAssign();
  }

  // --- transfer and close --------------------------------------------------------------------

  /** Hands an open ticket to another manager of the desk (the assignee or an admin may). Capacity is not checked: a manual hand-over is a decision. */
  async transferTicket(ticketId: string, actor: DeskActor, toUserId: string): Promise<Outcome<{ ticket: Ticket }>> {
    if (actor.kind !== "manager") return refuse("forbidden", "Only managers can transfer tickets.");
    const db = this.#db;
    let from: string | null;
    try {
      const { ticket } = await canWorkTicket(db, actor.userId, { ticketId, deskId: this.name }, "send");
      if (ticket.ticket.status !== "open") return refuse("not_found", "No such open ticket.");
      from = ticket.ticket.assigneeId;
      await canWorkDesk(db, toUserId, this.name, ticket.desk);
    } catch (e) {
      if (e instanceof ApiError && (e.code === "not_found" || e.code === "forbidden")) return refuse(e.code, e.message);
      throw e;
    }
    const a = this.#store.assignment(ticketId);
    if (!a) return refuse("not_found", "No such open ticket.");
    this.#store.assign({ ticketId, managerId: toUserId, visitorId: a.visitorId, channelId: a.channelId, auto: false }, Date.now());
    await db.update(tickets).set({ assigneeId: toUserId }).where(eq(tickets.id, ticketId));
    await (await getServerByName(this.env.ChannelRoom, a.channelId)).revalidate();
    const ticket = await this.#pushTicket(ticketId, from);
    this.#toManagers({ type: "managers.updated", managers: this.#managerList() });
    this.#kickAutoAssign();
    return { ticket: ticket! };
  }

  /**
   * Closes a ticket (its visitor, any manager of the desk, or the site owner's API): out of
   * the queue, its call ended, D1 `closed`, a system line in its room and the room's messages
   * copied to D1 `ticket_messages` (the transcript). Closing a closed ticket changes nothing.
   */
  async closeTicket(ticketId: string, actor: DeskActor): Promise<Outcome<{ ticket: Ticket }>> {
    const t = await this.#ticket(ticketId);
    if (!t) return refuse("not_found", "No such ticket.");
    if (actor.kind === "visitor" && t.ticket.visitorId !== actor.visitorId) return refuse("not_found", "No such ticket.");
    if (actor.kind === "manager") {
      try {
        await canWorkDesk(this.#db, actor.userId, this.name, t.desk);
      } catch {
        return refuse("not_found", "No such ticket.");
      }
    }
    if (t.ticket.status === "closed") return { ticket: ticketView(t.ticket, t.visitor) };
    const now = Date.now();
    const wasQueued = !!this.#store.dequeue(ticketId);
    const a = this.#store.unassign(ticketId);
    this.#store.setTicketStatus(ticketId, "closed");
    const call = this.#store.call(ticketId);
    if (call && call.state !== "ended") this.#endCall({ ...call, state: "ended", at: now });
    const db = this.#db;
    const won = await db
      .update(tickets)
      .set({ status: "closed", closedAt: now })
      .where(and(eq(tickets.id, ticketId), ne(tickets.status, "closed")))
      .returning({ id: tickets.id });
    if (won.length) {
      const room = await getServerByName(this.env.ChannelRoom, t.ticket.channelId);
      const by = actor.kind === "manager" ? actor.userId : actor.kind === "visitor" ? visitorUserId(actor.visitorId) : "api";
      await room.postSystem({ kind: "ticket_closed", userId: by });
      const lines = await room.transcript(visitorUserId(t.ticket.visitorId));
      const rows = lines.map((l) => ({
        ticketId,
        seq: l.seq,
        authorKind: l.author.kind,
        authorId: l.author.id,
        authorName: l.author.name,
        content: l.content,
        createdAt: l.createdAt,
      }));
      // D1 binds at most 100 parameters a statement: 7 a row.
      const stmts = [];
      for (let i = 0; i < rows.length; i += 14) stmts.push(db.insert(ticketMessages).values(rows.slice(i, i + 14)).onConflictDoNothing());
      for (let i = 0; i < stmts.length; i += 50) {
        const chunk = stmts.slice(i, i + 50);
        if (chunk.length) await db.batch(chunk as [(typeof chunk)[number], ...typeof chunk]);
      }
      await room.revalidate();
      log({ event: "support_desk.ticket_closed", deskId: this.name, ticketId, by: actor.kind, lines: rows.length });
    }
    if (wasQueued) this.#pushQueue();
    const ticket = await this.#pushTicket(ticketId, a?.managerId);
    this.#toManagers({ type: "managers.updated", managers: this.#managerList() });
    if (a) this.#kickAutoAssign();
    return { ticket: ticket! };
  }

  /** The visitor left a message instead of waiting: their ticket becomes `offline` (out of the queue). */
  async markOffline(visitorId: string, ticketId: string): Promise<void> {
    const cur = this.#store.visitorTicket(visitorId);
    if (cur?.ticketId !== ticketId) return;
    if (this.#store.dequeue(ticketId)) this.#pushQueue();
    this.#store.setTicketStatus(ticketId, "offline");
  }

  // --- calls ------------------------------------------------------------------------------------

  /** The ticket and which side `actor` is on, if they are one of its two parties (visitor, assignee) and it is open. */
  async #callParty(actor: DeskActor, ticketId: string): Promise<Outcome<{ t: LoadedTicket; side: TicketCall["startedBy"] }>> {
    const t = await this.#ticket(ticketId);
    if (!t) return refuse("not_found", "No such ticket.");
    const isParty = actor.kind === "visitor" ? t.ticket.visitorId === actor.visitorId : actor.kind === "manager" && t.ticket.assigneeId === actor.userId;
    if (!isParty) return refuse("not_found", "No such ticket.");
    if (t.ticket.status !== "open") return refuse("forbidden", "Calls start once a manager has joined.");
    return { t, side: actor.kind === "visitor" ? "visitor" : "manager" };
  }

  #pushCall(t: LoadedTicket, call: TicketCall): void {
    const frame: DeskServerFrame = { type: "call.updated", call };
    this.#toVisitor(t.ticket.visitorId, frame);
    if (t.ticket.assigneeId) this.broadcast(frame, { user: t.ticket.assigneeId });
  }

  async #callStart(actor: DeskActor, ticketId: string, video: boolean): Promise<Outcome<{ call: TicketCall }>> {
    const p = await this.#callParty(actor, ticketId);
    if (p.error) return p;
    const cur = this.#store.call(ticketId);
    if (cur && cur.state !== "ended") return refuse("forbidden", "A call is already ringing or running.");
    const call: TicketCall = { ticketId, state: "ringing", video, startedBy: p.side, at: Date.now() };
    this.#store.setCall(call);
    this.#pushCall(p.t, call);
    // Unanswered, it stops ringing after RING_TIMEOUT_MS (as DM calls do): onAlarm.
    await this.#armRingAlarm();
    await (await getServerByName(this.env.ChannelRoom, p.t.ticket.channelId)).postSystem({ kind: "call_started", userId: partyUserId(actor) });
    return { call };
  }

  async #callAnswer(actor: DeskActor, ticketId: string, accept: boolean): Promise<Outcome<{ call: TicketCall }>> {
    const p = await this.#callParty(actor, ticketId);
    if (p.error) return p;
    const cur = this.#store.call(ticketId);
    if (!cur || cur.state !== "ringing") return refuse("not_found", "No call is ringing.");
    if (cur.startedBy === p.side) return refuse("forbidden", "The other side answers the call.");
    const call: TicketCall = { ...cur, state: accept ? "active" : "ended", at: Date.now() };
    if (accept) {
      this.#store.setCall(call);
      this.#pushCall(p.t, call);
    } else {
      this.#endCall(call, p.t);
      await (await getServerByName(this.env.ChannelRoom, p.t.ticket.channelId)).postSystem({ kind: "call_missed", userId: partyUserId(actor) });
    }
    return { call };
  }

  async #callEnd(actor: DeskActor, ticketId: string): Promise<Outcome<{ call: TicketCall }>> {
    const p = await this.#callParty(actor, ticketId);
    if (p.error) return p;
    const cur = this.#store.call(ticketId);
    if (!cur || cur.state === "ended") return refuse("not_found", "There is no call.");
    const call: TicketCall = { ...cur, state: "ended", at: Date.now() };
    this.#endCall(call, p.t);
    await (await getServerByName(this.env.ChannelRoom, p.t.ticket.channelId)).postSystem({ kind: "call_ended", userId: partyUserId(actor) });
    return { call };
  }

  /** Stores the end, tells both sides, and closes the LiveKit room so nobody stays in it. */
  #endCall(call: TicketCall, t?: LoadedTicket): void {
    this.#store.setCall(call);
    if (t) this.#pushCall(t, call);
    else {
      this.broadcast({ type: "call.updated", call });
    }
    this.ctx.waitUntil(
      roomCall(this.env, { op: "close", room: ticketCallRoom(call.ticketId) }, CloseResponse).catch((e) =>
        log({ event: "support_desk.call_close_failed", ticketId: call.ticketId, error: String(e) }),
      ),
    );
  }

  /** The alarm at the earliest end of a ringing call, if any rings. */
  async #armRingAlarm(): Promise<void> {
    const ends = this.#store.liveCalls().filter((c) => c.state === "ringing").map((c) => c.at + RING_TIMEOUT_MS);
    if (ends.length) await this.ctx.storage.setAlarm(Math.min(...ends));
  }

  /** Calls that rang for RING_TIMEOUT_MS without an answer end as missed. */
  override async onAlarm(): Promise<void> {
    const now = Date.now();
    for (const c of this.#store.liveCalls()) {
      if (c.state !== "ringing" || c.at + RING_TIMEOUT_MS > now) continue;
      const t = await this.#ticket(c.ticketId);
      this.#endCall({ ...c, state: "ended", at: now }, t);
      if (t) await (await getServerByName(this.env.ChannelRoom, t.ticket.channelId)).postSystem({ kind: "call_missed", userId: t.ticket.assigneeId ?? visitorUserId(t.ticket.visitorId) });
    }
    await this.#armRingAlarm();
  }

  // --- RPC (the api worker, the ticket's ChannelRoom) ---------------------------------------------

  /** The ticket's call, or null. */
  async callOf(ticketId: string): Promise<TicketCall | null> {
    return this.#store.call(ticketId);
  }

  /** A visitor's place in the queue, or null when their ticket is not waiting. */
  async position(ticketId: string): Promise<QueuePosition | null> {
    return this.#positionOf(ticketId);
  }

  /** From the ticket's room: a manager wrote in it (their ticket is answered; it stays theirs when they disconnect). */
  async ticketAnswered(ticketId: string, userId: string): Promise<void> {
    if (this.#store.assignment(ticketId)?.managerId === userId) this.#store.markAnswered(ticketId);
  }

  /** User ids of managers with a socket now. */
  async onlineManagers(): Promise<string[]> {
    return this.#online();
  }

  /** Desk settings changed in D1: read them again, re-check managers (the manager role may have changed), re-run auto-assignment. */
  async refresh(): Promise<void> {
    await this.revalidate();
    await this.#desk().catch(() => undefined);
    this.#pushPositions();
    this.#kickAutoAssign();
  }

  async stats(): Promise<{ waitingNow: number; managersOnline: number }> {
    return { waitingNow: this.#store.waitingCount(), managersOnline: this.#online().length };
  }

  /**
   * Re-checks managers' sockets against the policy (after role changes, kicks, bans): those
   * who may no longer work the desk are closed (4403) and their tickets go back to the queue.
   */
  async revalidate(): Promise<{ closed: number }> {
    this.#deskRow = undefined;
    const db = this.#db;
    let closed = 0;
    const userIds = new Set([...this.#online(), ...this.#store.managers().map((m) => m.userId)]);
    for (const userId of userIds) {
      try {
        await canWorkDesk(db, userId, this.name);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === "not_found")) {
          log({ event: "support_desk.revalidate_failed", deskId: this.name, userId, error: String(e) });
          continue;
        }
        closed += this.closeUser(userId, CLOSE.ACCESS_LOST);
        await this.#managerGone(userId, "lost_access");
      }
    }
    return { closed };
  }

  /** The desk is deleted: closes every socket and drops every byte it held (queue, calls, knowledge base). */
  async purge(): Promise<number> {
    const closed = this.closeAll(CLOSE.GONE);
    this.#storeInst = undefined;
    this.#kbInst = undefined;
    this.#deskRow = undefined;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    log({ event: "support_desk.purged", deskId: this.name });
    return closed;
  }

  /** Closes every socket of a member (logged out everywhere, password changed). */
  async disconnectUser(userId: string): Promise<number> {
    return this.closeUser(userId, CLOSE.SESSION_ENDED);
  }

  /** Closes a visitor's or a member's sockets of one session (token hash / session id). */
  async disconnectSession(sessionId: string): Promise<number> {
    return this.closeSession(sessionId, CLOSE.SESSION_ENDED);
  }

  // --- the knowledge base (desk-knowledge.ts) ------------------------------------------------------

  async kbList(): Promise<KbEntry[]> {
    return this.#kb.list();
  }
  async kbPut(id: string | null, body: KbEntryBody): Promise<KbEntry | null> {
    return this.#kb.put(id, body, Date.now());
  }
  async kbDelete(id: string): Promise<boolean> {
    return this.#kb.delete(id);
  }
  async kbSearch(question: string, language: DeskLanguage, limit: number): Promise<{ entry: KbEntry; score: number }[]> {
    return this.#kb.search(question, language, limit);
  }
}

function entryOf(w: Waiting) {
  return { ticketId: w.ticketId, channelId: w.channelId, visitorName: w.visitorName, requestedAt: w.requestedAt, language: w.language, pageUrl: w.pageUrl, preview: w.preview };
}

function partyUserId(actor: DeskActor): string {
  return actor.kind === "visitor" ? visitorUserId(actor.visitorId) : actor.kind === "manager" ? actor.userId : "api";
}

/** A refused outcome as the socket's error frame. */
function check(r: { error?: Refusal["error"]; message?: string }): void {
  if (r.error) throw new FrameError(r.error, r.message ?? "Refused.");
}
