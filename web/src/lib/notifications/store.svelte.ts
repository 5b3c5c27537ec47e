/**
 * The member's notification settings as runes: per community (its own setting and its
 * channels'), and per DM, loaded once when first needed and kept current by this browser's
 * own changes. `level()` is what badges and notifications follow; `now` ticks so mutes expire.
 */
import { SvelteMap } from "svelte/reactivity";
import { DEFAULT_SETTING, type NotificationSetting, type NotifyLevel, effectiveLevel } from "$shared/notifications";
import { notificationsApi } from "./api";

interface CommunitySettings {
  community: NotificationSetting;
  channels: Record<string, NotificationSetting>;
}

/** How often mutes are re-checked, ms. */
const TICK_MS = 30_000;

class NotificationSettings {
  readonly #communities = new SvelteMap<string, CommunitySettings>();
  readonly #dms = new SvelteMap<string, NotificationSetting>();
  readonly #loading = new Map<string, Promise<void>>();
  now = $state(Date.now());
  #timer: ReturnType<typeof setInterval> | undefined;

  #tick(): void {
    if (this.#timer || typeof window === "undefined") return;
    this.#timer = setInterval(() => (this.now = Date.now()), TICK_MS);
  }

  /** Loads a community's settings once (again with `force`). */
  loadCommunity(id: string, force = false): Promise<void> {
    this.#tick();
    const key = `c:${id}`;
    if (!force && (this.#communities.has(id) || this.#loading.has(key))) return this.#loading.get(key) ?? Promise.resolve();
    const p = notificationsApi
      .community(id)
      .then((r) => void this.#communities.set(id, r))
      .catch(() => {})
      .finally(() => this.#loading.delete(key));
    this.#loading.set(key, p);
    return p;
  }

  #dmsLoaded = false;

  /** Loads the settings of all the member's DMs once (the DM list's badges follow them). */
  loadDms(): Promise<void> {
    this.#tick();
    if (this.#dmsLoaded || this.#loading.has("dms")) return this.#loading.get("dms") ?? Promise.resolve();
    const p = notificationsApi
      .dms()
      .then((all) => {
        this.#dmsLoaded = true;
        for (const [id, s] of Object.entries(all)) if (!this.#dms.has(id)) this.#dms.set(id, s);
      })
      .catch(() => {})
      .finally(() => this.#loading.delete("dms"));
    this.#loading.set("dms", p);
    return p;
  }

  /** Loads a DM's setting once. */
  loadDm(id: string): Promise<void> {
    this.#tick();
    const key = `d:${id}`;
    if (this.#dms.has(id) || this.#loading.has(key)) return this.#loading.get(key) ?? Promise.resolve();
    const p = notificationsApi
      .channel(id)
      .then((s) => void this.#dms.set(id, s))
      .catch(() => {})
      .finally(() => this.#loading.delete(key));
    this.#loading.set(key, p);
    return p;
  }

  community(id: string): NotificationSetting {
    return this.#communities.get(id)?.community ?? DEFAULT_SETTING;
  }

  channel(communityId: string | null, channelId: string): NotificationSetting {
    if (communityId === null) return this.#dms.get(channelId) ?? DEFAULT_SETTING;
    return this.#communities.get(communityId)?.channels[channelId] ?? DEFAULT_SETTING;
  }

  /** What the channel notifies of and badges now. */
  level(communityId: string | null, channelId: string): NotifyLevel {
    const community = communityId === null ? undefined : this.#communities.get(communityId)?.community;
    return effectiveLevel(community, this.channel(communityId, channelId), this.now);
  }

  async setCommunity(id: string, s: NotificationSetting): Promise<void> {
    const saved = await notificationsApi.setCommunity(id, s);
    const known = this.#communities.get(id) ?? { community: DEFAULT_SETTING, channels: {} };
    this.#communities.set(id, { ...known, community: saved });
    this.now = Date.now();
  }

  async setChannel(communityId: string | null, channelId: string, s: NotificationSetting): Promise<void> {
    const saved = await notificationsApi.setChannel(channelId, s);
    if (communityId === null) this.#dms.set(channelId, saved);
    else {
      const known = this.#communities.get(communityId) ?? { community: DEFAULT_SETTING, channels: {} };
      const channels = { ...known.channels };
      if (saved.level === null && saved.mutedUntil === null) delete channels[channelId];
      else channels[channelId] = saved;
      this.#communities.set(communityId, { ...known, channels });
    }
    this.now = Date.now();
  }
}

export const notificationSettings = new NotificationSettings();
