/**
 * What a thread's ChannelRoom does after each message (docs/threads.md), off the ack path:
 * the thread's D1 row counts it (and reopens an archived thread, and makes the author a
 * member), then the parent channel's room tells its sockets (`thread.updated`), which is how
 * the parent shows "N replies · last reply …" live.
 */
import { getServerByName } from "partyserver";
import type { ChannelActivity } from "../workers/shared/chat";
import { makeDb } from "../workers/core/db";
import { log } from "../workers/core/log";
import { publicThread, recordThreadMessage } from "../workers/core/threads";

export async function tellParentOfThread(env: Env, threadId: string, parentId: string, activity: ChannelActivity): Promise<void> {
  try {
    const db = makeDb(env.DB);
    const now = Date.now();
    await recordThreadMessage(db, threadId, activity.authorId, now);
    const thread = await publicThread(db, threadId, now);
    if (thread) await (await getServerByName(env.ChannelRoom, parentId)).threadUpdated(thread);
  } catch (e) {
    log({ event: "channel_room.thread_activity_failed", channelId: threadId, parentId, error: String(e) });
  }
}
