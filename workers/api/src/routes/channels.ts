/**
 * Community channels: create and reorder (mounted at /api/communities), rename, topic, user
 * limit, move, delete and permission overwrites (mounted at /api/channels). Who may do each
 * is workers/core/policy.ts: canManageChannel (MANAGE_CHANNELS, or MANAGE_ROLES for
 * overwrites, as computed in that channel), canOverwriteFor (the hierarchy) and canGrant
 * (only bits the actor holds in that channel).
 */
import { and, eq, isNull, max } from "drizzle-orm";
import { Hono } from "hono";
import {
  ChannelParam,
  CommunityParam,
  CreateChannelBody,
  MAX_CHANNELS,
  OverwriteBody,
  OverwriteParam,
  ReorderChannelsBody,
  UpdateChannelBody,
  normalizeChannelName,
  type ChannelListResponse,
  type ChannelResponse,
} from "../../../shared/communities";
import { ApiError } from "../../../shared/errors";
import { newId } from "../../../shared/ids";
import { CHANNEL_SCOPED, P, formatPermissions, parsePermissions } from "../../../shared/permissions";
import { attachments, channelOverwrites, channels, communities, invites } from "../../../core/schema";
import type { AppEnv } from "../env";
import { type ChannelRow, loadChannelAccess } from "../../../core/access";
import { canGrant, canInCommunity, canManageChannel, canOverwriteFor, canSeeChannel, canSeeChannels, requirePerms } from "../../../core/policy";
import { auditInsert, diff } from "../../../core/audit";
import { type Statement, runBatch } from "../../../core/batch";
import { hasCommunityRoom } from "../lib/chat-rooms";
import { purgeRooms, revalidateRooms } from "../lib/rooms";
import { syncHubChannels } from "../lib/access-changed";
import { closeVoiceRoom } from "../lib/voice";
import { hubOf } from "../stubs";
import { toChannel } from "../../../core/views";
import { channelThreadIds } from "../../../core/threads";
import type { Db } from "../../../core/db";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

const noCategory = () => new ApiError("not_found", "No such category.");

/** Throws unless `parentId` is a category of the community. */
async function requireCategory(db: Db, communityId: string, parentId: string): Promise<void> {
  const row = await db
    .select({ id: channels.id })
    .from(channels)
    .where(and(eq(channels.id, parentId), eq(channels.communityId, communityId), eq(channels.kind, "category")))
    .limit(1);
  if (!row.length) throw noCategory();
}

/** Next free position among the channels with the same parent. */
async function nextPosition(db: Db, communityId: string, parentId: string | null): Promise<number> {
  const r = await db
    .select({ m: max(channels.position) })
    .from(channels)
    .where(and(eq(channels.communityId, communityId), parentId ? eq(channels.parentId, parentId) : isNull(channels.parentId)));
  const m = r[0]?.m;
  return m === null || m === undefined ? 0 : m + 1;
}

/** The channel as the actor sees it after changing its overwrites (their own permissions there may have changed too). */
async function channelView(db: Db, userId: string, channel: ChannelRow) {
  const a = await loadChannelAccess(db, userId, channel.id);
  return toChannel(channel, a?.overwrites ?? [], a?.perms ?? 0n);
}

/** /api/communities/:id/channels... */
export const communityChannelRoutes = new Hono<AppEnv>()
  .post("/:id/channels", validate("param", CommunityParam), validate("json", CreateChannelBody), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = c.var.db;
    const a = await canInCommunity(db, user.id, id, P.MANAGE_CHANNELS);
    if ((await db.$count(channels, eq(channels.communityId, id))) >= MAX_CHANNELS) {
      throw new ApiError("limit_reached", `A community can have at most ${MAX_CHANNELS} channels.`);
    }
    const parentId = body.kind === "category" ? null : (body.parentId ?? null);
    if (parentId) await requireCategory(db, id, parentId);
    const now = Date.now();
    const row: ChannelRow = {
      id: newId(now),
      communityId: id,
      parentId,
      kind: body.kind,
      name: normalizeChannelName(body.kind, body.name),
      topic: body.kind === "text" ? (body.topic ?? null) : null,
      position: await nextPosition(db, id, parentId),
      userLimit: body.kind === "voice" ? (body.userLimit ?? 0) : 0,
      e2ee: false,
      stage: false,
      createdAt: now,
      dmKey: null,
      slowmodeSeconds: 0,
    };
    const stmts: Statement[] = [db.insert(channels).values(row)];
    if (body.private) {
      // @everyone cannot see it; the creator keeps seeing it whatever their roles.
      stmts.push(
        db.insert(channelOverwrites).values([
          { channelId: row.id, targetKind: "role", targetId: a.everyoneRoleId, allow: "0", deny: formatPermissions(P.VIEW_CHANNEL) },
          { channelId: row.id, targetKind: "member", targetId: user.id, allow: formatPermissions(P.VIEW_CHANNEL), deny: "0" },
        ]),
      );
    }
    stmts.push(
      auditInsert(db, {
        communityId: id,
        actorId: user.id,
        action: "channel.create",
        targetKind: "channel",
        targetId: row.id,
        changes: { name: row.name, kind: row.kind, parentId, private: !!body.private },
      }),
    );
    await runBatch(db, stmts);
    await syncHubChannels(c.env, id);
    const ca = await canSeeChannel(db, user.id, row.id);
    return c.json({ channel: toChannel(row, ca.overwrites, ca.perms) } satisfies ChannelResponse, 201);
  })
  .put("/:id/channels/order", validate("param", CommunityParam), validate("json", ReorderChannelsBody), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const { channels: order } = c.req.valid("json");
    const db = c.var.db;
    const { access, model, channels: seen } = await canSeeChannels(db, user.id, id);
    requirePerms(access.perms, P.MANAGE_CHANNELS);
    const visible = seen.map((v) => v.channel);
    const byId = new Map(model.channels.map((ch) => [ch.id, ch]));
    const ids = order.map((o) => o.id);
    const bad = (message: string) => new ApiError("validation_failed", message, { issues: [{ path: ["channels"], message }] });
    if (new Set(ids).size !== ids.length) throw bad("a channel is listed twice");
    if (ids.length !== visible.length || !visible.every((v) => ids.includes(v.id))) {
      throw bad("list every channel you can see, exactly once");
    }
    const counters = new Map<string | null, number>();
    const stmts: Statement[] = [];
    for (const o of order) {
      const ch = byId.get(o.id)!;
      if (o.parentId !== null) {
        if (ch.kind === "category") throw bad("a category cannot have a parent");
        if (byId.get(o.parentId)?.kind !== "category") throw bad("a parent must be a category");
      }
      const position = counters.get(o.parentId) ?? 0;
      counters.set(o.parentId, position + 1);
      if (ch.position !== position || ch.parentId !== o.parentId) {
        stmts.push(db.update(channels).set({ position, parentId: o.parentId }).where(eq(channels.id, ch.id)));
      }
    }
    if (stmts.length) {
      stmts.push(
        auditInsert(db, { communityId: id, actorId: user.id, action: "channel.reorder", targetKind: "community", targetId: id, changes: { moved: stmts.length } }),
      );
      await runBatch(db, stmts);
      await syncHubChannels(c.env, id);
    }
    const after = await canSeeChannels(db, user.id, id);
    return c.json({
      channels: after.channels.map(({ channel, perms }) => toChannel(channel, after.model.overwrites.get(channel.id) ?? [], perms)),
    } satisfies ChannelListResponse);
  });

/** /api/channels/:id... (community channels) */
export const channelRoutes = new Hono<AppEnv>()
  .patch("/:id", validate("param", ChannelParam), validate("json", UpdateChannelBody), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = c.var.db;
    const ca = await canManageChannel(db, user.id, id, P.MANAGE_CHANNELS);
    const ch = ca.channel;
    const communityId = ca.community.community.id;
    const invalid = (path: string, message: string) => new ApiError("validation_failed", message, { issues: [{ path: [path], message }] });
    if (body.topic !== undefined && ch.kind !== "text") throw invalid("topic", "only text channels have a topic");
    if (body.userLimit !== undefined && ch.kind !== "voice") throw invalid("userLimit", "only voice channels have a user limit");
    if (body.e2ee !== undefined && ch.kind !== "voice") throw invalid("e2ee", "only voice channels can be end-to-end encrypted");
    if (body.stage !== undefined && ch.kind !== "voice") throw invalid("stage", "only voice channels can be stages");
    if (body.parentId !== undefined && ch.kind === "category") throw invalid("parentId", "a category cannot have a parent");
    if (body.parentId) await requireCategory(db, communityId, body.parentId);
    const patch: Partial<ChannelRow> = {};
    if (body.name !== undefined) patch.name = normalizeChannelName(ch.kind, body.name);
    if (body.topic !== undefined) patch.topic = body.topic || null;
    if (body.userLimit !== undefined) patch.userLimit = body.userLimit;
    if (body.e2ee !== undefined) patch.e2ee = body.e2ee;
    if (body.stage !== undefined) patch.stage = body.stage;
    if (body.parentId !== undefined && body.parentId !== ch.parentId) {
      patch.parentId = body.parentId;
      patch.position = await nextPosition(db, communityId, body.parentId);
    }
    const changes = diff(ch, patch);
    const updated = { ...ch, ...patch };
    if (Object.keys(changes).length) {
      await db.batch([
        db.update(channels).set(patch).where(eq(channels.id, id)),
        auditInsert(db, { communityId, actorId: user.id, action: "channel.update", targetKind: "channel", targetId: id, changes }),
      ]);
      await syncHubChannels(c.env, communityId);
      // A call cannot be half encrypted: end the running one, everyone joins again in the new mode.
      if ("e2ee" in changes) await closeVoiceRoom(c.env, communityId, id);
      // No longer a stage: its raised hands go down.
      if ("stage" in changes && !updated.stage) await (await hubOf(c.env, communityId)).lowerAllHands(id);
    }
    // Nothing above changes who may do what in the channel: the actor's permissions and its overwrites stand.
    return c.json({ channel: toChannel(updated, ca.overwrites, ca.perms) } satisfies ChannelResponse);
  })
  .delete("/:id", validate("param", ChannelParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const db = c.var.db;
    const ca = await canManageChannel(db, user.id, id, P.MANAGE_CHANNELS);
    const ch = ca.channel;
    const community = ca.community.community;
    const files = await db.select({ key: attachments.key }).from(attachments).where(eq(attachments.channelId, id));
    // Its threads' rows go with it (a foreign key); their rooms are purged below.
    const threadRooms = ch.kind === "text" ? await channelThreadIds(db, id) : [];
    const stmts: Statement[] = [
      db.delete(channels).where(eq(channels.id, id)),
      db.update(invites).set({ channelId: null }).where(eq(invites.channelId, id)),
      db.delete(attachments).where(eq(attachments.channelId, id)),
      auditInsert(db, {
        communityId: community.id,
        actorId: user.id,
        action: "channel.delete",
        targetKind: "channel",
        targetId: id,
        changes: { name: ch.name, kind: ch.kind },
      }),
    ];
    // Channels of a deleted category stay, uncategorised (as in Discord).
    if (ch.kind === "category") stmts.push(db.update(channels).set({ parentId: null }).where(eq(channels.parentId, id)));
    if (community.systemChannelId === id) stmts.push(db.update(communities).set({ systemChannelId: null }).where(eq(communities.id, community.id)));
    await runBatch(db, stmts);
    await Promise.all([
      syncHubChannels(c.env, community.id),
      // Text and voice channels both have a ChannelRoom (a voice channel's chat beside the call).
      hasCommunityRoom(ch.kind) ? purgeRooms(c.env, [id, ...threadRooms]) : Promise.resolve(),
      ch.kind === "voice" ? closeVoiceRoom(c.env, community.id, id) : Promise.resolve(),
      files.length ? c.env.FILES.delete(files.map((f) => f.key)) : Promise.resolve(),
    ]);
    return c.body(null, 204);
  })
  .put("/:id/overwrites/:targetKind/:targetId", validate("param", OverwriteParam), validate("json", OverwriteBody), async (c) => {
    const { user } = authed(c);
    const { id, targetKind, targetId } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = c.var.db;
    const ca = await canManageChannel(db, user.id, id, P.MANAGE_ROLES);
    const allow = BigInt(body.allow);
    const deny = BigInt(body.deny);
    if (((allow | deny) & ~CHANNEL_SCOPED) !== 0n) {
      throw new ApiError("validation_failed", "Only channel permissions can be overwritten.", {
        issues: [{ path: ["allow"], message: "community-wide permissions cannot be overwritten in a channel" }],
      });
    }
    const communityId = ca.community.community.id;
    const before = (
      await db
        .select()
        .from(channelOverwrites)
        .where(and(eq(channelOverwrites.channelId, id), eq(channelOverwrites.targetKind, targetKind), eq(channelOverwrites.targetId, targetId)))
        .limit(1)
    )[0];
    // Every bit that changes, in allow or deny, old or new: replacing an overwrite can lift
    // a deny or drop an allow as surely as setting one grants.
    const oldAllow = before ? parsePermissions(before.allow) : 0n;
    const oldDeny = before ? parsePermissions(before.deny) : 0n;
    canGrant(ca.perms, (allow ^ oldAllow) | (deny ^ oldDeny));
    await canOverwriteFor(db, ca.community, targetKind, targetId, true);
    await db.batch([
      db
        .insert(channelOverwrites)
        .values({ channelId: id, targetKind, targetId, allow: formatPermissions(allow), deny: formatPermissions(deny) })
        .onConflictDoUpdate({
          target: [channelOverwrites.channelId, channelOverwrites.targetKind, channelOverwrites.targetId],
          set: { allow: formatPermissions(allow), deny: formatPermissions(deny) },
        }),
      auditInsert(db, {
        communityId,
        actorId: user.id,
        action: "overwrite.update",
        targetKind: "channel",
        targetId: id,
        changes: {
          target: { kind: targetKind, id: targetId },
          allow: { from: before?.allow ?? null, to: formatPermissions(allow) },
          deny: { from: before?.deny ?? null, to: formatPermissions(deny) },
        },
      }),
    ]);
    await afterOverwriteChange(c.env, communityId, ca.channel);
    return c.json({ channel: await channelView(db, user.id, ca.channel) } satisfies ChannelResponse);
  })
  .delete("/:id/overwrites/:targetKind/:targetId", validate("param", OverwriteParam), async (c) => {
    const { user } = authed(c);
    const { id, targetKind, targetId } = c.req.valid("param");
    const db = c.var.db;
    const ca = await canManageChannel(db, user.id, id, P.MANAGE_ROLES);
    const communityId = ca.community.community.id;
    const where = and(eq(channelOverwrites.channelId, id), eq(channelOverwrites.targetKind, targetKind), eq(channelOverwrites.targetId, targetId));
    const before = (await db.select().from(channelOverwrites).where(where).limit(1))[0];
    if (!before) throw new ApiError("not_found", "No such overwrite.");
    // Removing an overwrite can grant as much as it took away: the same rule as setting one.
    canGrant(ca.perms, parsePermissions(before.allow) | parsePermissions(before.deny));
    await canOverwriteFor(db, ca.community, targetKind, targetId, false);
    await db.batch([
      db.delete(channelOverwrites).where(where),
      auditInsert(db, {
        communityId,
        actorId: user.id,
        action: "overwrite.delete",
        targetKind: "channel",
        targetId: id,
        changes: { target: { kind: targetKind, id: targetId }, allow: { from: before.allow, to: null }, deny: { from: before.deny, to: null } },
      }),
    ]);
    await afterOverwriteChange(c.env, communityId, ca.channel);
    return c.body(null, 204);
  });

async function afterOverwriteChange(env: Env, communityId: string, channel: ChannelRow): Promise<void> {
  await Promise.all([syncHubChannels(env, communityId), hasCommunityRoom(channel.kind) ? revalidateRooms(env, [channel.id]) : Promise.resolve()]);
}

