/**
 * Roles: list, create, edit, delete, reorder, and assigning them to members. Mounted at
 * /api/communities. Takes MANAGE_ROLES; members act only on roles (and members) strictly
 * below their highest role (canActOnRole, canActOnMember), and only on permissions they hold
 * themselves: creating or editing a role changes only bits the actor has (canGrant), and
 * assigning, removing, deleting or moving a role takes holding everything it carries
 * (canGiveRoles, rolesNotHeld), since position alone says nothing about what a role grants.
 * The owner and ADMINISTRATOR hold it all. All of it is workers/core/policy.ts.
 */
import { and, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import {
  CommunityParam,
  CommunityRoleParam,
  CreateRoleBody,
  MAX_ROLES,
  MemberRoleParam,
  ReorderRolesBody,
  UpdateRoleBody,
  type RoleListResponse,
  type RoleResponse,
} from "../../../shared/communities";
import { ApiError } from "../../../shared/errors";
import { newId } from "../../../shared/ids";
import { P, parsePermissions } from "../../../shared/permissions";
import { channelOverwrites, memberRoles, roles } from "../../../core/schema";
import type { AppEnv } from "../env";
import {
  canActOnMember,
  canActOnRole,
  canGiveRoles,
  canGrant,
  canInCommunity,
  canSeeCommunity,
  outranks,
  rolesNotHeld,
} from "../../../core/policy";
import { auditInsert, diff } from "../../../core/audit";
import { type Statement, runBatch } from "../../../core/batch";
import { roomChannelIds } from "../lib/chat-rooms";
import { memberView } from "../lib/membership";
import { publish, revalidateRooms } from "../lib/rooms";
import { syncHubChannels } from "../lib/access-changed";
import { sortRoles, toRole } from "../../../core/views";
import type { Db } from "../../../core/db";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

type RoleRow = typeof roles.$inferSelect;

async function roleOf(db: Db, communityId: string, roleId: string): Promise<RoleRow> {
  const r = (await db.select().from(roles).where(and(eq(roles.id, roleId), eq(roles.communityId, communityId))).limit(1))[0];
  if (!r) throw new ApiError("not_found", "No such role.");
  return r;
}

/** Roles other than @everyone, lowest first. */
async function rankedRoles(db: Db, communityId: string): Promise<RoleRow[]> {
  const rows = await db.select().from(roles).where(and(eq(roles.communityId, communityId), eq(roles.isEveryone, false)));
  return sortRoles(rows).reverse();
}

/** Permissions changed for some members: re-send channel views and re-check every room (voice chats included). */
async function permissionsChanged(db: Db, env: Env, communityId: string, userIds?: string[]): Promise<void> {
  const rooms = await roomChannelIds(db, communityId);
  await Promise.all([syncHubChannels(env, communityId, userIds), revalidateRooms(env, rooms)]);
}

export const roleRoutes = new Hono<AppEnv>()
  .get("/:id/roles", validate("param", CommunityParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    await canSeeCommunity(c.var.db, user.id, id);
    const rows = await c.var.db.select().from(roles).where(eq(roles.communityId, id));
    return c.json({ roles: sortRoles(rows).map(toRole) } satisfies RoleListResponse);
  })
  .post("/:id/roles", validate("param", CommunityParam), validate("json", CreateRoleBody), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = c.var.db;
    const a = await canInCommunity(db, user.id, id, P.MANAGE_ROLES);
    const perms = parsePermissions(body.permissions ?? "0");
    canGrant(a.perms, perms);
    if ((await db.$count(roles, eq(roles.communityId, id))) >= MAX_ROLES) {
      throw new ApiError("limit_reached", `A community can have at most ${MAX_ROLES} roles.`);
    }
    const now = Date.now();
    // New roles start at the bottom, just above @everyone (as in Discord).
    const row: RoleRow = {
      id: newId(now),
      communityId: id,
      name: body.name,
      color: body.color ?? null,
      position: 1,
      permissions: perms.toString(),
      hoist: body.hoist ?? false,
      mentionable: body.mentionable ?? false,
      isEveryone: false,
      createdAt: now,
    };
    const others = await rankedRoles(db, id);
    await db.batch([
      db
        .update(roles)
        .set({ position: sql`${roles.position} + 1` })
        .where(and(eq(roles.communityId, id), eq(roles.isEveryone, false))),
      db.insert(roles).values(row),
      auditInsert(db, {
        communityId: id,
        actorId: user.id,
        action: "role.create",
        targetKind: "role",
        targetId: row.id,
        changes: { name: row.name, permissions: row.permissions, color: row.color },
      }),
    ]);
    await publish(c.env, id, { type: "role.created", role: toRole(row) });
    for (const r of others) await publish(c.env, id, { type: "role.updated", role: toRole({ ...r, position: r.position + 1 }) });
    return c.json({ role: toRole(row) } satisfies RoleResponse, 201);
  })
  .put("/:id/roles/order", validate("param", CommunityParam), validate("json", ReorderRolesBody), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const { roleIds } = c.req.valid("json");
    const db = c.var.db;
    const a = await canInCommunity(db, user.id, id, P.MANAGE_ROLES);
    const current = await rankedRoles(db, id);
    const bad = (message: string) => new ApiError("validation_failed", message, { issues: [{ path: ["roleIds"], message }] });
    if (new Set(roleIds).size !== roleIds.length) throw bad("a role is listed twice");
    if (roleIds.length !== current.length || !current.every((r) => roleIds.includes(r.id))) throw bad("list every role but @everyone, exactly once");
    // Roles the actor does not outrank keep their place; the others fill the places below.
    for (const [i, r] of current.entries()) {
      if (!outranks(a, r.position) && roleIds[i] !== r.id) {
        throw new ApiError("forbidden", "You can only move roles below your highest role.");
      }
    }
    // A role's place decides whom its holders may act on (and who may act on them): moving a
    // role whose permissions the actor lacks past another one, or another one past it, would
    // hand out or take away rank the actor could not give by assigning. Such roles keep their
    // order relative to every other role.
    const newIndex = new Map(roleIds.map((rid, i) => [rid, i]));
    const moved = (x: number, y: number) => Math.sign(x - y);
    for (const rid of await rolesNotHeld(db, a, current.filter((r) => outranks(a, r.position)).map((r) => r.id))) {
      const from = current.findIndex((r) => r.id === rid);
      const to = newIndex.get(rid)!;
      if (current.some((other, j) => other.id !== rid && moved(from, j) !== moved(to, newIndex.get(other.id)!))) {
        throw new ApiError("forbidden", "You can only move roles whose permissions you have.");
      }
    }
    const byId = new Map(current.map((r) => [r.id, r]));
    const stmts: Statement[] = [];
    const changed: RoleRow[] = [];
    for (const [i, rid] of roleIds.entries()) {
      const r = byId.get(rid)!;
      if (r.position !== i + 1) {
        stmts.push(db.update(roles).set({ position: i + 1 }).where(eq(roles.id, rid)));
        changed.push({ ...r, position: i + 1 });
      }
    }
    if (stmts.length) {
      stmts.push(auditInsert(db, { communityId: id, actorId: user.id, action: "role.reorder", targetKind: "community", targetId: id, changes: { order: roleIds } }));
      await runBatch(db, stmts);
      for (const r of changed) await publish(c.env, id, { type: "role.updated", role: toRole(r) });
    }
    const rows = await db.select().from(roles).where(eq(roles.communityId, id));
    return c.json({ roles: sortRoles(rows).map(toRole) } satisfies RoleListResponse);
  })
  .patch("/:id/roles/:roleId", validate("param", CommunityRoleParam), validate("json", UpdateRoleBody), async (c) => {
    const { user } = authed(c);
    const { id, roleId } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = c.var.db;
    const a = await canInCommunity(db, user.id, id, P.MANAGE_ROLES);
    const role = await roleOf(db, id, roleId);
    canActOnRole(a, role.position);
    if (role.isEveryone && (body.name !== undefined || body.hoist !== undefined || body.mentionable !== undefined || body.color !== undefined)) {
      throw new ApiError("validation_failed", "Only the permissions of @everyone can change.", { issues: [{ path: ["name"], message: "fixed for @everyone" }] });
    }
    const patch: Partial<RoleRow> = {};
    if (body.name !== undefined) patch.name = body.name;
    if (body.color !== undefined) patch.color = body.color;
    if (body.hoist !== undefined) patch.hoist = body.hoist;
    if (body.mentionable !== undefined) patch.mentionable = body.mentionable;
    if (body.permissions !== undefined) {
      const next = parsePermissions(body.permissions);
      // Taking a bit away from a role is as much the actor's call as adding it: both need it.
      canGrant(a.perms, next ^ parsePermissions(role.permissions));
      patch.permissions = next.toString();
    }
    const changes = diff(role, patch);
    const updated = { ...role, ...patch };
    if (Object.keys(changes).length) {
      await db.batch([
        db.update(roles).set(patch).where(eq(roles.id, roleId)),
        auditInsert(db, { communityId: id, actorId: user.id, action: "role.update", targetKind: "role", targetId: roleId, changes }),
      ]);
      await publish(c.env, id, { type: "role.updated", role: toRole(updated) });
      if (changes.permissions) await permissionsChanged(db, c.env, id);
    }
    return c.json({ role: toRole(updated) } satisfies RoleResponse);
  })
  .delete("/:id/roles/:roleId", validate("param", CommunityRoleParam), async (c) => {
    const { user } = authed(c);
    const { id, roleId } = c.req.valid("param");
    const db = c.var.db;
    const a = await canInCommunity(db, user.id, id, P.MANAGE_ROLES);
    const role = await roleOf(db, id, roleId);
    if (role.isEveryone) {
      throw new ApiError("validation_failed", "The @everyone role cannot be deleted.", { issues: [{ path: ["roleId"], message: "@everyone" }] });
    }
    canActOnRole(a, role.position);
    // Deleting a role takes it (and its overwrites) from every holder at once.
    await canGiveRoles(db, a, [roleId]);
    await db.batch([
      db.delete(roles).where(eq(roles.id, roleId)),
      db.delete(memberRoles).where(eq(memberRoles.roleId, roleId)),
      db.delete(channelOverwrites).where(and(eq(channelOverwrites.targetKind, "role"), eq(channelOverwrites.targetId, roleId))),
      auditInsert(db, {
        communityId: id,
        actorId: user.id,
        action: "role.delete",
        targetKind: "role",
        targetId: roleId,
        changes: { name: role.name, permissions: role.permissions },
      }),
    ]);
    await publish(c.env, id, { type: "role.deleted", roleId });
    await permissionsChanged(db, c.env, id);
    return c.body(null, 204);
  })
  .put("/:id/members/:userId/roles/:roleId", validate("param", MemberRoleParam), async (c) => {
    return c.body(null, await setMemberRole(c.var.db, c.env, authed(c).user.id, c.req.valid("param"), true));
  })
  .delete("/:id/members/:userId/roles/:roleId", validate("param", MemberRoleParam), async (c) => {
    return c.body(null, await setMemberRole(c.var.db, c.env, authed(c).user.id, c.req.valid("param"), false));
  });

async function setMemberRole(
  db: Db,
  env: Env,
  actorId: string,
  p: { id: string; userId: string; roleId: string },
  add: boolean,
): Promise<204> {
  const a = await canInCommunity(db, actorId, p.id, P.MANAGE_ROLES);
  const role = await roleOf(db, p.id, p.roleId);
  if (role.isEveryone) throw new ApiError("validation_failed", "Everyone has @everyone.", { issues: [{ path: ["roleId"], message: "@everyone" }] });
  canActOnRole(a, role.position);
  const target = await canActOnMember(db, a, p.userId);
  // Rank alone is not enough: a role made later sits low but may carry ADMINISTRATOR.
  // Assigning hands out everything the role carries, removing takes it back (and lifts the
  // denies of its overwrites): both need the actor to hold all of it.
  await canGiveRoles(db, a, [p.roleId]);
  const has = target.roleIds.includes(p.roleId);
  if (has === add) return 204;
  await db.batch([
    add
      ? db.insert(memberRoles).values({ communityId: p.id, userId: p.userId, roleId: p.roleId }).onConflictDoNothing()
      : db.delete(memberRoles).where(and(eq(memberRoles.communityId, p.id), eq(memberRoles.userId, p.userId), eq(memberRoles.roleId, p.roleId))),
    auditInsert(db, {
      communityId: p.id,
      actorId,
      action: add ? "member.role_add" : "member.role_remove",
      targetKind: "user",
      targetId: p.userId,
      changes: { roleId: p.roleId, roleName: role.name },
    }),
  ]);
  const member = await memberView(db, env, p.id, p.userId);
  if (member) await publish(env, p.id, { type: "member.updated", member });
  await permissionsChanged(db, env, p.id, [p.userId]);
  return 204;
}
