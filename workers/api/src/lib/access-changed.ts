/**
 * After a change that may alter who sees or may join what (roles, overwrites, member roles,
 * ownership): the hub re-sends channel views and the calls follow at once. Kept apart from
 * rooms.ts so that voice.ts (which publishes hub events) and rooms.ts do not import each other.
 */
import { hubOf } from "../stubs";
import { settle } from "./rooms";
import { syncVoicePermissions } from "./voice";
import { revalidateDesks } from "./desk-access";

/** Re-sends channel views to connected members (all, or `userIds`) after visibility may have changed. */
export async function syncHubChannels(env: Env, communityId: string, userIds?: string[]): Promise<void> {
  await settle("hub.sync_failed", { communityId }, [
    async () => (await hubOf(env, communityId)).syncChannels(userIds),
    // Calls follow at once: lost CONNECT → out of the room, lost SPEAK → microphone stopped.
    () => syncVoicePermissions(env, communityId, { userIds }),
    // Support desks: a manager who lost the desk's role is disconnected from it.
    () => revalidateDesks(env, communityId),
  ]);
}
