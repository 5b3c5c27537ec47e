/**
 * WebSocket routes into the Durable Objects (/parties/<party>/<room>). The worker checks
 * Origin, the session and access before the upgrade, and hands the DO the identity in a
 * header it sets itself (any client-sent copy is overwritten).
 */
import { ApiError, errorBody } from "../../shared/errors";
import { P, formatPermissions } from "../../shared/permissions";
import { CONNECT_TICKET_HEADER, CONNECT_TICKET_PARAM, IDENTITY_HEADER, RESUME_PARAM, TICKET_ISSUED_HEADER, type ConnectionIdentity, readResumeSince } from "../../shared/realtime";
import { canChat, canSeeCommunity, canWorkDesk, visitorRoomPerms } from "../../core/policy";
import { loadTicket } from "../../core/desk";
import { DESK_PARTY, ROOM_PARTY, openSocketTicket } from "./lib/desk-sockets";
import { latestTicket, visitorById, visitorIdentity } from "./lib/desk-visitors";
import { CALL_LINK_PARTY, callChatIdentity, callSocketIdentity } from "./lib/call-links";
import { loadSession, sessionTokenFrom } from "./lib/sessions";
import { makeDb } from "../../core/db";
import { isOriginAllowed } from "./middleware/origin";
import { openConnectTicket, signConnectTicket } from "./lib/connect-tickets";

/** What the worker found out about an upgrade: who, and how (a ticket it came with, or one to hand out). */
interface Identified {
  identity: ConnectionIdentity;
  /** The upgrade came with a connect ticket issued at this time (ms); the room judges whether it is stale. */
  ticketIssuedAt?: number;
  /** A new connect ticket for the room to hand the client in `ready`. */
  newTicket?: string;
}

function fail(e: unknown): Response {
  if (e instanceof ApiError) return Response.json(errorBody(e.code, e.message), { status: e.status });
  throw e;
}

async function identify(req: Request, env: Env, party: string, room: string, params: URLSearchParams): Promise<Identified> {
  if (!isOriginAllowed(req, env.ALLOWED_ORIGINS)) {
    throw new ApiError("forbidden_origin", "WebSocket upgrades must come from the Woxly app's own origin.");
  }
  const connectTicket = params.get(CONNECT_TICKET_PARAM);
  if (connectTicket !== null) {
    // Checked on its signature alone: no D1 round trip (the room refuses it if it is stale).
    const t = party === "channel-room" ? await openConnectTicket(env.PASSWORD_PEPPER, connectTicket, room) : null;
    if (!t) throw new ApiError("invalid_ticket", "The connect ticket is not valid for this room, or it has expired. Connect without it.");
    return { identity: t.identity, ticketIssuedAt: t.issuedAt };
  }
  const db = makeDb(env.DB);
  const ticket = params.get("ticket");
  if (ticket !== null) return { identity: await identifyVisitor(env, db, ticket, party, room) };
  // Call links: members by session, guests by their guest cookie (lib/call-links.ts).
  if (party === CALL_LINK_PARTY) return { identity: await callSocketIdentity(env, db, req, room) };
  // Taken before the access check: a ticket is never newer than what that check saw.
  const checkedAt = Date.now();
  const token = sessionTokenFrom(req.headers.get("cookie"), req.url);
  const s = token ? await loadSession(db, token) : undefined;
  if (!s) {
    // Without a session, only a call link's guest, and only into their call's chat.
    const guest = party === "channel-room" ? await callChatIdentity(env, db, req, room) : undefined;
    if (guest) return { identity: guest };
    throw new ApiError("unauthorized", "Log in to continue.");
  }
  const base = { userId: s.user.id, username: s.user.username, displayName: s.user.displayName, sessionId: s.session.id };
  if (party === "channel-room") {
    try {
      // canChat, not canSeeChannel: only channels with a chat have a room (a category's id
      // would open a room no screen shows and no ban or revalidation ever closes).
      const a = await canChat(db, s.user.id, room, P.VIEW_CHANNEL);
      const until = a.community?.timeoutUntil;
      // A timed-out member's room gives their permissions back when the timeout ends (docs/moderation.md).
      const identity: ConnectionIdentity = { ...base, communityId: a.channel.communityId, perms: formatPermissions(a.perms), ...(until && until > checkedAt ? { timeoutUntil: until } : {}) };
      const newTicket = await signConnectTicket(env.PASSWORD_PEPPER, room, identity, checkedAt);
      // A name long enough to push the ticket past what openPayload reads gets none (the cookie path still works).
      return newTicket.length <= 1024 ? { identity, newTicket } : { identity };
    } catch (e) {
      // Not a channel, DM or ticket of theirs: a call link's chat has its own rules.
      const call = e instanceof ApiError && e.code === "not_found" ? await callChatIdentity(env, db, req, room) : undefined;
      if (call) return { identity: call };
      throw e;
    }
  }
  if (party === "community-hub") {
    const a = await canSeeCommunity(db, s.user.id, room);
    return { identity: { ...base, communityId: a.community.id, perms: formatPermissions(a.perms) } };
  }
  if (party === DESK_PARTY) {
    const w = await canWorkDesk(db, s.user.id, room);
    return { identity: { ...base, communityId: w.desk.communityId, perms: formatPermissions(w.access.perms) } };
  }
  if (party === "user-inbox") {
    // Only one's own inbox; another user's looks like nothing at all.
    if (room !== s.user.id) throw new ApiError("not_found", "No such realtime endpoint.");
    return { identity: { ...base, communityId: null, perms: "0" } };
  }
  throw new ApiError("not_found", "No such realtime endpoint.");
}

/**
 * A visitor's socket (the widget's iframe): a signed socket ticket (lib/desk-sockets.ts) for
 * this party and room, a visitor who still exists, and for a ticket's room their own current
 * ticket. Anything else looks like nothing at all (404).
 */
async function identifyVisitor(env: Env, db: ReturnType<typeof makeDb>, ticket: string, party: string, room: string): Promise<ConnectionIdentity> {
  const nothing = () => new ApiError("not_found", "No such realtime endpoint.");
  if (party !== DESK_PARTY && party !== ROOM_PARTY) throw nothing();
  const t = await openSocketTicket(env.PASSWORD_PEPPER, ticket, party, room);
  const v = t && (await visitorById(db, t.v));
  if (!v) throw nothing();
  if (party === DESK_PARTY) {
    if (v.deskId !== room) throw nothing();
    return visitorIdentity(v, 0n);
  }
  const own = await latestTicket(db, v.id);
  const loaded = own && own.channelId === room ? await loadTicket(db, { ticketId: own.id }) : undefined;
  if (!loaded) throw nothing();
  return visitorIdentity(v, visitorRoomPerms(loaded.ticket.status));
}

/** The socket-holding objects by party (the path's kebab-case name of their binding). */
const PARTIES: Record<string, "ChannelRoom" | "CommunityHub" | "UserInbox" | "SupportDesk" | "CallLink"> = {
  "channel-room": "ChannelRoom",
  "community-hub": "CommunityHub",
  "user-inbox": "UserInbox",
  [DESK_PARTY]: "SupportDesk",
  [CALL_LINK_PARTY]: "CallLink",
};

/** Headers partyserver's Server reads from its request (props, a name for objects without one): never a client's. */
const PARTYSERVER_HEADERS = ["x-partykit-props", "x-partykit-room", "x-partykit-namespace", "x-partykit-jurisdiction"];

const noRoute = () => Response.json(errorBody("not_found", "No such route."), { status: 404 });

/**
 * `/parties/<party>/<room>`: the upgrade is identified here, then handed straight to the
 * room's stub, addressed by name (partyserver's Server takes its name from `ctx.id.name`
 * and its connection id from `_pk`). This is what partyserver's `routePartykitRequest` did,
 * without its generic routing: one copy of the request instead of three, no props.
 */
export async function routeRealtime(request: Request, env: Env, url = new URL(request.url)): Promise<Response> {
  const parts = url.pathname.split("/").filter(Boolean);
  const party = parts[1] ?? "";
  const room = parts[2];
  const binding = Object.hasOwn(PARTIES, party) ? PARTIES[party] : undefined;
  // Only WebSockets go to the rooms; their HTTP surface is the /api routes.
  if (parts[0] !== "parties" || !room || !binding || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return noRoute();
  let found: Identified;
  try {
    // Refused before anything else is looked up: a client that sends a bad `since` is broken.
    if (readResumeSince(url.searchParams.get(RESUME_PARAM)) === null) {
      throw new ApiError("validation_failed", `The ${RESUME_PARAM} parameter must be a seq: a whole number from 0 up.`);
    }
    found = await identify(request, env, party, room, url.searchParams);
  } catch (e) {
    return fail(e);
  }
  const headers = new Headers(request.headers);
  headers.set(IDENTITY_HEADER, JSON.stringify(found.identity));
  // Only the worker sets these: any copy a client sent is dropped.
  headers.delete(CONNECT_TICKET_HEADER);
  headers.delete(TICKET_ISSUED_HEADER);
  for (const h of PARTYSERVER_HEADERS) headers.delete(h);
  if (found.newTicket) headers.set(CONNECT_TICKET_HEADER, found.newTicket);
  if (found.ticketIssuedAt !== undefined) headers.set(TICKET_ISSUED_HEADER, String(found.ticketIssuedAt));
  const out = new Request(request, { headers });
  const stub = (env[binding] as DurableObjectNamespace).getByName(room);
  return retried(() => stub.fetch(out));
}

/**
 * A stub fetch tried up to 3 times when the runtime says the error is retryable (and not an
 * overload), after a random wait of up to 100 then 200 ms — partyserver's routing retry. An
 * upgrade has no body, so the same request goes again.
 */
async function retried(fetchOnce: () => Promise<Response>): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchOnce();
    } catch (e) {
      const retryable = typeof e === "object" && e !== null && Reflect.get(e, "retryable") === true && Reflect.get(e, "overloaded") !== true;
      if (!retryable || attempt >= 3) throw e;
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 100 * 2 ** (attempt - 1))));
    }
  }
}
