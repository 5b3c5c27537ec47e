/**
 * Which channels have a ChannelRoom, for whatever must reach all of a community's rooms. Who
 * may use a room (canChat, canReadChannel, readableChannels) is workers/core/policy.ts.
 */
import { and, eq, inArray } from "drizzle-orm";
import { channels } from "../../../core/schema";
import type { Db } from "../../../core/db";
import { COMMUNITY_ROOM_KINDS } from "../../../core/policy";
import { communityThreadIds } from "../../../core/threads";

/** Whether a community channel of this kind has a ChannelRoom (categories do not). */
export function hasCommunityRoom(kind: string): boolean {
  return (COMMUNITY_ROOM_KINDS as readonly string[]).includes(kind);
}

/**
 * Every channel of a community that has a ChannelRoom (text and voice; never categories).
 * The one list for whatever must reach all of a community's rooms when access changes:
 * revalidation after role, overwrite, membership and ownership changes, ban clean-up, and
 * purging on community deletion. Threads' rooms are in it too (docs/threads.md).
 */
export async function roomChannelIds(db: Db, communityId: string): Promise<string[]> {
  const [rows, threadIds] = await Promise.all([
    db
      .select({ id: channels.id })
      .from(channels)
      .where(and(eq(channels.communityId, communityId), inArray(channels.kind, [...COMMUNITY_ROOM_KINDS]))),
    communityThreadIds(db, communityId),
  ]);
  return [...rows.map((r) => r.id), ...threadIds];
}
