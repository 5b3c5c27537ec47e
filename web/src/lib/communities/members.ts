/**
 * The member list's groups, as Discord draws them: members who appear online under their
 * highest hoisted role (highest role first), the other online members under "Online", and
 * everyone offline last. Names sort within a group.
 */
import type { Member, PresenceStatus, Role } from "$shared/communities";

export interface MemberGroup {
  /** A hoisted role, or "online" / "offline". */
  id: string;
  role: Role | null;
  members: Member[];
}

export function groupMembers(
  members: readonly Member[],
  roles: readonly Role[],
  presenceOf: (m: Member) => PresenceStatus,
  nameOf: (m: Member) => string,
): MemberGroup[] {
  const hoisted = roles.filter((r) => r.hoist && !r.isEveryone).sort((a, b) => b.position - a.position);
  const byRole = new Map<string, Member[]>(hoisted.map((r) => [r.id, []]));
  const online: Member[] = [];
  const offline: Member[] = [];
  for (const m of members) {
    if (presenceOf(m) === "offline") {
      offline.push(m);
      continue;
    }
    const top = hoisted.find((r) => m.roleIds.includes(r.id));
    if (top) byRole.get(top.id)!.push(m);
    else online.push(m);
  }
  const collator = new Intl.Collator(undefined, { sensitivity: "base" });
  const sort = (list: Member[]) => list.sort((a, b) => collator.compare(nameOf(a), nameOf(b)));
  const groups: MemberGroup[] = [];
  for (const r of hoisted) {
    const list = byRole.get(r.id)!;
    if (list.length) groups.push({ id: r.id, role: r, members: sort(list) });
  }
  if (online.length) groups.push({ id: "online", role: null, members: sort(online) });
  if (offline.length) groups.push({ id: "offline", role: null, members: sort(offline) });
  return groups;
}
