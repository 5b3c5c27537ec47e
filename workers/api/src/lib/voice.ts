/**
 * Voice on the api side: LiveKit through the core's token-worker client (workers/core/media.ts),
 * the CommunityHub that keeps voice states, and the functions other features call when
 * access changes:
 *   removeFromVoice(env, where, userId)        kick, ban, leaving a DM, losing CONNECT
 *   syncVoicePermissions(env, communityId, …)  any role / overwrite / member-role change
 * Both act on LiveKit at once (RoomService), so the member is out or muted within a
 * second, not at their next token. Who may be in a room, and with which grants, is decided
 * only by workers/core/policy.ts (canJoinVoice, canStayInVoice, voiceGrantsNow,
 * mayExceedUserLimit); this module applies its answers.
 */
import { and, eq, inArray } from "drizzle-orm";
import { ApiError } from "../../../shared/errors";
import {
  CloseResponse,
  MediaWebhookEvent,
  RemoveResponse,
  UpdateResponse,
  type MediaGrants,
  type MediaParticipant,
  type VoiceDenial,
  type VoiceHubOp,
  type VoiceModeration,
  type VoiceOpResult,
} from "../../../shared/media";
import { channels } from "../../../core/schema";
import { makeDb, type Db } from "../../../core/db";
import type { ChannelRow } from "../../../core/access";
import {
  VOICE_KINDS,
  canSeeChannel,
  canStayInVoice,
  mayExceedUserLimit,
  voiceGrantsFor,
  voiceGrantsNow,
  type VoiceHubFacts,
} from "../../../core/policy";
import { log } from "../../../core/log";
import { VOICE_NOT_CONFIGURED, listRooms, roomCall } from "../../../core/media";
import { userFromIdentity, voiceIdentity } from "../../../core/voice-identity";

import { hubOf, roomOf } from "../stubs";
import { handleCallWebhook } from "./call-links";
import { publish } from "./rooms";
import { e2eeChannelIds, rotateCallKeys } from "../../../core/voice-keys";

/** A session unseen by webhooks for this long and absent from LiveKit's list has left, ms. */
export const RECONCILE_GRACE_MS = 60_000;

// ---------------------------------------------------------------------------------------
// CommunityHub

/** Forwards a voice op to the community's hub (see durable-objects/voice-store.ts). */
export async function hubVoice(env: Env, communityId: string, op: VoiceHubOp): Promise<VoiceOpResult> {
  const hub = await hubOf(env, communityId);
  return (await hub.voice(op)) as VoiceOpResult;
}

/** The hub's side of policy.ts canJoinVoice: a member's voice state, who else is shown in a channel, and a reconcile with LiveKit. */
export function voiceHubFacts(env: Env, communityId: string): VoiceHubFacts {
  return {
    state: (userId) => hubVoice(env, communityId, { op: "get", userId }),
    othersIn: async (channelId, userId) =>
      (await hubVoice(env, communityId, { op: "list" })).states.filter((s) => s.channelId === channelId && s.userId !== userId).length,
    reconcile: (channelId) => reconcileQuietly(env, communityId, channelId),
  };
}

/** reconcileChannel with the usual grace, a failure logged (the caller goes on either way). */
export function reconcileQuietly(env: Env, communityId: string, channelId: string): Promise<void> {
  return reconcileChannel(env, communityId, channelId, RECONCILE_GRACE_MS).catch((e) => log({ event: "voice.reconcile_failed", channelId, error: String(e) }));
}

export async function identityOf(env: Env, room: string, userId: string): Promise<string> {
  return voiceIdentity(env.PASSWORD_PEPPER, room, userId);
}

/** LiveKit's participants of one room, with their user ids (participants we did not issue are left out). */
async function roomMembers(env: Env, room: string, participants: MediaParticipant[]) {
  const out: (MediaParticipant & { userId: string })[] = [];
  for (const p of participants) {
    const userId = await userFromIdentity(env.PASSWORD_PEPPER, room, p.identity);
    if (userId) out.push({ ...p, userId });
  }
  return out;
}

/**
 * Makes the hub's voice states of a channel agree with LiveKit's participant list (repairs
 * lost webhooks). Sessions heard of in the last `graceMs` are kept even if LiveKit does not
 * list them yet. It also does what a lost `participant_joined` webhook would have done (see
 * `admitParticipant`): whoever may no longer be here (canStayInVoice) — listed by LiveKit or
 * only shown by the hub — is dropped from the voice states at once and removed from the room,
 * identities we did not issue are removed, and a participant holding more than its grants now
 * gets them.
 */
export async function reconcileChannel(env: Env, communityId: string, channelId: string, graceMs = RECONCILE_GRACE_MS): Promise<void> {
  const at = Date.now();
  const db = makeDb(env.DB);
  const listed = (await listRooms(env, [channelId]))[channelId] ?? [];
  const shown = (await hubVoice(env, communityId, { op: "list" })).states;
  const mod = new Map(shown.map((s) => [s.userId, { serverMute: s.serverMute, serverDeaf: s.serverDeaf }]));
  const moderation = async (userId: string) => mod.get(userId) ?? (await hubVoice(env, communityId, { op: "get", userId })).moderation;

  const participants: (MediaParticipant & { userId: string })[] = [];
  const denied = new Map<string, string[]>();
  const remove: { room: string; identity: string }[] = [];
  const updates: { identity: string; grants: MediaGrants }[] = [];
  for (const p of listed) {
    const userId = await userFromIdentity(env.PASSWORD_PEPPER, channelId, p.identity);
    const grants = userId ? await voiceGrantsNow(db, userId, channelId, await moderation(userId)) : null;
    if (!userId || !grants) {
      remove.push({ room: channelId, identity: p.identity });
      if (userId) denied.set(userId, [...(denied.get(userId) ?? []), p.sid]);
      continue;
    }
    participants.push({ ...p, userId });
    if (p.grants && !sameGrants(p.grants, grants)) updates.push({ identity: p.identity, grants });
  }
  // Shown in this channel but not (yet) listed by LiveKit, e.g. a lost "left": they go now if they lost access.
  const listedUsers = new Set(participants.map((p) => p.userId));
  for (const s of shown) {
    if (s.channelId !== channelId || listedUsers.has(s.userId) || denied.has(s.userId)) continue;
    if (!(await canStayInVoice(db, s.userId, channelId))) denied.set(s.userId, []);
  }

  const deniedList: VoiceDenial[] = [...denied].map(([userId, sids]) => ({ userId, sids }));
  await hubVoice(env, communityId, { op: "reconcile", channelId, at, graceMs, participants, denied: deniedList });
  if (deniedList.some((d) => d.sids.length)) await rotateAfterRefusal(env, db, channelId);
  for (let i = 0; i < remove.length; i += 50) await roomCall(env, { op: "remove", targets: remove.slice(i, i + 50) }, RemoveResponse);
  for (const u of updates) await roomCall(env, { op: "update", room: channelId, ...u }, UpdateResponse);
  if (remove.length || deniedList.length || updates.length) {
    log({ event: "voice.reconcile_enforced", channelId, removed: remove.length, dropped: deniedList.length, updated: updates.length });
  }
}

// ---------------------------------------------------------------------------------------
// Acting on LiveKit when access changes

export type VoiceWhere = { communityId: string } | { channelIds: string[] };

async function voiceChannelIds(db: Db, where: VoiceWhere): Promise<string[]> {
  if ("channelIds" in where) return where.channelIds;
  const rows = await db
    .select({ id: channels.id })
    .from(channels)
    .where(and(eq(channels.communityId, where.communityId), eq(channels.kind, "voice")));
  return rows.map((r) => r.id);
}

/**
 * Removes `userId` from the LiveKit rooms of the given channels, or of every voice channel
 * of a community. Call it after a kick or a ban (or when a member leaves a DM); it returns
 * once LiveKit has dropped them. Returns the channel ids they were removed from.
 * Throws `unavailable` (503) only when LiveKit is configured but not answering.
 */
export async function removeFromVoice(env: Env, where: VoiceWhere, userId: string): Promise<string[]> {
  const db = makeDb(env.DB);
  const ids = await voiceChannelIds(db, where);
  await rotateKeysIfLost(env, db, ids, userId);
  const removed: string[] = [];
  for (let i = 0; i < ids.length; i += 50) {
    const targets = await Promise.all(ids.slice(i, i + 50).map(async (room) => ({ room, identity: await identityOf(env, room, userId) })));
    if (!targets.length) continue;
    try {
      const r = await roomCall(env, { op: "remove", targets }, RemoveResponse);
      removed.push(...r.removed.map((t) => t.room));
    } catch (e) {
      // No LiveKit configured: nobody can be in a call, so nothing to remove.
      if (e instanceof ApiError && e.message === VOICE_NOT_CONFIGURED) return removed;
      throw e;
    }
  }
  if (removed.length) log({ event: "voice.removed", userId, channels: removed.join(",") });
  return removed;
}

/**
 * E2EE: a new key generation in each encrypted channel of `ids` that `userId` may no longer
 * CONNECT to (kick, ban, block, lost overwrite), so the key they held stops covering new media.
 * A moderator's disconnect or move (access kept) rotates nothing.
 */
async function rotateKeysIfLost(env: Env, db: Db, ids: string[], userId: string): Promise<void> {
  const lost: string[] = [];
  for (const id of await e2eeChannelIds(db, ids)) {
    if (!(await canStayInVoice(db, userId, id))) lost.push(id);
  }
  const rotated = await rotateCallKeys(db, lost);
  if (rotated.length) log({ event: "voice.key_rotated", userId, channels: rotated.join(",") });
  await announceRotation(env, db, rotated);
}

/**
 * E2EE: someone the access check turned away got into the room for a moment, maybe with a
 * key fetched while they still had access (losing CONNECT outside a call rotates nothing):
 * a new key generation, so what is sent from now on is not readable with it.
 */
async function rotateAfterRefusal(env: Env, db: Db, channelId: string): Promise<void> {
  const rotated = await rotateCallKeys(db, [channelId]);
  if (rotated.length) log({ event: "voice.key_rotated", channelId, reason: "refused_participant" });
  await announceRotation(env, db, rotated);
}

/** Tells the hubs that these channels have a new key, so the clients in their calls take it. */
async function announceRotation(env: Env, db: Db, channelIds: string[]): Promise<void> {
  if (!channelIds.length) return;
  const rows = await db
    .select({ id: channels.id, communityId: channels.communityId })
    .from(channels)
    .where(inArray(channels.id, channelIds));
  await Promise.all(
    rows.map(async (r) => {
      if (r.communityId) await publish(env, r.communityId, { type: "voice.key_rotated", channelId: r.id });
    }),
  );
}

/**
 * Ends the LiveKit room of a voice channel that is being deleted (everyone in it is
 * disconnected) and clears its voice states. Call it for a deleted voice channel.
 */
export async function closeVoiceRoom(env: Env, communityId: string, channelId: string): Promise<void> {
  try {
    await roomCall(env, { op: "close", room: channelId }, CloseResponse);
  } catch (e) {
    // Logged, not fatal: the change that ends the call (channel deleted, e2ee switched) is already
    // stored, and no new token can be issued for the old room; LiveKit closes it once it empties.
    if (!(e instanceof ApiError && e.message === VOICE_NOT_CONFIGURED)) log({ event: "voice.close_failed", channelId, error: String(e) });
  }
  // Its room_finished webhook will find no channel any more: forget the sessions now.
  await hubVoice(env, communityId, { op: "reconcile", channelId, at: Date.now(), graceMs: 0, participants: [] });
}

function sameGrants(a: MediaGrants | null, b: MediaGrants): boolean {
  if (!a) return false;
  const norm = (g: MediaGrants) => JSON.stringify({ ...g, canPublishSources: [...g.canPublishSources].sort() });
  return norm(a) === norm(b);
}

/**
 * Brings everyone in the community's voice channels (or only `userIds`) in line with their
 * permissions now: removes those who lost CONNECT (or the channel, or membership) and
 * updates the publish/subscribe grants of the rest — LiveKit then stops a microphone whose
 * SPEAK was taken away. Call after any change of roles, role permissions, member roles or
 * channel overwrites. Returns what it did.
 */
export async function syncVoicePermissions(
  env: Env,
  communityId: string,
  opts: { userIds?: string[]; channelIds?: string[] } = {},
): Promise<{ removed: number; updated: number }> {
  const db = makeDb(env.DB);
  const ids = opts.channelIds ?? (await voiceChannelIds(db, { communityId }));
  if (!ids.length) return { removed: 0, updated: 0 };
  let rooms: Record<string, MediaParticipant[]>;
  try {
    rooms = await listRooms(env, ids);
  } catch (e) {
    if (e instanceof ApiError && e.message === VOICE_NOT_CONFIGURED) return { removed: 0, updated: 0 };
    throw e;
  }
  const only = opts.userIds ? new Set(opts.userIds) : null;
  const states = new Map((await hubVoice(env, communityId, { op: "list" })).states.map((s) => [s.userId, s]));
  const remove: { room: string; identity: string }[] = [];
  let updated = 0;
  for (const [room, listed] of Object.entries(rooms)) {
    for (const p of await roomMembers(env, room, listed)) {
      if (only && !only.has(p.userId)) continue;
      const s = states.get(p.userId);
      const grants = await voiceGrantsNow(db, p.userId, room, { serverMute: s?.serverMute ?? false, serverDeaf: s?.serverDeaf ?? false });
      if (!grants) remove.push({ room, identity: p.identity });
      else if (!sameGrants(p.grants, grants)) {
        await roomCall(env, { op: "update", room, identity: p.identity, grants }, UpdateResponse);
        updated++;
      }
    }
  }
  // E2EE: whoever lost access takes the old key with them; the room gets a new one first.
  const rotated = await rotateCallKeys(db, [...new Set(remove.map((r) => r.room))]);
  if (rotated.length) log({ event: "voice.key_rotated", communityId, channels: rotated.join(",") });
  await announceRotation(env, db, rotated);
  for (let i = 0; i < remove.length; i += 50) await roomCall(env, { op: "remove", targets: remove.slice(i, i + 50) }, RemoveResponse);
  if (remove.length || updated) log({ event: "voice.synced", communityId, removed: remove.length, updated });
  return { removed: remove.length, updated };
}

/** Applies one member's grants in one room now (after a moderator's mute or deafen). `false` if not in the room. */
export async function applyVoiceGrants(env: Env, db: Db, channelId: string, userId: string, mod: VoiceModeration): Promise<boolean> {
  const identity = await identityOf(env, channelId, userId);
  const grants = await voiceGrantsNow(db, userId, channelId, mod);
  if (!grants) {
    const r = await roomCall(env, { op: "remove", targets: [{ room: channelId, identity }] }, RemoveResponse);
    return r.removed.length > 0;
  }
  return (await roomCall(env, { op: "update", room: channelId, identity, grants }, UpdateResponse)).found;
}

// ---------------------------------------------------------------------------------------
// Webhooks

/** Participant events that say the participant is in the room now (all but leaving ones). */
const PRESENT_EVENTS = new Set(["participant_joined", "track_published", "track_unpublished"]);

const NO_MODERATION: VoiceModeration = { serverMute: false, serverDeaf: false };

/**
 * LiveKit checks a token only when it is used to join, and a token outlives the access it was
 * issued for (up to MEDIA_TOKEN_TTL_SECONDS): a member kicked, banned, blocked or stripped of
 * CONNECT after fetching one could still join with it. So every participant LiveKit reports
 * present in a room of ours is checked against the policy (`canStayInVoice`) before the event
 * is applied. Whoever may not CONNECT now — and any identity we did not issue for this room —
 * is removed through RoomService at once (the webhook arrives within moments of
 * the join) and never recorded as a voice state; at join, an encrypted channel gets a new key. On
 * `participant_joined`, someone who may stay but holds more (or other) grants than they have
 * now, from an older token, gets today's grants, as `syncVoicePermissions` would give them.
 * Returns whether the participant may stay. Throws when LiveKit does not answer, so the
 * webhook fails and LiveKit delivers it again (nothing has been recorded yet).
 */
async function admitParticipant(env: Env, db: Db, ch: ChannelRow, ev: MediaWebhookEvent, p: MediaParticipant, userId: string | null): Promise<boolean> {
  const access = userId ? await canStayInVoice(db, userId, ch.id) : null;
  if (!userId || !access) {
    const r = await roomCall(env, { op: "remove", targets: [{ room: ch.id, identity: p.identity }] }, RemoveResponse);
    // Only at join: track events of someone refused (or removed by an access change) came after a rotation already.
    if (userId && ch.e2ee && ev.event === "participant_joined") await rotateAfterRefusal(env, db, ch.id);
    log({
      event: "voice.participant_refused",
      channelId: ch.id,
      userId,
      reason: userId ? "no_connect" : "unknown_identity",
      webhook: ev.event,
      removed: r.removed.length > 0,
    });
    return false;
  }
  if (ev.event === "participant_joined" && p.grants) {
    // LiveKit reports every participant's permission; a snapshot without one (null) cannot be compared.
    const mod = ch.communityId && access.community ? (await hubVoice(env, ch.communityId, { op: "get", userId })).moderation : NO_MODERATION;
    const grants = voiceGrantsFor(access, mod);
    if (!sameGrants(p.grants, grants)) {
      await roomCall(env, { op: "update", room: ch.id, identity: p.identity, grants }, UpdateResponse);
      log({ event: "voice.join_grants_updated", channelId: ch.id, userId });
    }
  }
  return true;
}

/**
 * Applies a verified webhook: room (= channel id) → community → that hub's voice states.
 * Participants who may not be in the room are removed first (`admitParticipant`). Also
 * enforces the user limit at join time (two tokens issued at once can both pass the check in
 * the token route; the later joiner is removed here).
 */
export async function handleWebhook(
  env: Env,
  ev: MediaWebhookEvent,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<{ applied: boolean; duplicate: boolean }> {
  if (!ev.room) return { applied: false, duplicate: false };
  const db = makeDb(env.DB);
  // A call link's room (lib/call-links.ts): people in the call and its chat, no hub.
  if (ev.room.startsWith("call-")) return handleCallWebhook(env, db, ev);
  const ch = (await db.select().from(channels).where(eq(channels.id, ev.room)).limit(1))[0];
  if (!ch || !VOICE_KINDS.has(ch.kind)) return { applied: false, duplicate: false }; // not ours
  const p = ev.participant;
  const userId = p ? await userFromIdentity(env.PASSWORD_PEPPER, ch.id, p.identity) : null;
  const admitted = p && PRESENT_EVENTS.has(ev.event) ? await admitParticipant(env, db, ch, ev, p, userId) : true;
  if (!ch.communityId) {
    // A DM call: no hub; the DM's ChannelRoom keeps who is in it (durable-objects/dm-call.ts).
    if (!admitted) return { applied: true, duplicate: false };
    const event = ev.event === "participant_joined" ? "joined" : ev.event === "participant_left" ? "left" : ev.event === "room_finished" ? "finished" : null;
    if (!event) return { applied: false, duplicate: false };
    await (await roomOf(env, ch.id)).callMedia({ event, userId });
    return { applied: true, duplicate: false };
  }
  const communityId = ch.communityId;
  if (!admitted && !userId) return { applied: true, duplicate: false }; // not ours to show: removed, nothing to record
  const r = await hubVoice(env, communityId, { op: "webhook", channelId: ch.id, userId, event: ev, denied: !admitted });
  if (r.needsReconcile) {
    waitUntil(reconcileChannel(env, communityId, ch.id).catch((e) => log({ event: "voice.reconcile_failed", channelId: ch.id, error: String(e) })));
  }
  if (!admitted) return { applied: true, duplicate: r.duplicate };
  if (!r.duplicate && ev.event === "participant_joined" && userId) {
    // The first one in starts the call: a system message in the channel's chat says so.
    waitUntil(
      (async () => {
        const inChannel = (await hubVoice(env, communityId, { op: "list" })).states.filter((s) => s.channelId === ch.id);
        if (inChannel.length === 1 && inChannel[0]!.userId === userId) await (await roomOf(env, ch.id)).postSystem({ kind: "call_started", userId });
      })().catch((e) => log({ event: "voice.call_started_failed", channelId: ch.id, error: String(e) })),
    );
  }
  if (!r.duplicate && ev.event === "participant_joined" && userId && ch.userLimit > 0) {
    waitUntil(
      enforceLimitAfterJoin(env, db, communityId, ch.id, ch.userLimit, userId).catch((e) =>
        log({ event: "voice.limit_check_failed", channelId: ch.id, error: String(e) }),
      ),
    );
  }
  return { applied: true, duplicate: r.duplicate };
}

async function enforceLimitAfterJoin(env: Env, db: Db, communityId: string, channelId: string, limit: number, userId: string) {
  const inChannel = (await hubVoice(env, communityId, { op: "list" })).states.filter((s) => s.channelId === channelId);
  if (inChannel.length <= limit) return;
  // The joiner is over the limit only if those who joined before them already fill it.
  inChannel.sort((a, b) => a.joinedAt - b.joinedAt || (a.userId < b.userId ? -1 : 1));
  if (inChannel.findIndex((s) => s.userId === userId) < limit) return;
  const a = await canSeeChannel(db, userId, channelId).catch(() => null);
  if (a && (await mayExceedUserLimit(a, async () => (await hubVoice(env, communityId, { op: "get", userId })).movedTo === channelId))) return;
  await removeFromVoice(env, { channelIds: [channelId] }, userId);
  log({ event: "voice.limit_enforced", channelId, userId });
}
