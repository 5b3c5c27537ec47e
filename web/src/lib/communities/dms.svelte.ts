/**
 * Direct messages as the DM column shows them: names from the recipients, and unread counts
 * from each conversation's read state (GET /channels/:id/read-state). DMs have no hub to
 * push changes, so the list and the counts of the most recent conversations are fetched
 * again every POLL_MS, when the window gets focus, and when a conversation is left.
 */
import { SvelteMap } from "svelte/reactivity";
import type { DmChannel, UserSummary } from "$shared/communities";
import { ReadState } from "$shared/chat";
import { client, read } from "$lib/api";
import { notificationSettings } from "$lib/notifications/store.svelte";

/** Everyone in the conversation but the viewer. */
export function othersIn(dm: DmChannel, meId: string): UserSummary[] {
  const others = dm.recipients.filter((u) => u.id !== meId);
  return others.length ? others : dm.recipients;
}

/** The conversation's name: the other person, or the others' names joined. */
export function dmName(dm: DmChannel, meId: string): string {
  return othersIn(dm, meId)
    .map((u) => u.displayName)
    .join(", ");
}

/** How often the DM list and its unread counts are fetched again, ms. */
export const POLL_MS = 60_000;
/** Conversations whose unread counts are polled (the most recent first). */
const POLLED = 20;

class DmUnreads {
  /** By channel id. */
  readonly byChannel = new SvelteMap<string, { unread: number; mentions: number }>();

  async refresh(ids: readonly string[]): Promise<void> {
    await Promise.all(
      ids.slice(0, POLLED).map(async (id) => {
        try {
          const s = await read(client.channels[":id"]["read-state"].$get({ param: { id } }), ReadState);
          this.byChannel.set(id, { unread: s.unreadCount, mentions: s.mentionCount });
        } catch {
          // Shown without a badge.
        }
      }),
    );
  }

  clear(id: string): void {
    this.byChannel.set(id, { unread: 0, mentions: 0 });
  }

  get total(): number {
    let n = 0;
    // A DM set to notify of nothing (or muted) shows no badge (notifications/store.svelte.ts).
    for (const [id, v] of this.byChannel) if (notificationSettings.level(null, id) !== "nothing") n += v.unread;
    return n;
  }
}

export const dmUnreads = new DmUnreads();
