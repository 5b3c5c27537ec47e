/**
 * Voice routes:
 *   POST /api/channels/:id/voice/token                              a LiveKit token with exactly the member's grants
 *   POST /api/channels/:id/voice/key                                E2EE channels: the channel's media key (CONNECT)
 *   POST /api/channels/:id/voice/participants/:userId/mute          MUTE_MEMBERS    { muted }
 *   POST /api/channels/:id/voice/participants/:userId/deafen        DEAFEN_MEMBERS  { deafened }
 *   POST /api/channels/:id/voice/participants/:userId/move          MOVE_MEMBERS    { channelId }
 *   POST /api/channels/:id/voice/participants/:userId/disconnect    MOVE_MEMBERS
 *   GET  /api/communities/:id/voice-states                          who is in which voice channel
 *   POST /api/livekit/webhook                                       LiveKit → voice states (no session, no Origin)
 * Access is always `channelAccess` (lib/access.ts), the same check as HTTP and WebSockets.
 */
import { and, eq } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { ApiError } from "../../../shared/errors";
import {
  MEDIA_TOKEN_TTL_SECONDS,
  VoiceDeafenBody,
  VoiceMoveBody,
  VoiceMuteBody,
  voiceGrants,
  type CallKeyResponse,
  type VoiceModeration,
  type VoiceStatesResponse,
  type VoiceTokenResponse,
} from "../../../shared/media";
import { P, has } from "../../../shared/permissions";
import { members } from "../../../core/schema";
import type { AppEnv } from "../env";
import { channelAccess, communityAccess, requirePerms, type ChannelAccess } from "../../../core/access";
import { log } from "../../../core/log";
import { currentCallKey } from "../../../core/voice-keys";
import {
  RECONCILE_GRACE_MS,
  VOICE_KINDS,
  applyVoiceGrants,
  exceedsLimitAllowed,
  handleWebhook,
  hubVoice,
  identityOf,
  reconcileChannel,
  removeFromVoice,
} from "../lib/voice";
import { issueToken, verifyWebhook } from "../../../core/media";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

const NO_MODERATION: VoiceModeration = { serverMute: false, serverDeaf: false };

function requireVoiceChannel(a: ChannelAccess): void {
  if (!VOICE_KINDS.has(a.channel.kind)) throw new ApiError("bad_request", "This channel has no voice.");
}

/** Moderation acts only in community voice channels, on members of that community. */
async function moderationTarget(c: Context<AppEnv>, need: bigint) {
  const { user } = authed(c);
  const channelId = c.req.param("id")!;
  const targetId = c.req.param("userId")!;
  const actor = await channelAccess(c.var.db, user.id, channelId);
  if (actor.channel.kind !== "voice" || !actor.community) throw new ApiError("bad_request", "Only voice channels of a community have moderators.");
  requirePerms(actor.perms, need);
  const communityId = actor.community.community.id;
  const target = await communityAccess(c.var.db, targetId, communityId).catch(() => {
    throw new ApiError("not_found", "No such member.");
  });
  if (target.isOwner && !actor.community.isOwner) throw new ApiError("forbidden", "The owner cannot be moderated.");
  return { actor, communityId, channelId, targetId };
}

async function moderate(c: Context<AppEnv>, need: bigint, patch: { serverMute?: boolean; serverDeaf?: boolean }) {
  const t = await moderationTarget(c, need);
  const r = await hubVoice(c.env, t.communityId, { op: "moderate", userId: t.targetId, ...patch });
  const inCall = await applyVoiceGrants(c.env, c.var.db, t.channelId, t.targetId, r.moderation);
  log({ event: "voice.moderated", channelId: t.channelId, actorId: t.actor.userId, targetId: t.targetId, ...patch, inCall });
  return c.json({ userId: t.targetId, ...r.moderation, inCall });
}

export const voice = new Hono<AppEnv>()
  .post("/channels/:id/voice/token", async (c) => {
    const { user } = authed(c);
    const channelId = c.req.param("id");
    const a = await channelAccess(c.var.db, user.id, channelId);
    requireVoiceChannel(a);
    if (!has(a.perms, P.CONNECT)) throw new ApiError("forbidden", "You may not connect to this voice channel.");

    let mod = NO_MODERATION;
    let name = user.displayName;
    if (a.community) {
      const communityId = a.community.community.id;
      const [state, member] = await Promise.all([
        hubVoice(c.env, communityId, { op: "get", userId: user.id }),
        c.var.db
          .select({ nickname: members.nickname })
          .from(members)
          .where(and(eq(members.communityId, communityId), eq(members.userId, user.id)))
          .limit(1),
      ]);
      mod = state.moderation;
      name = member[0]?.nickname || name;
      const others = async () =>
        (await hubVoice(c.env, communityId, { op: "list" })).states.filter((s) => s.channelId === channelId && s.userId !== user.id).length;
      const reconcile = () =>
        reconcileChannel(c.env, communityId, channelId, RECONCILE_GRACE_MS).catch((e) =>
          log({ event: "voice.reconcile_failed", channelId, error: String(e) }),
        );
      const limit = a.channel.userLimit;
      const present = await others();
      if (limit > 0 && present >= limit && !(await exceedsLimitAllowed(c.env, c.var.db, communityId, channelId, user.id))) {
        // Maybe a "left" webhook was lost: ask LiveKit before saying no.
        await reconcile();
        if ((await others()) >= limit) throw new ApiError("channel_full", "This voice channel is full.");
      } else if (present > 0) {
        // Someone is shown in the channel: check them against LiveKit without making the joiner wait.
        c.executionCtx.waitUntil(reconcile());
      }
    }

    const grants = voiceGrants(a.perms, mod);
    const identity = await identityOf(c.env, channelId, user.id);
    const { url, token } = await issueToken(c.env, {
      identity,
      name: name.slice(0, 64),
      room: channelId,
      ttlSeconds: MEDIA_TOKEN_TTL_SECONDS,
      grants,
    });
    const body: VoiceTokenResponse = {
      url,
      token,
      identity,
      e2ee: a.channel.e2ee,
      pushToTalkOnly: !has(a.perms, P.USE_VOICE_ACTIVITY),
      grants,
      ttlSeconds: MEDIA_TOKEN_TTL_SECONDS,
    };
    return c.json(body);
  })
  .post("/channels/:id/voice/key", async (c) => {
    // The server holds this key (docs/voice.md "End-to-end encryption"): it keeps media from
    // LiveKit, not from whoever runs Woxly. Only for channels with e2ee on (DM calls are not
    // encrypted: nothing turns e2ee on for a DM).
    const { user } = authed(c);
    const channelId = c.req.param("id");
    const a = await channelAccess(c.var.db, user.id, channelId);
    requireVoiceChannel(a);
    if (!has(a.perms, P.CONNECT)) throw new ApiError("forbidden", "You may not connect to this voice channel.");
    if (!a.channel.e2ee) throw new ApiError("bad_request", "This channel is not end-to-end encrypted.");
    const k = await currentCallKey(c.var.db, channelId);
    c.header("Cache-Control", "no-store");
    const body: CallKeyResponse = { key: k.key, keyIndex: k.keyIndex };
    return c.json(body);
  })
  .post("/channels/:id/voice/participants/:userId/mute", validate("json", VoiceMuteBody), async (c) =>
    moderate(c, P.MUTE_MEMBERS, { serverMute: c.req.valid("json").muted }),
  )
  .post("/channels/:id/voice/participants/:userId/deafen", validate("json", VoiceDeafenBody), async (c) =>
    moderate(c, P.DEAFEN_MEMBERS, { serverDeaf: c.req.valid("json").deafened }),
  )
  .post("/channels/:id/voice/participants/:userId/disconnect", async (c) => {
    const t = await moderationTarget(c, P.MOVE_MEMBERS);
    const removed = (await removeFromVoice(c.env, { channelIds: [t.channelId] }, t.targetId)).length > 0;
    log({ event: "voice.disconnected", channelId: t.channelId, actorId: t.actor.userId, targetId: t.targetId, removed });
    return c.json({ userId: t.targetId, removed });
  })
  .post("/channels/:id/voice/participants/:userId/move", validate("json", VoiceMoveBody), async (c) => {
    const t = await moderationTarget(c, P.MOVE_MEMBERS);
    const toId = c.req.valid("json").channelId;
    if (toId === t.channelId) throw new ApiError("bad_request", "They are already in that channel.");
    const dest = await channelAccess(c.var.db, t.actor.userId, toId);
    if (dest.channel.kind !== "voice" || dest.channel.communityId !== t.communityId) {
      throw new ApiError("bad_request", "Members can only be moved to another voice channel of this community.");
    }
    requirePerms(dest.perms, P.MOVE_MEMBERS);
    const targetInDest = await channelAccess(c.var.db, t.targetId, toId).catch(() => null);
    if (!targetInDest || !has(targetInDest.perms, P.CONNECT)) throw new ApiError("forbidden", "They may not connect to that channel.");
    // LiveKit's own MoveParticipant is not in the open-source server: the member's client is
    // told where to go (it may exceed the destination's limit for a minute), and the server
    // takes them out of the old room.
    await hubVoice(c.env, t.communityId, { op: "move", userId: t.targetId, fromChannelId: t.channelId, toChannelId: toId, at: Date.now() });
    const removed = (await removeFromVoice(c.env, { channelIds: [t.channelId] }, t.targetId)).length > 0;
    log({ event: "voice.moved", from: t.channelId, to: toId, actorId: t.actor.userId, targetId: t.targetId, removed });
    return c.json({ userId: t.targetId, channelId: toId, removed });
  })
  .get("/communities/:id/voice-states", async (c) => {
    const { user } = authed(c);
    const ca = await communityAccess(c.var.db, user.id, c.req.param("id"));
    const { states } = await hubVoice(c.env, ca.community.id, { op: "list" });
    // Only states in channels this member can see.
    const visible = new Map<string, boolean>();
    const out: VoiceStatesResponse = { states: [] };
    for (const s of states) {
      if (!visible.has(s.channelId)) {
        const a = await channelAccess(c.var.db, user.id, s.channelId).catch(() => null);
        visible.set(s.channelId, a !== null && a.channel.communityId === ca.community.id);
      }
      if (visible.get(s.channelId)) out.states.push(s);
    }
    return c.json(out);
  })
  .post("/livekit/webhook", async (c) => {
    // LiveKit is not a browser: no session, no Origin; the token worker checks the signature
    // and the body hash over these exact bytes before anything is parsed.
    const ev = await verifyWebhook(c.env, await c.req.text(), c.req.header("authorization"));
    const r = await handleWebhook(c.env, ev, (p) => c.executionCtx.waitUntil(p));
    return c.json({ ok: true as const, ...r });
  });
