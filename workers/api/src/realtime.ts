/**
 * WebSocket routes into the Durable Objects (/parties/<party>/<room>). The worker checks
 * Origin, the session and access before the upgrade, and hands the DO the identity in a
 * header it sets itself (any client-sent copy is overwritten).
 */
import { routePartykitRequest } from "partyserver";
import { ApiError, errorBody } from "../../shared/errors";
import { P, formatPermissions } from "../../shared/permissions";
import { CONNECT_TICKET_HEADER, CONNECT_TICKET_PARAM, IDENTITY_HEADER, TICKET_ISSUED_HEADER, type ConnectionIdentity } from "../../shared/realtime";
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

async function identify(req: Request, env: Env, party: string, room: string): Promise<Identified> {
  if (!isOriginAllowed(req, env.ALLOWED_ORIGINS)) {
    throw new ApiError("forbidden_origin", "WebSocket upgrades must come from the Woxly app's own origin.");
  }
  const params = new URL(req.url).searchParams;
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

const PARTIES: Record<string, string> = {
  ChannelRoom: "channel-room",
  CommunityHub: "community-hub",
  UserInbox: "user-inbox",
  SupportDesk: DESK_PARTY,
  CallLink: CALL_LINK_PARTY,
};

export async function routeRealtime(request: Request, env: Env): Promise<Response> {
  const res = await routePartykitRequest(request, env, {
    onBeforeConnect: async (req, lobby) => {
      try {
        const found = await identify(req, env, PARTIES[lobby.className] ?? "", lobby.name);
        const out = new Request(req);
        out.headers.set(IDENTITY_HEADER, JSON.stringify(found.identity));
        // Only the worker sets these: any copy a client sent is dropped.
        out.headers.delete(CONNECT_TICKET_HEADER);
        out.headers.delete(TICKET_ISSUED_HEADER);
        if (found.newTicket) out.headers.set(CONNECT_TICKET_HEADER, found.newTicket);
        if (found.ticketIssuedAt !== undefined) out.headers.set(TICKET_ISSUED_HEADER, String(found.ticketIssuedAt));
        return out;
      } catch (e) {
        return fail(e);
      }
    },
    // Only WebSockets go to the rooms; their HTTP surface is the /api routes.
    onBeforeRequest: () => Response.json(errorBody("not_found", "No such route."), { status: 404 }),
  });
  return res ?? Response.json(errorBody("not_found", "No such route."), { status: 404 });
}
