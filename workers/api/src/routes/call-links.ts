/**
 * Call links (docs/call-links.md "Routes"):
 *   POST   /api/calls                  member      a new link (random code, or a chosen unique name → 409 when taken)
 *   GET    /api/calls                  member      the links they host
 *   GET    /api/calls/:code            anyone      the pre-join preview
 *   PATCH  /api/calls/:code            host        title and settings
 *   DELETE /api/calls/:code            host        ends the link
 *   POST   /api/calls/:code/guests     anyone      a guest session (cookie), rate-limited per IP
 *   POST   /api/calls/:code/token      host, member, admitted guest   a media token for `call-<linkId>` only
 *   GET    /api/calls/:code/history    host, admitted member or guest the call chat's history
 * Who may do each is workers/core/policy.ts (canHostCallLink, canJoinCallLink, canChatInCall);
 * admissions live in the link's CallLink object.
 */
import { Hono } from "hono";
import { count, desc, eq } from "drizzle-orm";
import {
  CallCodeParam,
  CreateCallLinkBody,
  GuestJoinBody,
  MAX_CALL_PARTICIPANTS,
  MAX_LINKS_PER_USER,
  RANDOM_CODE_BITS,
  UpdateCallLinkBody,
  callLinkRoom,
  guestPersonId,
  type CallLinkPreview,
  type CallLinkToken,
  type MyCallLinks,
} from "../../../shared/call-links";
import { HistoryQuery } from "../../../shared/chat";
import { ApiError } from "../../../shared/errors";
import { newId, randomToken } from "../../../shared/ids";
import { MEDIA_TOKEN_TTL_SECONDS } from "../../../shared/media";
import { type LoadedCallLink, callLinkFacts, callLinkPreview, callLinkView, linkMirror } from "../../../core/call-links";
import { log } from "../../../core/log";
import { issueToken } from "../../../core/media";
import { callLinkGrants, callPersonId, canChatInCall, canHostCallLink, canJoinCallLink, isCallHost } from "../../../core/policy";
import { callLinks, channels } from "../../../core/schema";
import { voiceIdentity } from "../../../core/voice-identity";
import type { AppEnv } from "../env";
import { createGuest, setGuestCookie } from "../lib/call-guests";
import { type Caller, callerOf, endCallLink, joinCall, linkByCode } from "../lib/call-links";
import { clientIp, take } from "../lib/throttle";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";
import { callLinkOf, roomOf } from "../stubs";

/** New guest sessions per client address. */
export const CALL_GUEST_LIMIT = { max: 10, windowMs: 10 * 60_000 };

function needCaller(who: Caller | null): Caller {
  if (!who) throw new ApiError("unauthorized", "Join the call with a name, or log in.");
  return who;
}

/** The preview as `who` sees it. */
async function preview(env: Env, l: LoadedCallLink, who: Caller | null): Promise<CallLinkPreview> {
  const ours = who && (who.actor.kind === "member" || who.actor.linkId === l.link.id) ? who : null;
  const { admission, inCall } = await (await callLinkOf(env, l.link.id)).standing(ours ? callPersonId(ours.actor) : "");
  if (!ours) return callLinkPreview(l, inCall, { kind: "nobody", name: null, admission: null });
  const host = isCallHost(ours.actor, l.link);
  const kind = host ? "host" : ours.actor.kind;
  return callLinkPreview(l, inCall, { kind, name: ours.name, admission: host ? "admitted" : admission });
}

export const callLinkRoutes = new Hono<AppEnv>()
  .post("/", validate("json", CreateCallLinkBody), async (c) => {
    const { user } = authed(c);
    const body = c.req.valid("json");
    const db = c.var.db;
    const owned = (await db.select({ n: count() }).from(callLinks).where(eq(callLinks.hostId, user.id)))[0]?.n ?? 0;
    if (owned >= MAX_LINKS_PER_USER) throw new ApiError("limit_reached", `You can have at most ${MAX_LINKS_PER_USER} call links. End one first.`);
    const now = Date.now();
    const id = newId(now);
    const channelId = newId(now);
    const code = body.name ?? randomToken(RANDOM_CODE_BITS);
    const link = {
      id,
      code,
      title: body.title ?? "",
      hostId: user.id,
      channelId,
      locked: body.settings?.locked ?? false,
      lobby: body.settings?.lobby ?? false,
      requireAccount: body.settings?.requireAccount ?? false,
      createdAt: now,
      endedAt: null,
    };
    try {
      await db.batch([
        db.insert(channels).values({ id: channelId, communityId: null, kind: "call", name: body.title || code, createdAt: now }),
        db.insert(callLinks).values(link),
      ]);
    } catch (e) {
      if (String(e).includes("UNIQUE")) throw new ApiError("conflict", "That name is taken. Choose another.");
      throw e;
    }
    const loaded: LoadedCallLink = { link, host: user };
    await (await callLinkOf(c.env, id)).configure(linkMirror(link));
    log({ event: "call_link.created", linkId: id, named: body.name !== undefined });
    return c.json(callLinkView(loaded), 201);
  })
  .get("/", async (c) => {
    const { user } = authed(c);
    const rows = await c.var.db.select().from(callLinks).where(eq(callLinks.hostId, user.id)).orderBy(desc(callLinks.createdAt)).limit(MAX_LINKS_PER_USER);
    const body: MyCallLinks = { links: rows.map((link) => callLinkView({ link, host: user })) };
    return c.json(body);
  })
  .get("/:code", validate("param", CallCodeParam), async (c) => {
    const l = await linkByCode(c.var.db, c.req.valid("param").code);
    return c.json(await preview(c.env, l, await callerOf(c)));
  })
  .patch("/:code", validate("param", CallCodeParam), validate("json", UpdateCallLinkBody), async (c) => {
    const who = await callerOf(c);
    const l = await linkByCode(c.var.db, c.req.valid("param").code);
    canHostCallLink(who?.actor ?? null, l.link);
    if (l.link.endedAt !== null) throw new ApiError("conflict", "This call has ended.");
    const patch = c.req.valid("json");
    const link = { ...l.link, ...patch };
    if (Object.keys(patch).length) await c.var.db.update(callLinks).set(patch).where(eq(callLinks.id, l.link.id));
    await (await callLinkOf(c.env, link.id)).configure(linkMirror(link));
    return c.json(callLinkView({ link, host: l.host }));
  })
  .delete("/:code", validate("param", CallCodeParam), async (c) => {
    const who = await callerOf(c);
    const l = await linkByCode(c.var.db, c.req.valid("param").code);
    canHostCallLink(who?.actor ?? null, l.link);
    return c.json(callLinkView(await endCallLink(c.env, c.var.db, l)));
  })
  .post("/:code/guests", validate("param", CallCodeParam), validate("json", GuestJoinBody), async (c) => {
    await take(c.var.db, `call-guest:${clientIp(c.req.raw)}`, CALL_GUEST_LIMIT, "Too many guests from this address.");
    const l = await linkByCode(c.var.db, c.req.valid("param").code);
    // Refused before a row is written: accounts only, locked, ended (the object checks again, atomically).
    canJoinCallLink({ kind: "guest", guestId: "new", linkId: l.link.id }, callLinkFacts(l.link), null);
    const name = c.req.valid("json").name;
    const { guest, token } = await createGuest(c.var.db, l.link.id, name);
    const who: Caller = { actor: { kind: "guest", guestId: guest.id, linkId: l.link.id }, name, guest };
    await joinCall(c.env, l, who);
    setGuestCookie(c, token);
    log({ event: "call_link.guest_joined", linkId: l.link.id, guestId: guest.id });
    return c.json(await preview(c.env, l, who), 201);
  })
  .post("/:code/token", validate("param", CallCodeParam), async (c) => {
    const who = needCaller(await callerOf(c));
    const l = await linkByCode(c.var.db, c.req.valid("param").code);
    const admission = await joinCall(c.env, l, who);
    if (admission !== "admitted") throw new ApiError("forbidden", "Waiting for the host to let you in.");
    const room = callLinkRoom(l.link.id);
    const personId = who.actor.kind === "member" ? who.actor.userId : guestPersonId(who.actor.guestId);
    // At most MAX_CALL_PARTICIPANTS in the room (from LiveKit's webhooks); someone already in may rejoin.
    const standing = await (await callLinkOf(c.env, l.link.id)).standing(personId);
    if (standing.inCall >= MAX_CALL_PARTICIPANTS && !standing.youInCall) throw new ApiError("channel_full", `This call is full (${MAX_CALL_PARTICIPANTS} people).`);
    const identity = await voiceIdentity(c.env.PASSWORD_PEPPER, room, personId);
    const { url, token } = await issueToken(c.env, { identity, name: who.name.slice(0, 64), room, ttlSeconds: MEDIA_TOKEN_TTL_SECONDS, grants: callLinkGrants() });
    const body: CallLinkToken = { url, token, room, identity, linkId: l.link.id, channelId: l.link.channelId };
    return c.json(body);
  })
  .get("/:code/history", validate("param", CallCodeParam), validate("query", HistoryQuery), async (c) => {
    const who = needCaller(await callerOf(c));
    const l = await linkByCode(c.var.db, c.req.valid("param").code);
    const { admission } = await (await callLinkOf(c.env, l.link.id)).standing(callPersonId(who.actor));
    canChatInCall(who.actor, callLinkFacts(l.link), admission);
    return c.json(await (await roomOf(c.env, l.link.channelId)).history(c.req.valid("query")));
  });
