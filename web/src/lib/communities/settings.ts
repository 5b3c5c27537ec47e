/** The community settings sections and who may open each. */
import type { IconName } from "$lib/components/Icon.svelte";
import { can } from "./perms";

export interface SettingsSection {
  id: "overview" | "roles" | "channels" | "invites" | "members" | "bans" | "audit-log";
  icon: IconName;
}

const ALL: (SettingsSection & { allowed: (perms: bigint) => boolean })[] = [
  { id: "overview", icon: "gear", allowed: (p) => can(p, "MANAGE_COMMUNITY") },
  { id: "roles", icon: "shield", allowed: (p) => can(p, "MANAGE_ROLES") },
  { id: "channels", icon: "hash", allowed: (p) => can(p, "MANAGE_CHANNELS") || can(p, "MANAGE_ROLES") },
  { id: "invites", icon: "link", allowed: (p) => can(p, "MANAGE_COMMUNITY") || can(p, "CREATE_INVITE") },
  {
    id: "members",
    icon: "users",
    allowed: (p) => can(p, "KICK_MEMBERS") || can(p, "BAN_MEMBERS") || can(p, "MANAGE_NICKNAMES") || can(p, "MANAGE_ROLES"),
  },
  { id: "bans", icon: "ban", allowed: (p) => can(p, "BAN_MEMBERS") },
  { id: "audit-log", icon: "list", allowed: (p) => can(p, "VIEW_AUDIT_LOG") },
];

/** The sections `perms` (community-wide) opens, in menu order. */
export function settingsSections(perms: bigint): SettingsSection[] {
  return ALL.filter((s) => s.allowed(perms)).map(({ id, icon }) => ({ id, icon }));
}
