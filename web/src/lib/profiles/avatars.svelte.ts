/**
 * Avatar URLs the app has seen outside a community (yourself, people in DMs, profiles opened),
 * for Avatar.svelte; inside a community the member list says (Member.avatarUrl).
 */
import { SvelteMap } from "svelte/reactivity";
import { session } from "$lib/session.svelte";
import { communities } from "$lib/communities/store.svelte";

const seen = new SvelteMap<string, string | null>();

/** Remembers the avatars of people the app was told about (UserSummary.avatarUrl, when present). */
export function rememberAvatars(users: Iterable<{ id: string; avatarUrl?: string | null }>): void {
  for (const u of users) if (u.avatarUrl !== undefined && seen.get(u.id) !== u.avatarUrl) seen.set(u.id, u.avatarUrl);
}

/** The avatar of a user as far as the app knows: yourself, a DM's people, a profile opened; null otherwise. */
export function avatarOf(userId: string): string | null {
  const me = session.user;
  if (me?.id === userId) return me.avatarUrl ?? null;
  const known = seen.get(userId);
  if (known !== undefined) return known;
  for (const dm of communities.dms) {
    const u = dm.recipients.find((r) => r.id === userId);
    if (u?.avatarUrl !== undefined) return u.avatarUrl;
  }
  return null;
}
