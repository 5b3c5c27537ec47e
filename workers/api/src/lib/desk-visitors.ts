/**
 * Visitors of a desk: their bearer token (VISITOR_TOKEN_BITS random bits, shown once, stored as
 * SHA-256), the visitor row it opens, their current ticket, and the identity their sockets
 * carry into the Durable Objects.
 */
import type { Context } from "hono";
import { and, desc, eq } from "drizzle-orm";
import { visitorUserId } from "../../../shared/desk";
import { ApiError } from "../../../shared/errors";
import { formatPermissions } from "../../../shared/permissions";
import type { ConnectionIdentity } from "../../../shared/realtime";
import { sha256Hex } from "../../../core/crypto";
import type { Db } from "../../../core/db";
import type { VisitorRow } from "../../../core/desk";
import { visitorRoomPerms } from "../../../core/policy";
import { tickets, visitors } from "../../../core/schema";
import type { AppEnv } from "../env";
import { take } from "./throttle";

const BEARER = /^Bearer ([0-9a-z]{40,80})$/;

/** Requests per visitor (every visitor route but the public config). */
export const VISITOR_REQUEST_LIMIT = { max: 60, windowMs: 60_000 };

/** The visitor of the request (visitorFrom), after their request budget is taken. */
export async function requestingVisitor(c: Context<AppEnv>): Promise<VisitorRow> {
  const v = await visitorFrom(c);
  await take(c.var.db, `widget-visitor:${v.id}`, VISITOR_REQUEST_LIMIT, "Too many requests.");
  return v;
}

/** The visitor whose token the request carries (`Authorization: Bearer …`), or 401. */
export async function visitorFrom(c: Context<AppEnv>): Promise<VisitorRow> {
  const m = BEARER.exec(c.req.header("authorization") ?? "");
  const v = m ? await visitorByToken(c.var.db, m[1]!) : undefined;
  if (!v) throw new ApiError("unauthorized", "This visitor session is not valid. Start again.");
  return v;
}

export async function visitorByToken(db: Db, token: string): Promise<VisitorRow | undefined> {
  return (await db.select().from(visitors).where(eq(visitors.tokenHash, await sha256Hex(token))).limit(1))[0];
}

export async function visitorById(db: Db, id: string): Promise<VisitorRow | undefined> {
  return (await db.select().from(visitors).where(eq(visitors.id, id)).limit(1))[0];
}

/** The visitor's latest ticket (the one the widget shows), or undefined before their first question. */
export async function latestTicket(db: Db, visitorId: string) {
  return (await db.select().from(tickets).where(eq(tickets.visitorId, visitorId)).orderBy(desc(tickets.createdAt), desc(tickets.id)).limit(1))[0];
}

/** A ticket of this visitor by id (undefined for anyone else's). */
export async function visitorTicket(db: Db, visitorId: string, ticketId: string) {
  return (await db.select().from(tickets).where(and(eq(tickets.id, ticketId), eq(tickets.visitorId, visitorId))).limit(1))[0];
}

/** What a visitor's socket tells an object: no account, their own ticket's room only (`perms` there). */
export function visitorIdentity(v: VisitorRow, perms: bigint): ConnectionIdentity {
  return {
    userId: visitorUserId(v.id),
    username: "visitor",
    displayName: v.name ?? "Visitor",
    communityId: null,
    perms: formatPermissions(perms),
    sessionId: v.tokenHash,
    kind: "visitor",
  };
}

export { visitorRoomPerms };
