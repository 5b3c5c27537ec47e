/**
 * GET /attachments/<channelId>/<attachmentId>/<filename>: a file from R2, for members who may
 * read the channel's history, or with `?vt=` a support-desk visitor's signed link to a file of
 * their own ticket (lib/desk-files.ts). Served so that it cannot run as part of the app: nosniff, a
 * sandbox CSP, and `Content-Disposition: attachment` unless its bytes proved it an image,
 * audio or video file at upload (INLINE_TYPES). Single byte ranges work, for media seeking.
 */
import { and, eq } from "drizzle-orm";
import { ApiError, errorBody } from "../../shared/errors";
import { attachments } from "../../core/schema";
import { canReadChannel } from "../../core/policy";
import { INLINE_TYPES, contentDisposition } from "./lib/files";
import { loadSession, sessionTokenFrom } from "./lib/sessions";
import { openVisitorFileLink } from "./lib/desk-files";
import { VISITOR_FILE_PARAM } from "../../shared/desk";
import { makeDb } from "../../core/db";

const FILE_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Content-Security-Policy": "sandbox; default-src 'none'",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};

function fail(code: "not_found" | "unauthorized" | "method_not_allowed", message: string, status: number): Response {
  return Response.json(errorBody(code, message), { status, headers: { ...FILE_HEADERS, "Cache-Control": "no-store" } });
}

export async function serveAttachment(request: Request, env: Env): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD") return fail("method_not_allowed", "Only GET.", 405);
  const [, , channelId, attachmentId] = new URL(request.url).pathname.split("/");
  if (!channelId || !attachmentId) return fail("not_found", "No such file.", 404);
  const db = makeDb(env.DB);
  const visitorLink = new URL(request.url).searchParams.get(VISITOR_FILE_PARAM);
  if (visitorLink !== null) {
    // A support-desk visitor's signed link (lib/desk-files.ts): this file of their own ticket only.
    if (!(await openVisitorFileLink(db, env.PASSWORD_PEPPER, visitorLink, channelId, attachmentId))) return fail("not_found", "No such file.", 404);
  } else {
    const token = sessionTokenFrom(request.headers.get("cookie"), request.url);
    const s = token ? await loadSession(db, token) : undefined;
    if (!s) return fail("unauthorized", "Log in to continue.", 401);
    try {
      await canReadChannel(db, s.user.id, channelId);
    } catch (e) {
      if (e instanceof ApiError) return fail("not_found", "No such file.", 404);
      throw e;
    }
  }
  const row = (await db.select().from(attachments).where(and(eq(attachments.id, attachmentId), eq(attachments.channelId, channelId))).limit(1))[0];
  if (!row) return fail("not_found", "No such file.", 404);

  const wantsRange = request.headers.has("range");
  let object: R2ObjectBody | R2Object | null;
  try {
    object = await env.FILES.get(row.key, wantsRange ? { range: request.headers } : {});
  } catch {
    object = await env.FILES.get(row.key); // an unsatisfiable or malformed Range: the whole file
  }
  if (!object || !("body" in object)) return fail("not_found", "No such file.", 404);

  const inline = INLINE_TYPES.has(row.contentType);
  const headers = new Headers(FILE_HEADERS);
  headers.set("Content-Type", row.contentType);
  headers.set("Content-Disposition", contentDisposition(inline ? "inline" : "attachment", row.filename));
  headers.set("Cache-Control", "private, max-age=86400, immutable");
  headers.set("ETag", object.httpEtag);
  headers.set("Accept-Ranges", "bytes");
  let status = 200;
  // Every key may be present with `undefined` (seen in local R2), so read them all.
  const r: { offset?: number; length?: number; suffix?: number } | undefined = object.range;
  if (wantsRange && r) {
    const offset = r.suffix !== undefined ? Math.max(0, object.size - r.suffix) : (r.offset ?? 0);
    const length = r.suffix !== undefined ? object.size - offset : Math.min(r.length ?? object.size - offset, object.size - offset);
    headers.set("Content-Range", `bytes ${offset}-${offset + length - 1}/${object.size}`);
    headers.set("Content-Length", String(length));
    status = 206;
  } else {
    headers.set("Content-Length", String(object.size));
  }
  if (request.method === "HEAD") {
    await object.body.cancel();
    return new Response(null, { status, headers });
  }
  return new Response(object.body, { status, headers });
}
