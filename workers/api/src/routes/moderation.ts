/**
 * Moderation routes (docs/moderation.md):
 *   PUT    /api/communities/:id/members/:userId/timeout          MODERATE_MEMBERS, a member below you  { seconds, reason? }
 *   DELETE /api/communities/:id/members/:userId/timeout          MODERATE_MEMBERS, a member below you
 *   POST   /api/communities/:id/members/:userId/purge-messages   MANAGE_MESSAGES, a member below you   { seconds }
 *   GET    /api/communities/:id/reports?status=                  the reports of channels you moderate
 *   POST   /api/communities/:id/reports/:reportId/resolve        { action: delete | timeout | dismiss }
 *   PUT    /api/channels/:id/slowmode                            MANAGE_CHANNELS in the channel        { seconds }
 *   POST   /api/channels/:id/messages/:messageId/report          whoever can read it                   { reason }
 *   POST   /api/channels/:id/voice/refresh                       your own grants in the call re-applied (a timeout ended)
 * Every rule is workers/core/policy.ts; every action is written to the audit log.
 */
import { and, desc, eq, inArray } from "drizzle-orm";
import { Hono } from "hono";
import { ChannelParam, CommunityParam, CommunityUserParam, type UserSummary } from "../../../shared/communities";
import { ChannelMessageParam } from "../../../shared/chat";
import { ApiError } from "../../../shared/errors";
import { newId } from "../../../shared/ids";
import {
  CommunityReportParam,
  PurgeMessagesBody,
  REPORT_LIMIT,
  ReportBody,
  ReportEvidence,
  ReportsQuery,
  ResolveReportBody,
  SlowmodeBody,
  TimeoutBody,
  timedOut,
  type PurgeMessagesResponse,
  type Report,
  type ReportListResponse,
  type ReportResponse,
  type SlowmodeResponse,
  type TimeoutResponse,
} from "../../../shared/moderation";
import { auditInsert } from "../../../core/audit";
import { canConnectVoice, canPurgeMessages, canReportMessage, canResolveReport, canSeeReports, canSetSlowmode, canTimeout } from "../../../core/policy";
import { channels, messageReports, users } from "../../../core/schema";
import { toUserSummary } from "../../../core/views";
import type { AppEnv } from "../env";
import { roomChannelIds } from "../lib/chat-rooms";
import { purgeMessages, setTimeoutUntil } from "../lib/moderation";
import { settle } from "../lib/rooms";
import { take } from "../lib/throttle";
import { applyVoiceGrants, voiceHubFacts } from "../lib/voice";
import { hubOf, roomOf } from "../stubs";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

type ReportRow = typeof messageReports.$inferSelect;

function toReport(r: ReportRow, reporter: UserSummary): Report {
  return {
    id: r.id,
    channelId: r.channelId,
    messageId: r.messageId,
    reporter,
    reason: r.reason,
    evidence: ReportEvidence.parse(JSON.parse(r.evidence)),
    status: r.status,
    resolution: r.resolution,
    resolvedBy: r.resolvedBy,
    resolvedAt: r.resolvedAt,
    createdAt: r.createdAt,
  };
}

const reporterCols = { id: users.id, username: users.username, displayName: users.displayName };

export const moderationCommunityRoutes = new Hono<AppEnv>()
  .put("/:id/members/:userId/timeout", validate("param", CommunityUserParam), validate("json", TimeoutBody), async (c) => {
    const { user } = authed(c);
    const { id, userId } = c.req.valid("param");
    const { seconds, reason } = c.req.valid("json");
    await canTimeout(c.var.db, user.id, id, userId);
    const until = Date.now() + seconds * 1000;
    await setTimeoutUntil(c.var.db, c.env, { communityId: id, actorId: user.id, userId, until, seconds, reason });
    return c.json({ timeoutUntil: until } satisfies TimeoutResponse);
  })
  .delete("/:id/members/:userId/timeout", validate("param", CommunityUserParam), async (c) => {
    const { user } = authed(c);
    const { id, userId } = c.req.valid("param");
    const { target } = await canTimeout(c.var.db, user.id, id, userId);
    if (!timedOut(target.timeoutUntil, Date.now())) throw new ApiError("not_found", "They are not timed out.");
    await setTimeoutUntil(c.var.db, c.env, { communityId: id, actorId: user.id, userId, until: null });
    return c.json({ timeoutUntil: null } satisfies TimeoutResponse);
  })
  .post("/:id/members/:userId/purge-messages", validate("param", CommunityUserParam), validate("json", PurgeMessagesBody), async (c) => {
    const { user } = authed(c);
    const { id, userId } = c.req.valid("param");
    const { seconds } = c.req.valid("json");
    const db = c.var.db;
    await canPurgeMessages(db, user.id, id, userId);
    const deleted = await purgeMessages(c.env, await roomChannelIds(db, id), userId, Date.now() - seconds * 1000);
    await auditInsert(db, {
      communityId: id,
      actorId: user.id,
      action: "member.purge_messages",
      targetKind: "user",
      targetId: userId,
      changes: { seconds, deleted },
    });
    return c.json({ deleted } satisfies PurgeMessagesResponse);
  })
  .get("/:id/reports", validate("param", CommunityParam), validate("query", ReportsQuery), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const { status } = c.req.valid("query");
    const db = c.var.db;
    const { channelIds } = await canSeeReports(db, user.id, id);
    // D1 binds at most 100 parameters: a community with more channels is filtered here instead.
    const few = channelIds.size <= 90;
    const rows = channelIds.size
      ? await db
          .select({ r: messageReports, reporter: reporterCols })
          .from(messageReports)
          .innerJoin(users, eq(users.id, messageReports.reporterId))
          .where(and(eq(messageReports.communityId, id), eq(messageReports.status, status), few ? inArray(messageReports.channelId, [...channelIds]) : undefined))
          .orderBy(desc(messageReports.createdAt))
          .limit(few ? 100 : 500)
      : [];
    const reports = rows.filter((x) => channelIds.has(x.r.channelId)).slice(0, 100);
    return c.json({ reports: reports.map((x) => toReport(x.r, toUserSummary(x.reporter))) } satisfies ReportListResponse);
  })
  .post("/:id/reports/:reportId/resolve", validate("param", CommunityReportParam), validate("json", ResolveReportBody), async (c) => {
    const { user } = authed(c);
    const { id, reportId } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = c.var.db;
    const found = (
      await db
        .select({ r: messageReports, reporter: reporterCols })
        .from(messageReports)
        .innerJoin(users, eq(users.id, messageReports.reporterId))
        .where(and(eq(messageReports.id, reportId), eq(messageReports.communityId, id)))
        .limit(1)
    )[0];
    if (!found) throw new ApiError("not_found", "No such report.");
    const report = found.r;
    await canResolveReport(db, user.id, id, report, body.action);
    if (report.status !== "open") throw new ApiError("conflict", "This report is already resolved.");
    const now = Date.now();
    const resolution = body.action === "delete" ? "deleted" : body.action === "timeout" ? "timed_out" : "dismissed";
    if (body.action === "delete") await (await roomOf(c.env, report.channelId)).deleteMessage(report.messageId);
    if (body.action === "timeout" && report.authorId) {
      await setTimeoutUntil(db, c.env, { communityId: id, actorId: user.id, userId: report.authorId, until: now + body.seconds * 1000, seconds: body.seconds, reason: report.reason });
    }
    // A deleted message settles every open report of it; otherwise only this one.
    const which = body.action === "delete" ? eq(messageReports.messageId, report.messageId) : eq(messageReports.id, report.id);
    await db.batch([
      db
        .update(messageReports)
        .set({ status: "resolved", resolution, resolvedBy: user.id, resolvedAt: now })
        .where(and(eq(messageReports.communityId, id), eq(messageReports.status, "open"), which)),
      auditInsert(db, {
        communityId: id,
        actorId: user.id,
        action: "report.resolve",
        targetKind: "user",
        targetId: report.authorId ?? undefined,
        changes: { reportId: report.id, channelId: report.channelId, messageId: report.messageId, resolution },
      }),
    ]);
    const updated: ReportRow = { ...report, status: "resolved", resolution, resolvedBy: user.id, resolvedAt: now };
    return c.json({ report: toReport(updated, toUserSummary(found.reporter)) } satisfies ReportResponse);
  });

export const moderationChannelRoutes = new Hono<AppEnv>()
  .put("/:id/slowmode", validate("param", ChannelParam), validate("json", SlowmodeBody), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const { seconds } = c.req.valid("json");
    const db = c.var.db;
    const a = await canSetSlowmode(db, user.id, id);
    const communityId = a.community.community.id;
    const before = a.channel.slowmodeSeconds;
    if (before !== seconds) {
      await db.batch([
        db.update(channels).set({ slowmodeSeconds: seconds }).where(eq(channels.id, id)),
        auditInsert(db, {
          communityId,
          actorId: user.id,
          action: "channel.slowmode",
          targetKind: "channel",
          targetId: id,
          changes: { slowmodeSeconds: { from: before, to: seconds } },
        }),
      ]);
      await settle("moderation.slowmode_effects_failed", { channelId: id }, [
        async () => (await roomOf(c.env, id)).setSlowmode(seconds),
        async () => (await hubOf(c.env, communityId)).syncChannels(),
      ]);
    }
    return c.json({ seconds } satisfies SlowmodeResponse);
  })
  .post("/:id/messages/:messageId/report", validate("param", ChannelMessageParam), validate("json", ReportBody), async (c) => {
    const { user } = authed(c);
    const { id, messageId } = c.req.valid("param");
    const { reason } = c.req.valid("json");
    const db = c.var.db;
    const a = await canReportMessage(db, user.id, id);
    const message = await (await roomOf(c.env, id)).message(messageId);
    if (!message || message.deleted) throw new ApiError("not_found", "No such message.");
    const mine = await db
      .select({ id: messageReports.id })
      .from(messageReports)
      .where(and(eq(messageReports.messageId, messageId), eq(messageReports.reporterId, user.id)))
      .limit(1);
    if (mine.length) throw new ApiError("conflict", "You already reported this message.");
    await take(db, `report:${user.id}`, REPORT_LIMIT, "You are reporting too often.");
    const now = Date.now();
    const evidence: ReportEvidence = {
      content: message.content,
      author: message.author ? { id: message.author.id, username: message.author.username, displayName: message.author.displayName } : null,
      createdAt: message.createdAt,
      editedAt: message.editedAt,
      attachments: message.attachments.map((f) => ({ id: f.id, filename: f.filename, contentType: f.contentType, size: f.size })),
    };
    const row: ReportRow = {
      id: newId(now),
      communityId: a.community.community.id,
      channelId: id,
      messageId,
      authorId: message.author?.id ?? null,
      reporterId: user.id,
      reason,
      evidence: JSON.stringify(evidence),
      status: "open",
      resolution: null,
      resolvedBy: null,
      resolvedAt: null,
      createdAt: now,
    };
    // The unique (message, reporter) index settles a race between two of one member's requests.
    const inserted = await db.insert(messageReports).values(row).onConflictDoNothing().returning({ id: messageReports.id });
    if (!inserted.length) throw new ApiError("conflict", "You already reported this message.");
    return c.json({ report: toReport(row, toUserSummary(user)) } satisfies ReportResponse, 201);
  })
  .post("/:id/voice/refresh", validate("param", ChannelParam), async (c) => {
    // What a member's grants are is the policy's answer now (voiceGrantsNow): asking can only
    // bring them in line, so anyone in the call may ask for their own — the client does when
    // its timeout's countdown ends (a role change or lift does it from the server at once).
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const a = await canConnectVoice(c.var.db, user.id, id);
    if (!a.community) throw new ApiError("not_found", "No such channel.");
    const state = await voiceHubFacts(c.env, a.community.community.id).state(user.id);
    const inCall = await applyVoiceGrants(c.env, c.var.db, id, user.id, state.moderation);
    return c.json({ inCall });
  });
