/**
 * Members and moderation: list, nicknames, kick, ban (with message clean-up), unban, bans
 * list, leave. Mounted at /api/communities. Losing access takes effect at once: the hub
 * closes the member's sockets and every room (text channels, voice channels' chat)
 * re-checks its connections.
 */
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import { Hono } from "hono";
import {
  BanBody,
  CommunityParam,
  CommunityUserParam,
  KickBody,
  MembersQuery,
  UpdateMemberBody,
  type Ban,
  type BanListResponse,
  type Member,
  type MemberPage,
  type MemberResponse,
} from "../../../shared/communities";
import { ApiError } from "../../../shared/errors";
import { P } from "../../../shared/permissions";
import { bans, memberRoles, members, users } from "../../../core/schema";
import type { AppEnv } from "../env";
import { isBanned } from "../../../core/access";
import { canActOnMember, canBan, canInCommunity, canSeeCommunity } from "../../../core/policy";
import { auditInsert } from "../../../core/audit";
import { runBatch } from "../../../core/batch";
import { roomChannelIds } from "../lib/chat-rooms";
import { MEMBER_USER_COLUMNS, afterMemberRemoved, memberView, presencesOf, removeMemberStatements } from "../lib/membership";
import { deleteMessagesBy, publish } from "../lib/rooms";
import { toMember, toUserSummary } from "../../../core/views";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

const notSelf = (what: string) =>
  new ApiError("validation_failed", `You cannot ${what} yourself.`, { issues: [{ path: ["userId"], message: "yourself" }] });

export const memberRoutes = new Hono<AppEnv>()
  .get("/:id/members", validate("param", CommunityParam), validate("query", MembersQuery), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const db = c.var.db;
    await canSeeCommunity(db, user.id, id);
    const rows = await db
      .select({
        user: MEMBER_USER_COLUMNS,
        m: members,
      })
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(and(eq(members.communityId, id), q.after ? gt(members.userId, q.after) : undefined))
      .orderBy(asc(members.userId))
      .limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    const ids = page.map((r) => r.user.id);
    const roleRows = ids.length
      ? await db
          .select({ userId: memberRoles.userId, roleId: memberRoles.roleId })
          .from(memberRoles)
          .where(ids.length <= 90 ? and(eq(memberRoles.communityId, id), inArray(memberRoles.userId, ids)) : eq(memberRoles.communityId, id))
      : [];
    const byUser = new Map<string, string[]>();
    for (const r of roleRows) byUser.set(r.userId, [...(byUser.get(r.userId) ?? []), r.roleId]);
    const presence = await presencesOf(c.env, id);
    const list: Member[] = page.map((r) => toMember(r.user, r.m, byUser.get(r.user.id) ?? [], presence[r.user.id] ?? "offline"));
    return c.json({ members: list, nextAfter: rows.length > q.limit ? page[page.length - 1]!.user.id : null } satisfies MemberPage);
  })
  .patch("/:id/members/:userId", validate("param", CommunityUserParam), validate("json", UpdateMemberBody), async (c) => {
    const { user } = authed(c);
    const { id, userId } = c.req.valid("param");
    const { nickname } = c.req.valid("json");
    const db = c.var.db;
    const a = await canInCommunity(db, user.id, id, userId === user.id ? P.CHANGE_NICKNAME : P.MANAGE_NICKNAMES);
    const target = await canActOnMember(db, a, userId);
    if (target.nickname !== nickname) {
      await db.batch([
        db
          .update(members)
          .set({ nickname })
          .where(and(eq(members.communityId, id), eq(members.userId, userId))),
        auditInsert(db, {
          communityId: id,
          actorId: user.id,
          action: "member.nickname",
          targetKind: "user",
          targetId: userId,
          changes: { nickname: { from: target.nickname, to: nickname } },
        }),
      ]);
    }
    const member = await memberView(db, c.env, id, userId);
    if (!member) throw new ApiError("not_found", "No such member.");
    if (target.nickname !== nickname) await publish(c.env, id, { type: "member.updated", member });
    return c.json({ member } satisfies MemberResponse);
  })
  .post("/:id/members/:userId/kick", validate("param", CommunityUserParam), validate("json", KickBody), async (c) => {
    const { user } = authed(c);
    const { id, userId } = c.req.valid("param");
    const { reason } = c.req.valid("json");
    const db = c.var.db;
    const a = await canInCommunity(db, user.id, id, P.KICK_MEMBERS);
    if (userId === user.id) throw notSelf("kick");
    await canActOnMember(db, a, userId);
    await runBatch(db, [
      ...removeMemberStatements(db, id, userId),
      auditInsert(db, { communityId: id, actorId: user.id, action: "member.kick", targetKind: "user", targetId: userId, reason: reason || null }),
    ]);
    await afterMemberRemoved(db, c.env, id, userId, "kicked");
    return c.body(null, 204);
  })
  .get("/:id/bans", validate("param", CommunityParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const db = c.var.db;
    await canInCommunity(db, user.id, id, P.BAN_MEMBERS);
    const rows = await db
      .select({ user: { id: users.id, username: users.username, displayName: users.displayName }, b: bans })
      .from(bans)
      .innerJoin(users, eq(users.id, bans.userId))
      .where(eq(bans.communityId, id))
      .orderBy(asc(bans.createdAt));
    const list: Ban[] = rows.map((r) => ({ user: toUserSummary(r.user), reason: r.b.reason, bannedBy: r.b.bannedBy, createdAt: r.b.createdAt }));
    return c.json({ bans: list } satisfies BanListResponse);
  })
  .put("/:id/bans/:userId", validate("param", CommunityUserParam), validate("json", BanBody), async (c) => {
    const { user } = authed(c);
    const { id, userId } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = c.var.db;
    const a = await canInCommunity(db, user.id, id, P.BAN_MEMBERS);
    if (userId === user.id) throw notSelf("ban");
    const exists = await db.select({ id: users.id }).from(users).where(eq(users.id, userId)).limit(1);
    if (!exists.length) throw new ApiError("not_found", "No such user.");
    const wasMember = !!(await canBan(db, a, userId));
    const now = Date.now();
    const reason = body.reason || null;
    await runBatch(db, [
      ...removeMemberStatements(db, id, userId),
      db
        .insert(bans)
        .values({ communityId: id, userId, reason, bannedBy: user.id, createdAt: now })
        .onConflictDoUpdate({ target: [bans.communityId, bans.userId], set: { reason, bannedBy: user.id } }),
      auditInsert(db, {
        communityId: id,
        actorId: user.id,
        action: "member.ban",
        targetKind: "user",
        targetId: userId,
        reason,
        changes: { deleteMessageSeconds: body.deleteMessageSeconds ?? 0 },
      }),
    ]);
    const seconds = body.deleteMessageSeconds ?? 0;
    await Promise.all([
      wasMember ? afterMemberRemoved(db, c.env, id, userId, "banned") : Promise.resolve(),
      seconds > 0 ? deleteMessagesBy(c.env, await roomChannelIds(db, id), userId, now - seconds * 1000) : Promise.resolve(),
    ]);
    return c.body(null, 204);
  })
  .delete("/:id/bans/:userId", validate("param", CommunityUserParam), async (c) => {
    const { user } = authed(c);
    const { id, userId } = c.req.valid("param");
    const db = c.var.db;
    await canInCommunity(db, user.id, id, P.BAN_MEMBERS);
    if (!(await isBanned(db, id, userId))) throw new ApiError("not_found", "No such ban.");
    await db.batch([
      db.delete(bans).where(and(eq(bans.communityId, id), eq(bans.userId, userId))),
      auditInsert(db, { communityId: id, actorId: user.id, action: "member.unban", targetKind: "user", targetId: userId }),
    ]);
    return c.body(null, 204);
  })
  .post("/:id/leave", validate("param", CommunityParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const db = c.var.db;
    const a = await canSeeCommunity(db, user.id, id);
    if (a.isOwner) throw new ApiError("owner_cannot_leave", "Transfer ownership or delete the community before leaving it.");
    await runBatch(db, removeMemberStatements(db, id, user.id));
    await afterMemberRemoved(db, c.env, id, user.id, "left");
    return c.body(null, 204);
  });
