/**
 * Instance administration under /api/admin (docs/admin.md): for the instance's owner and the
 * admins the owner names (policy.ts "instance"). Registration mode, accounts (reset links,
 * bans, admins), storage used, community exports.
 */
import { count, desc, eq, getTableName, inArray, is, sql } from "drizzle-orm";
import { SQLiteTable } from "drizzle-orm/sqlite-core";
import { Hono } from "hono";
import {
  AdminCommunityParam,
  AdminUserParam,
  AdminUsersQuery,
  SetInstanceRoleBody,
  UpdateInstanceSettingsBody,
  type AdminOverview,
  type AdminUser,
  type AdminUsersResponse,
  type CommunityExport,
  type ResetLinkResponse,
  type StorageCommunity,
  type StorageResponse,
} from "../../../shared/admin";
import { ApiError } from "../../../shared/errors";
import * as schema from "../../../core/schema";
import { attachments, channels, communities, members, users } from "../../../core/schema";
import type { Db } from "../../../core/db";
import { registrationMode, setRegistrationMode } from "../../../core/instance";
import { log } from "../../../core/log";
import { COMMUNITY_ROOM_KINDS, canActOnInstanceUser, canAdministerInstance, canNameAdmins } from "../../../core/policy";
import type { AppEnv } from "../env";
import { contentDisposition } from "../lib/files";
import { issueResetLink } from "../lib/password-resets";
import { endUserSessions } from "../lib/sessions";
import { closeSockets } from "../lib/sockets";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";
import { roomOf } from "../stubs";

/** Accounts listed a page. */
const USERS_PAGE = 50;
/** Messages read from a ChannelRoom per call while exporting. */
const EXPORT_PAGE = 500;

type UserRow = typeof users.$inferSelect;

function adminUser(u: UserRow): AdminUser {
  return { id: u.id, username: u.username, displayName: u.displayName, createdAt: u.createdAt, instanceRole: u.instanceRole ?? null, bannedAt: u.bannedAt ?? null };
}

async function userById(db: Db, id: string): Promise<UserRow | undefined> {
  return (await db.select().from(users).where(eq(users.id, id)).limit(1))[0];
}

/** Every D1 table of the schema, for the row counts. */
const TABLES: SQLiteTable[] = (Object.values(schema) as unknown[]).filter((t): t is SQLiteTable => is(t, SQLiteTable));

export const admin = new Hono<AppEnv>()
  .get("/", async (c) => {
    const viewerRole = canAdministerInstance(authed(c).user);
    const body: AdminOverview = { settings: { registrationMode: await registrationMode(c.var.db) }, viewerRole };
    return c.json(body);
  })
  .patch("/settings", validate("json", UpdateInstanceSettingsBody), async (c) => {
    const { user } = authed(c);
    canAdministerInstance(user);
    const { registrationMode: mode } = c.req.valid("json");
    await setRegistrationMode(c.var.db, mode, user.id);
    log({ event: "instance.registration_mode", requestId: c.var.requestId, userId: user.id, mode });
    return c.json({ settings: { registrationMode: mode } });
  })
  .get("/users", validate("query", AdminUsersQuery), async (c) => {
    canAdministerInstance(authed(c).user);
    const q = c.req.valid("query").q?.normalize("NFKC").toLowerCase();
    // LIKE wildcards in the search are taken literally (escaped with "!").
    const prefix = q ? `${q.replace(/[!%_]/g, (m) => `!${m}`)}%` : undefined;
    const rows = await c.var.db
      .select()
      .from(users)
      .where(prefix ? sql`${users.usernameKey} LIKE ${prefix} ESCAPE '!'` : undefined)
      .orderBy(desc(users.createdAt))
      .limit(USERS_PAGE + 1);
    const body: AdminUsersResponse = { users: rows.slice(0, USERS_PAGE).map(adminUser), hasMore: rows.length > USERS_PAGE };
    return c.json(body);
  })
  .post("/users/:userId/reset-link", validate("param", AdminUserParam), async (c) => {
    const { user } = authed(c);
    const target = canActOnInstanceUser(user, await userById(c.var.db, c.req.valid("param").userId));
    if (target.bannedAt !== null) throw new ApiError("conflict", "Unban the account first.");
    const body: ResetLinkResponse = await issueResetLink(c.var.db, target.id, user.id);
    log({ event: "password.reset_issued", requestId: c.var.requestId, userId: user.id, targetId: target.id });
    return c.json(body, 201);
  })
  .put("/users/:userId/ban", validate("param", AdminUserParam), async (c) => {
    const { user } = authed(c);
    const target = canActOnInstanceUser(user, await userById(c.var.db, c.req.valid("param").userId));
    const now = Date.now();
    if (target.bannedAt === null) await c.var.db.update(users).set({ bannedAt: now }).where(eq(users.id, target.id));
    // Out everywhere at once: no session (so no HTTP, socket, download or media token), no socket, no voice.
    await endUserSessions(c.var.db, target.id);
    c.executionCtx.waitUntil(closeSockets(c.env, c.var.db, target.id));
    log({ event: "instance.user_banned", requestId: c.var.requestId, userId: user.id, targetId: target.id });
    return c.json({ user: adminUser({ ...target, bannedAt: target.bannedAt ?? now }) });
  })
  .delete("/users/:userId/ban", validate("param", AdminUserParam), async (c) => {
    const { user } = authed(c);
    const target = canActOnInstanceUser(user, await userById(c.var.db, c.req.valid("param").userId));
    await c.var.db.update(users).set({ bannedAt: null }).where(eq(users.id, target.id));
    log({ event: "instance.user_unbanned", requestId: c.var.requestId, userId: user.id, targetId: target.id });
    return c.json({ user: adminUser({ ...target, bannedAt: null }) });
  })
  .put("/users/:userId/role", validate("param", AdminUserParam), validate("json", SetInstanceRoleBody), async (c) => {
    const { user } = authed(c);
    const target = canNameAdmins(user, await userById(c.var.db, c.req.valid("param").userId));
    const role = c.req.valid("json").role === "admin" ? ("admin" as const) : null;
    await c.var.db.update(users).set({ instanceRole: role }).where(eq(users.id, target.id));
    log({ event: "instance.role_set", requestId: c.var.requestId, userId: user.id, targetId: target.id, role });
    return c.json({ user: adminUser({ ...target, instanceRole: role }) });
  })
  .get("/storage", async (c) => {
    canAdministerInstance(authed(c).user);
    const db = c.var.db;
    const [counts, totals, perCommunity, size] = await Promise.all([
      // Table names come from our own schema, never from the request.
      c.env.DB.batch<{ n: number }>(TABLES.map((t) => c.env.DB.prepare(`SELECT count(*) AS n FROM "${getTableName(t)}"`))),
      db.select({ files: count(), bytes: sql<number>`coalesce(sum(${attachments.size}), 0)` }).from(attachments),
      c.env.DB.prepare(
        `SELECT c.id, c.name,
                (SELECT count(*) FROM members m WHERE m.community_id = c.id) AS members,
                count(a.id) AS files, coalesce(sum(a.size), 0) AS bytes
         FROM communities c
         LEFT JOIN channels ch ON ch.community_id = c.id
         LEFT JOIN attachments a ON a.channel_id = ch.id
         GROUP BY c.id ORDER BY bytes DESC, c.name LIMIT 500`,
      ).all<{ id: string; name: string; members: number; files: number; bytes: number }>(),
      // D1 reports the database's size with every result.
      c.env.DB.prepare("SELECT 1").run(),
    ]);
    const tables = TABLES.map((t, i) => ({ name: getTableName(t), rows: Number(counts[i]?.results[0]?.n ?? 0) })).sort((a, b) => b.rows - a.rows);
    const list: StorageCommunity[] = perCommunity.results.map((r) => ({ id: r.id, name: r.name, members: r.members, files: r.files, fileBytes: r.bytes }));
    const totalBytes = Number(totals[0]?.bytes ?? 0);
    const inCommunities = list.reduce((n, r) => n + r.fileBytes, 0);
    const sizeAfter = (size.meta as { size_after?: number }).size_after;
    const body: StorageResponse = {
      d1: { bytes: typeof sizeAfter === "number" ? sizeAfter : null, tables },
      r2: { totalBytes, totalFiles: Number(totals[0]?.files ?? 0), otherBytes: Math.max(0, totalBytes - inCommunities) },
      communities: list,
    };
    return c.json(body);
  })
  .get("/communities/:id/export", validate("param", AdminCommunityParam), async (c) => {
    const { user } = authed(c);
    canAdministerInstance(user);
    const db = c.var.db;
    const id = c.req.valid("param").id;
    const community = (await db.select().from(communities).where(eq(communities.id, id)).limit(1))[0];
    if (!community) throw new ApiError("not_found", "No such community.");
    const [memberRows, channelRows] = await Promise.all([
      db
        .select({ userId: members.userId, username: users.username, displayName: users.displayName, nickname: members.nickname, joinedAt: members.joinedAt })
        .from(members)
        .innerJoin(users, eq(users.id, members.userId))
        .where(eq(members.communityId, id)),
      db.select().from(channels).where(eq(channels.communityId, id)),
    ]);
    const channelIds = channelRows.map((ch) => ch.id);
    const files = channelIds.length
      ? await db
          .select({ id: attachments.id, channelId: attachments.channelId, filename: attachments.filename, contentType: attachments.contentType, size: attachments.size, createdAt: attachments.createdAt, uploaderId: attachments.uploaderId })
          .from(attachments)
          .where(inArray(attachments.channelId, channelIds))
      : [];
    const head: Omit<CommunityExport, "channels"> = {
      format: "woxly-community-export",
      version: 1,
      exportedAt: Date.now(),
      community: { id: community.id, name: community.name, ownerId: community.ownerId, createdAt: community.createdAt },
      members: memberRows,
      files,
    };
    log({ event: "instance.community_exported", requestId: c.var.requestId, userId: user.id, communityId: id });
    // Streamed: a channel's messages are read from its ChannelRoom a page at a time and written
    // out as they come, so a big community never sits in the Worker's memory whole.
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const enc = new TextEncoder();
    const env = c.env;
    const write = async () => {
      const w = writable.getWriter();
      try {
        await w.write(enc.encode(JSON.stringify(head).slice(0, -1) + ',"channels":['));
        for (const [i, ch] of channelRows.entries()) {
          const meta = { id: ch.id, name: ch.name, kind: ch.kind, parentId: ch.parentId };
          await w.write(enc.encode(`${i ? "," : ""}${JSON.stringify(meta).slice(0, -1)},"messages":[`));
          if ((COMMUNITY_ROOM_KINDS as readonly string[]).includes(ch.kind)) {
            const room = await roomOf(env, ch.id);
            let after = 0;
            let first = true;
            for (;;) {
              const page = await room.history({ after, limit: EXPORT_PAGE });
              for (const m of page.messages) {
                await w.write(enc.encode(`${first ? "" : ","}${JSON.stringify(m)}`));
                first = false;
              }
              const last = page.messages[page.messages.length - 1];
              if (!last || !page.hasAfter) break;
              after = last.seq;
            }
          }
          await w.write(enc.encode("]}"));
        }
        await w.write(enc.encode("]}"));
        await w.close();
      } catch (e) {
        log({ event: "instance.export_failed", communityId: id, error: String(e) });
        await w.abort(e);
      }
    };
    c.executionCtx.waitUntil(write());
    const name = `woxly-${community.name.replace(/[^\p{L}\p{N}_.-]+/gu, "-").slice(0, 40) || "community"}-${new Date().toISOString().slice(0, 10)}.json`;
    return c.body(readable, 200, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Disposition": contentDisposition("attachment", name),
    });
  });
