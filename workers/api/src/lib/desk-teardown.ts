/**
 * Deleting desks, alone (DELETE /api/desks/:deskId) or with their community: one plan for
 * both. Read what goes before D1 changes, run the plan's statements in the caller's batch
 * (access ends at once: the desk, its keys, canned replies, visitors, tickets and transcripts
 * cascade; the tickets' channel rows and files have no community and are deleted here), then
 * `after` purges each ticket's ChannelRoom and each desk's SupportDesk object (sockets closed,
 * every byte dropped) and removes the files from R2.
 */
import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "../../../core/db";
import type { Statement } from "../../../core/batch";
import { attachments, channels, desks, tickets } from "../../../core/schema";
import { purgeRooms, settle } from "./rooms";
import { deskOf } from "../stubs";

export interface DeskTeardown {
  statements: Statement[];
  after(env: Env): Promise<void>;
}

/** The plan for deleting these desks (ids of one community, or all of a community's with `communityId`). */
export async function deskTeardown(db: Db, which: { deskId: string } | { communityId: string }): Promise<DeskTeardown> {
  const deskIds =
    "deskId" in which ? [which.deskId] : (await db.select({ id: desks.id }).from(desks).where(eq(desks.communityId, which.communityId))).map((d) => d.id);
  if (!deskIds.length) return { statements: [], after: async () => {} };
  const ticketRooms = db.select({ id: tickets.channelId }).from(tickets).where(inArray(tickets.deskId, deskIds));
  const rooms = (await ticketRooms).map((t) => t.id);
  const files = rooms.length ? await db.select({ key: attachments.key }).from(attachments).where(inArray(attachments.channelId, ticketRooms)) : [];
  return {
    statements: [
      db.delete(attachments).where(inArray(attachments.channelId, ticketRooms)),
      db.delete(channels).where(and(eq(channels.kind, "ticket"), inArray(channels.id, ticketRooms))),
      db.delete(desks).where(inArray(desks.id, deskIds)),
    ],
    async after(env) {
      await Promise.allSettled([
        settle("desk.purge_failed", {}, deskIds.map((id) => async () => (await deskOf(env, id)).purge())),
        purgeRooms(env, rooms),
        ...files.map((f) => env.FILES.delete(f.key)),
      ]);
    },
  };
}
