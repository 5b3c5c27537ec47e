/**
 * The user's communities (the rail), direct messages and blocks as shared reactive state.
 * The app renders in the browser only, so module singletons are per tab.
 */
import { SvelteSet } from "svelte/reactivity";
import type { Community, DmChannel, UserSummary } from "$shared/communities";
import { hubs } from "$lib/realtime/hub.svelte";
import { communitiesApi } from "./api";
import { lastChannel } from "./recent.svelte";
import { toasts } from "./toast.svelte";

class CommunitiesStore {
  list = $state<Community[]>([]);
  loaded = $state(false);
  dms = $state<DmChannel[]>([]);
  dmsLoaded = $state(false);
  /** Communities this user is leaving or deleting right now: their hub closing is expected. */
  readonly departing = new Set<string>();
  /** Users this user has blocked. */
  blocked = new SvelteSet<string>();
  blockedLoaded = false;

  /** The rail's communities, with the hub's newer name and icon when it has them. */
  get communities(): Community[] {
    return this.list.map((c) => hubs.get(c.id)?.current.community ?? c);
  }

  async load(fetchImpl?: typeof fetch): Promise<void> {
    const [list, dms] = await Promise.all([
      communitiesApi.list(fetchImpl),
      communitiesApi.dms(fetchImpl).catch(() => null),
    ]);
    this.list = list;
    this.loaded = true;
    if (dms) {
      this.dms = dms;
      this.dmsLoaded = true;
    }
  }

  /** GET /api/dms again: conversations others started appear (there is no push for DMs). */
  async refreshDms(): Promise<void> {
    try {
      this.dms = await communitiesApi.dms();
      this.dmsLoaded = true;
    } catch {
      // Keep the list we have.
    }
  }

  async loadBlocks(): Promise<void> {
    if (this.blockedLoaded) return;
    try {
      const users: UserSummary[] = await communitiesApi.blocks();
      this.blocked.clear();
      for (const u of users) this.blocked.add(u.id);
      this.blockedLoaded = true;
    } catch {
      // Shown as not blocked; the server decides anyway.
    }
  }

  add(community: Community): void {
    if (!this.list.some((c) => c.id === community.id)) this.list = [...this.list, community];
  }

  replace(community: Community): void {
    this.list = this.list.map((c) => (c.id === community.id ? community : c));
  }

  remove(communityId: string): void {
    this.list = this.list.filter((c) => c.id !== communityId);
  }

  /**
   * The hub shut us out (kicked, banned, left elsewhere) or the community was deleted: off the
   * rail, with a notice unless this tab asked for it (leaving, deleting).
   */
  gone(communityId: string, why: "revoked" | "deleted"): void {
    const name = this.communities.find((c) => c.id === communityId)?.name ?? "";
    const reason = hubs.get(communityId)?.current.leftReason;
    const expected = this.departing.delete(communityId);
    this.remove(communityId);
    lastChannel.forget(communityId);
    if (expected || reason === "left") return;
    // The hub may close the socket before its member.left arrives: then the reason is unknown.
    const key = why === "deleted" ? "comm.toast.deleted" : reason === "banned" ? "comm.toast.banned" : "comm.toast.removed";
    toasts.show(key, { name }, "danger");
  }

  addDm(dm: DmChannel): void {
    if (!this.dms.some((d) => d.id === dm.id)) this.dms = [dm, ...this.dms];
  }

  reset(): void {
    this.list = [];
    this.loaded = false;
    this.dms = [];
    this.dmsLoaded = false;
    this.blocked.clear();
    this.blockedLoaded = false;
  }
}

export const communities = new CommunitiesStore();
