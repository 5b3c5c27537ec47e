/**
 * The one way the api worker reaches its Durable Objects: a stub per community hub, channel
 * room and user inbox, by name. Routes and lib code call these, never the classes.
 */
import { getServerByName } from "partyserver";
import { inboxOf } from "../../../durable-objects/user-inbox";

export { inboxOf };

/**
 * The CommunityHub of a community: presence, voice states, unread pings. `locationHint` places
 * it when this call creates it (lib/placement.ts); an existing object stays where it is.
 */
export function hubOf(env: Env, communityId: string, locationHint?: DurableObjectLocationHint) {
  return getServerByName(env.CommunityHub, communityId, locationHint ? { locationHint } : undefined);
}

/** The ChannelRoom of a text or voice channel, DM or ticket: its messages (`locationHint` as for hubOf). */
export function roomOf(env: Env, channelId: string, locationHint?: DurableObjectLocationHint) {
  return getServerByName(env.ChannelRoom, channelId, locationHint ? { locationHint } : undefined);
}

/** The SupportDesk of a desk: its queue, managers online, ticket calls, knowledge base. */
export function deskOf(env: Env, deskId: string) {
  return getServerByName(env.SupportDesk, deskId);
}

/** The CallLink of a call link: people in the call, lobby, raised hands, the settings mirror. */
export function callLinkOf(env: Env, linkId: string) {
  return getServerByName(env.CallLink, linkId);
}
