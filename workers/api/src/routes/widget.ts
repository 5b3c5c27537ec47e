/**
 * The visitor API (docs/support-desk.md "Routes", visitor table): what the widget's iframe —
 * served from Woxly's own origin — calls with `Authorization: Bearer <visitor token>`. Only
 * `GET /widget/desks/:deskId` is public and read cross-origin by widget.js on the host page
 * (CORS for the desk's allowed origins only). A visitor reaches their own ticket only:
 * anything else answers 404. Every visitor request is rate-limited (lib/throttle.ts).
 */
import { Hono, type Context } from "hono";
import { and, eq, inArray, isNull } from "drizzle-orm";
import { type HistoryPage, HistoryQuery } from "../../../shared/chat";
import {
  ASSISTANT_AUTHOR_ID,
  AskBody,
  DeskParam,
  FileLinksBody,
  type FileLinks,
  LeaveMessageBody,
  RateBody,
  RequestHumanBody,
  StartVisitorBody,
  type AssistantAnswer,
  type RequestHumanAnswer,
  type SocketTickets,
  type TicketCallToken,
  type VisitorSession,
  type WidgetConfig,
  type WidgetState,
  ticketCallRoom,
  visitorUserId,
} from "../../../shared/desk";
import { ApiError } from "../../../shared/errors";
import { randomToken, newId } from "../../../shared/ids";
import { MEDIA_TOKEN_TTL_SECONDS } from "../../../shared/media";
import { answer } from "../../../core/assistant";
import { sha256Hex } from "../../../core/crypto";
import { type VisitorRow, deskView, loadDesk, ticketView, withinOfficeHours } from "../../../core/desk";
import { issueToken } from "../../../core/media";
import { canJoinTicketCall, ticketCallGrants } from "../../../core/policy";
import { attachments, tickets, visitors } from "../../../core/schema";
import { voiceIdentity } from "../../../core/voice-identity";
import type { AppEnv } from "../env";
import { fileLinkExpiry, visitorFileLink } from "../lib/desk-files";
import { DESK_PARTY, ROOM_PARTY, signSocketTicket } from "../lib/desk-sockets";
import { closeTicket, unwrap } from "../lib/desk-tickets";
import { VISITOR_REQUEST_LIMIT, latestTicket, requestingVisitor } from "../lib/desk-visitors";
import { clientIp, take } from "../lib/throttle";
import { validate } from "../middleware/validate";
import { deskOf, roomOf } from "../stubs";

/** New visitors per client address, by default (the WIDGET_VISITOR_START_LIMIT var overrides `max`). */
export const VISITOR_START_LIMIT = { max: 10, windowMs: 10 * 60_000 };

/** New visitors per client address in this deployment: the var when it is a positive integer, else the default. */
export function visitorStartLimit(env: { WIDGET_VISITOR_START_LIMIT?: string }): typeof VISITOR_START_LIMIT {
  const n = Number(env.WIDGET_VISITOR_START_LIMIT);
  return Number.isSafeInteger(n) && n > 0 ? { ...VISITOR_START_LIMIT, max: n } : VISITOR_START_LIMIT;
}
export { VISITOR_REQUEST_LIMIT };
/** Questions to the assistant per visitor. */
export const VISITOR_ASK_LIMIT = { max: 20, windowMs: 60_000 };

const visitor = requestingVisitor;

/** The visitor's latest ticket, or 404 before their first question. */
async function currentTicket(c: Context<AppEnv>, v: VisitorRow) {
  const t = await latestTicket(c.var.db, v.id);
  if (!t) throw new ApiError("not_found", "No such ticket.");
  return t;
}

const VISITOR_AUTHOR = (v: VisitorRow) => ({ id: visitorUserId(v.id), username: "visitor", displayName: v.name ?? "Visitor" });
const ASSISTANT_AUTHOR = { id: ASSISTANT_AUTHOR_ID, username: "assistant", displayName: "Assistant" };

async function deskOrNotFound(c: Context<AppEnv>, deskId: string) {
  const d = await loadDesk(c.var.db, deskId);
  if (!d) throw new ApiError("not_found", "No such desk.");
  return deskView(d);
}

export const widget = new Hono<AppEnv>()
  .get("/desks/:deskId", validate("param", DeskParam), async (c) => {
    const desk = await deskOrNotFound(c, c.req.valid("param").deskId);
    // widget.js reads this from the host page: CORS only for the desk's allowed origins.
    c.header("Vary", "Origin");
    const origin = c.req.header("origin")?.toLowerCase();
    if (origin && desk.allowedOrigins.includes(origin)) c.header("Access-Control-Allow-Origin", origin);
    const { managersOnline } = await (await deskOf(c.env, desk.id)).stats();
    const body: WidgetConfig = {
      deskId: desk.id,
      name: desk.name,
      greeting: desk.greeting,
      colour: desk.colour,
      open: withinOfficeHours(desk.officeHours, Date.now()),
      managersOnline,
      allowedOrigins: desk.allowedOrigins,
    };
    return c.json(body);
  })
  .post("/desks/:deskId/visitors", validate("param", DeskParam), validate("json", StartVisitorBody), async (c) => {
    const db = c.var.db;
    await take(db, `widget-start:${clientIp(c.req.raw)}`, visitorStartLimit(c.env), "Too many new conversations from this address.");
    const desk = await deskOrNotFound(c, c.req.valid("param").deskId);
    const body = c.req.valid("json");
    const origin = body.context.origin.trim().toLowerCase();
    if (!desk.allowedOrigins.includes(origin)) throw new ApiError("forbidden_origin", "This website may not embed this desk.");
    const token = randomToken(256);
    const now = Date.now();
    const id = newId(now);
    await db.insert(visitors).values({
      id,
      deskId: desk.id,
      name: body.name ?? null,
      tokenHash: await sha256Hex(token),
      origin,
      pageUrl: body.context.pageUrl ?? null,
      language: body.context.language ?? null,
      timeZone: body.context.timeZone ?? null,
      createdAt: now,
      lastSeenAt: now,
    });
    const session: VisitorSession = { visitorId: id, token };
    return c.json(session, 201);
  })
  .get("/me", async (c) => {
    const v = await visitor(c);
    const t = await latestTicket(c.var.db, v.id);
    const queue = t?.status === "queued" ? await (await deskOf(c.env, v.deskId)).position(t.id) : null;
    const state: WidgetState = { visitorId: v.id, deskId: v.deskId, name: v.name ?? "Visitor", ticket: t ? ticketView(t, v) : null, queue };
    return c.json(state);
  })
  .get("/history", validate("query", HistoryQuery), async (c) => {
    const v = await visitor(c);
    const t = await latestTicket(c.var.db, v.id);
    if (!t) {
      const empty: HistoryPage = { messages: [], headSeq: 0, hasBefore: false, hasAfter: false };
      return c.json(empty);
    }
    return c.json(await (await roomOf(c.env, t.channelId)).history(c.req.valid("query")));
  })
  .post("/ask", validate("json", AskBody), async (c) => {
    const v = await visitor(c);
    const db = c.var.db;
    await take(db, `widget-ask:${v.id}`, VISITOR_ASK_LIMIT, "Too many questions.");
    const { question, language } = c.req.valid("json");
    const desk = await deskOf(c.env, v.deskId);
    const { ticketId, channelId } = await desk.ensureTicket({ id: v.id, name: v.name, preview: question });
    const t = (await db.select().from(tickets).where(eq(tickets.id, ticketId)).limit(1))[0];
    if (!t) throw new ApiError("not_found", "No such ticket.");
    if (t.status === "open") throw new ApiError("bad_request", "A manager is with you now: write in the conversation.");
    const room = await roomOf(c.env, channelId);
    await room.postAs({ author: VISITOR_AUTHOR(v), content: question });
    const hits = await desk.kbSearch(question, language, 3);
    const reply = await answer(c.env, hits, question, language);
    await room.postAs({ author: ASSISTANT_AUTHOR, content: reply.answer });
    await db.update(tickets).set({ preview: question.slice(0, 140) }).where(eq(tickets.id, ticketId));
    const body: AssistantAnswer = { ...reply, ticket: ticketView({ ...t, preview: question }, v) };
    return c.json(body);
  })
  .post("/request-human", validate("json", RequestHumanBody), async (c) => {
    const v = await visitor(c);
    const { language: asked, whenAvailable } = c.req.valid("json");
    const language = asked ?? v.language;
    const prev = await latestTicket(c.var.db, v.id);
    if (whenAvailable && prev?.status !== "queued" && prev?.status !== "open") {
      // The widget's button: the facts of now decide between the queue and a message.
      const d = await deskOrNotFound(c, v.deskId);
      const open = withinOfficeHours(d.officeHours, Date.now());
      const { managersOnline } = await (await deskOf(c.env, v.deskId)).stats();
      if (!open || managersOnline === 0) {
        const body: RequestHumanAnswer = { leaveMessage: true, open, managersOnline };
        return c.json(body);
      }
    }
    const r = unwrap(
      await (await deskOf(c.env, v.deskId)).requestHuman({ id: v.id, name: v.name, language, pageUrl: v.pageUrl, preview: prev?.preview ?? "" }),
    );
    const body: RequestHumanAnswer = { ticket: r.ticket, queue: r.queue };
    return c.json(body);
  })
  .post("/leave-message", validate("json", LeaveMessageBody), async (c) => {
    const v = await visitor(c);
    const db = c.var.db;
    const { email, message } = c.req.valid("json");
    const d = await deskOrNotFound(c, v.deskId);
    const desk = await deskOf(c.env, v.deskId);
    const { managersOnline } = await desk.stats();
    if (withinOfficeHours(d.officeHours, Date.now()) && managersOnline > 0) {
      throw new ApiError("bad_request", "Managers are online now: ask for one instead.");
    }
    const { ticketId, channelId } = await desk.ensureTicket({ id: v.id, name: v.name, preview: message });
    const moved = await db
      .update(tickets)
      .set({ status: "offline", preview: message.slice(0, 140) })
      .where(and(eq(tickets.id, ticketId), inArray(tickets.status, ["assistant", "queued"])))
      .returning({ id: tickets.id });
    if (!moved.length) throw new ApiError("bad_request", "This conversation is already with a manager or closed.");
    await db.update(visitors).set({ email }).where(eq(visitors.id, v.id));
    await desk.markOffline(v.id, ticketId);
    await (await roomOf(c.env, channelId)).postAs({ author: VISITOR_AUTHOR(v), content: message });
    const t = (await db.select().from(tickets).where(eq(tickets.id, ticketId)).limit(1))[0]!;
    return c.json({ ticket: ticketView(t, { ...v, email }) });
  })
  .post("/close", async (c) => {
    const v = await visitor(c);
    const t = await currentTicket(c, v);
    return c.json({ ticket: await closeTicket(c.env, v.deskId, t.id, { kind: "visitor", visitorId: v.id }) });
  })
  .post("/rate", validate("json", RateBody), async (c) => {
    const v = await visitor(c);
    const t = await currentTicket(c, v);
    const { rating, comment } = c.req.valid("json");
    if (t.status !== "closed") throw new ApiError("conflict", "A conversation can be rated once it is closed.");
    const rated = await c.var.db
      .update(tickets)
      .set({ rating, ratingComment: comment ?? null })
      .where(and(eq(tickets.id, t.id), eq(tickets.status, "closed"), eq(tickets.visitorId, v.id), isNull(tickets.rating)))
      .returning();
    if (!rated[0]) throw new ApiError("conflict", "This conversation has already been rated.");
    return c.json({ ticket: ticketView(rated[0], v) });
  })
  .post("/file-links", validate("json", FileLinksBody), async (c) => {
    const v = await visitor(c);
    const db = c.var.db;
    const ids = [...new Set(c.req.valid("json").ids)];
    // Files of the visitor's tickets' rooms only: ones a message carries, or their own uploads.
    const rows = await db
      .select({ id: attachments.id, channelId: attachments.channelId, filename: attachments.filename, uploaderId: attachments.uploaderId })
      .from(attachments)
      .innerJoin(tickets, eq(tickets.channelId, attachments.channelId))
      .where(and(inArray(attachments.id, ids), eq(tickets.visitorId, v.id)));
    const byChannel = new Map<string, typeof rows>();
    for (const r of rows) byChannel.set(r.channelId, [...(byChannel.get(r.channelId) ?? []), r]);
    const expiresAt = fileLinkExpiry();
    const body: FileLinks = { links: {}, expiresAt };
    for (const [channelId, files] of byChannel) {
      const others = files.filter((f) => f.uploaderId !== visitorUserId(v.id)).map((f) => f.id);
      const used = new Set(others.length ? await (await roomOf(c.env, channelId)).attachmentsInUse(others) : []);
      for (const f of files) {
        if (f.uploaderId === visitorUserId(v.id) || used.has(f.id)) body.links[f.id] = await visitorFileLink(c.env.PASSWORD_PEPPER, f, v.id, expiresAt);
      }
    }
    return c.json(body);
  })
  .post("/sockets", async (c) => {
    const v = await visitor(c);
    const t = await latestTicket(c.var.db, v.id);
    const secret = c.env.PASSWORD_PEPPER;
    const body: SocketTickets = {
      desk: await signSocketTicket(secret, { p: DESK_PARTY, r: v.deskId, v: v.id }),
      room: t ? await signSocketTicket(secret, { p: ROOM_PARTY, r: t.channelId, v: v.id }) : null,
    };
    return c.json(body);
  })
  .post("/call-token", async (c) => {
    const v = await visitor(c);
    const t = await currentTicket(c, v);
    const call = await (await deskOf(c.env, v.deskId)).callOf(t.id);
    canJoinTicketCall({ kind: "visitor", visitorId: v.id }, t, call);
    const room = ticketCallRoom(t.id);
    const { url, token } = await issueToken(c.env, {
      identity: await voiceIdentity(c.env.PASSWORD_PEPPER, room, visitorUserId(v.id)),
      name: (v.name ?? "Visitor").slice(0, 64),
      room,
      ttlSeconds: MEDIA_TOKEN_TTL_SECONDS,
      grants: ticketCallGrants(),
    });
    const body: TicketCallToken = { url, token, room };
    return c.json(body);
  });
