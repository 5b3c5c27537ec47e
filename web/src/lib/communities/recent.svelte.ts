/**
 * The channel last opened in each community, so the rail returns there (as Discord does).
 * Kept for this tab in sessionStorage.
 */
import { SvelteMap } from "svelte/reactivity";

const KEY = "woxly.lastChannels";

function restore(): [string, string][] {
  try {
    const raw: unknown = JSON.parse(sessionStorage.getItem(KEY) ?? "{}");
    if (!raw || typeof raw !== "object") return [];
    return Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === "string");
  } catch {
    return [];
  }
}

class LastChannels {
  #map = new SvelteMap<string, string>(typeof sessionStorage === "undefined" ? [] : restore());

  get(communityId: string): string | undefined {
    return this.#map.get(communityId);
  }

  set(communityId: string, channelId: string): void {
    if (this.#map.get(communityId) === channelId) return;
    this.#map.set(communityId, channelId);
    try {
      sessionStorage.setItem(KEY, JSON.stringify(Object.fromEntries(this.#map)));
    } catch {
      // Not kept across reloads.
    }
  }

  forget(communityId: string, channelId?: string): void {
    if (channelId && this.#map.get(communityId) !== channelId) return;
    this.#map.delete(communityId);
  }
}

export const lastChannel = new LastChannels();
