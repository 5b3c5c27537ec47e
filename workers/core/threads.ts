/**
 * Threads in D1 (docs/threads.md): the `threads` row (name, activity, archive state) and its
 * `thread_members`. Facts only: who may do what is policy.ts (threadRoomAccess,
 * canCreateThread, canManageThread). Times are ms since the epoch.
 */
import { and, count, desc, eq, inArray, sql } from "drizzle-orm";
import { MAX_ARCHIVED_LISTED, threadArchived, type MyThread, type Thread } from "../shared/threads";
import { threadMembers, threads } from "./schema";
import type { Db } from "./db";

export type ThreadRow = typeof threads.$inferSelect;

export async function loadThread(db: Db, threadId: string): Promise<ThreadRow | undefined> {
  return (await db.select().from(threads).where(eq(threads.id, threadId)).limit(1))[0];
}

export async function threadByStarter(db: Db, parentId: string, messageId: string): Promise<ThreadRow | undefined> {
  return (await db.select().from(threads).where(and(eq(threads.parentId, parentId), eq(threads.starterMessageId, messageId))).limit(1))[0];
}

export function threadView(t: ThreadRow, memberCount: number, now: number): Thread {
  return {
    id: t.id,
    parentId: t.parentId,
    communityId: t.communityId,
    starterMessageId: t.starterMessageId,
    name: t.name,
    ownerId: t.ownerId,
    createdAt: t.createdAt,
    messageCount: t.messageCount,
    lastMessageAt: t.lastMessageAt,
    lastAuthorId: t.lastAuthorId,
    memberCount,
    autoArchiveMinutes: t.autoArchiveMinutes,
    archived: threadArchived(t, now),
  };
}

/** Member counts of these threads, and which of them `userId` joined. */
async function membership(db: Db, ids: string[], userId: string): Promise<{ counts: Map<string, number>; joined: Set<string> }> {
  if (!ids.length) return { counts: new Map(), joined: new Set() };
  const [counts, mine] = await db.batch([
    db.select({ id: threadMembers.threadId, n: count() }).from(threadMembers).where(inArray(threadMembers.threadId, ids)).groupBy(threadMembers.threadId),
    db.select({ id: threadMembers.threadId }).from(threadMembers).where(and(inArray(threadMembers.threadId, ids), eq(threadMembers.userId, userId))),
  ]);
  return { counts: new Map(counts.map((r) => [r.id, r.n])), joined: new Set(mine.map((r) => r.id)) };
}

/** One thread as `userId` sees it. */
export async function myThread(db: Db, t: ThreadRow, userId: string, now = Date.now()): Promise<MyThread> {
  const m = await membership(db, [t.id], userId);
  return { ...threadView(t, m.counts.get(t.id) ?? 0, now), joined: m.joined.has(t.id) };
}

/** A thread as everyone sees it (the parent room's `thread.updated`). */
export async function publicThread(db: Db, threadId: string, now = Date.now()): Promise<Thread | undefined> {
  const t = await loadThread(db, threadId);
  if (!t) return undefined;
  const n = (await db.select({ n: count() }).from(threadMembers).where(eq(threadMembers.threadId, threadId)))[0]?.n ?? 0;
  return threadView(t, n, now);
}

/**
 * A channel's threads for `userId`: the active ones (most recent activity first) and the
 * latest MAX_ARCHIVED_LISTED archived ones. At most 50 ids per D1 IN-list, so the active
 * list is read in full and archived ones are cut.
 */
export async function listThreads(db: Db, parentId: string, userId: string, now = Date.now()): Promise<{ active: MyThread[]; archived: MyThread[] }> {
  const rows = await db.select().from(threads).where(eq(threads.parentId, parentId)).orderBy(desc(threads.lastActivityAt)).limit(500);
  const active = rows.filter((t) => !threadArchived(t, now)).slice(0, 90 - MAX_ARCHIVED_LISTED);
  const archived = rows.filter((t) => threadArchived(t, now)).slice(0, MAX_ARCHIVED_LISTED);
  const m = await membership(db, [...active, ...archived].map((t) => t.id), userId);
  const view = (t: ThreadRow) => ({ ...threadView(t, m.counts.get(t.id) ?? 0, now), joined: m.joined.has(t.id) });
  return { active: active.map(view), archived: archived.map(view) };
}

export async function joinThread(db: Db, threadId: string, userId: string, at: number): Promise<void> {
  await db.insert(threadMembers).values({ threadId, userId, joinedAt: at }).onConflictDoNothing();
}

export async function leaveThread(db: Db, threadId: string, userId: string): Promise<void> {
  await db.delete(threadMembers).where(and(eq(threadMembers.threadId, threadId), eq(threadMembers.userId, userId)));
}

/**
 * A message was sent in the thread (its ChannelRoom calls this after the ack): one more
 * message, the activity clock restarts, an archived thread reopens, the author joins.
 */
export async function recordThreadMessage(db: Db, threadId: string, authorId: string | null, at: number): Promise<void> {
  const update = db
    .update(threads)
    .set({ messageCount: sql`${threads.messageCount} + 1`, lastMessageAt: at, lastAuthorId: authorId, lastActivityAt: at, archivedAt: null })
    .where(eq(threads.id, threadId));
  if (authorId) await db.batch([update, db.insert(threadMembers).values({ threadId, userId: authorId, joinedAt: at }).onConflictDoNothing()]);
  else await update;
}

/** The thread ids of a community (for revalidation, ban clean-up and purging, like its channels' rooms). */
export async function communityThreadIds(db: Db, communityId: string): Promise<string[]> {
  return (await db.select({ id: threads.id }).from(threads).where(eq(threads.communityId, communityId))).map((r) => r.id);
}

/** The thread ids of one channel (its deletion purges their rooms). */
export async function channelThreadIds(db: Db, parentId: string): Promise<string[]> {
  return (await db.select({ id: threads.id }).from(threads).where(eq(threads.parentId, parentId))).map((r) => r.id);
}
