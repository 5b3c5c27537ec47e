import type { Me } from "../../../shared/protocol";
import { avatarUrl } from "../../../shared/profiles";
import type { SessionUser } from "./sessions";

/** Usernames are unique case-insensitively and by Unicode normal form. */
export function usernameKey(username: string): string {
  return username.trim().normalize("NFKC").toLowerCase();
}

export function toMe(u: Pick<SessionUser, "id" | "username" | "displayName" | "locale" | "createdAt" | "instanceRole" | "avatarKey">): Me {
  return { id: u.id, username: u.username, displayName: u.displayName, locale: u.locale ?? null, createdAt: u.createdAt, instanceRole: u.instanceRole ?? null, avatarUrl: avatarUrl(u.avatarKey) };
}
