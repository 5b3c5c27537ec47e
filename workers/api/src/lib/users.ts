import type { Me } from "../../../shared/protocol";
import type { SessionUser } from "./sessions";

/** Usernames are unique case-insensitively and by Unicode normal form. */
export function usernameKey(username: string): string {
  return username.trim().normalize("NFKC").toLowerCase();
}

export function toMe(u: SessionUser): Me {
  return { id: u.id, username: u.username, displayName: u.displayName, locale: u.locale ?? null, createdAt: u.createdAt, instanceRole: u.instanceRole ?? null };
}
