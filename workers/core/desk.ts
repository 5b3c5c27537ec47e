/**
 * Support desk facts shared by the api worker and the SupportDesk object: D1 rows of desks and
 * tickets turned into the shared views (workers/shared/desk.ts), office hours in the desk's
 * time zone, and the loaders the policy reads (one desk, one ticket with its desk). Decides
 * nothing about access: policy.ts does.
 */
import { eq } from "drizzle-orm";
import { type Desk, OfficeHours, type Ticket } from "../shared/desk";
import { parseJsonWith } from "../shared/realtime";
import { z } from "zod";
import { desks, tickets, visitors } from "./schema";
import type { Db } from "./db";

export type DeskRow = typeof desks.$inferSelect;
export type TicketRow = typeof tickets.$inferSelect;
export type VisitorRow = typeof visitors.$inferSelect;

const Origins = z.array(z.string());

/** Who acts on a ticket: its visitor, a manager (isAdmin: MANAGE_COMMUNITY), or the site owner's server. */
export type DeskActor = { kind: "visitor"; visitorId: string } | { kind: "manager"; userId: string; isAdmin: boolean } | { kind: "api" };

/** A SupportDesk RPC's refusal (RPC keeps no error classes): the code and message the caller turns into its own error. */
export type Refusal = { error: "not_found" | "forbidden" | "at_capacity"; message: string };
/** A SupportDesk RPC's answer: the result, or a refusal. */
export type Outcome<T> = ({ error?: undefined } & T) | Refusal;

export function deskView(r: DeskRow): Desk {
  return {
    id: r.id,
    communityId: r.communityId,
    name: r.name,
    greeting: r.greeting,
    colour: r.colour,
    officeHours: parseJsonWith(OfficeHours, r.officeHours),
    allowedOrigins: parseJsonWith(Origins, r.allowedOrigins) ?? [],
    managerRoleId: r.managerRoleId,
    capacity: r.capacity,
    autoAssign: r.autoAssign,
    createdAt: r.createdAt,
  };
}

/** The visitor's fields a ticket shows. */
export type VisitorFacts = Pick<VisitorRow, "name" | "email" | "pageUrl" | "language" | "timeZone">;

export function ticketView(t: TicketRow, v: VisitorFacts): Ticket {
  return {
    id: t.id,
    deskId: t.deskId,
    channelId: t.channelId,
    status: t.status,
    visitor: { name: v.name ?? "Visitor", email: v.email, pageUrl: v.pageUrl, language: v.language, timeZone: v.timeZone },
    assigneeId: t.assigneeId,
    createdAt: t.createdAt,
    requestedAt: t.requestedAt,
    acceptedAt: t.acceptedAt,
    firstResponseAt: t.firstResponseAt,
    closedAt: t.closedAt,
    rating: t.rating,
    ratingComment: t.ratingComment,
  };
}

export async function loadDesk(db: Db, deskId: string): Promise<DeskRow | undefined> {
  return (await db.select().from(desks).where(eq(desks.id, deskId)).limit(1))[0];
}

/** A ticket with its visitor and desk, by ticket id or by its room's channel id; one query. */
export async function loadTicket(db: Db, by: { ticketId: string } | { channelId: string }) {
  const where = "ticketId" in by ? eq(tickets.id, by.ticketId) : eq(tickets.channelId, by.channelId);
  const row = (
    await db
      .select({ ticket: tickets, visitor: visitors, desk: desks })
      .from(tickets)
      .innerJoin(visitors, eq(visitors.id, tickets.visitorId))
      .innerJoin(desks, eq(desks.id, tickets.deskId))
      .where(where)
      .limit(1)
  )[0];
  return row;
}
export type LoadedTicket = NonNullable<Awaited<ReturnType<typeof loadTicket>>>;

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** Weekday (0 = Sunday) and minutes since local midnight at `now` (ms) in an IANA zone; UTC when the zone is unknown. */
export function localTime(now: number, timeZone: string): { day: number; minute: number } {
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  } catch {
    fmt = new Intl.DateTimeFormat("en-US", { timeZone: "UTC", weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }
  const parts = Object.fromEntries(fmt.formatToParts(new Date(now)).map((p) => [p.type, p.value]));
  return { day: WEEKDAYS[parts.weekday ?? "Sun"] ?? 0, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** Within office hours at `now` (ms)? Always without hours. Intervals are [from, to) in local minutes. */
export function withinOfficeHours(hours: OfficeHours | null, now: number): boolean {
  if (!hours) return true;
  const { day, minute } = localTime(now, hours.timeZone);
  return (hours.days[day] ?? []).some((i) => minute >= i.from && minute < i.to);
}

/** `YYYY-MM-DD` of `now` (ms) in an IANA zone (UTC when unknown), for per-day counts. */
export function localDay(now: number, timeZone: string | null): string {
  try {
    return new Intl.DateTimeFormat("en-CA", { timeZone: timeZone ?? "UTC", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(now));
  } catch {
    return new Date(now).toISOString().slice(0, 10);
  }
}

/** The median of a list of numbers, or null when empty. */
export function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
