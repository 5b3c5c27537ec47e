/**
 * GET /api/link-previews/image?u=<url>&s=<signature>: the image proxy of link previews
 * (docs/link-previews.md). A preview card never points at the outside address (that would
 * tell the image's host who reads the channel, and when): the room signs the image URL it
 * found (workers/core/link-previews.ts signImageUrl) and the proxy fetches only signed URLs,
 * through the SSRF guard, at most PREVIEW_IMAGE_MAX_BYTES, of a raster type its bytes prove.
 * The signature is the grant: it is handed out with the message to whoever may read it. A
 * missing, wrong or tampered signature and an image that cannot be fetched all answer the
 * same 404.
 */
import { Hono } from "hono";
import { ApiError } from "../../../shared/errors";
import { PreviewImageQuery } from "../../../shared/link-previews";
import { fetchPreviewImage, verifyImageUrl } from "../../../core/link-previews";
import { FetchRefused } from "../../../core/ssrf-guard";
import { log } from "../../../core/log";
import type { AppEnv } from "../env";
import { validate } from "../middleware/validate";

const IMAGE_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Content-Security-Policy": "sandbox; default-src 'none'",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Referrer-Policy": "no-referrer",
  "Content-Disposition": "inline",
  "Cache-Control": "private, max-age=3600",
};

export const linkPreviewRoutes = new Hono<AppEnv>().get("/image", validate("query", PreviewImageQuery), async (c) => {
  const { u, s } = c.req.valid("query");
  if (!(await verifyImageUrl(c.env.PASSWORD_PEPPER, u, s))) throw new ApiError("not_found", "No such image.");
  let image: { body: Uint8Array; contentType: string };
  try {
    image = await fetchPreviewImage(u, c.env);
  } catch (e) {
    if (!(e instanceof FetchRefused)) log({ event: "link_preview.image_failed", error: String(e) });
    throw new ApiError("not_found", "No such image.");
  }
  return new Response(image.body, { headers: { ...IMAGE_HEADERS, "Content-Type": image.contentType, "Content-Length": String(image.body.byteLength) } });
});
