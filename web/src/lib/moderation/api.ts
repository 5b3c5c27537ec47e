/**
 * The moderation HTTP API as the web app calls it (docs/moderation.md): timeouts, deleting a
 * member's recent messages, slowmode, reports and their queue. Typed client, answers parsed
 * with the shared schemas (workers/shared/moderation.ts).
 */
import {
  PurgeMessagesResponse,
  ReportListResponse,
  ReportResponse,
  SlowmodeResponse,
  TimeoutResponse,
  type ReportStatus,
  type ResolveReportBody,
} from "$shared/moderation";
import { client, read } from "$lib/api";

const member = client.communities[":id"].members[":userId"];
const community = client.communities[":id"];
const channel = client.channels[":id"];

export const moderationApi = {
  /** `seconds` one of TIMEOUT_SECONDS; the timeout's end, ms since the epoch. */
  timeout: (id: string, userId: string, seconds: number, reason?: string) =>
    read(member.timeout.$put({ param: { id, userId }, json: reason ? { seconds, reason } : { seconds } }), TimeoutResponse).then((r) => r.timeoutUntil),
  liftTimeout: (id: string, userId: string) => read(member.timeout.$delete({ param: { id, userId } }), TimeoutResponse),
  /** How many messages were deleted. */
  purge: (id: string, userId: string, seconds: number) =>
    read(member["purge-messages"].$post({ param: { id, userId }, json: { seconds } }), PurgeMessagesResponse).then((r) => r.deleted),
  setSlowmode: (channelId: string, seconds: number) => read(channel.slowmode.$put({ param: { id: channelId }, json: { seconds } }), SlowmodeResponse),
  report: (channelId: string, messageId: string, reason: string) =>
    read(channel.messages[":messageId"].report.$post({ param: { id: channelId, messageId }, json: { reason } }), ReportResponse).then((r) => r.report),
  reports: (id: string, status: ReportStatus) => read(community.reports.$get({ param: { id }, query: { status } }), ReportListResponse).then((r) => r.reports),
  resolve: (id: string, reportId: string, body: ResolveReportBody) =>
    read(community.reports[":reportId"].resolve.$post({ param: { id, reportId }, json: body }), ReportResponse).then((r) => r.report),
  /** After a timeout ends: the member's own grants in the call they are in, brought up to date. */
  refreshVoice: (channelId: string) => channel.voice.refresh.$post({ param: { id: channelId } }).then(() => undefined),
};
