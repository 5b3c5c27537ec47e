/**
 * The custom emoji of the communities the app has open: fetched once per community, kept
 * current by the hub's `emoji.updated` (the whole list). `ensure` from an effect; `of` to read.
 */
import { SvelteMap } from "svelte/reactivity";
import type { CustomEmoji } from "$shared/profiles";
import { hubs } from "$lib/realtime/hub.svelte";
import { emojiApi } from "$lib/profiles/api";
import { lookupOf, type CustomEmojiLookup } from "./custom";

class CustomEmojiStore {
  readonly #lists = new SvelteMap<string, CustomEmoji[]>();
  readonly #loading = new Set<string>();
  /** The hub connection each community's pushes are followed on (a new one after a reopen). */
  readonly #watched = new Map<string, object>();

  /** The community's emoji (empty until loaded). */
  of(communityId: string | null | undefined): CustomEmoji[] {
    return (communityId && this.#lists.get(communityId)) || [];
  }

  /** A name lookup for rendering in that community (null outside one). */
  lookup(communityId: string | null | undefined): CustomEmojiLookup | null {
    return lookupOf(this.of(communityId));
  }

  /** Replaces a community's list (after a change made here, or a push). */
  set(communityId: string, list: CustomEmoji[]): void {
    this.#lists.set(communityId, [...list].sort((a, b) => (a.name < b.name ? -1 : 1)));
  }

  /** Loads the community's list once and follows its hub's pushes. Call from an effect. */
  ensure(communityId: string | null | undefined): void {
    if (!communityId) return;
    this.#watch(communityId);
    if (this.#lists.has(communityId) || this.#loading.has(communityId)) return;
    this.#loading.add(communityId);
    emojiApi
      .list(communityId)
      .then((list) => this.set(communityId, list))
      .catch(() => {
        // Not a member any more, or offline: no custom emoji; a later ensure tries again.
      })
      .finally(() => this.#loading.delete(communityId));
  }

  #watch(communityId: string): void {
    const hub = hubs.get(communityId);
    if (!hub || this.#watched.get(communityId) === hub.core) return;
    hub.core.subscribe((_s, frame) => {
      if (frame?.type === "emoji.updated") this.set(communityId, frame.emoji);
    });
    this.#watched.set(communityId, hub.core);
  }
}

export const customEmoji = new CustomEmojiStore();
