/**
 * Visitors' file links: a visitor has no cookie on Woxly's origin, so the files of their
 * ticket's room are opened with links that carry a signed token in the `vt` query parameter
 * (POST /api/widget/file-links hands them out):
 *   /attachments/<channelId>/<attachmentId>/<name>?vt=base64url(JSON payload).base64url(HMAC)
 * The payload names the channel, the attachment, the visitor and an expiry
 * (VISITOR_FILE_LINK_TTL_MS); the HMAC key is derived from PASSWORD_PEPPER under a label of
 * its own. The file is still served by attachments.ts with the same headers (nosniff, sandbox
 * CSP), and the visitor must still own a ticket of that channel in D1.
 */
import { z } from "zod";
import { and, eq } from "drizzle-orm";
import { attachmentUrl } from "../../../shared/chat";
import { VISITOR_FILE_LINK_TTL_MS, VISITOR_FILE_PARAM } from "../../../shared/desk";
import type { Db } from "../../../core/db";
import { tickets } from "../../../core/schema";
import { openPayload, signPayload } from "./desk-sockets";

const LABEL = "woxly desk visitor file link v1";

const Payload = z.strictObject({
  /** the ticket's channel */
  c: z.string().min(1).max(64),
  /** the attachment */
  a: z.string().min(1).max(64),
  /** the visitor */
  v: z.string().min(1).max(64),
  /** expiry, ms since the epoch */
  e: z.number(),
});

/** A link opening one file of a ticket's room for its visitor until `expiresAt`. */
export async function visitorFileLink(
  secret: string,
  file: { channelId: string; id: string; filename: string },
  visitorId: string,
  expiresAt: number,
): Promise<string> {
  const token = await signPayload(secret, LABEL, { c: file.channelId, a: file.id, v: visitorId, e: expiresAt });
  return `${attachmentUrl(file.channelId, file.id, file.filename)}?${VISITOR_FILE_PARAM}=${token}`;
}

/** The expiry of links handed out at `now`. */
export const fileLinkExpiry = (now = Date.now()) => now + VISITOR_FILE_LINK_TTL_MS;

/**
 * The visitor a file link opens this file for: its signature holds, it has not expired, it
 * names this channel and attachment, and the visitor still has a ticket in that channel.
 * Null otherwise (the caller answers 404).
 */
export async function openVisitorFileLink(db: Db, secret: string, token: string, channelId: string, attachmentId: string, now = Date.now()): Promise<string | null> {
  const p = await openPayload(secret, LABEL, token, Payload);
  if (!p || p.e < now || p.c !== channelId || p.a !== attachmentId) return null;
  const t = await db.select({ id: tickets.id }).from(tickets).where(and(eq(tickets.channelId, channelId), eq(tickets.visitorId, p.v))).limit(1);
  return t.length ? p.v : null;
}
