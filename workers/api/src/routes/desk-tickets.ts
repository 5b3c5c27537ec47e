/**
 * Managers' ticket routes (docs/support-desk.md "Routes"), mounted under /api/desks:
 *   GET  /:deskId/tickets?status&q&cursor&limit       TicketPage, newest first; `q` searches closed tickets' transcripts
 *   GET  /:deskId/tickets/:ticketId                   Transcript (lines once closed; live messages are in the room)
 *   POST /:deskId/tickets/:ticketId/close             any manager of the desk
 *   POST /:deskId/tickets/:ticketId/transfer          its assignee or an admin (TransferBody)
 *   POST /:deskId/tickets/:ticketId/call-token        its assignee, while its call rings or runs
 *   GET  /:deskId/stats                               DeskStats
 * Who may do each is workers/core/policy.ts: canWorkDesk, canWorkTicket, canJoinTicketCall.
 */
import { Hono } from "hono";
import { and, eq, gte } from "drizzle-orm";
import {
  DeskParam,
  DeskTicketParam,
  OfficeHours,
  TicketListQuery,
  TransferBody,
  type DeskStats,
  type TicketCallToken,
  type Transcript,
  ticketCallRoom,
} from "../../../shared/desk";
import { MEDIA_TOKEN_TTL_SECONDS } from "../../../shared/media";
import { parseJsonWith } from "../../../shared/realtime";
import { localDay, median, ticketView } from "../../../core/desk";
import { issueToken } from "../../../core/media";
import { canJoinTicketCall, canWorkDesk, canWorkTicket, ticketCallGrants } from "../../../core/policy";
import { tickets } from "../../../core/schema";
import { voiceIdentity } from "../../../core/voice-identity";
import type { AppEnv } from "../env";
import { closeTicket, transferTicket } from "../lib/desk-tickets";
import { ticketPage, transcriptLines } from "../lib/ticket-reads";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";
import { deskOf } from "../stubs";

/** The stats window, ms. */
export const STATS_WINDOW_MS = 30 * 86_400_000;

export const deskTicketRoutes = new Hono<AppEnv>()
  .get("/:deskId/tickets", validate("param", DeskParam), validate("query", TicketListQuery), async (c) => {
    const { user } = authed(c);
    const { deskId } = c.req.valid("param");
    const db = c.var.db;
    await canWorkDesk(db, user.id, deskId);
    return c.json(await ticketPage(db, deskId, c.req.valid("query")));
  })
  .get("/:deskId/tickets/:ticketId", validate("param", DeskTicketParam), async (c) => {
    const { user } = authed(c);
    const { deskId, ticketId } = c.req.valid("param");
    const { ticket } = await canWorkTicket(c.var.db, user.id, { ticketId, deskId }, "read");
    const body: Transcript = { ticket: ticketView(ticket.ticket, ticket.visitor), lines: await transcriptLines(c.var.db, ticketId) };
    return c.json(body);
  })
  .post("/:deskId/tickets/:ticketId/close", validate("param", DeskTicketParam), async (c) => {
    const { user } = authed(c);
    const { deskId, ticketId } = c.req.valid("param");
    const { work } = await canWorkTicket(c.var.db, user.id, { ticketId, deskId }, "read");
    return c.json({ ticket: await closeTicket(c.env, deskId, ticketId, { kind: "manager", userId: user.id, isAdmin: work.isAdmin }) });
  })
  .post("/:deskId/tickets/:ticketId/transfer", validate("param", DeskTicketParam), validate("json", TransferBody), async (c) => {
    const { user } = authed(c);
    const { deskId, ticketId } = c.req.valid("param");
    const { work } = await canWorkTicket(c.var.db, user.id, { ticketId, deskId }, "send");
    const to = c.req.valid("json").toUserId;
    return c.json({ ticket: await transferTicket(c.env, deskId, ticketId, { kind: "manager", userId: user.id, isAdmin: work.isAdmin }, to) });
  })
  .post("/:deskId/tickets/:ticketId/call-token", validate("param", DeskTicketParam), async (c) => {
    const { user } = authed(c);
    const { deskId, ticketId } = c.req.valid("param");
    const { ticket } = await canWorkTicket(c.var.db, user.id, { ticketId, deskId }, "read");
    const call = await (await deskOf(c.env, deskId)).callOf(ticketId);
    canJoinTicketCall({ kind: "member", userId: user.id }, ticket.ticket, call);
    const room = ticketCallRoom(ticketId);
    const { url, token } = await issueToken(c.env, {
      identity: await voiceIdentity(c.env.PASSWORD_PEPPER, room, user.id),
      name: user.displayName.slice(0, 64),
      room,
      ttlSeconds: MEDIA_TOKEN_TTL_SECONDS,
      grants: ticketCallGrants(),
    });
    const body: TicketCallToken = { url, token, room };
    return c.json(body);
  })
  .get("/:deskId/stats", validate("param", DeskParam), async (c) => {
    const { user } = authed(c);
    const { deskId } = c.req.valid("param");
    const db = c.var.db;
    const { desk } = await canWorkDesk(db, user.id, deskId);
    const now = Date.now();
    const since = now - STATS_WINDOW_MS;
    const live = await (await deskOf(c.env, deskId)).stats();
    const rows = await db
      .select({
        createdAt: tickets.createdAt,
        requestedAt: tickets.requestedAt,
        acceptedAt: tickets.acceptedAt,
        firstResponseAt: tickets.firstResponseAt,
        rating: tickets.rating,
      })
      .from(tickets)
      .where(and(eq(tickets.deskId, deskId), gte(tickets.createdAt, since)));
    const waits = rows.filter((r) => r.requestedAt !== null && r.acceptedAt !== null).map((r) => r.acceptedAt! - r.requestedAt!);
    const firsts = rows.filter((r) => r.requestedAt !== null && r.firstResponseAt !== null).map((r) => r.firstResponseAt! - r.requestedAt!);
    const ratings = rows.map((r) => r.rating).filter((r): r is number => r !== null);
    const zone = parseJsonWith(OfficeHours, desk.officeHours)?.timeZone ?? null;
    const perDay = new Map<string, number>();
    for (let d = 29; d >= 0; d--) perDay.set(localDay(now - d * 86_400_000, zone), 0);
    for (const r of rows) {
      const day = localDay(r.createdAt, zone);
      if (perDay.has(day)) perDay.set(day, perDay.get(day)! + 1);
    }
    const body: DeskStats = {
      waitingNow: live.waitingNow,
      managersOnline: live.managersOnline,
      medianFirstResponseMs: median(firsts),
      medianWaitMs: median(waits),
      averageRating: ratings.length ? ratings.reduce((a, b) => a + b, 0) / ratings.length : null,
      ratings: ratings.length,
      perDay: [...perDay].map(([day, n]) => ({ day, tickets: n })),
    };
    return c.json(body);
  });
