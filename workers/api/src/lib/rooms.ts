/**
 * Effects of directory changes on the Durable Objects: the community's CommunityHub (pushes,
 * closing sockets) and the ChannelRooms of its channels (revalidating connections, system
 * messages, purging). Which channels have a room is `roomChannelIds` (lib/chat-rooms.ts):
 * voice channels have a chat too. D1 is the source of truth and has already changed when
 * these run, so a failing Durable Object call is logged, never turned into a failed request.
 */
import type { SystemInfo } from "../../../shared/chat";
import type { HubEvent } from "../../../shared/communities";
import { log } from "../../../core/log";
import { hubOf, roomOf } from "../stubs";

export async function settle(event: string, fields: Record<string, string>, tasks: (() => Promise<unknown>)[]): Promise<void> {
  const results = await Promise.allSettled(tasks.map((t) => t()));
  for (const r of results) {
    if (r.status === "rejected") log({ event, ...fields, ok: false, error: String(r.reason) });
  }
}

/** Pushes an event to every socket of the community's hub. */
export async function publish(env: Env, communityId: string, event: HubEvent): Promise<void> {
  await settle("hub.publish_failed", { communityId, type: event.type }, [async () => (await hubOf(env, communityId)).publish(event)]);
}

/** Closes a user's sockets to the community's hub (kick, ban, leave). */
export async function disconnectFromHub(env: Env, communityId: string, userId: string): Promise<void> {
  await settle("hub.disconnect_failed", { communityId, userId }, [async () => (await hubOf(env, communityId)).disconnectUser(userId)]);
}

/** Makes each ChannelRoom re-check every connection's access from D1 (closing or downgrading). */
export async function revalidateRooms(env: Env, channelIds: string[]): Promise<void> {
  await settle("room.revalidate_failed", {}, channelIds.map((id) => async () => (await roomOf(env, id)).revalidate()));
}

/** Deletes every message of the rooms (their channel or community is being deleted). */
export async function purgeRooms(env: Env, channelIds: string[]): Promise<void> {
  await settle("room.purge_failed", {}, channelIds.map((id) => async () => (await roomOf(env, id)).purge()));
}

/** Posts a system message ("X joined") in a channel. */
export async function postSystem(env: Env, channelId: string, info: SystemInfo): Promise<void> {
  await settle("room.post_system_failed", { channelId }, [async () => (await roomOf(env, channelId)).postSystem(info)]);
}

/** Deletes a user's messages newer than `sinceMs` (ms since the epoch) in each room (ban clean-up). */
export async function deleteMessagesBy(env: Env, channelIds: string[], userId: string, sinceMs: number): Promise<void> {
  await settle(
    "room.delete_messages_failed",
    { userId },
    channelIds.map((id) => async () => (await roomOf(env, id)).deleteMessagesBy({ userId, sinceMs })),
  );
}
