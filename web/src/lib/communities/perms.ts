/**
 * Permissions as the UI shows them: the editor's groups (as Discord groups them), which bits
 * mean something in a channel overwrite, and the viewer's community-wide set computed with
 * the shared `computePermissions` from the roles the hub keeps current.
 */
import type { Role } from "$shared/communities";
import { P, type PermissionName, computePermissions, has, parsePermissions } from "$shared/permissions";

export interface PermissionGroup {
  /** i18n key under comm.permGroup. */
  id: "general" | "text" | "voice" | "moderation";
  names: PermissionName[];
}

export const PERMISSION_GROUPS: PermissionGroup[] = [
  {
    id: "general",
    names: ["VIEW_CHANNEL", "MANAGE_CHANNELS", "MANAGE_ROLES", "MANAGE_COMMUNITY", "CREATE_INVITE", "CHANGE_NICKNAME", "ADMINISTRATOR"],
  },
  { id: "text", names: ["SEND_MESSAGES", "READ_HISTORY", "ATTACH_FILES", "ADD_REACTIONS", "MENTION_EVERYONE", "MANAGE_MESSAGES", "CREATE_THREADS", "SEND_IN_THREADS"] },
  {
    id: "voice",
    names: ["CONNECT", "SPEAK", "VIDEO", "STREAM", "USE_VOICE_ACTIVITY", "MUTE_MEMBERS", "DEAFEN_MEMBERS", "MOVE_MEMBERS"],
  },
  { id: "moderation", names: ["KICK_MEMBERS", "BAN_MEMBERS", "MODERATE_MEMBERS", "MANAGE_NICKNAMES", "MANAGE_EMOJI", "VIEW_AUDIT_LOG"] },
];

const TEXT_BITS: PermissionName[] = [
  "SEND_MESSAGES",
  "READ_HISTORY",
  "ATTACH_FILES",
  "ADD_REACTIONS",
  "MENTION_EVERYONE",
  "MANAGE_MESSAGES",
  "CREATE_THREADS",
  "SEND_IN_THREADS",
];
const VOICE_BITS: PermissionName[] = ["CONNECT", "SPEAK", "VIDEO", "STREAM", "USE_VOICE_ACTIVITY", "MUTE_MEMBERS", "DEAFEN_MEMBERS", "MOVE_MEMBERS"];
const CHANNEL_GENERAL: PermissionName[] = ["VIEW_CHANNEL", "MANAGE_CHANNELS", "MANAGE_ROLES", "CREATE_INVITE"];

/** The bits an overwrite on a channel of `kind` can change (the others are community-wide). */
export function overwriteGroups(kind: "text" | "voice" | "category"): PermissionGroup[] {
  const general: PermissionGroup = { id: "general", names: CHANNEL_GENERAL };
  if (kind === "text") return [general, { id: "text", names: TEXT_BITS }];
  if (kind === "voice") return [general, { id: "voice", names: VOICE_BITS }];
  return [general, { id: "text", names: TEXT_BITS }, { id: "voice", names: VOICE_BITS }];
}

/** Roles in display order: highest first, @everyone last. */
export function sortRoles(roles: readonly Role[]): Role[] {
  return [...roles].sort((a, b) => b.position - a.position || (a.id < b.id ? -1 : 1));
}

/** The viewer's community-wide permissions (no channel overwrites). */
export function communityPerms(opts: { userId: string; ownerId: string; roles: readonly Role[]; roleIds: readonly string[] }): bigint {
  const everyone = opts.roles.find((r) => r.isEveryone);
  const mine = opts.roles.filter((r) => !r.isEveryone && opts.roleIds.includes(r.id));
  return computePermissions({
    userId: opts.userId,
    ownerId: opts.ownerId,
    everyone: { id: everyone?.id ?? "", permissions: parsePermissions(everyone?.permissions) },
    roles: mine.map((r) => ({ id: r.id, permissions: parsePermissions(r.permissions) })),
  });
}

/** The highest position among `roleIds` (0 = only @everyone). */
export function topPosition(roles: readonly Role[], roleIds: readonly string[]): number {
  let top = 0;
  for (const r of roles) if (roleIds.includes(r.id) && r.position > top) top = r.position;
  return top;
}

/** The colour a member's name shows in: that of their highest coloured role. */
export function memberColor(roles: readonly Role[], roleIds: readonly string[]): number | null {
  let best: Role | undefined;
  for (const r of roles) {
    if (r.isEveryone || r.color === null || !roleIds.includes(r.id)) continue;
    if (!best || r.position > best.position) best = r;
  }
  return best?.color ?? null;
}

export function cssColor(color: number | null): string | undefined {
  return color === null ? undefined : `#${color.toString(16).padStart(6, "0")}`;
}

export function can(perms: bigint | string, name: PermissionName): boolean {
  return has(typeof perms === "string" ? parsePermissions(perms) : perms, P[name]);
}
