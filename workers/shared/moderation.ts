/**
 * Moderation (docs/moderation.md): timeouts, slowmode, message reports and bulk deletion of a
 * member's recent messages. Schemas for the HTTP bodies and views, and the one mask that a
 * timeout puts on a member's permissions (applied by workers/core/access.ts, so every path —
 * HTTP routes, ChannelRoom frames, media tokens, LiveKit admission — sees the same answer).
 */
import { z } from "zod";
import { P } from "./permissions";
import { Id, UserSummary } from "./communities";

/** Timeout lengths a moderator may choose, seconds (as Discord: 60 s, 5 min, 10 min, 1 h, 1 day, 1 week). */
export const TIMEOUT_SECONDS = [60, 300, 600, 3600, 86_400, 604_800] as const;
/** Slowmode choices, seconds between one member's messages in a channel (0 = off). */
export const SLOWMODE_SECONDS = [0, 5, 10, 30, 60, 300, 900, 3600, 21_600] as const;
/** Windows for deleting a member's recent messages, seconds (1 h, 24 h, 7 days). */
export const PURGE_WINDOW_SECONDS = [3600, 86_400, 604_800] as const;

/**
 * What a timed-out member keeps until the timeout ends (as Discord): seeing and reading
 * channels, and CONNECT, so that a member already in a call is silenced (no microphone,
 * camera or screen) rather than thrown out; the policy refuses new joins (canConnectVoice).
 * Everything else — writing, editing, reacting, threads, managing — is gone meanwhile.
 */
export const TIMEOUT_KEPT: bigint = P.VIEW_CHANNEL | P.READ_HISTORY | P.CONNECT;

/** Is a timeout ending at `until` (ms since the epoch, or null) in force at `now` (ms)? */
export function timedOut(until: number | null | undefined, now: number): boolean {
  return typeof until === "number" && until > now;
}

/** `perms` as a member timed out until `until` (ms) holds them at `now` (ms); the owner is never timed out. */
export function applyTimeout(perms: bigint, until: number | null | undefined, now: number, isOwner = false): bigint {
  return !isOwner && timedOut(until, now) ? perms & TIMEOUT_KEPT : perms;
}

const oneOf = <T extends readonly number[]>(values: T, what: string) =>
  z.number().int().refine((n) => (values as readonly number[]).includes(n), { message: `${what}: one of ${values.join(", ")}` });

/** PUT /api/communities/:id/members/:userId/timeout (MODERATE_MEMBERS, a member below you). */
export const TimeoutBody = z.strictObject({
  /** One of TIMEOUT_SECONDS. */
  seconds: oneOf(TIMEOUT_SECONDS, "seconds"),
  reason: z.string().trim().max(512).optional(),
});
export type TimeoutBody = z.infer<typeof TimeoutBody>;

/** The member's timeout after a change. */
export const TimeoutResponse = z.object({
  /** ms since the epoch; null when none is in force. */
  timeoutUntil: z.number().nullable(),
});
export type TimeoutResponse = z.infer<typeof TimeoutResponse>;

/** POST /api/communities/:id/members/:userId/purge-messages (MANAGE_MESSAGES, a member below you). */
export const PurgeMessagesBody = z.strictObject({
  /** One of PURGE_WINDOW_SECONDS: delete what they wrote in this many seconds before now. */
  seconds: oneOf(PURGE_WINDOW_SECONDS, "seconds"),
});
export type PurgeMessagesBody = z.infer<typeof PurgeMessagesBody>;
export const PurgeMessagesResponse = z.object({ deleted: z.number() });
export type PurgeMessagesResponse = z.infer<typeof PurgeMessagesResponse>;

/** PATCH /api/channels/:id/slowmode (MANAGE_CHANNELS in the channel; text channels). */
export const SlowmodeBody = z.strictObject({
  /** One of SLOWMODE_SECONDS. */
  seconds: oneOf(SLOWMODE_SECONDS, "seconds"),
});
export type SlowmodeBody = z.infer<typeof SlowmodeBody>;
export const SlowmodeResponse = z.object({ seconds: z.number() });
export type SlowmodeResponse = z.infer<typeof SlowmodeResponse>;

/** Longest report reason, characters. */
export const MAX_REPORT_REASON = 500;

/** POST /api/channels/:id/messages/:messageId/report (anyone who can read the message). */
export const ReportBody = z.strictObject({
  reason: z.string().trim().min(1).max(MAX_REPORT_REASON),
});
export type ReportBody = z.infer<typeof ReportBody>;

/** The message as it was when reported. */
export const ReportEvidence = z.object({
  content: z.string(),
  author: UserSummary.nullable(),
  /** ms since the epoch */
  createdAt: z.number(),
  /** ms since the epoch, or null */
  editedAt: z.number().nullable(),
  attachments: z.array(z.object({ id: z.string(), filename: z.string(), contentType: z.string(), size: z.number() })),
});
export type ReportEvidence = z.infer<typeof ReportEvidence>;

export const ReportStatus = z.enum(["open", "resolved"]);
export type ReportStatus = z.infer<typeof ReportStatus>;
export const ReportResolution = z.enum(["deleted", "timed_out", "dismissed"]);
export type ReportResolution = z.infer<typeof ReportResolution>;

export const Report = z.object({
  id: z.string(),
  channelId: z.string(),
  messageId: z.string(),
  reporter: UserSummary,
  reason: z.string(),
  evidence: ReportEvidence,
  status: ReportStatus,
  resolution: ReportResolution.nullable(),
  resolvedBy: z.string().nullable(),
  /** ms since the epoch */
  resolvedAt: z.number().nullable(),
  /** ms since the epoch */
  createdAt: z.number(),
});
export type Report = z.infer<typeof Report>;

export const ReportResponse = z.object({ report: Report });
export type ReportResponse = z.infer<typeof ReportResponse>;

/** GET /api/communities/:id/reports?status= (the queue: reports of channels the viewer moderates). */
export const ReportsQuery = z.strictObject({
  status: ReportStatus.default("open"),
});
export const ReportListResponse = z.object({ reports: z.array(Report) });
export type ReportListResponse = z.infer<typeof ReportListResponse>;

export const CommunityReportParam = z.strictObject({ id: Id, reportId: Id });

/** POST /api/communities/:id/reports/:reportId/resolve */
export const ResolveReportBody = z.discriminatedUnion("action", [
  /** Deletes the message (MANAGE_MESSAGES in its channel). */
  z.strictObject({ action: z.literal("delete") }),
  /** Times out its author (MODERATE_MEMBERS, an author below you); `seconds` one of TIMEOUT_SECONDS. */
  z.strictObject({ action: z.literal("timeout"), seconds: oneOf(TIMEOUT_SECONDS, "seconds") }),
  z.strictObject({ action: z.literal("dismiss") }),
]);
export type ResolveReportBody = z.infer<typeof ResolveReportBody>;

/** Reports one member may file in a window (lib/throttle.ts): 10 an hour. */
export const REPORT_LIMIT = { max: 10, windowMs: 3600_000 };
