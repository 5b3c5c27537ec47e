/**
 * Notification settings: a member's level (every message, mentions only, nothing) and mute
 * for a community and for each of its channels. A channel without its own level inherits the
 * community's; a community without one notifies of everything. zod schemas shared by the api
 * worker and the web app. No cloudflare:* or DOM imports.
 */
import { z } from "zod";

export const NotifyLevel = z.enum(["all", "mentions", "nothing"]);
export type NotifyLevel = z.infer<typeof NotifyLevel>;

/** `mutedUntil` for "until I turn it back on": the largest time a Date can hold, ms. */
export const MUTED_FOREVER = 8_640_000_000_000_000;

/** The mute choices the menus offer, ms (null = until turned back on). */
export const MUTE_CHOICES = [15 * 60_000, 3600_000, 8 * 3600_000, 24 * 3600_000, null] as const;

/** One scope's setting. `level` null = inherit (a channel) or "all" (a community); `mutedUntil` null = not muted. */
export const NotificationSetting = z.strictObject({
  level: NotifyLevel.nullable(),
  mutedUntil: z.number().int().min(0).max(MUTED_FOREVER).nullable(),
});
export type NotificationSetting = z.infer<typeof NotificationSetting>;

/** PUT body: the whole setting for that scope. */
export const NotificationSettingBody = NotificationSetting;

export const DEFAULT_SETTING: NotificationSetting = { level: null, mutedUntil: null };

/** GET /api/communities/:id/notifications: the community's setting and each visible channel's own setting (channels without one are left out). */
export const CommunityNotificationsResponse = z.object({ community: NotificationSetting, channels: z.record(z.string(), NotificationSetting) });
export type CommunityNotificationsResponse = z.infer<typeof CommunityNotificationsResponse>;
/** GET /api/me/notifications: the member's own settings for their DMs (DMs without one are left out). */
export const DmNotificationsResponse = z.object({ dms: z.record(z.string(), NotificationSetting) });
export type DmNotificationsResponse = z.infer<typeof DmNotificationsResponse>;
/** PUT /api/communities/:id/notifications. */
export const CommunitySettingResponse = z.object({ community: NotificationSetting });
/** GET/PUT /api/channels/:id/notifications. */
export const ChannelNotificationsResponse = z.object({ channelId: z.string(), setting: NotificationSetting });
export type ChannelNotificationsResponse = z.infer<typeof ChannelNotificationsResponse>;

/** Is the scope muted at `now`? */
export function isMuted(s: NotificationSetting | undefined, now: number): boolean {
  return s?.mutedUntil != null && s.mutedUntil > now;
}

/**
 * What a channel notifies of at `now`: a muted channel or community notifies of nothing; else
 * the channel's level, else the community's, else "all".
 */
export function effectiveLevel(community: NotificationSetting | undefined, channel: NotificationSetting | undefined, now: number): NotifyLevel {
  if (isMuted(community, now) || isMuted(channel, now)) return "nothing";
  return channel?.level ?? community?.level ?? "all";
}
