/**
 * Threads (docs/threads.md): start one in a text channel (from a message or on its own), list a
 * channel's threads, read, rename, archive or reopen one, join and leave it. Mounted at
 * /api/channels (create, list) and /api/threads (the rest). A thread's messages go through its
 * ChannelRoom like any channel's: /parties/channel-room/<threadId> and /api/channels/<threadId>/...
 * Who may do what is policy.ts: canCreateThread, canJoinThread, canManageThread.
 */
import { Hono } from "hono";
import { eq } from "drizzle-orm";
import { ChannelParam } from "../../../shared/communities";
import { ApiError } from "../../../shared/errors";
import { newId } from "../../../shared/ids";
import { CreateThreadBody, DEFAULT_THREAD_ARCHIVE_MINUTES, ThreadParam, UpdateThreadBody, type ThreadDetail, type ThreadList } from "../../../shared/threads";
import { threads } from "../../../core/schema";
import { canCreateThread, canJoinThread, canManageThread, canReadChannel } from "../../../core/policy";
import { joinThread, leaveThread, listThreads, loadThread, myThread, publicThread, threadByStarter } from "../../../core/threads";
import { runBatch } from "../../../core/batch";
import { threadMembers } from "../../../core/schema";
import { log } from "../../../core/log";
import type { AppEnv } from "../env";
import { roomOf } from "../stubs";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

/** How many joined threads a list reports unread state for (one room call each). */
const UNREAD_CHECKED = 20;

/** Tells the parent channel's sockets that a thread changed (best effort: a reconnect reloads the list). */
async function announce(env: Env, db: AppEnv["Variables"]["db"], threadId: string, parentId: string): Promise<void> {
  try {
    const t = await publicThread(db, threadId);
    if (t) await (await roomOf(env, parentId)).threadUpdated(t);
  } catch (e) {
    log({ event: "threads.announce_failed", channelId: threadId, parentId, error: String(e) });
  }
}

/** /api/channels/:id/threads */
export const channelThreadRoutes = new Hono<AppEnv>()
  .post("/:id/threads", validate("param", ChannelParam), validate("json", CreateThreadBody), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = c.var.db;
    const a = await canCreateThread(db, user.id, id);
    if (body.messageId) {
      // One thread per message: starting it again opens the one there is.
      const existing = await threadByStarter(db, id, body.messageId);
      if (existing) return c.json({ thread: await myThread(db, existing, user.id) } satisfies ThreadDetail, 200);
      const m = await (await roomOf(c.env, id)).message(body.messageId);
      if (!m || m.system || m.deleted) throw new ApiError("not_found", "No such message.");
    }
    const now = Date.now();
    const threadId = newId(now);
    // The room learns it is a thread before anyone can reach it (the row makes it reachable).
    await (await roomOf(c.env, threadId)).openThread(id);
    try {
      await runBatch(db, [
        db.insert(threads).values({
          id: threadId,
          communityId: a.community.community.id,
          parentId: id,
          starterMessageId: body.messageId ?? null,
          name: body.name,
          ownerId: user.id,
          createdAt: now,
          lastActivityAt: now,
          autoArchiveMinutes: body.autoArchiveMinutes ?? DEFAULT_THREAD_ARCHIVE_MINUTES,
        }),
        db.insert(threadMembers).values({ threadId, userId: user.id, joinedAt: now }),
      ]);
    } catch (e) {
      // Two people starting a thread on one message at once: the unique starter index keeps one.
      const existing = body.messageId ? await threadByStarter(db, id, body.messageId) : undefined;
      if (existing) return c.json({ thread: await myThread(db, existing, user.id) } satisfies ThreadDetail, 200);
      throw e;
    }
    const row = (await loadThread(db, threadId))!;
    c.executionCtx.waitUntil(announce(c.env, db, threadId, id));
    return c.json({ thread: await myThread(db, row, user.id, now) } satisfies ThreadDetail, 201);
  })
  .get("/:id/threads", validate("param", ChannelParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const a = await canReadChannel(c.var.db, user.id, id);
    // A thread's own id lists nothing (no threads in threads), like any channel without threads.
    if (a.thread) return c.json({ active: [], archived: [] } satisfies ThreadList);
    const list = await listThreads(c.var.db, id, user.id);
    // Unread state of the threads the member joined, from their rooms (at most UNREAD_CHECKED, the most recent).
    const joined = list.active.filter((t) => t.joined).slice(0, UNREAD_CHECKED);
    const states = await Promise.all(
      joined.map(async (t) => {
        try {
          return (await (await roomOf(c.env, t.id)).readState(user.id, a.community?.roleIds ?? [])).unreadCount > 0;
        } catch {
          return false;
        }
      }),
    );
    joined.forEach((t, i) => (t.unread = states[i]!));
    return c.json(list satisfies ThreadList);
  });

/** /api/threads/:id */
export const threadRoutes = new Hono<AppEnv>()
  .get("/:id", validate("param", ThreadParam), async (c) => {
    const { user } = authed(c);
    const a = await canJoinThread(c.var.db, user.id, c.req.valid("param").id);
    return c.json({ thread: await myThread(c.var.db, a.thread, user.id) } satisfies ThreadDetail);
  })
  .patch("/:id", validate("param", ThreadParam), validate("json", UpdateThreadBody), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = c.var.db;
    const a = await canManageThread(db, user.id, id);
    const now = Date.now();
    // Reopening restarts the inactivity clock, or a thread idle for long would archive again at once.
    const reopen = body.archived === false;
    await db
      .update(threads)
      .set({
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.autoArchiveMinutes !== undefined ? { autoArchiveMinutes: body.autoArchiveMinutes } : {}),
        ...(body.archived === true ? { archivedAt: now } : {}),
        ...(reopen ? { archivedAt: null, lastActivityAt: now } : {}),
      })
      .where(eq(threads.id, id));
    c.executionCtx.waitUntil(announce(c.env, db, id, a.thread.parentId));
    return c.json({ thread: await myThread(db, (await loadThread(db, id))!, user.id, now) } satisfies ThreadDetail);
  })
  .put("/:id/members/me", validate("param", ThreadParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const db = c.var.db;
    const a = await canJoinThread(db, user.id, id);
    await joinThread(db, id, user.id, Date.now());
    c.executionCtx.waitUntil(announce(c.env, db, id, a.thread.parentId));
    return c.json({ thread: await myThread(db, a.thread, user.id) } satisfies ThreadDetail);
  })
  .delete("/:id/members/me", validate("param", ThreadParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const db = c.var.db;
    const a = await canJoinThread(db, user.id, id);
    await leaveThread(db, id, user.id);
    c.executionCtx.waitUntil(announce(c.env, db, id, a.thread.parentId));
    return c.json({ thread: await myThread(db, a.thread, user.id) } satisfies ThreadDetail);
  });
