/** Member views and the one way a member leaves (leave, kick, ban), shared by the routes. */
import { and, eq, gt, sql } from "drizzle-orm";
import type { Member, MemberLeftReason, PresenceStatus } from "../../../shared/communities";
import { departedTimeouts, memberRoles, members, users } from "../../../core/schema";
import type { Db } from "../../../core/db";
import type { Statement } from "../../../core/batch";
import { roomChannelIds } from "./chat-rooms";
import { disconnectFromHub, publish, revalidateRooms } from "./rooms";
import { revalidateDesks } from "./desk-access";
import { hubOf } from "../stubs";
import { toMember } from "../../../core/views";
import { log } from "../../../core/log";
import { removeFromVoice } from "./voice";

/** The user columns a member view needs (toMember): the one list both member reads select. */
export const MEMBER_USER_COLUMNS = {
  id: users.id,
  username: users.username,
  displayName: users.displayName,
  avatarKey: users.avatarKey,
  statusText: users.statusText,
  statusEmoji: users.statusEmoji,
  statusExpiresAt: users.statusExpiresAt,
};

/** One member as the API shows them, with presence from the community's hub. */
export async function memberView(db: Db, env: Env, communityId: string, userId: string): Promise<Member | undefined> {
  const row = (
    await db
      .select({
        user: MEMBER_USER_COLUMNS,
        m: members,
      })
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(and(eq(members.communityId, communityId), eq(members.userId, userId)))
      .limit(1)
  )[0];
  if (!row) return undefined;
  const roleRows = await db
    .select({ roleId: memberRoles.roleId })
    .from(memberRoles)
    .where(and(eq(memberRoles.communityId, communityId), eq(memberRoles.userId, userId)));
  const presence = await presencesOf(env, communityId);
  return toMember(row.user, row.m, roleRows.map((r) => r.roleId), presence[userId] ?? "offline");
}

/** Presence by user id from the hub; everyone is offline when the hub cannot be asked. */
export async function presencesOf(env: Env, communityId: string): Promise<Record<string, PresenceStatus>> {
  try {
    return await (await hubOf(env, communityId)).presences();
  } catch {
    return {};
  }
}

/** Statements that take a member out of a community (their roles go too). */
export function removeMemberStatements(db: Db, communityId: string, userId: string, now = Date.now()): Statement[] {
  return [
    // A running timeout is kept for a return by invite (redeem reads it back).
    db
      .insert(departedTimeouts)
      .select(
        db
          .select({ communityId: members.communityId, userId: members.userId, until: sql<number>`${members.timeoutUntil}`.as("until") })
          .from(members)
          .where(and(eq(members.communityId, communityId), eq(members.userId, userId), gt(members.timeoutUntil, now))),
      )
      .onConflictDoUpdate({ target: [departedTimeouts.communityId, departedTimeouts.userId], set: { until: sql`excluded.until` } }),
    db.delete(memberRoles).where(and(eq(memberRoles.communityId, communityId), eq(memberRoles.userId, userId))),
    db.delete(members).where(and(eq(members.communityId, communityId), eq(members.userId, userId))),
  ];
}

/**
 * After a member left (D1 already changed): close their hub sockets, tell the others, and
 * make every room (text channels and voice channels' chat) re-check its connections so
 * theirs close.
 */
export async function afterMemberRemoved(db: Db, env: Env, communityId: string, userId: string, reason: MemberLeftReason): Promise<void> {
  const rooms = await roomChannelIds(db, communityId);
  // Tell everyone (the removed member included) why, before their socket closes.
  await publish(env, communityId, { type: "member.left", userId, reason });
  await Promise.all([
    disconnectFromHub(env, communityId, userId),
    // Out of every voice call of the community too (LiveKit RoomService), logged if LiveKit fails.
    removeFromVoice(env, { communityId }, userId).catch((e) => log({ event: "voice.remove_failed", communityId, userId, error: String(e) })),
    revalidateRooms(env, rooms),
    // Out of the community's support desks too (their sockets close, their tickets go back to the queue).
    revalidateDesks(env, communityId),
  ]);
}
