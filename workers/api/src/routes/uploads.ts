/**
 * Raw-body uploads (the JSON-only middleware skips /api/uploads/). Attachments: stored in R2
 * under attachments/<channelId>/<attachmentId>, described by a row in D1, and bound to a
 * message when the uploader sends it with `attachmentIds` in the same channel.
 */
import { Hono } from "hono";
import { UploadQuery, attachmentUrl, type Attachment } from "../../../shared/chat";
import { ApiError } from "../../../shared/errors";
import { newId } from "../../../shared/ids";
import { P } from "../../../shared/permissions";
import { attachments } from "../db/schema";
import type { AppEnv } from "../env";
import { chatAccess } from "../lib/chat-rooms";
import { imageSize, maxAttachmentBytes, readCapped, safeFilename, storedContentType } from "../lib/files";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

export const uploads = new Hono<AppEnv>().post("/channels/:id/attachments", validate("query", UploadQuery), async (c) => {
  const { user } = authed(c);
  const channelId = c.req.param("id");
  await chatAccess(c.var.db, user.id, channelId, P.ATTACH_FILES);
  const bytes = await readCapped(c.req.raw, maxAttachmentBytes(c.env));
  if (bytes.byteLength === 0) throw new ApiError("bad_request", "The file is empty.");
  const filename = safeFilename(c.req.valid("query").filename);
  const { type, media } = storedContentType(bytes, c.req.header("content-type") ?? null);
  const size = media === "image" ? imageSize(bytes, type) : null;
  const id = newId();
  const key = `attachments/${channelId}/${id}`;
  await c.env.FILES.put(key, bytes, { httpMetadata: { contentType: type } });
  await c.var.db.insert(attachments).values({
    id,
    channelId,
    uploaderId: user.id,
    key,
    filename,
    contentType: type,
    size: bytes.byteLength,
    width: size?.width ?? null,
    height: size?.height ?? null,
    createdAt: Date.now(),
  });
  const attachment: Attachment = {
    id,
    filename,
    contentType: type,
    size: bytes.byteLength,
    width: size?.width ?? null,
    height: size?.height ?? null,
    url: attachmentUrl(channelId, id, filename),
  };
  return c.json({ attachment }, 201);
});
