/**
 * Limits on uploads that no message carries yet, and their clean-up.
 *
 * An upload is "pending" from the moment it is stored until its ChannelRoom confirms that a
 * message carries it (the room's `used_attachments` is the truth; D1's
 * `attachments.attached_at` remembers the confirmation). Per member: at most
 * UPLOAD_RATE uploads a minute, MAX_PENDING_FILES pending files and maxPendingBytes pending
 * bytes; the quota is taken atomically with the row's insert, so parallel uploads cannot
 * overshoot it. Rooms are asked only when a member reaches the quota and by the clean-up,
 * never on the send path.
 *
 * The scheduled clean-up (index.ts `scheduled`, cron in wrangler.toml) deletes uploads still
 * pending PENDING_UPLOAD_GRACE_MS after they were made, from R2 and D1, after asking their
 * room once more; it also drops expired throttle counters.
 */
import { and, asc, eq, inArray, isNull, lt, sql } from "drizzle-orm";
import { MAX_ATTACHMENTS_PER_MESSAGE } from "../../../shared/chat";
import { ApiError } from "../../../shared/errors";
import { attachments } from "../../../core/schema";
import { makeDb, type Db } from "../../../core/db";
import { maxAttachmentBytes } from "./files";
import { log } from "../../../core/log";
import { roomOf } from "../stubs";
import { LONGEST_WINDOW_MS, pruneThrottles, type Limit } from "./throttle";

/** Uploads one member may make per minute (a message holds at most 10 files). */
export const UPLOAD_RATE: Limit = { max: 20, windowMs: 60_000 };
/** Pending uploads one member may hold: five full messages' worth of files. */
export const MAX_PENDING_FILES = 5 * MAX_ATTACHMENTS_PER_MESSAGE;
/** How long an upload may wait for its message before the clean-up deletes it, ms (24 h). */
export const PENDING_UPLOAD_GRACE_MS = 24 * 3600_000;
/** Pending uploads the clean-up looks at in one run. */
export const CLEANUP_BATCH = 500;
/** ChannelRooms the clean-up asks in one run (each is a subrequest); uploads of further rooms wait for the next run. */
export const CLEANUP_MAX_ROOMS = 100;

/** Pending bytes one member may hold, bytes: one message of the largest files the deployment accepts (250 MB by default). */
export function maxPendingBytes(env: { MAX_ATTACHMENT_BYTES?: string }): number {
  return MAX_ATTACHMENTS_PER_MESSAGE * maxAttachmentBytes(env);
}

export interface PendingUsage {
  files: number;
  /** bytes */
  bytes: number;
}

const pendingOf = (userId: string) => and(eq(attachments.uploaderId, userId), isNull(attachments.attachedAt));

/** A member's pending uploads: how many and how many bytes. */
export async function pendingUsage(db: Db, userId: string): Promise<PendingUsage> {
  const r = await db
    .select({ files: sql<number>`count(*)`, bytes: sql<number>`coalesce(sum(${attachments.size}), 0)` })
    .from(attachments)
    .where(pendingOf(userId));
  return { files: Number(r[0]?.files ?? 0), bytes: Number(r[0]?.bytes ?? 0) };
}

function quotaError(env: Env, u: PendingUsage): ApiError {
  return new ApiError(
    "upload_quota_exceeded",
    `You have ${u.files} uploaded files (${Math.ceil(u.bytes / 1_048_576)} MB) not yet sent in a message; ` +
      `at most ${MAX_PENDING_FILES} files or ${Math.floor(maxPendingBytes(env) / 1_048_576)} MB may wait. ` +
      `Send them first; unsent uploads are removed after ${PENDING_UPLOAD_GRACE_MS / 3600_000} hours.`,
  );
}

/**
 * Asks the ChannelRooms of these pending uploads which ones a message carries, records those
 * as attached, and returns the ids of the others. A room that cannot be asked keeps its
 * uploads out of both lists (nothing is deleted on a guess).
 */
export async function confirmAttached(env: Env, db: Db, rows: { id: string; channelId: string }[], now: number): Promise<{ attached: string[]; unused: string[] }> {
  const byChannel = new Map<string, string[]>();
  for (const r of rows) byChannel.set(r.channelId, [...(byChannel.get(r.channelId) ?? []), r.id]);
  const attached: string[] = [];
  const unused: string[] = [];
  await Promise.all(
    [...byChannel].map(async ([channelId, ids]) => {
      try {
        const used = new Set(await (await roomOf(env, channelId)).attachmentsInUse(ids));
        for (const id of ids) (used.has(id) ? attached : unused).push(id);
      } catch (e) {
        log({ event: "uploads.room_unreachable", channelId, error: String(e) });
      }
    }),
  );
  for (let i = 0; i < attached.length; i += 90) {
    // D1 binds at most 100 parameters a statement.
    await db.update(attachments).set({ attachedAt: now }).where(inArray(attachments.id, attached.slice(i, i + 90)));
  }
  return { attached, unused };
}

/**
 * Refuses (413 `upload_quota_exceeded`) an upload of `bytes` that would take the member past
 * the pending quota, after asking the rooms about their pending uploads once (sent files no
 * longer count). Called before the body is read, with its declared length.
 */
export async function checkPendingQuota(env: Env, db: Db, userId: string, bytes: number, now = Date.now()): Promise<void> {
  const fits = (u: PendingUsage) => u.files + 1 <= MAX_PENDING_FILES && u.bytes + bytes <= maxPendingBytes(env);
  let u = await pendingUsage(db, userId);
  if (fits(u)) return;
  const rows = await db
    .select({ id: attachments.id, channelId: attachments.channelId })
    .from(attachments)
    .where(pendingOf(userId))
    .orderBy(asc(attachments.createdAt))
    .limit(MAX_PENDING_FILES);
  await confirmAttached(env, db, rows, now);
  u = await pendingUsage(db, userId);
  if (!fits(u)) throw quotaError(env, u);
}

/**
 * Inserts the upload's row only if the member's pending uploads, with it, stay within the
 * quota: one INSERT … SELECT … WHERE, so concurrent uploads are counted one after another
 * (D1 runs statements one at a time). Throws 413 `upload_quota_exceeded` otherwise.
 */
export async function insertWithinQuota(env: Env, db: Db, row: typeof attachments.$inferInsert): Promise<void> {
  const pending = sql`${attachments.uploaderId} = ${row.uploaderId} AND ${attachments.attachedAt} IS NULL`;
  const r = await db.run(sql`
    INSERT INTO ${attachments} (id, channel_id, uploader_id, key, filename, content_type, size, width, height, created_at)
    SELECT ${row.id}, ${row.channelId}, ${row.uploaderId}, ${row.key}, ${row.filename}, ${row.contentType}, ${row.size},
           ${row.width ?? null}, ${row.height ?? null}, ${row.createdAt}
    WHERE (SELECT count(*) FROM ${attachments} WHERE ${pending}) + 1 <= ${MAX_PENDING_FILES}
      AND (SELECT coalesce(sum(${attachments.size}), 0) FROM ${attachments} WHERE ${pending}) + ${row.size} <= ${maxPendingBytes(env)}`);
  if (!r.meta.changes) throw quotaError(env, await pendingUsage(db, row.uploaderId));
}

/**
 * The scheduled clean-up: deletes uploads still pending `PENDING_UPLOAD_GRACE_MS` after they
 * were made (R2 object, then D1 row) unless their room says a message carries them (then they
 * are recorded as attached), and drops throttle counters past every window. `nowMs` is the
 * clock (the cron's scheduled time; tests pass a later one). At most CLEANUP_BATCH uploads a
 * run, in at most CLEANUP_MAX_ROOMS rooms; the next run takes the rest.
 */
export async function cleanupUploads(env: Env, nowMs: number): Promise<{ deleted: number; attached: number; throttles: number }> {
  const db = makeDb(env.DB);
  const rows = await db
    .select({ id: attachments.id, channelId: attachments.channelId, key: attachments.key })
    .from(attachments)
    .where(and(isNull(attachments.attachedAt), lt(attachments.createdAt, nowMs - PENDING_UPLOAD_GRACE_MS)))
    .orderBy(asc(attachments.createdAt))
    .limit(CLEANUP_BATCH);
  const rooms = new Set([...new Set(rows.map((r) => r.channelId))].slice(0, CLEANUP_MAX_ROOMS));
  const asked = rows.filter((r) => rooms.has(r.channelId));
  const { attached, unused } = asked.length ? await confirmAttached(env, db, asked, nowMs) : { attached: [], unused: [] };
  let deleted = 0;
  const unusedSet = new Set(unused);
  const gone = asked.filter((r) => unusedSet.has(r.id));
  for (let i = 0; i < gone.length; i += 90) {
    const page = gone.slice(i, i + 90);
    // Bytes first, then rows: if the run stops between the two, the rows are still pending
    // and the next run deletes them (deleting a missing object is no error); nothing leaks.
    await env.FILES.delete(page.map((r) => r.key));
    await db.delete(attachments).where(inArray(attachments.id, page.map((r) => r.id)));
    deleted += page.length;
  }
  const throttles = await pruneThrottles(db, nowMs - LONGEST_WINDOW_MS);
  log({ event: "uploads.cleaned", deleted, attached: attached.length, throttles });
  return { deleted, attached: attached.length, throttles };
}
