/**
 * Effects of moderation on the Durable Objects and LiveKit (docs/moderation.md). Who may do
 * what is workers/core/policy.ts; D1 has already changed when these run.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../../../core/db";
import { auditInsert } from "../../../core/audit";
import { members } from "../../../core/schema";
import { roomChannelIds } from "./chat-rooms";
import { memberView } from "./membership";
import { publish, revalidateRooms, settle } from "./rooms";
import { syncVoicePermissions } from "./voice";
import { roomOf } from "../stubs";

/**
 * Sets (`until`, ms since the epoch) or lifts (null) a member's timeout with its audit entry,
 * then makes it count at once: every room of the community re-checks its sockets (the member's
 * composer closes, their frames are refused), their call loses (or gets back) microphone,
 * camera and screen, and everyone's member list shows the badge.
 */
export async function setTimeoutUntil(
  db: Db,
  env: Env,
  e: { communityId: string; actorId: string; userId: string; until: number | null; seconds?: number; reason?: string | null },
): Promise<void> {
  await db.batch([
    db
      .update(members)
      .set({ timeoutUntil: e.until })
      .where(and(eq(members.communityId, e.communityId), eq(members.userId, e.userId))),
    auditInsert(db, {
      communityId: e.communityId,
      actorId: e.actorId,
      action: e.until === null ? "member.timeout_lift" : "member.timeout",
      targetKind: "user",
      targetId: e.userId,
      changes: e.until === null ? undefined : { until: e.until, seconds: e.seconds },
      reason: e.reason || null,
    }),
  ]);
  await afterTimeoutChanged(db, env, e.communityId, e.userId);
}

async function afterTimeoutChanged(db: Db, env: Env, communityId: string, userId: string): Promise<void> {
  const rooms = await roomChannelIds(db, communityId);
  await settle("moderation.timeout_effects_failed", { communityId, userId }, [
    () => revalidateRooms(env, rooms),
    () => syncVoicePermissions(env, communityId, { userIds: [userId] }),
    async () => {
      const member = await memberView(db, env, communityId, userId);
      if (member) await publish(env, communityId, { type: "member.updated", member });
    },
  ]);
}

/** Deletes a member's messages written at or after `sinceMs` (ms) in every room of the community. How many. */
export async function purgeMessages(env: Env, channelIds: string[], userId: string, sinceMs: number): Promise<number> {
  let deleted = 0;
  await settle(
    "moderation.purge_failed",
    { userId },
    channelIds.map((id) => async () => {
      const room = await roomOf(env, id);
      // 5,000 a call; a week of one member's messages in one channel rarely needs a second.
      for (let i = 0; i < 20; i++) {
        const r = await room.deleteMessagesBy({ userId, sinceMs });
        deleted += r.deleted;
        if (!r.more) break;
      }
    }),
  );
  return deleted;
}
