/** D1 rows to the shapes the API and the CommunityHub send (see shared/communities.ts). */
import { type Channel, type Community, type Member, type PresenceStatus, type Role, type UserSummary, iconUrl } from "../shared/communities";
import { formatPermissions, type OverwriteInput } from "../shared/permissions";
import { avatarUrl, liveStatus } from "../shared/profiles";
import { timedOut } from "../shared/moderation";
import type { channels, communities, roles, users } from "./schema";

export function toCommunity(c: typeof communities.$inferSelect): Community {
  return {
    id: c.id,
    name: c.name,
    iconUrl: iconUrl(c.id, c.iconKey),
    ownerId: c.ownerId,
    systemChannelId: c.systemChannelId,
    createdAt: c.createdAt,
  };
}

export function toRole(r: typeof roles.$inferSelect): Role {
  return {
    id: r.id,
    name: r.name,
    color: r.color,
    position: r.position,
    permissions: r.permissions,
    hoist: r.hoist,
    mentionable: r.mentionable,
    isEveryone: r.isEveryone,
  };
}

/** Roles in display order: highest first, @everyone last. */
export function sortRoles<T extends { position: number; id: string }>(list: T[]): T[] {
  return [...list].sort((a, b) => b.position - a.position || (a.id < b.id ? -1 : 1));
}

/** A community channel as `viewerPerms` sees it. */
export function toChannel(c: typeof channels.$inferSelect, overwrites: OverwriteInput[], viewerPerms: bigint): Channel {
  if (c.kind !== "text" && c.kind !== "voice" && c.kind !== "category") throw new Error(`not a community channel: ${c.kind}`);
  return {
    id: c.id,
    communityId: c.communityId ?? "",
    kind: c.kind,
    name: c.name,
    topic: c.topic,
    parentId: c.parentId,
    position: c.position,
    userLimit: c.userLimit,
    e2ee: c.e2ee,
    slowmodeSeconds: c.slowmodeSeconds,
    stage: c.stage,
    overwrites: overwrites.map((o) => ({
      targetKind: o.kind,
      targetId: o.id,
      allow: formatPermissions(o.allow),
      deny: formatPermissions(o.deny),
    })),
    permissions: formatPermissions(viewerPerms),
    createdAt: c.createdAt,
  };
}

/** A user as others see them; `avatarUrl` only when the row carried `avatarKey`. */
export function toUserSummary(u: Pick<typeof users.$inferSelect, "id" | "username" | "displayName"> & { avatarKey?: string | null }): UserSummary {
  const s: UserSummary = { id: u.id, username: u.username, displayName: u.displayName };
  if (u.avatarKey !== undefined) s.avatarUrl = avatarUrl(u.avatarKey);
  return s;
}

export function toMember(
  u: Pick<typeof users.$inferSelect, "id" | "username" | "displayName"> &
    Partial<Pick<typeof users.$inferSelect, "avatarKey" | "statusText" | "statusEmoji" | "statusExpiresAt">>,
  m: { nickname: string | null; joinedAt: number; avatarKey?: string | null; timeoutUntil?: number | null },
  roleIds: string[],
  presence: PresenceStatus,
  now = Date.now(),
): Member {
  const user = toUserSummary(u);
  return {
    user,
    nickname: m.nickname,
    roleIds,
    joinedAt: m.joinedAt,
    presence,
    avatarUrl: m.avatarKey ? avatarUrl(m.avatarKey) : (user.avatarUrl ?? null),
    communityAvatar: !!m.avatarKey,
    customStatus:
      u.statusText !== undefined ? liveStatus({ statusText: u.statusText ?? null, statusEmoji: u.statusEmoji ?? null, statusExpiresAt: u.statusExpiresAt ?? null }, Date.now()) : undefined,
    timeoutUntil: timedOut(m.timeoutUntil, now) ? m.timeoutUntil! : null,
  };
}
