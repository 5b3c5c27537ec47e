/**
 * Communities: create, list, read, rename, transfer, delete, icon, audit log.
 * Mounted at /api/communities. Every handler asks workers/core/policy.ts who may.
 */
import { and, desc, eq, inArray, lt } from "drizzle-orm";
import { Hono } from "hono";
import {
  AuditQuery,
  CommunityParam,
  CreateCommunityBody,
  DeleteCommunityBody,
  TransferBody,
  UpdateCommunityBody,
  type AuditEntry,
  type AuditPage,
  type CommunityDetail,
  type CommunityListResponse,
  type CommunityResponse,
  type CreateCommunityResponse,
} from "../../../shared/communities";
import { ApiError } from "../../../shared/errors";
import { newId } from "../../../shared/ids";
import { ALL_PERMISSIONS, DEFAULT_EVERYONE, P, formatPermissions } from "../../../shared/permissions";
import { attachments, auditLog, channels, communities, customEmoji, members, roles, users } from "../../../core/schema";
import type { AppEnv } from "../env";
import { loadCommunityAccess } from "../../../core/access";
import { canActAsOwner, canInCommunity, canSeeChannels } from "../../../core/policy";
import { auditInsert, diff } from "../../../core/audit";
import { runBatch } from "../../../core/batch";
import { roomChannelIds } from "../lib/chat-rooms";
import { log } from "../../../core/log";
import { publish, purgeRooms, revalidateRooms } from "../lib/rooms";
import { deskTeardown } from "../lib/desk-teardown";
import { hubOf, roomOf } from "../stubs";
import { hintForRequest } from "../lib/placement";
import { syncHubChannels } from "../lib/access-changed";
import { closeVoiceRoom } from "../lib/voice";
import { sortRoles, toChannel, toCommunity, toRole, toUserSummary } from "../../../core/views";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

/** Communities one user may own. */
export const MAX_OWNED_COMMUNITIES = 100;

export const communityRoutes = new Hono<AppEnv>()
  .post("/", validate("json", CreateCommunityBody), async (c) => {
    const { user } = authed(c);
    const { name } = c.req.valid("json");
    const db = c.var.db;
    const owned = await db.$count(communities, eq(communities.ownerId, user.id));
    if (owned >= MAX_OWNED_COMMUNITIES) throw new ApiError("limit_reached", `You can own at most ${MAX_OWNED_COMMUNITIES} communities.`);
    const now = Date.now();
    const id = newId(now);
    const everyone = {
      id: newId(now),
      communityId: id,
      name: "@everyone",
      color: null,
      position: 0,
      permissions: formatPermissions(DEFAULT_EVERYONE),
      hoist: false,
      mentionable: false,
      isEveryone: true,
      createdAt: now,
    };
    const textCategory = newId(now);
    const voiceCategory = newId(now);
    const general = newId(now);
    const chan = (cid: string, kind: "text" | "voice" | "category", cname: string, parentId: string | null, position: number) => ({
      id: cid,
      communityId: id,
      parentId,
      kind,
      name: cname,
      topic: null,
      position,
      userLimit: 0,
      e2ee: false,
      stage: false,
      createdAt: now,
      dmKey: null,
      slowmodeSeconds: 0,
    });
    const channelRows = [
      chan(textCategory, "category", "Text Channels", null, 0),
      chan(general, "text", "general", textCategory, 0),
      chan(voiceCategory, "category", "Voice Channels", null, 1),
      chan(newId(now), "voice", "General", voiceCategory, 0),
    ];
    const community = { id, name, iconKey: null, ownerId: user.id, createdAt: now, systemChannelId: general };
    await db.batch([
      db.insert(communities).values(community),
      db.insert(roles).values(everyone),
      db.insert(members).values({ communityId: id, userId: user.id, nickname: null, joinedAt: now }),
      db.insert(channels).values(channelRows),
    ]);
    // Its hub and first chat are made now, in the creator's region (lib/placement.ts), before the
    // creator's own sockets (or anything else) would make them wherever they first arrive.
    const hint = hintForRequest(c.req.raw);
    if (hint) {
      await Promise.all([hubOf(c.env, id, hint), roomOf(c.env, general, hint)]).catch((e) =>
        log({ event: "community.placement_failed", requestId: c.var.requestId, communityId: id, error: String(e) }),
      );
    }
    log({ event: "community.created", requestId: c.var.requestId, communityId: id, userId: user.id, locationHint: hint ?? null });
    const body: CreateCommunityResponse = {
      community: toCommunity(community),
      channels: channelRows.map((ch) => toChannel(ch, [], ALL_PERMISSIONS)),
      roles: [toRole(everyone)],
    };
    return c.json(body, 201);
  })
  .get("/", async (c) => {
    const { user } = authed(c);
    const rows = await c.var.db
      .select({ community: communities })
      .from(members)
      .innerJoin(communities, eq(communities.id, members.communityId))
      .where(eq(members.userId, user.id))
      .orderBy(members.joinedAt);
    return c.json({ communities: rows.map((r) => toCommunity(r.community)) } satisfies CommunityListResponse);
  })
  .get("/:id", validate("param", CommunityParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const db = c.var.db;
    const [{ access: a, model, channels: seen }, roleRows] = await Promise.all([
      canSeeChannels(db, user.id, id),
      db.select().from(roles).where(eq(roles.communityId, id)),
    ]);
    const body: CommunityDetail = {
      community: toCommunity(a.community),
      channels: seen.map(({ channel, perms }) => toChannel(channel, model.overwrites.get(channel.id) ?? [], perms)),
      roles: sortRoles(roleRows).map(toRole),
      me: {
        userId: user.id,
        nickname: a.nickname,
        roleIds: a.roleIds,
        isOwner: a.isOwner,
        permissions: formatPermissions(a.perms),
        joinedAt: a.joinedAt,
      },
    };
    return c.json(body);
  })
  .patch("/:id", validate("param", CommunityParam), validate("json", UpdateCommunityBody), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = c.var.db;
    const a = await canInCommunity(db, user.id, id, P.MANAGE_COMMUNITY);
    if (body.systemChannelId) {
      const ch = await db
        .select({ id: channels.id })
        .from(channels)
        .where(and(eq(channels.id, body.systemChannelId), eq(channels.communityId, id), eq(channels.kind, "text")))
        .limit(1);
      if (!ch.length) throw new ApiError("not_found", "No such text channel.");
    }
    const patch: Partial<typeof communities.$inferInsert> = {};
    if (body.name !== undefined) patch.name = body.name;
    if (body.systemChannelId !== undefined) patch.systemChannelId = body.systemChannelId;
    const changes = diff(a.community, patch);
    const updated = { ...a.community, ...patch };
    if (Object.keys(changes).length) {
      await db.batch([
        db.update(communities).set(patch).where(eq(communities.id, id)),
        auditInsert(db, { communityId: id, actorId: user.id, action: "community.update", targetKind: "community", targetId: id, changes }),
      ]);
      await publish(c.env, id, { type: "community.updated", community: toCommunity(updated) });
    }
    return c.json({ community: toCommunity(updated) } satisfies CommunityResponse);
  })
  .post("/:id/transfer", validate("param", CommunityParam), validate("json", TransferBody), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const { userId } = c.req.valid("json");
    const db = c.var.db;
    const a = await canActAsOwner(db, user.id, id);
    if (userId === user.id) throw new ApiError("validation_failed", "You already own it.", { issues: [{ path: ["userId"], message: "already the owner" }] });
    if (!(await loadCommunityAccess(db, userId, id))) throw new ApiError("not_found", "No such member.");
    await db.batch([
      db.update(communities).set({ ownerId: userId }).where(and(eq(communities.id, id), eq(communities.ownerId, user.id))),
      auditInsert(db, {
        communityId: id,
        actorId: user.id,
        action: "community.transfer",
        targetKind: "user",
        targetId: userId,
        changes: { ownerId: { from: user.id, to: userId } },
      }),
    ]);
    const updated = { ...a.community, ownerId: userId };
    await publish(c.env, id, { type: "community.updated", community: toCommunity(updated) });
    // The old owner keeps only what their roles give: rooms (voice chats too) re-check their sockets.
    await Promise.all([syncHubChannels(c.env, id, [user.id, userId]), revalidateRooms(c.env, await roomChannelIds(db, id))]);
    return c.json({ community: toCommunity(updated) } satisfies CommunityResponse);
  })
  .delete("/:id", validate("param", CommunityParam), validate("json", DeleteCommunityBody), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const { confirmName } = c.req.valid("json");
    const db = c.var.db;
    const a = await canActAsOwner(db, user.id, id);
    if (confirmName !== a.community.name) {
      throw new ApiError("validation_failed", "Type the community's name to confirm.", {
        issues: [{ path: ["confirmName"], message: "does not match the community's name" }],
      });
    }
    const chans = await db.select({ id: channels.id, kind: channels.kind }).from(channels).where(eq(channels.communityId, id));
    const chanIds = chans.map((ch) => ch.id);
    // Read before the channels go: every room (text and voice chat) is purged afterwards.
    const rooms = await roomChannelIds(db, id);
    const files = chanIds.length
      ? await db.select({ key: attachments.key }).from(attachments).where(inArray(attachments.channelId, chanIds))
      : [];
    const emojiFiles = await db.select({ key: customEmoji.key }).from(customEmoji).where(eq(customEmoji.communityId, id));
    // Its desks' ticket rooms have no community: the desks' own plan (lib/desk-teardown.ts).
    const desksGo = await deskTeardown(db, { communityId: id });
    // D1 first: access ends at once; channels, roles, members, invites, bans and the audit log cascade.
    await runBatch(db, [
      ...(chanIds.length ? [db.delete(attachments).where(inArray(attachments.channelId, chanIds))] : []),
      ...desksGo.statements,
      db.delete(communities).where(eq(communities.id, id)),
    ]);
    log({ event: "community.deleted", requestId: c.var.requestId, communityId: id, userId: user.id });
    const keys = [...files.map((f) => f.key), ...emojiFiles.map((f) => f.key), ...(a.community.iconKey ? [a.community.iconKey] : [])];
    await Promise.allSettled([
      (async () => {
        // Running calls end (LiveKit RoomService) before the hub goes: closeVoiceRoom also
        // clears the channel's voice states in the hub, which shutdown then wipes for good.
        await Promise.allSettled(chans.filter((ch) => ch.kind === "voice").map((ch) => closeVoiceRoom(c.env, id, ch.id)));
        await (await hubOf(c.env, id)).shutdown();
      })(),
      purgeRooms(c.env, rooms),
      desksGo.after(c.env),
      ...chunk(keys, 1000).map((k) => c.env.FILES.delete(k)),
    ]);
    return c.body(null, 204);
  })
  .get("/:id/icon", validate("param", CommunityParam), async (c) => {
    // Public, like the invite page that shows it.
    const { id } = c.req.valid("param");
    const row = (await c.var.db.select({ iconKey: communities.iconKey }).from(communities).where(eq(communities.id, id)).limit(1))[0];
    if (!row?.iconKey) throw new ApiError("not_found", "No icon.");
    const obj = await c.env.FILES.get(row.iconKey);
    if (!obj) throw new ApiError("not_found", "No icon.");
    const current = c.req.query("v") === row.iconKey.slice(row.iconKey.lastIndexOf("/") + 1);
    return new Response(obj.body, {
      headers: {
        "Content-Type": obj.httpMetadata?.contentType ?? "application/octet-stream",
        "Content-Length": String(obj.size),
        "Content-Disposition": "inline",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        // The URL names the icon version (`v`), so a matching one never changes.
        "Cache-Control": current ? "public, max-age=31536000, immutable" : "public, max-age=60",
        ETag: obj.httpEtag,
      },
    });
  })
  .delete("/:id/icon", validate("param", CommunityParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const db = c.var.db;
    const a = await canInCommunity(db, user.id, id, P.MANAGE_COMMUNITY);
    if (a.community.iconKey) {
      await db.batch([
        db.update(communities).set({ iconKey: null }).where(eq(communities.id, id)),
        auditInsert(db, {
          communityId: id,
          actorId: user.id,
          action: "community.icon_update",
          targetKind: "community",
          targetId: id,
          changes: { icon: { from: "set", to: null } },
        }),
      ]);
      await c.env.FILES.delete(a.community.iconKey);
      await publish(c.env, id, { type: "community.updated", community: toCommunity({ ...a.community, iconKey: null }) });
    }
    return c.json({ community: toCommunity({ ...a.community, iconKey: null }) } satisfies CommunityResponse);
  })
  .get("/:id/audit-log", validate("param", CommunityParam), validate("query", AuditQuery), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const db = c.var.db;
    await canInCommunity(db, user.id, id, P.VIEW_AUDIT_LOG);
    const rows = await db
      .select()
      .from(auditLog)
      .where(
        and(
          eq(auditLog.communityId, id),
          q.before ? lt(auditLog.id, q.before) : undefined,
          q.action ? eq(auditLog.action, q.action) : undefined,
          q.actorId ? eq(auditLog.actorId, q.actorId) : undefined,
        ),
      )
      .orderBy(desc(auditLog.id))
      .limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    const entries: AuditEntry[] = page.map((r) => ({
      id: r.id,
      actorId: r.actorId,
      action: r.action as AuditEntry["action"],
      targetKind: r.targetKind,
      targetId: r.targetId,
      changes: r.changes ? (JSON.parse(r.changes) as Record<string, unknown>) : null,
      reason: r.reason,
      createdAt: r.createdAt,
    }));
    const userIds = [...new Set(page.flatMap((r) => [r.actorId, ...(r.targetKind === "user" && r.targetId ? [r.targetId] : [])]))];
    const named = userIds.length
      ? await db.select({ id: users.id, username: users.username, displayName: users.displayName }).from(users).where(inArray(users.id, userIds.slice(0, 90)))
      : [];
    const body: AuditPage = {
      entries,
      users: named.map(toUserSummary),
      nextBefore: rows.length > q.limit ? page[page.length - 1]!.id : null,
    };
    return c.json(body);
  });

function chunk<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
