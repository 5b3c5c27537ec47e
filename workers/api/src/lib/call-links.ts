/**
 * Call links on the api side: who the caller is to a link (a member by session, a guest by
 * guest cookie), asking the link's CallLink object to let them in, ending a link (D1, the
 * object, the chat, the LiveKit room), LiveKit webhooks of `call-…` rooms (people in the call,
 * "joined", "left", "started sharing" in its chat) and who may open the call chat's socket.
 * The rules are workers/core/policy.ts (canJoinCallLink, canChatInCall); this module applies them.
 */
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { callLinkRoom } from "../../../shared/call-links";
import { ApiError } from "../../../shared/errors";
import type { SystemKind } from "../../../shared/chat";
import { CloseResponse, type MediaWebhookEvent, RemoveResponse } from "../../../shared/media";
import { formatPermissions } from "../../../shared/permissions";
import type { ConnectionIdentity } from "../../../shared/realtime";
import { type CallGuestRow, type CallMediaEvent, type LoadedCallLink, callLinkFacts, linkMirror, loadCallLink } from "../../../core/call-links";
import type { Db } from "../../../core/db";
import { log } from "../../../core/log";
import { roomCall } from "../../../core/media";
import { type CallActor, canChatInCall, canJoinCallLink, canSeeCallLink, callPersonId } from "../../../core/policy";
import { callLinks } from "../../../core/schema";
import { userFromIdentity } from "../../../core/voice-identity";
import type { AppEnv } from "../env";
import { callLinkOf, roomOf } from "../stubs";
import { unwrap } from "./desk-tickets";
import { guestIdentity, guestOf } from "./call-guests";
import { loadSession, sessionTokenFrom } from "./sessions";

/** Who is asking, to a call link: a member (session) or a guest (guest cookie), with the name the call shows. */
export interface Caller {
  actor: CallActor;
  name: string;
  guest: CallGuestRow | null;
}

/** The caller of an API request: the session's member, else the guest cookie's guest, else null (a session wins over a guest cookie). */
export async function callerOf(c: Context<AppEnv>): Promise<Caller | null> {
  const u = c.var.user;
  if (u) return { actor: { kind: "member", userId: u.id }, name: u.displayName, guest: null };
  const g = await guestOf(c.var.db, c.req.raw);
  return g ? { actor: { kind: "guest", guestId: g.id, linkId: g.linkId }, name: g.name, guest: g } : null;
}

/** The link of `:code`, or 404. */
export async function linkByCode(db: Db, code: string): Promise<LoadedCallLink> {
  return canSeeCallLink(await loadCallLink(db, { code }));
}

/** Asks the link's object to let the caller in (policy canJoinCallLink on their recorded admission): "admitted" or "waiting", or the refusal. */
export async function joinCall(env: Env, l: LoadedCallLink, who: Caller): Promise<"admitted" | "waiting"> {
  const r = unwrap(await (await callLinkOf(env, l.link.id)).join({ actor: who.actor, name: who.name }, linkMirror(l.link)));
  return r.admission;
}

/**
 * Ends a link: D1 first (nobody may join from now on), then its object (every CallLink socket
 * closes), its chat's sockets, and the LiveKit room (everyone is disconnected; a LiveKit that
 * does not answer is logged: no new token is issued either way).
 */
export async function endCallLink(env: Env, db: Db, l: LoadedCallLink, now = Date.now()): Promise<LoadedCallLink> {
  const endedAt = l.link.endedAt ?? now;
  await db.update(callLinks).set({ endedAt }).where(eq(callLinks.id, l.link.id));
  const ended = { ...l, link: { ...l.link, endedAt } };
  await (await callLinkOf(env, l.link.id)).configure(linkMirror(ended.link));
  await (await roomOf(env, l.link.channelId)).closeCall();
  try {
    await roomCall(env, { op: "close", room: callLinkRoom(l.link.id) }, CloseResponse);
  } catch (e) {
    log({ event: "call_link.room_close_failed", linkId: l.link.id, error: String(e) });
  }
  log({ event: "call_link.ended", linkId: l.link.id });
  return ended;
}

// ---------------------------------------------------------------------------------------
// Sockets

/** The party of the CallLink object's sockets (/parties/call-link/<linkId>). */
export const CALL_LINK_PARTY = "call-link";

/** Who a request's cookies say it is (a session wins over a guest cookie), or null. */
async function socketCaller(db: Db, req: Request): Promise<{ actor: CallActor; identity: (perms: string) => ConnectionIdentity } | null> {
  const token = sessionTokenFrom(req.headers.get("cookie"), req.url);
  const s = token ? await loadSession(db, token) : undefined;
  if (s) {
    return {
      actor: { kind: "member", userId: s.user.id },
      identity: (perms) => ({ userId: s.user.id, username: s.user.username, displayName: s.user.displayName, communityId: null, perms, sessionId: s.session.id, kind: "member" }),
    };
  }
  const g = await guestOf(db, req);
  return g ? { actor: { kind: "guest", guestId: g.id, linkId: g.linkId }, identity: (perms) => guestIdentity(g, perms) } : null;
}

/**
 * The identity of a socket into a link's CallLink object: its host, a member or a guest of
 * this link who may come in (canJoinCallLink on their admission: not once the link ended, not
 * someone new while it is locked, not someone refused). 401 without a cookie; 404 for a link
 * that does not exist or ended, and for a guest of another link; 403 when refused.
 */
export async function callSocketIdentity(env: Env, db: Db, req: Request, linkId: string): Promise<ConnectionIdentity> {
  const who = await socketCaller(db, req);
  if (!who) throw new ApiError("unauthorized", "Join the call with a name, or log in.");
  const l = await loadCallLink(db, { id: linkId });
  if (!l) throw new ApiError("not_found", "No such realtime endpoint.");
  const { admission } = await (await callLinkOf(env, l.link.id)).standing(callPersonId(who.actor));
  canJoinCallLink(who.actor, callLinkFacts(l.link), admission);
  return who.identity("0");
}

// ---------------------------------------------------------------------------------------
// The call's chat socket (/parties/channel-room/<channelId> of a call link)

/**
 * The identity of a socket into a call link's chat, or undefined when the channel is not a
 * call's (the caller then goes on with the other kinds of rooms). A member by session, else a
 * guest by cookie; canChatInCall on their admission decides (404 for anyone else).
 */
export async function callChatIdentity(env: Env, db: Db, req: Request, channelId: string): Promise<ConnectionIdentity | undefined> {
  const l = await loadCallLink(db, { channelId });
  if (!l) return undefined;
  const who = await socketCaller(db, req);
  if (!who) throw new ApiError("unauthorized", "Log in to continue.");
  const { admission } = await (await callLinkOf(env, l.link.id)).standing(callPersonId(who.actor));
  return who.identity(formatPermissions(canChatInCall(who.actor, callLinkFacts(l.link), admission)));
}

// ---------------------------------------------------------------------------------------
// LiveKit webhooks of call-link rooms

const CALL_EVENTS: Record<string, CallMediaEvent> = {
  participant_joined: "joined",
  participant_left: "left",
  track_published: "screen_share",
};
const SAYS: Record<CallMediaEvent, SystemKind> = { joined: "call_joined", left: "call_left", screen_share: "screen_share_started" };

/**
 * A verified webhook of a `call-<linkId>` room: the link's object records who is in the call
 * (once per event id) and the call's chat says so. Someone LiveKit reports present who may not
 * be there (a token from before they were refused or the link ended, an identity we did not
 * issue) is removed through RoomService.
 */
export async function handleCallWebhook(env: Env, db: Db, ev: MediaWebhookEvent): Promise<{ applied: boolean; duplicate: boolean }> {
  const room = ev.room ?? "";
  const l = await loadCallLink(db, { id: room.slice("call-".length) });
  const kind = CALL_EVENTS[ev.event];
  const p = ev.participant;
  if (!l || !kind || !p) return { applied: false, duplicate: false };
  // Only a screen share's start is news; other tracks are not.
  if (kind === "screen_share" && ev.track?.source !== "screen_share") return { applied: false, duplicate: false };
  const personId = await userFromIdentity(env.PASSWORD_PEPPER, room, p.identity);
  if (!personId) {
    await roomCall(env, { op: "remove", targets: [{ room, identity: p.identity }] }, RemoveResponse);
    log({ event: "call_link.participant_refused", linkId: l.link.id, reason: "unknown_identity" });
    return { applied: true, duplicate: false };
  }
  const r = await (await callLinkOf(env, l.link.id)).media({ eventId: ev.id, event: kind, personId });
  if (r.duplicate) return { applied: true, duplicate: true };
  if (!r.allowed && kind !== "left") {
    await roomCall(env, { op: "remove", targets: [{ room, identity: p.identity }] }, RemoveResponse);
    log({ event: "call_link.participant_refused", linkId: l.link.id, personId, reason: "not_admitted" });
    return { applied: true, duplicate: false };
  }
  // The name goes with it: a guest has no user row to look up.
  if (r.name !== null) await (await roomOf(env, l.link.channelId)).postSystem({ kind: SAYS[kind], userId: personId, name: r.name });
  return { applied: true, duplicate: false };
}
