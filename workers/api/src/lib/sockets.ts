/**
 * Ending a session ends its sockets: logging out closes that session's WebSockets, and "log
 * out everywhere" or a password change closes every socket of the user (and drops them from
 * voice). Sockets live in the CommunityHubs of the user's communities, the ChannelRooms of the
 * channels they can reach, and the SupportDesks of those communities with their running
 * tickets' rooms, so those are asked directly.
 */
import { and, eq, inArray, isNull } from "drizzle-orm";
import { callLinks, channelRecipients, channels, desks, members, tickets } from "../../../core/schema";
import type { Db } from "../../../core/db";
import { log } from "../../../core/log";
import { callLinkOf, deskOf, hubOf, inboxOf, roomOf } from "../stubs";
import { removeFromVoice } from "./voice";

/** Channel kinds whose ChannelRoom may hold a socket of a member. */
const ROOM_KINDS = ["text", "voice", "dm", "group_dm"] as const;

async function reach(db: Db, userId: string) {
  const communityIds = (await db.select({ id: members.communityId }).from(members).where(eq(members.userId, userId))).map((r) => r.id);
  const communityChannels = communityIds.length
    ? await db
        .select({ id: channels.id })
        .from(channels)
        .where(and(inArray(channels.communityId, communityIds), inArray(channels.kind, ["text", "voice"])))
    : [];
  const dms = await db
    .select({ id: channelRecipients.channelId })
    .from(channelRecipients)
    .innerJoin(channels, eq(channels.id, channelRecipients.channelId))
    .where(and(eq(channelRecipients.userId, userId), inArray(channels.kind, [...ROOM_KINDS])));
  // Support desks of those communities, and the rooms of their tickets still running (a
  // manager may have any of them open in the panel).
  const deskIds = communityIds.length ? (await db.select({ id: desks.id }).from(desks).where(inArray(desks.communityId, communityIds))).map((d) => d.id) : [];
  const ticketRooms = deskIds.length
    ? await db
        .select({ id: tickets.channelId })
        .from(tickets)
        .where(and(inArray(tickets.deskId, deskIds), inArray(tickets.status, ["assistant", "queued", "open"])))
    : [];
  // Call links they host that are still live, with their chats. (Links of others a member
  // joined are not recorded anywhere but in each link's object: docs/call-links.md "Security".)
  const links = await db
    .select({ id: callLinks.id, channelId: callLinks.channelId })
    .from(callLinks)
    .where(and(eq(callLinks.hostId, userId), isNull(callLinks.endedAt)));
  return {
    communityIds,
    deskIds,
    linkIds: links.map((l) => l.id),
    channelIds: [...communityChannels, ...dms, ...ticketRooms, ...links.map((l) => ({ id: l.channelId }))].map((r) => r.id),
  };
}

/** Closes the sockets of one session (`sessionId`) or of every session of the user (omit it). */
export async function closeSockets(env: Env, db: Db, userId: string, sessionId?: string): Promise<void> {
  const { communityIds, deskIds, linkIds, channelIds } = await reach(db, userId);
  const tasks: Promise<unknown>[] = [
    ...communityIds.map(async (id) => {
      const hub = await hubOf(env, id);
      return sessionId ? hub.disconnectSession(sessionId) : hub.disconnectUser(userId);
    }),
    ...channelIds.map(async (id) => {
      const room = await roomOf(env, id);
      return sessionId ? room.disconnectSession(sessionId) : room.disconnectUser(userId);
    }),
  ];
  tasks.push(
    ...deskIds.map(async (id) => {
      const desk = await deskOf(env, id);
      return sessionId ? desk.disconnectSession(sessionId) : desk.disconnectUser(userId);
    }),
  );
  tasks.push(...linkIds.map(async (id) => (await callLinkOf(env, id)).disconnectMember(userId, sessionId)));
  tasks.push(
    (async () => {
      const inbox = inboxOf(env, userId);
      return sessionId ? inbox.disconnectSession(sessionId) : inbox.disconnectUser();
    })(),
  );
  if (!sessionId) tasks.push(...communityIds.map((communityId) => removeFromVoice(env, { communityId }, userId)));
  const results = await Promise.allSettled(tasks);
  const failed = results.filter((r) => r.status === "rejected").length;
  log({ event: "sockets.closed", userId, scope: sessionId ? "session" : "user", targets: tasks.length, failed });
}
