/**
 * WebSocket routes into the Durable Objects (/parties/<party>/<room>). The worker checks
 * Origin, the session and access before the upgrade, and hands the DO the identity in a
 * header it sets itself (any client-sent copy is overwritten).
 */
import { routePartykitRequest } from "partyserver";
import { ApiError, errorBody } from "../../shared/errors";
import { P, formatPermissions } from "../../shared/permissions";
import { IDENTITY_HEADER, type ConnectionIdentity } from "../../shared/realtime";
import { canChat, canSeeCommunity } from "../../core/policy";
import { loadSession, sessionTokenFrom } from "./lib/sessions";
import { makeDb } from "../../core/db";
import { isOriginAllowed } from "./middleware/origin";

function fail(e: unknown): Response {
  if (e instanceof ApiError) return Response.json(errorBody(e.code, e.message), { status: e.status });
  throw e;
}

async function identify(req: Request, env: Env, party: string, room: string): Promise<ConnectionIdentity> {
  if (!isOriginAllowed(req, env.ALLOWED_ORIGINS)) {
    throw new ApiError("forbidden_origin", "WebSocket upgrades must come from the Woxly app's own origin.");
  }
  const token = sessionTokenFrom(req.headers.get("cookie"), req.url);
  const db = makeDb(env.DB);
  const s = token ? await loadSession(db, token) : undefined;
  if (!s) throw new ApiError("unauthorized", "Log in to continue.");
  const base = { userId: s.user.id, username: s.user.username, displayName: s.user.displayName, sessionId: s.session.id };
  if (party === "channel-room") {
    // canChat, not canSeeChannel: only channels with a chat have a room (a category's id
    // would open a room no screen shows and no ban or revalidation ever closes).
    const a = await canChat(db, s.user.id, room, P.VIEW_CHANNEL);
    return { ...base, communityId: a.channel.communityId, perms: formatPermissions(a.perms) };
  }
  if (party === "community-hub") {
    const a = await canSeeCommunity(db, s.user.id, room);
    return { ...base, communityId: a.community.id, perms: formatPermissions(a.perms) };
  }
  if (party === "user-inbox") {
    // Only one's own inbox; another user's looks like nothing at all.
    if (room !== s.user.id) throw new ApiError("not_found", "No such realtime endpoint.");
    return { ...base, communityId: null, perms: "0" };
  }
  throw new ApiError("not_found", "No such realtime endpoint.");
}

const PARTIES: Record<string, string> = { ChannelRoom: "channel-room", CommunityHub: "community-hub", UserInbox: "user-inbox" };

export async function routeRealtime(request: Request, env: Env): Promise<Response> {
  const res = await routePartykitRequest(request, env, {
    onBeforeConnect: async (req, lobby) => {
      try {
        const id = await identify(req, env, PARTIES[lobby.className] ?? "", lobby.name);
        const out = new Request(req);
        out.headers.set(IDENTITY_HEADER, JSON.stringify(id));
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
