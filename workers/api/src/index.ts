/**
 * The one Worker that serves Woxly: `/api/*` goes to the Hono app, everything else to the
 * SvelteKit app built by adapter-cloudflare (static files are served by the assets layer
 * before this code runs). Durable Object classes are exported from here.
 */
import { app } from "./app";
import { serveAttachment } from "./attachments";
import { kit } from "./kit";
import { cleanupUploads } from "./lib/pending-uploads";
import { routeRealtime } from "./realtime";
import { serveWidgetFrame } from "./widget-page";

export { ChannelRoom } from "../../../durable-objects/channel-room";
export { CommunityHub } from "../../../durable-objects/community-hub";
export { UserInbox } from "../../../durable-objects/user-inbox";
export { SupportDesk } from "../../../durable-objects/support-desk";
export { CallLink } from "../../../durable-objects/call-link";

const PAGE_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "strict-origin-when-cross-origin",
  "X-Frame-Options": "DENY",
};

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/api" || url.pathname.startsWith("/api/")) {
      return app.fetch(request, env, ctx);
    }
    if (url.pathname.startsWith("/parties/")) return routeRealtime(request, env, url);
    if (url.pathname.startsWith("/attachments/")) return serveAttachment(request, env);
    if (url.pathname.startsWith("/widget/frame/")) return serveWidgetFrame(request, env);
    const res = await kit.fetch(request, env, ctx);
    const out = new Response(res.body, res);
    for (const [k, v] of Object.entries(PAGE_HEADERS)) if (!out.headers.has(k)) out.headers.set(k, v);
    return out;
  },
  // The cron in wrangler.toml: uploads never sent in a message, expired throttle counters.
  async scheduled(controller, env): Promise<void> {
    await cleanupUploads(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<Env>;
