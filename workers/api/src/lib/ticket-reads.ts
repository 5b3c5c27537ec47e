/**
 * Reading a desk's tickets from D1: a page of the list (newest first, optional status and
 * transcript search) and one ticket's transcript. Access is decided by the caller (policy.ts
 * for managers, the API key for the site owners' API: routes/site-api.ts); these only read the
 * desk they are given, so another desk's ticket is simply not found.
 */
import { and, asc, desc, eq, inArray, lt, or, sql, type SQL } from "drizzle-orm";
import type { z } from "zod";
import type { TicketListQuery, TicketPage, Transcript, TranscriptLine } from "../../../shared/desk";
import { ApiError } from "../../../shared/errors";
import type { Db } from "../../../core/db";
import { ticketView } from "../../../core/desk";
import { ticketMessages, tickets, visitors } from "../../../core/schema";

/** Default page of the ticket list. */
export const TICKET_PAGE = 30;

/** `createdAt.id` of the last ticket of a page. */
function parseCursor(cursor: string | undefined): { at: number; id: string } | null {
  if (!cursor) return null;
  const m = /^(\d{1,16})\.([0-9A-Za-z_-]{1,64})$/.exec(cursor);
  if (!m) throw new ApiError("validation_failed", "Some fields are not valid.", { issues: [{ path: ["cursor"], message: "not a cursor" }] });
  return { at: Number(m[1]), id: m[2]! };
}

/** A page of the desk's tickets, newest first; `q` finds closed tickets whose transcript contains it. */
export async function ticketPage(db: Db, deskId: string, q: z.infer<typeof TicketListQuery>): Promise<TicketPage> {
  const limit = q.limit ?? TICKET_PAGE;
  const after = parseCursor(q.cursor);
  const where: SQL[] = [eq(tickets.deskId, deskId)];
  if (q.status) where.push(eq(tickets.status, q.status));
  if (after) where.push(or(lt(tickets.createdAt, after.at), and(eq(tickets.createdAt, after.at), lt(tickets.id, after.id)))!);
  if (q.q) {
    const like = `%${q.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
    where.push(
      inArray(
        tickets.id,
        db
          .select({ id: ticketMessages.ticketId })
          .from(ticketMessages)
          .innerJoin(tickets, eq(tickets.id, ticketMessages.ticketId))
          .where(and(eq(tickets.deskId, deskId), sql`${ticketMessages.content} LIKE ${like} ESCAPE '\\'`)),
      ),
    );
  }
  const rows = await db
    .select({ t: tickets, v: visitors })
    .from(tickets)
    .innerJoin(visitors, eq(visitors.id, tickets.visitorId))
    .where(and(...where))
    .orderBy(desc(tickets.createdAt), desc(tickets.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { tickets: page.map((r) => ticketView(r.t, r.v)), nextCursor: rows.length > limit && last ? `${last.t.createdAt}.${last.t.id}` : null };
}

/** The lines of a ticket's transcript (copied to D1 when it closed; none before). */
export async function transcriptLines(db: Db, ticketId: string): Promise<TranscriptLine[]> {
  const lines = await db.select().from(ticketMessages).where(eq(ticketMessages.ticketId, ticketId)).orderBy(asc(ticketMessages.seq));
  return lines.map((l) => ({ seq: l.seq, author: { kind: l.authorKind, id: l.authorId, name: l.authorName }, content: l.content, createdAt: l.createdAt }));
}

/** One ticket of the desk with its transcript, or `not_found` (another desk's ticket too). */
export async function deskTranscript(db: Db, deskId: string, ticketId: string): Promise<Transcript> {
  const row = (
    await db
      .select({ t: tickets, v: visitors })
      .from(tickets)
      .innerJoin(visitors, eq(visitors.id, tickets.visitorId))
      .where(and(eq(tickets.id, ticketId), eq(tickets.deskId, deskId)))
      .limit(1)
  )[0];
  if (!row) throw new ApiError("not_found", "No such ticket.");
  return { ticket: ticketView(row.t, row.v), lines: await transcriptLines(db, ticketId) };
}
