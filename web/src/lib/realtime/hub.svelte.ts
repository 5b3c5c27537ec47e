/**
 * CommunityHub connections as runes: one `LiveHub` per community in the rail (for its unread
 * dots and the user's presence there), the user's chosen status, and idle reporting after
 * IDLE_AFTER_MS without input. A thin wrapper over the framework-free `hub-core.ts`, bound
 * with `bind()` like every core.
 */
import { SvelteMap } from "svelte/reactivity";
import { IDLE_AFTER_MS, type Member, type PresenceChoice, type PresenceStatus } from "$shared/communities";
import { communitiesApi } from "$lib/communities/api";
import { type ActivityWatcher, watchActivity } from "./activity";
import { bind, type Bound } from "./bind.svelte";
import { HubCore, type HubState, isUnread } from "./hub-core";
import { badgeUnread } from "$lib/notifications/core";
import { notificationSettings } from "$lib/notifications/store.svelte";

/**
 * What the user picks. `idle` is kept by this browser (its sockets stay inactive until the
 * user picks another); the hubs store `online` for it.
 */
export type ChosenStatus = PresenceChoice;
type ServerChoice = Exclude<PresenceChoice, "idle">;
const CHOICE_KEY = "woxly.presence";
const CHOICES: readonly ChosenStatus[] = ["online", "idle", "dnd", "invisible"];

function savedChoice(): ChosenStatus {
  try {
    const v = localStorage.getItem(CHOICE_KEY);
    return (CHOICES as readonly string[]).includes(v ?? "") ? (v as ChosenStatus) : "online";
  } catch {
    return "online";
  }
}

export class LiveHub {
  readonly core: HubCore;
  readonly #bound: Bound<HubState>;
  #membersLoading = false;
  #stop: () => void;

  constructor(core: HubCore, onchange: (hub: LiveHub, previous: HubState | undefined, next: HubState) => void) {
    this.core = core;
    this.#bound = bind(core);
    let previous: HubState | undefined;
    this.#stop = core.subscribe((s) => {
      if (s === previous) return; // a frame that changed nothing
      onchange(this, previous, s);
      previous = s;
    });
  }

  /** The hub's snapshot (a rune). */
  get current(): HubState {
    return this.#bound.current;
  }

  /** Unread text channels and mentions, for the rail, as the member's notification settings show them. */
  get unread(): { any: boolean; mentions: number } {
    let any = false;
    let mentions = 0;
    const visible = new Set(this.current.channels.map((c) => c.id));
    const id = this.core.communityId;
    for (const raw of Object.values(this.current.unreads)) {
      if (!visible.has(raw.channelId)) continue;
      const u = badgeUnread(raw, notificationSettings.level(id, raw.channelId));
      if (isUnread(u)) any = true;
      mentions += u.mentions;
    }
    return { any, mentions };
  }

  /** A member's status as others see it: the hub's when synced, else what HTTP said. */
  presenceOf(userId: string, fallback?: Member): PresenceStatus {
    if (this.current.synced) return this.current.presences[userId] ?? "offline";
    return fallback?.presence ?? "offline";
  }

  /** Loads the member list once (again after a reconnect); member frames keep it current. */
  async loadMembers(force = false): Promise<void> {
    if (this.#membersLoading || (!force && this.current.members)) return;
    this.#membersLoading = true;
    this.core.beginMembersLoad();
    try {
      const list = await communitiesApi.members(this.core.communityId);
      this.core.setMembers(list);
    } catch {
      this.core.setMembers(Object.values(this.current.members ?? {}));
    } finally {
      this.#membersLoading = false;
    }
  }

  close(): void {
    this.#stop();
    this.#bound.unbind();
    this.core.close();
  }
}

class HubManager {
  readonly #hubs = new SvelteMap<string, LiveHub>();
  /** The status the user picked in the user panel (kept in this browser). */
  choice = $state<ChosenStatus>("online");
  /** No input for IDLE_AFTER_MS. */
  inactive = $state(false);
  #activity: ActivityWatcher | null = null;
  #gone = new Set<(communityId: string, why: "revoked" | "deleted") => void>();

  get #serverChoice(): ServerChoice {
    return this.choice === "idle" ? "online" : this.choice;
  }

  /** Whether this browser's sockets report idle: picked, or no input for a while. */
  get idle(): boolean {
    return this.choice === "idle" || this.inactive;
  }

  get(communityId: string): LiveHub | undefined {
    return this.#hubs.get(communityId);
  }

  /** Keeps exactly one connection open per id in `communityIds`. */
  sync(communityIds: readonly string[]): void {
    if (typeof window === "undefined") return;
    this.#start();
    const wanted = new Set(communityIds);
    for (const [id, hub] of this.#hubs) {
      if (!wanted.has(id)) {
        hub.close();
        this.#hubs.delete(id);
      }
    }
    for (const id of wanted) {
      const existing = this.#hubs.get(id);
      if (existing && existing.current.status !== "revoked" && existing.current.status !== "deleted") continue;
      existing?.close();
      const core = new HubCore(id);
      if (this.idle) core.setPresence("idle");
      this.#hubs.set(id, new LiveHub(core, (hub, prev, next) => this.#onChange(hub, prev, next)));
    }
  }

  /** Called when a community goes away under us (kicked, banned, deleted). */
  onGone(listener: (communityId: string, why: "revoked" | "deleted") => void): () => void {
    this.#gone.add(listener);
    return () => this.#gone.delete(listener);
  }

  /** The user picked a status: every hub is told, and it is remembered here. */
  setChoice(choice: ChosenStatus): void {
    const wasIdle = this.idle;
    this.choice = choice;
    try {
      localStorage.setItem(CHOICE_KEY, choice);
    } catch {
      // Not remembered across reloads; the hubs still have it.
    }
    for (const hub of this.#hubs.values()) this.#apply(hub, wasIdle);
  }

  closeAll(): void {
    for (const hub of this.#hubs.values()) hub.close();
    this.#hubs.clear();
    this.#activity?.stop();
    this.#activity = null;
    this.inactive = false;
  }

  /** Brings a hub in line with this browser: the stored choice, then idle or active. */
  #apply(hub: LiveHub, wasIdle: boolean): void {
    const server = this.#serverChoice;
    const me = hub.current.me;
    if (me && me.choice !== server) hub.core.setPresence(server);
    if (this.idle) hub.core.setPresence("idle");
    else if (wasIdle && (!me || me.choice === server)) hub.core.setActive();
  }

  #start(): void {
    if (this.#activity) return;
    this.choice = savedChoice();
    this.#activity = watchActivity(
      (inactive) => {
        const wasIdle = this.idle;
        this.inactive = inactive;
        if (wasIdle === this.idle) return;
        for (const hub of this.#hubs.values()) {
          if (this.idle) hub.core.setPresence("idle");
          else hub.core.setActive();
        }
      },
      { idleAfterMs: IDLE_AFTER_MS },
    );
  }

  #onChange(hub: LiveHub, prev: HubState | undefined, next: HubState): void {
    if (next.synced && next.me && prev?.me !== next.me) {
      if (!prev?.me || prev.status !== "live") {
        // A fresh snapshot: bring the hub's stored choice in line with this browser's, and
        // after a reconnect fetch the member list again (joins and leaves may have been missed).
        if (next.me.choice !== this.#serverChoice) hub.core.setPresence(this.#serverChoice);
        if (this.idle) hub.core.setPresence("idle");
        if (prev?.synced) void hub.loadMembers(true);
      } else if (prev.me.choice !== next.me.choice && next.me.choice !== "idle" && next.me.choice !== this.#serverChoice) {
        // Chosen on another device: follow it here and in the other communities.
        const wasIdle = this.idle;
        this.choice = next.me.choice;
        try {
          localStorage.setItem(CHOICE_KEY, next.me.choice);
        } catch {
          // As in setChoice.
        }
        for (const other of this.#hubs.values()) if (other !== hub) this.#apply(other, wasIdle);
      }
    }
    if ((next.status === "revoked" || next.status === "deleted") && prev?.status !== next.status) {
      for (const l of this.#gone) l(hub.core.communityId, next.status);
    }
  }
}

export const hubs = new HubManager();
