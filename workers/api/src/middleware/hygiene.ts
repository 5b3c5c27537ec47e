/**
 * Request hygiene for every /api route: request id, Origin check, JSON-only bodies with a
 * size cap, and security headers on every response.
 */
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";
import { ApiError } from "../../../shared/errors";
import type { AppEnv } from "../env";
import { checkOrigin, hasSessionCookie } from "./origin";

/** Largest JSON body any route accepts, bytes. */
export const MAX_JSON_BYTES = 64 * 1024;

export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const id = c.req.header("cf-ray") ?? crypto.randomUUID();
  c.set("requestId", id);
  await next();
  c.header("X-Request-Id", id);
});

export const apiSecureHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    objectSrc: ["'none'"],
  },
  crossOriginResourcePolicy: "same-origin",
  referrerPolicy: "strict-origin-when-cross-origin",
  strictTransportSecurity: "max-age=31536000; includeSubDomains",
  xFrameOptions: "DENY",
});

export const noStore = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (!c.res.headers.has("Cache-Control")) c.header("Cache-Control", "no-store");
});

/**
 * LiveKit's webhook: a server-to-server POST with its own Content-Type and no Origin, whose
 * raw body is verified against a signed hash (routes/voice.ts). Exempt from the Origin and
 * JSON-only checks, and only this exact path.
 */
export const LIVEKIT_WEBHOOK_PATH = "/api/livekit/webhook";

/**
 * The site owners' API (routes/site-api.ts): server-to-server calls with a desk API key
 * (`Authorization: Bearer wxk_…`) and no Origin. It never authenticates by cookie, and a
 * request there carrying a session cookie is refused whatever it asks, so a browser can never
 * be made to act with it (no CSRF); the Origin check, which guards cookie-authenticated
 * requests, has nothing to guard there and is skipped (without a key the route answers 401).
 */
export const SITE_API_PREFIX = "/api/v1/";

export const originCheck = createMiddleware<AppEnv>(async (c, next) => {
  const path = c.req.path;
  if (path.startsWith(SITE_API_PREFIX)) {
    if (hasSessionCookie(c.req.raw)) throw new ApiError("forbidden", "The site API takes an API key, never a session cookie.");
    return next();
  }
  if (path !== LIVEKIT_WEBHOOK_PATH) checkOrigin(c.req.raw, c.env.ALLOWED_ORIGINS);
  await next();
});

function hasBody(req: Request): boolean {
  const len = req.headers.get("content-length");
  if (len !== null) return Number(len) > 0;
  return req.body !== null;
}

/**
 * Routes under this prefix take raw file bodies (icons, attachments) and check their own
 * content type and size; every other route takes JSON only.
 */
export const UPLOAD_PREFIX = "/api/uploads/";

function isUpload(c: { req: { path: string } }): boolean {
  return c.req.path.startsWith(UPLOAD_PREFIX);
}

/** State-changing requests with a body must be JSON (uploads aside). */
export const jsonOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (!isUpload(c) && c.req.path !== LIVEKIT_WEBHOOK_PATH && !["GET", "HEAD", "OPTIONS"].includes(c.req.method) && hasBody(c.req.raw)) {
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") {
      throw new ApiError("unsupported_media_type", "Request bodies must be JSON (Content-Type: application/json).");
    }
  }
  await next();
});

const jsonLimit = bodyLimit({
  maxSize: MAX_JSON_BYTES,
  onError: () => {
    throw new ApiError("payload_too_large", `Request bodies may be at most ${MAX_JSON_BYTES} bytes.`);
  },
});

export const jsonBodyLimit = createMiddleware<AppEnv>(async (c, next) => (isUpload(c) ? next() : jsonLimit(c, next)));
