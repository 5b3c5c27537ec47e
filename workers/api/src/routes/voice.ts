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
 * Who may do each is workers/core/policy.ts: canJoinVoice (the token), canConnectVoice (the
 * key), canModerateVoice and canMoveToVoice, canSeeChannels (voice states); the webhook's
 * admission is lib/voice.ts on canStayInVoice.
 */
import { Hono, type Context } from "hono";
import { ChannelParam, ChannelUserParam, CommunityParam } from "../../../shared/communities";
import { ApiError } from "../../../shared/errors";
import {
  MEDIA_TOKEN_TTL_SECONDS,
  VoiceDeafenBody,
  VoiceMoveBody,
  VoiceMuteBody,
  type CallKeyResponse,
  type VoiceStatesResponse,
  type VoiceTokenResponse,
} from "../../../shared/media";
import { P, has } from "../../../shared/permissions";
import type { AppEnv } from "../env";
import { canConnectVoice, canJoinVoice, canModerateVoice, canMoveToVoice, canSeeChannels } from "../../../core/policy";
import { log } from "../../../core/log";
import { currentCallKey } from "../../../core/voice-keys";
import { applyVoiceGrants, handleWebhook, hubVoice, identityOf, reconcileQuietly, removeFromVoice, voiceHubFacts } from "../lib/voice";
import { issueToken, verifyWebhook } from "../../../core/media";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

type Participant = { id: string; userId: string };

async function moderate(c: Context<AppEnv>, p: Participant, need: bigint, patch: { serverMute?: boolean; serverDeaf?: boolean }) {
  const { actor, communityId } = await canModerateVoice(c.var.db, authed(c).user.id, p.id, p.userId, need);
  const r = await hubVoice(c.env, communityId, { op: "moderate", userId: p.userId, ...patch });
  const inCall = await applyVoiceGrants(c.env, c.var.db, p.id, p.userId, r.moderation);
  log({ event: "voice.moderated", channelId: p.id, actorId: actor.userId, targetId: p.userId, ...patch, inCall });
  return c.json({ userId: p.userId, ...r.moderation, inCall });
}

export const voice = new Hono<AppEnv>()
  .post("/channels/:id/voice/token", validate("param", ChannelParam), async (c) => {
    const { user } = authed(c);
    const channelId = c.req.valid("param").id;
    const join = await canJoinVoice(c.var.db, user.id, channelId, (communityId) => voiceHubFacts(c.env, communityId));
    const a = join.access;
    // Someone is shown in the channel: check them against LiveKit without making the joiner wait.
    if (a.community && join.othersShown > 0 && !join.reconciled) c.executionCtx.waitUntil(reconcileQuietly(c.env, a.community.community.id, channelId));
    const name = a.community?.nickname || user.displayName;
    const grants = join.grants;
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
  .post("/channels/:id/voice/key", validate("param", ChannelParam), async (c) => {
    // The server holds this key (docs/voice.md "End-to-end encryption"): it keeps media from
    // LiveKit, not from whoever runs Woxly. Only for channels with e2ee on (DM calls are not
    // encrypted: nothing turns e2ee on for a DM).
    const { user } = authed(c);
    const channelId = c.req.valid("param").id;
    const a = await canConnectVoice(c.var.db, user.id, channelId);
    if (!a.channel.e2ee) throw new ApiError("bad_request", "This channel is not end-to-end encrypted.");
    const k = await currentCallKey(c.var.db, channelId);
    c.header("Cache-Control", "no-store");
    const body: CallKeyResponse = { key: k.key, keyIndex: k.keyIndex };
    return c.json(body);
  })
  .post("/channels/:id/voice/participants/:userId/mute", validate("param", ChannelUserParam), validate("json", VoiceMuteBody), async (c) =>
    moderate(c, c.req.valid("param"), P.MUTE_MEMBERS, { serverMute: c.req.valid("json").muted }),
  )
  .post("/channels/:id/voice/participants/:userId/deafen", validate("param", ChannelUserParam), validate("json", VoiceDeafenBody), async (c) =>
    moderate(c, c.req.valid("param"), P.DEAFEN_MEMBERS, { serverDeaf: c.req.valid("json").deafened }),
  )
  .post("/channels/:id/voice/participants/:userId/disconnect", validate("param", ChannelUserParam), async (c) => {
    const { id, userId } = c.req.valid("param");
    const { actor } = await canModerateVoice(c.var.db, authed(c).user.id, id, userId, P.MOVE_MEMBERS);
    const removed = (await removeFromVoice(c.env, { channelIds: [id] }, userId)).length > 0;
    log({ event: "voice.disconnected", channelId: id, actorId: actor.userId, targetId: userId, removed });
    return c.json({ userId, removed });
  })
  .post("/channels/:id/voice/participants/:userId/move", validate("param", ChannelUserParam), validate("json", VoiceMoveBody), async (c) => {
    const { id, userId } = c.req.valid("param");
    const { actor, communityId } = await canModerateVoice(c.var.db, authed(c).user.id, id, userId, P.MOVE_MEMBERS);
    const toId = c.req.valid("json").channelId;
    if (toId === id) throw new ApiError("bad_request", "They are already in that channel.");
    await canMoveToVoice(c.var.db, actor.userId, communityId, userId, toId);
    // LiveKit's own MoveParticipant is not in the open-source server: the member's client is
    // told where to go (it may exceed the destination's limit for a minute), and the server
    // takes them out of the old room.
    await hubVoice(c.env, communityId, { op: "move", userId, fromChannelId: id, toChannelId: toId, at: Date.now() });
    const removed = (await removeFromVoice(c.env, { channelIds: [id] }, userId)).length > 0;
    log({ event: "voice.moved", from: id, to: toId, actorId: actor.userId, targetId: userId, removed });
    return c.json({ userId, channelId: toId, removed });
  })
  .get("/communities/:id/voice-states", validate("param", CommunityParam), async (c) => {
    const { user } = authed(c);
    const { access, channels } = await canSeeChannels(c.var.db, user.id, c.req.valid("param").id);
    const { states } = await hubVoice(c.env, access.community.id, { op: "list" });
    // Only states in channels this member can see.
    const visible = new Set(channels.filter((v) => has(v.perms, P.VIEW_CHANNEL)).map((v) => v.channel.id));
    const out: VoiceStatesResponse = { states: states.filter((s) => visible.has(s.channelId)) };
    return c.json(out);
  })
  .post("/livekit/webhook", async (c) => {
    // LiveKit is not a browser: no session, no Origin; the token worker checks the signature
    // and the body hash over these exact bytes before anything is parsed.
    const ev = await verifyWebhook(c.env, await c.req.text(), c.req.header("authorization"));
    const r = await handleWebhook(c.env, ev, (p) => c.executionCtx.waitUntil(p));
    return c.json({ ok: true as const, ...r });
  });
