/**
 * Raw-body uploads (the JSON-only middleware skips /api/uploads/). Attachments: stored in R2
 * under attachments/<channelId>/<attachmentId>, described by a row in D1, and bound to a
 * message when the uploader sends it with `attachmentIds` in the same channel. Until then an
 * upload is pending: rate, quota and clean-up in lib/pending-uploads.ts. Members upload to a
 * channel they may attach files in; a support-desk visitor (Bearer token) to their own open
 * ticket's room, through the same storeUpload.
 */
import { eq } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { UploadQuery, attachmentUrl, type Attachment } from "../../../shared/chat";
import { ChannelParam } from "../../../shared/communities";
import { ApiError } from "../../../shared/errors";
import { newId } from "../../../shared/ids";
import { P } from "../../../shared/permissions";
import { attachments } from "../../../core/schema";
import type { AppEnv } from "../env";
import { canChat, canVisitorAttach } from "../../../core/policy";
import { visitorUserId } from "../../../shared/desk";
import { latestTicket, requestingVisitor } from "../lib/desk-visitors";
import { imageSize, maxAttachmentBytes, readCapped, safeFilename, storedContentType } from "../lib/files";
import { UPLOAD_RATE, checkPendingQuota, insertWithinQuota } from "../lib/pending-uploads";
import { take } from "../lib/throttle";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

/**
 * Stores one raw-body upload as a pending attachment of `channelId` by `uploaderId` (a member,
 * or a visitor's identity `v_<visitorId>`), after the caller has checked they may attach there:
 * rate, pending quota, size, magic bytes, then the D1 row (with the quota) and the R2 object.
 */
export async function storeUpload(c: Context<AppEnv>, uploaderId: string, channelId: string, requestedName: string): Promise<Attachment> {
  // Rate and quota before a byte is read: a refused upload costs neither bandwidth nor R2.
  await take(c.var.db, `upload:${uploaderId}`, UPLOAD_RATE, "You are uploading files too fast.");
  const max = maxAttachmentBytes(c.env);
  const declared = Number(c.req.header("content-length") ?? "1");
  // Larger than `max` is readCapped's 413 payload_too_large, not a quota matter.
  await checkPendingQuota(c.env, c.var.db, uploaderId, Number.isSafeInteger(declared) && declared > 0 ? Math.min(declared, max) : 1);
  const bytes = await readCapped(c.req.raw, max);
  if (bytes.byteLength === 0) throw new ApiError("bad_request", "The file is empty.");
  const filename = safeFilename(requestedName);
  const { type, media } = storedContentType(bytes, c.req.header("content-type") ?? null);
  const size = media === "image" ? imageSize(bytes, type) : null;
  const id = newId();
  const key = `attachments/${channelId}/${id}`;
  // The row (and with it the quota) first, atomically; then the bytes.
  await insertWithinQuota(c.env, c.var.db, {
    id,
    channelId,
    uploaderId,
    key,
    filename,
    contentType: type,
    size: bytes.byteLength,
    width: size?.width ?? null,
    height: size?.height ?? null,
    createdAt: Date.now(),
  });
  try {
    await c.env.FILES.put(key, bytes, { httpMetadata: { contentType: type } });
  } catch (e) {
    await c.var.db.delete(attachments).where(eq(attachments.id, id));
    throw e;
  }
  return {
    id,
    filename,
    contentType: type,
    size: bytes.byteLength,
    width: size?.width ?? null,
    height: size?.height ?? null,
    url: attachmentUrl(channelId, id, filename),
  };
}

export const uploads = new Hono<AppEnv>()
  .post("/channels/:id/attachments", validate("param", ChannelParam), validate("query", UploadQuery), async (c) => {
    const { user } = authed(c);
    const channelId = c.req.valid("param").id;
    await canChat(c.var.db, user.id, channelId, P.ATTACH_FILES);
    const attachment = await storeUpload(c, user.id, channelId, c.req.valid("query").filename);
    return c.json({ attachment }, 201);
  })
  // A visitor's file for their own ticket's room (Bearer visitor token; docs/support-desk.md).
  // Under /api/uploads/ for the raw body; the uploader is the visitor's identity `v_<visitorId>`.
  .post("/widget", validate("query", UploadQuery), async (c) => {
    const v = await requestingVisitor(c);
    const t = canVisitorAttach(v.id, await latestTicket(c.var.db, v.id));
    const attachment = await storeUpload(c, visitorUserId(v.id), t.channelId, c.req.valid("query").filename);
    return c.json({ attachment }, 201);
  });
