/**
 * The Hono app for /api: hygiene middleware, then feature sub-apps chained so their route
 * types flow to the typed client (`hc<AppType>`). One `onError` shapes every error.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError, errorBody } from "../../shared/errors";
import type { AppEnv } from "./env";
import { log } from "../../core/log";
import { db } from "./middleware/db";
import { apiSecureHeaders, jsonBodyLimit, jsonOnly, noStore, originCheck, requestId } from "./middleware/hygiene";
import { session } from "./middleware/session";
import { auth } from "./routes/auth";
import { channelRoutes, communityChannelRoutes } from "./routes/channels";
import { communityRoutes } from "./routes/communities";
import { communityIconUploads } from "./routes/community-icons";
import { emojiRoutes, emojiUploads } from "./routes/emoji";
import { avatarUploads, profileRoutes } from "./routes/profiles";
import { blockRoutes, dmRoutes } from "./routes/dms";
import { communityInviteRoutes, inviteRoutes } from "./routes/invites";
import { memberRoutes } from "./routes/members";
import { roleRoutes } from "./routes/roles";
import { communitySearch } from "./routes/community-search";
import { me } from "./routes/me";
import { channelMessages } from "./routes/messages";
import { firstScreenRoutes } from "./routes/first-screen";
import { uploads } from "./routes/uploads";
import { voice } from "./routes/voice";
import { deskTicketRoutes } from "./routes/desk-tickets";
import { widget } from "./routes/widget";
import { communityDeskRoutes, deskRoutes } from "./routes/desks";
import { siteApi } from "./routes/site-api";
import { callLinkRoutes } from "./routes/call-links";
import { selfTest } from "./routes/self-test";
import { admin } from "./routes/admin";
import { moderationChannelRoutes, moderationCommunityRoutes } from "./routes/moderation";
import { channelNotificationRoutes, communityNotificationRoutes, meNotificationRoutes } from "./routes/notifications";
import { channelThreadRoutes, threadRoutes } from "./routes/threads";
import { linkPreviewRoutes } from "./routes/link-previews";

export const VERSION = "0.1.0";

const api = new Hono<AppEnv>()
  .get("/health", (c) => c.json({ ok: true as const, version: VERSION }))
  .route("/auth", auth)
  .route("/me", me)
  .route("/me/blocks", blockRoutes)
  .route("/communities", communityRoutes)
  .route("/communities", communityChannelRoutes)
  .route("/communities", roleRoutes)
  .route("/communities", memberRoutes)
  .route("/communities", communityInviteRoutes)
  .route("/channels", channelRoutes)
  .route("/invites", inviteRoutes)
  .route("/dms", dmRoutes)
  .route("/uploads", communityIconUploads)
  .route("/channels", channelMessages)
  .route("/channels", firstScreenRoutes)
  .route("/communities", communitySearch)
  .route("/uploads", uploads)
  .route("/", voice)
  .route("/communities", communityDeskRoutes)
  .route("/desks", deskRoutes)
  .route("/desks", deskTicketRoutes)
  .route("/widget", widget)
  .route("/v1", siteApi)
  .route("/calls", callLinkRoutes)
  .route("/self-test", selfTest)
  .route("/communities", communityNotificationRoutes)
  .route("/channels", channelNotificationRoutes)
  .route("/me", meNotificationRoutes)
  .route("/admin", admin)
  .route("/", profileRoutes)
  .route("/communities", emojiRoutes)
  .route("/uploads", avatarUploads)
  .route("/uploads", emojiUploads)
  .route("/channels", channelThreadRoutes)
  .route("/threads", threadRoutes)
  .route("/communities", moderationCommunityRoutes)
  .route("/channels", moderationChannelRoutes)
  .route("/link-previews", linkPreviewRoutes);

export const app = new Hono<AppEnv>()
  .use(requestId, apiSecureHeaders, noStore, originCheck, jsonOnly, jsonBodyLimit, db, session)
  .route("/api", api);

export type AppType = typeof app;

app.notFound((c) => c.json(errorBody("not_found", "No such route."), 404));

app.onError((err, c) => {
  if (err instanceof ApiError) {
    for (const [k, v] of Object.entries(err.headers ?? {})) c.header(k, v);
    return c.json(errorBody(err.code, err.message, err.issues), err.status);
  }
  if (err instanceof HTTPException) {
    // Hono's own 4xx (for instance malformed JSON from the validator).
    const status = err.status as ContentfulStatusCode;
    const malformed = /json/i.test(err.message);
    const code = malformed ? "invalid_json" : status === 413 ? "payload_too_large" : "bad_request";
    return c.json(errorBody(code, malformed ? "The body is not valid JSON." : err.message || "Bad request."), status);
  }
  log({ event: "request.failed", requestId: c.var.requestId, path: c.req.path, error: String(err) });
  return c.json(errorBody("internal", "Something went wrong on our side. It has been logged."), 500);
});
