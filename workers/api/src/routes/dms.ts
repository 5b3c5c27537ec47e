/**
 * Direct messages (mounted at /api/dms) and blocks (mounted at /api/me/blocks). A DM or
 * group DM is a channel without a community whose recipients are exactly one set of people
 * (`dm_key`); it uses a ChannelRoom like any text channel. Only people who share a community
 * can start one, and never across a block. A block turns an existing 1:1 DM read-only
 * (workers/core/access.ts) at once.
 */
import { and, desc, eq, inArray } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { Hono, type Context } from "hono";
import { CallAnswerBody, type CallResponse, type DmCall } from "../../../shared/calls";
import { ChannelParam, CreateDmBody, UserParam, type BlockListResponse, type DmChannel, type DmListResponse, type DmResponse } from "../../../shared/communities";
import { ApiError } from "../../../shared/errors";
import { newId } from "../../../shared/ids";
import { channelRecipients, channels, members, userBlocks, users } from "../../../core/schema";
import type { AppEnv } from "../env";
import { canCallInDm } from "../../../core/policy";
import { revalidateRooms } from "../lib/rooms";
import { roomOf } from "../stubs";
import { log } from "../../../core/log";
import { removeFromVoice } from "../lib/voice";
import { toUserSummary } from "../../../core/views";
import type { Db } from "../../../core/db";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

const noUser = () => new ApiError("not_found", "No such user.");

/** The DM key of a set of people: sorted ids joined by ":". */
export function dmKey(userIds: string[]): string {
  return [...new Set(userIds)].sort().join(":");
}

async function dmViews(db: Db, channelRows: { id: string; kind: string; createdAt: number }[]): Promise<DmChannel[]> {
  if (!channelRows.length) return [];
  const ids = channelRows.map((r) => r.id);
  const recips = await db
    .select({ channelId: channelRecipients.channelId, user: { id: users.id, username: users.username, displayName: users.displayName, avatarKey: users.avatarKey } })
    .from(channelRecipients)
    .innerJoin(users, eq(users.id, channelRecipients.userId))
    .where(inArray(channelRecipients.channelId, ids));
  return channelRows.map((ch) => ({
    id: ch.id,
    kind: ch.kind === "dm" ? "dm" : "group_dm",
    recipients: recips.filter((r) => r.channelId === ch.id).map((r) => toUserSummary(r.user)),
    createdAt: ch.createdAt,
  }));
}

async function existingDm(db: Db, key: string) {
  return (await db.select({ id: channels.id, kind: channels.kind, createdAt: channels.createdAt }).from(channels).where(eq(channels.dmKey, key)).limit(1))[0];
}

export const dmRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const { user } = authed(c);
    const rows = await c.var.db
      .select({ id: channels.id, kind: channels.kind, createdAt: channels.createdAt })
      .from(channelRecipients)
      .innerJoin(channels, eq(channels.id, channelRecipients.channelId))
      .where(and(eq(channelRecipients.userId, user.id), inArray(channels.kind, ["dm", "group_dm"])))
      .orderBy(desc(channels.createdAt))
      .limit(200);
    return c.json({ channels: await dmViews(c.var.db, rows) } satisfies DmListResponse);
  })
  .post("/", validate("json", CreateDmBody), async (c) => {
    const { user } = authed(c);
    const { userIds } = c.req.valid("json");
    const db = c.var.db;
    if (userIds.includes(user.id)) {
      throw new ApiError("validation_failed", "List the other people only.", { issues: [{ path: ["userIds"], message: "yourself" }] });
    }
    // Only people who share a community with you; others look like unknown users.
    const mine = alias(members, "mine");
    const theirs = alias(members, "theirs");
    const shared = await db
      .selectDistinct({ userId: theirs.userId })
      .from(mine)
      .innerJoin(theirs, eq(theirs.communityId, mine.communityId))
      .where(and(eq(mine.userId, user.id), inArray(theirs.userId, userIds)));
    if (shared.length !== userIds.length) throw noUser();
    // No conversation across a block, in group DMs either: not between you and anyone you
    // add, nor between any two of the people you put together (one of them blocked the
    // other; a group would put them back in one room). Which pair it is stays unsaid.
    const everyone = [user.id, ...userIds];
    const blocked = await db
      .select({ u: userBlocks.userId })
      .from(userBlocks)
      .where(and(inArray(userBlocks.userId, everyone), inArray(userBlocks.blockedId, everyone)))
      .limit(1);
    if (blocked.length) {
      throw new ApiError("forbidden", userIds.length === 1 ? "You cannot message this user." : "You cannot start a conversation with these people.");
    }
    const key = dmKey([user.id, ...userIds]);
    const found = await existingDm(db, key);
    if (found) return c.json({ channel: (await dmViews(db, [found]))[0]! } satisfies DmResponse, 200);
    const now = Date.now();
    const row = {
      id: newId(now),
      communityId: null,
      parentId: null,
      kind: userIds.length === 1 ? ("dm" as const) : ("group_dm" as const),
      name: "",
      topic: null,
      position: 0,
      userLimit: 0,
      e2ee: false,
      createdAt: now,
      dmKey: key,
    };
    try {
      await db.batch([
        db.insert(channels).values(row),
        db.insert(channelRecipients).values([user.id, ...userIds].map((u) => ({ channelId: row.id, userId: u, addedAt: now }))),
      ]);
    } catch (e) {
      // A parallel request made the same conversation first; answer with it.
      const raced = await existingDm(db, key);
      if (raced) return c.json({ channel: (await dmViews(db, [raced]))[0]! } satisfies DmResponse, 200);
      throw e;
    }
    return c.json({ channel: (await dmViews(db, [row]))[0]! } satisfies DmResponse, 201);
  })
  // Calls (durable-objects/dm-call.ts): the same access check as the media token, so whoever
  // may ring may also join, and a block (read-only DM) stops both.
  .get("/:id/call", validate("param", ChannelParam), async (c) => {
    const { room } = await dmCallAccess(c, c.req.valid("param").id, false);
    return c.json({ call: await room.call() } satisfies CallResponse);
  })
  .post("/:id/call", validate("param", ChannelParam), async (c) => {
    const { user } = authed(c);
    const { room, channel, recipients } = await dmCallAccess(c, c.req.valid("param").id, true);
    const r = await room.callStart({
      caller: toUserSummary(user),
      members: recipients,
      kind: channel.kind === "dm" ? "dm" : "group_dm",
    });
    return c.json({ call: callOrThrow(r) } satisfies CallResponse);
  })
  .post("/:id/call/answer", validate("param", ChannelParam), validate("json", CallAnswerBody), async (c) => {
    const { user } = authed(c);
    const { accept } = c.req.valid("json");
    const { room } = await dmCallAccess(c, c.req.valid("param").id, accept);
    const call = callOrThrow(await room.callAnswer({ userId: user.id, accept }));
    if (!call && accept) throw new ApiError("not_found", "This call has ended.");
    return c.json({ call } satisfies CallResponse);
  })
  .post("/:id/call/leave", validate("param", ChannelParam), async (c) => {
    const { user } = authed(c);
    const { room } = await dmCallAccess(c, c.req.valid("param").id, false);
    return c.json({ call: callOrThrow(await room.callLeave(user.id)) } satisfies CallResponse);
  });

/** The call of a room's answer, or 429 with Retry-After when the room says to wait (ringing again too soon, too many requests). */
function callOrThrow(r: { call: DmCall | null } | { retryAfterMs: number }): DmCall | null {
  if ("retryAfterMs" in r) {
    throw new ApiError("rate_limited", "You are calling too often. Try again in a moment.", {
      headers: { "Retry-After": String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))) },
    });
  }
  return r.call;
}

/** A DM the user is in, and its room (policy.ts canCallInDm: 404 otherwise; with `connect`, 403 when blocked). */
async function dmCallAccess(c: Context<AppEnv>, id: string, connect: boolean) {
  const { user } = authed(c);
  const a = await canCallInDm(c.var.db, user.id, id, connect);
  return { channel: a.channel, recipients: a.recipients, room: await roomOf(c.env, id) };
}

/** The 1:1 DM of two people, if any. */
async function dmBetween(db: Db, a: string, b: string): Promise<string | undefined> {
  return (await existingDm(db, dmKey([a, b])))?.id;
}

export const blockRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const { user } = authed(c);
    const rows = await c.var.db
      .select({ id: users.id, username: users.username, displayName: users.displayName })
      .from(userBlocks)
      .innerJoin(users, eq(users.id, userBlocks.blockedId))
      .where(eq(userBlocks.userId, user.id))
      .orderBy(desc(userBlocks.createdAt));
    return c.json({ users: rows.map(toUserSummary) } satisfies BlockListResponse);
  })
  .put("/:userId", validate("param", UserParam), async (c) => {
    const { user } = authed(c);
    const { userId } = c.req.valid("param");
    const db = c.var.db;
    if (userId === user.id) throw new ApiError("validation_failed", "You cannot block yourself.", { issues: [{ path: ["userId"], message: "yourself" }] });
    const exists = await db.select({ id: users.id }).from(users).where(eq(users.id, userId)).limit(1);
    if (!exists.length) throw noUser();
    await db.insert(userBlocks).values({ userId: user.id, blockedId: userId, createdAt: Date.now() }).onConflictDoNothing();
    const dm = await dmBetween(db, user.id, userId);
    if (dm) {
      await revalidateRooms(c.env, [dm]);
      // A block also ends a call in that DM, for both sides (and stops its ringing).
      await (await roomOf(c.env, dm)).callMedia({ event: "finished", userId: null });
      // LiveKit being away must not undo a block: logged, and the token path refuses the DM anyway.
      await Promise.all(
        [user.id, userId].map((id) =>
          removeFromVoice(c.env, { channelIds: [dm] }, id).catch((e) => log({ event: "voice.remove_failed", channelId: dm, userId: id, error: String(e) })),
        ),
      );
    }
    return c.body(null, 204);
  })
  .delete("/:userId", validate("param", UserParam), async (c) => {
    const { user } = authed(c);
    const { userId } = c.req.valid("param");
    const db = c.var.db;
    await db.delete(userBlocks).where(and(eq(userBlocks.userId, user.id), eq(userBlocks.blockedId, userId)));
    const dm = await dmBetween(db, user.id, userId);
    if (dm) await revalidateRooms(c.env, [dm]);
    return c.body(null, 204);
  });
