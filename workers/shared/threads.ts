/**
 * Threads (docs/threads.md): a conversation branched off a text channel, from one of its
 * messages or on its own. A thread is a ChannelRoom like any channel (same frames, same
 * delivery contract, room named by the thread's id) whose permissions are its parent
 * channel's, with SEND_IN_THREADS standing in for SEND_MESSAGES. Its directory row (name,
 * members, activity) lives in D1's `threads` table. Times are ms since the epoch.
 * Imports nothing of chat.ts: chat.ts carries `Thread` in its `thread.updated` frame.
 */
import { z } from "zod";
import { P, has } from "./permissions";

/** Longest thread name, characters. */
export const MAX_THREAD_NAME = 100;
/** Inactivity after which a thread counts as archived, minutes (Discord's choices). */
export const THREAD_ARCHIVE_MINUTES = [60, 1440, 4320, 10080] as const;
export const DEFAULT_THREAD_ARCHIVE_MINUTES = 1440;
/** Most archived threads one list answers with (newest activity first). */
export const MAX_ARCHIVED_LISTED = 50;

const Id = z.string().regex(/^[0-9A-Za-z_-]{1,64}$/, { message: "not an id" });
const Name = z.string().max(MAX_THREAD_NAME * 2).trim().min(1).max(MAX_THREAD_NAME);
const ArchiveMinutes = z.union(THREAD_ARCHIVE_MINUTES.map((m) => z.literal(m)) as [z.ZodLiteral<60>, z.ZodLiteral<1440>, z.ZodLiteral<4320>, z.ZodLiteral<10080>]);

/** A thread as the API and the parent room's `thread.updated` frame show it. */
export const Thread = z.object({
  id: z.string(),
  /** The text channel it branched off. */
  parentId: z.string(),
  communityId: z.string(),
  /** The parent's message it was started from, or null for a thread started in the channel. */
  starterMessageId: z.string().nullable(),
  name: z.string(),
  ownerId: z.string(),
  createdAt: z.number(),
  /** Messages sent in it (deletions do not lower it). */
  messageCount: z.number(),
  /** When its last message was sent, or null before the first. */
  lastMessageAt: z.number().nullable(),
  /** Who wrote the last message (for "last reply by ..."), or null before the first. */
  lastAuthorId: z.string().nullable(),
  memberCount: z.number(),
  /** Inactivity after which it archives itself, minutes. */
  autoArchiveMinutes: z.number(),
  /** Archived by hand or by inactivity (threadArchived); a message reopens it. */
  archived: z.boolean(),
});
export type Thread = z.infer<typeof Thread>;

/**
 * A thread as the asking member sees it: also whether they joined it, and — in a channel's list,
 * for the threads they joined that are active — whether it has messages by others they have
 * not read (the thread room's read marker).
 */
export const MyThread = Thread.extend({ joined: z.boolean(), unread: z.boolean().optional() });
export type MyThread = z.infer<typeof MyThread>;

/** POST /api/channels/:id/threads — from a message (`messageId`) or on its own. */
export const CreateThreadBody = z.strictObject({
  name: Name,
  messageId: Id.optional(),
  autoArchiveMinutes: ArchiveMinutes.optional(),
});
export type CreateThreadBody = z.infer<typeof CreateThreadBody>;

/** PATCH /api/threads/:id — rename, archive or unarchive, change the inactivity period. */
export const UpdateThreadBody = z
  .strictObject({ name: Name.optional(), archived: z.boolean().optional(), autoArchiveMinutes: ArchiveMinutes.optional() })
  .refine((b) => b.name !== undefined || b.archived !== undefined || b.autoArchiveMinutes !== undefined, { message: "nothing to change" });
export type UpdateThreadBody = z.infer<typeof UpdateThreadBody>;

export const ThreadParam = z.strictObject({ id: Id });

/** GET /api/channels/:id/threads */
export const ThreadList = z.object({ active: z.array(MyThread), archived: z.array(MyThread) });
export type ThreadList = z.infer<typeof ThreadList>;

/** GET /api/threads/:id and the answers of POST/PATCH/join/leave (the starter message: GET /api/channels/:parentId/messages/:starterMessageId). */
export const ThreadDetail = z.object({ thread: MyThread });
export type ThreadDetail = z.infer<typeof ThreadDetail>;

/** What decides whether a thread is archived (the rule in one place). */
export interface ThreadActivity {
  /** ms; null = not archived by hand. */
  archivedAt: number | null;
  /** ms of the last message, or the creation when none. */
  lastActivityAt: number;
  autoArchiveMinutes: number;
}

/** Archived: by hand, or no message for `autoArchiveMinutes`. A new message reopens it. */
export function threadArchived(t: ThreadActivity, now: number): boolean {
  return t.archivedAt !== null || now - t.lastActivityAt >= t.autoArchiveMinutes * 60_000;
}

/**
 * A member's permissions in a thread from theirs in its parent channel: the same, except that
 * SEND_MESSAGES there is SEND_IN_THREADS here (policy.ts threadRoomAccess; the web app's first guess).
 */
export function threadPerms(parentPerms: bigint): bigint {
  const send = has(parentPerms, P.SEND_IN_THREADS) ? P.SEND_MESSAGES : 0n;
  return (parentPerms & ~P.SEND_MESSAGES) | send;
}
