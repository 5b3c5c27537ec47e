/**
 * The one way the api worker reaches its Durable Objects: a stub per community hub, channel
 * room and user inbox, by name. Routes and lib code call these, never the classes.
 */
import { getServerByName } from "partyserver";
import { inboxOf } from "../../../durable-objects/user-inbox";

export { inboxOf };

/** The CommunityHub of a community: presence, voice states, unread pings. */
export function hubOf(env: Env, communityId: string) {
  return getServerByName(env.CommunityHub, communityId);
}

/** The ChannelRoom of a text or voice channel, DM or ticket: its messages. */
export function roomOf(env: Env, channelId: string) {
  return getServerByName(env.ChannelRoom, channelId);
}

/** The SupportDesk of a desk: its queue, managers online, ticket calls, knowledge base. */
export function deskOf(env: Env, deskId: string) {
  return getServerByName(env.SupportDesk, deskId);
}

/** The CallLink of a call link: people in the call, lobby, raised hands, the settings mirror. */
export function callLinkOf(env: Env, linkId: string) {
  return getServerByName(env.CallLink, linkId);
}
