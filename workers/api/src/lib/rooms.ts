/**
 * Effects of directory changes on the Durable Objects: the community's CommunityHub (pushes,
 * closing sockets) and the ChannelRooms of its channels (revalidating connections, system
 * messages, purging). Which channels have a room is `roomChannelIds` (lib/chat-rooms.ts):
 * voice channels have a chat too. D1 is the source of truth and has already changed when
 * these run, so a failing Durable Object call is logged, never turned into a failed request.
 */
import { getServerByName } from "partyserver";
import type { SystemInfo } from "../../../shared/chat";
import type { HubEvent } from "../../../shared/communities";
import { log } from "./log";
import { syncVoicePermissions } from "./voice";

export function hubOf(env: Env, communityId: string) {
  return getServerByName(env.CommunityHub, communityId);
}

export function roomOf(env: Env, channelId: string) {
  return getServerByName(env.ChannelRoom, channelId);
}

async function settle(event: string, fields: Record<string, string>, tasks: (() => Promise<unknown>)[]): Promise<void> {
  const results = await Promise.allSettled(tasks.map((t) => t()));
  for (const r of results) {
    if (r.status === "rejected") log({ event, ...fields, ok: false, error: String(r.reason) });
  }
}

/** Pushes an event to every socket of the community's hub. */
export async function publish(env: Env, communityId: string, event: HubEvent): Promise<void> {
  await settle("hub.publish_failed", { communityId, type: event.type }, [async () => (await hubOf(env, communityId)).publish(event)]);
}

/** Re-sends channel views to connected members (all, or `userIds`) after visibility may have changed. */
export async function syncHubChannels(env: Env, communityId: string, userIds?: string[]): Promise<void> {
  await settle("hub.sync_failed", { communityId }, [
    async () => (await hubOf(env, communityId)).syncChannels(userIds),
    // Calls follow at once: lost CONNECT → out of the room, lost SPEAK → microphone stopped.
    () => syncVoicePermissions(env, communityId, { userIds }),
  ]);
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
