/**
 * The open community as the pages under /c/[communityId] see it: the HTTP detail until the
 * hub's snapshot arrives, then the hub's live channels, roles and members. Set by the
 * community layout, read with `communityContext()`.
 */
import { getContext, setContext } from "svelte";
import type { Channel, CommunityDetail, Member, Role } from "$shared/communities";
import { hubs, type LiveHub } from "$lib/realtime/hub.svelte";
import { communityPerms, memberColor, sortRoles, topPosition } from "./perms";

const KEY = Symbol("community");

export class CommunityContext {
  readonly #detail: () => CommunityDetail;
  readonly #userId: () => string;

  constructor(detail: () => CommunityDetail, userId: () => string) {
    this.#detail = detail;
    this.#userId = userId;
  }

  readonly id = $derived.by(() => this.#detail().community.id);
  readonly hub: LiveHub | undefined = $derived.by(() => hubs.get(this.id));
  readonly synced = $derived.by(() => this.hub?.current.synced === true);
  readonly community = $derived.by(() => this.hub?.current.community ?? this.#detail().community);
  readonly channels: Channel[] = $derived.by(() => (this.synced ? this.hub!.current.channels : this.#detail().channels));
  /** Highest first, @everyone last. */
  readonly roles: Role[] = $derived.by(() => sortRoles(this.synced ? this.hub!.current.roles : this.#detail().roles));
  readonly userId = $derived.by(() => this.#userId());
  readonly members: Member[] | null = $derived.by(() => (this.hub?.current.members ? Object.values(this.hub.current.members) : null));
  readonly myRoleIds: string[] = $derived.by(() => this.hub?.current.members?.[this.userId]?.roleIds ?? this.#detail().me.roleIds);
  readonly isOwner = $derived.by(() => this.community.ownerId === this.userId);
  /** Community-wide permissions of the viewer. */
  readonly perms = $derived.by(() => communityPerms({ userId: this.userId, ownerId: this.community.ownerId, roles: this.roles, roleIds: this.myRoleIds }));
  /** The viewer's highest role position (the owner outranks everyone). */
  readonly myTop = $derived.by(() => (this.isOwner ? Number.MAX_SAFE_INTEGER : topPosition(this.roles, this.myRoleIds)));

  channel(id: string): Channel | undefined {
    return this.channels.find((c) => c.id === id);
  }

  member(userId: string): Member | undefined {
    return this.hub?.current.members?.[userId];
  }

  /** The name a member shows here: nickname, else display name. */
  nameOf(m: Member): string {
    return m.nickname ?? m.user.displayName;
  }

  colorOf(m: Member): number | null {
    return memberColor(this.roles, m.roleIds);
  }

  /** Whether the viewer may act on a member (kick, ban, nickname, roles): below their highest role. */
  outranks(m: Member): boolean {
    if (m.user.id === this.community.ownerId) return false;
    if (this.isOwner) return true;
    return topPosition(this.roles, m.roleIds) < this.myTop;
  }
}

export function setCommunityContext(ctx: CommunityContext): void {
  setContext(KEY, ctx);
}

/** The open community, or undefined outside /c/[communityId] (DMs). */
export function maybeCommunityContext(): CommunityContext | undefined {
  return getContext<CommunityContext | undefined>(KEY);
}

export function communityContext(): CommunityContext {
  const ctx = getContext<CommunityContext | undefined>(KEY);
  if (!ctx) throw new Error("communityContext() outside /c/[communityId]");
  return ctx;
}
