import { z } from "zod";

/** Error codes the API answers with, and the status each one carries. */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 400,
  common_password: 400,
  limit_reached: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  /** A WebSocket upgrade's connect ticket that is malformed, forged, expired or for another room (realtime.ts CONNECT_TICKET_PARAM). */
  invalid_ticket: 401,
  forbidden_origin: 403,
  forbidden: 403,
  /** Registration mode `closed` (docs/admin.md). */
  registration_closed: 403,
  /** Registration mode `invite`, and no live invite came with the request. */
  invite_required: 403,
  /** The account was banned from the instance; answered only after the right password. */
  account_suspended: 403,
  /** A password-reset link that is unknown, used or expired. */
  reset_link_invalid: 400,
  channel_full: 403,
  not_found: 404,
  method_not_allowed: 405,
  username_taken: 409,
  owner_cannot_leave: 409,
  /** The request clashes with the resource's state (a ticket rated twice, rated before it closed). */
  conflict: 409,
  payload_too_large: 413,
  /** Too many uploaded files (or bytes) not yet sent in a message (lib/pending-uploads.ts). */
  upload_quota_exceeded: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorIssue {
  path: (string | number)[];
  message: string;
}

/** An error meant for the client: its code and message are safe to show. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: (typeof ERROR_STATUS)[ErrorCode];
  readonly issues?: ErrorIssue[];
  readonly headers?: Record<string, string>;
  constructor(
    code: ErrorCode,
    message: string,
    opts: { issues?: ErrorIssue[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.issues = opts.issues;
    this.headers = opts.headers;
  }
}

/** The JSON body of an error response. */
export function errorBody(code: string, message: string, issues?: ErrorIssue[]) {
  return { error: issues ? { code, message, issues } : { code, message } };
}

/**
 * Error codes of realtime error frames (`{ type: "error", code, message, ref }`, realtime.ts
 * ErrorFrame): one set for every Durable Object's socket — ChannelRoom, CommunityHub,
 * UserInbox. The first five answer a frame the object could not read (durable-objects/kit.ts);
 * the rest a frame it read and refused. After any of them the socket stays up.
 */
export const RealtimeErrorCode = z.enum([
  /** A binary frame: frames are JSON text. */
  "unsupported_frame",
  /** More than MAX_FRAME_BYTES (realtime.ts) of UTF-8. */
  "frame_too_large",
  "invalid_json",
  /** A `type` the socket does not know. */
  "unknown_type",
  /** A known type whose fields do not parse (`issues` says which). */
  "validation_failed",
  /** Over the frame budget or a cap (durable-objects/frame-budget.ts); `retryAfterMs` says when to try again. */
  "rate_limited",
  "forbidden",
  "not_found",
  /** Chat: an attachment that is not this member's upload to this channel, or is already used. */
  "invalid_attachment",
  /** Chat: a message already has MAX_REACTIONS_PER_MESSAGE different emoji. */
  "too_many_reactions",
  /** Chat: the channel's slowmode; `retryAfterMs` says when this member may send again (docs/moderation.md). */
  "slowmode",
  /** Support desk: the manager already holds as many chats as the desk's capacity allows. */
  "at_capacity",
  /** Our fault; logged. */
  "internal",
]);
export type RealtimeErrorCode = z.infer<typeof RealtimeErrorCode>;
