/**
 * A thread's id where a channel's is expected (a notification's link, a shared URL, "next
 * unread"): the thread opens beside its parent channel instead, as
 * `/c/<communityId>/<parentId>?thread=<threadId>` (ChannelPane reads `thread`).
 */
import { ThreadDetail } from "$shared/threads";
import { client, read } from "$lib/api";

/** Where to go for `id` if it is a thread the member can see; null otherwise. */
export async function threadHref(communityId: string, id: string): Promise<string | null> {
  try {
    const { thread } = await read(client.threads[":id"].$get({ param: { id } }), ThreadDetail);
    if (thread.communityId !== communityId) return null;
    return `/c/${encodeURIComponent(communityId)}/${encodeURIComponent(thread.parentId)}?thread=${encodeURIComponent(thread.id)}`;
  } catch {
    return null;
  }
}
