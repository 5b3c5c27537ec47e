/**
 * The site owners' API (docs/support-desk-assistant.md "Site owners' API"), mounted at
 * /api/v1: a website's own server lists its desk's tickets, reads a transcript and closes a
 * ticket with a desk API key, `Authorization: Bearer wxk_…`. No cookie (a request carrying a
 * session cookie is refused before it gets here: middleware/hygiene.ts originCheck) and no
 * Origin needed. The key is looked up by its SHA-256 (only the hash is stored) and opens its
 * own desk only: another desk's ticket answers 404, like one that does not exist.
 */
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { Hono } from "hono";
import { SiteTicketParam, TicketListQuery, type TicketPage, type TicketResponse, type Transcript } from "../../../shared/desk";
import { ApiError } from "../../../shared/errors";
import { sha256Hex, timingSafeEqual } from "../../../core/crypto";
import { deskApiKeys } from "../../../core/schema";
import type { AppEnv } from "../env";
import { closeTicket } from "../lib/desk-tickets";
import { deskTranscript, ticketPage } from "../lib/ticket-reads";
import { validate } from "../middleware/validate";

/** lastUsedAt is written at most this often per key (ms), so busy integrations do not write D1 on every call. */
const LAST_USED_GRANULARITY_MS = 60_000;

const unauthorized = () =>
  new ApiError("unauthorized", "Send the desk's API key: Authorization: Bearer wxk_…", { headers: { "WWW-Authenticate": 'Bearer realm="woxly"' } });

const enc = new TextEncoder();

/** The desk a request's API key opens (its id), or 401 for a missing, unknown or revoked key. */
async function keyDesk(c: Context<AppEnv>): Promise<string> {
  const m = /^[Bb][Ee][Aa][Rr][Ee][Rr] (wxk_[0-9a-z]{1,128})$/.exec(c.req.header("authorization") ?? "");
  if (!m) throw unauthorized();
  const hash = await sha256Hex(m[1]!);
  const db = c.var.db;
  const row = (await db.select().from(deskApiKeys).where(eq(deskApiKeys.keyHash, hash)).limit(1))[0];
  // The index finds the row by hash; the stored hash is still compared in constant time.
  if (!row || !timingSafeEqual(enc.encode(row.keyHash), enc.encode(hash))) throw unauthorized();
  const now = Date.now();
  if (row.lastUsedAt === null || now - row.lastUsedAt >= LAST_USED_GRANULARITY_MS) {
    await db.update(deskApiKeys).set({ lastUsedAt: now }).where(eq(deskApiKeys.id, row.id));
  }
  return row.deskId;
}

export const siteApi = new Hono<AppEnv>()
  .get("/tickets", validate("query", TicketListQuery), async (c) => {
    const deskId = await keyDesk(c);
    return c.json((await ticketPage(c.var.db, deskId, c.req.valid("query"))) satisfies TicketPage);
  })
  .get("/tickets/:ticketId", validate("param", SiteTicketParam), async (c) => {
    const deskId = await keyDesk(c);
    return c.json((await deskTranscript(c.var.db, deskId, c.req.valid("param").ticketId)) satisfies Transcript);
  })
  .post("/tickets/:ticketId/close", validate("param", SiteTicketParam), async (c) => {
    const deskId = await keyDesk(c);
    const { ticketId } = c.req.valid("param");
    // Another desk's ticket: 404 here, before the desk's object is asked.
    await deskTranscript(c.var.db, deskId, ticketId);
    return c.json({ ticket: await closeTicket(c.env, deskId, ticketId, { kind: "api" }) } satisfies TicketResponse);
  });
