/**
 * A member's notification settings (workers/shared/notifications.ts): GET and PUT for a
 * community (/api/communities/:id/notifications) and for a channel or DM
 * (/api/channels/:id/notifications), and all of the member's DM settings at once
 * (/api/me/notifications: only DMs they are still in). Only for communities and channels they can see
 * (policy.ts canSeeCommunity / canSeeChannel / canSeeChannels); anything else is `not_found`.
 */
import { and, eq, isNull } from "drizzle-orm";
import { Hono } from "hono";
import type { z } from "zod";
import { ChannelParam, CommunityParam } from "../../../shared/communities";
import {
  type ChannelNotificationsResponse,
  type CommunitySettingResponse,
  type DmNotificationsResponse,
  type CommunityNotificationsResponse,
  DEFAULT_SETTING,
  type NotificationSetting,
  NotificationSettingBody,
} from "../../../shared/notifications";
import { channelRecipients, notificationSettings } from "../../../core/schema";
import { canSeeChannel, canSeeChannels, canSeeCommunity } from "../../../core/policy";
import type { Db } from "../../../core/db";
import type { AppEnv } from "../env";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

type Row = typeof notificationSettings.$inferSelect;
const toSetting = (r: Pick<Row, "level" | "mutedUntil"> | undefined): NotificationSetting =>
  r ? { level: r.level, mutedUntil: r.mutedUntil } : { ...DEFAULT_SETTING };

/** Stores the setting (a default one deletes the row). */
async function save(db: Db, userId: string, scope: Row["scope"], scopeId: string, communityId: string | null, s: NotificationSetting): Promise<void> {
  const key = and(eq(notificationSettings.userId, userId), eq(notificationSettings.scopeId, scopeId));
  if (s.level === null && s.mutedUntil === null) {
    await db.delete(notificationSettings).where(key);
    return;
  }
  const now = Date.now();
  await db
    .insert(notificationSettings)
    .values({ userId, scope, scopeId, communityId, level: s.level, mutedUntil: s.mutedUntil, updatedAt: now })
    .onConflictDoUpdate({
      target: [notificationSettings.userId, notificationSettings.scopeId],
      set: { level: s.level, mutedUntil: s.mutedUntil, updatedAt: now },
    });
}

/** /api/communities/:id/notifications */
export const communityNotificationRoutes = new Hono<AppEnv>()
  .get("/:id/notifications", validate("param", CommunityParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const db = c.var.db;
    const { channels } = await canSeeChannels(db, user.id, id);
    const visible = new Set(channels.map((v) => v.channel.id));
    const rows = await db
      .select()
      .from(notificationSettings)
      .where(and(eq(notificationSettings.userId, user.id), eq(notificationSettings.communityId, id)));
    const own = await db
      .select()
      .from(notificationSettings)
      .where(and(eq(notificationSettings.userId, user.id), eq(notificationSettings.scopeId, id)))
      .limit(1);
    const out: CommunityNotificationsResponse = { community: toSetting(own[0]), channels: {} };
    for (const r of rows) if (r.scope === "channel" && visible.has(r.scopeId)) out.channels[r.scopeId] = toSetting(r);
    return c.json(out);
  })
  .put("/:id/notifications", validate("param", CommunityParam), validate("json", NotificationSettingBody), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    await canSeeCommunity(c.var.db, user.id, id);
    await save(c.var.db, user.id, "community", id, null, body);
    return c.json({ community: body } satisfies z.infer<typeof CommunitySettingResponse>);
  });

/** /api/channels/:id/notifications */
export const channelNotificationRoutes = new Hono<AppEnv>()
  .get("/:id/notifications", validate("param", ChannelParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    await canSeeChannel(c.var.db, user.id, id);
    const rows = await c.var.db
      .select()
      .from(notificationSettings)
      .where(and(eq(notificationSettings.userId, user.id), eq(notificationSettings.scopeId, id)))
      .limit(1);
    return c.json({ channelId: id, setting: toSetting(rows[0]) } satisfies ChannelNotificationsResponse);
  })
  .put("/:id/notifications", validate("param", ChannelParam), validate("json", NotificationSettingBody), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const a = await canSeeChannel(c.var.db, user.id, id);
    await save(c.var.db, user.id, "channel", id, a.channel.communityId, body);
    return c.json({ channelId: id, setting: body } satisfies ChannelNotificationsResponse);
  });

/** /api/me/notifications: the member's DM settings, for the DM list's badges. */
export const meNotificationRoutes = new Hono<AppEnv>().get("/notifications", async (c) => {
  const { user } = authed(c);
  const rows = await c.var.db
    .select({ scopeId: notificationSettings.scopeId, level: notificationSettings.level, mutedUntil: notificationSettings.mutedUntil })
    .from(notificationSettings)
    .innerJoin(channelRecipients, and(eq(channelRecipients.channelId, notificationSettings.scopeId), eq(channelRecipients.userId, user.id)))
    .where(and(eq(notificationSettings.userId, user.id), eq(notificationSettings.scope, "channel"), isNull(notificationSettings.communityId)));
  const out: DmNotificationsResponse = { dms: {} };
  for (const r of rows) out.dms[r.scopeId] = toSetting(r);
  return c.json(out);
});
