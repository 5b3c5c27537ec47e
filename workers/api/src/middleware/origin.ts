/**
 * Origin check for every state-changing request and WebSocket upgrade. Allowed: the app's
 * own origin plus the comma-separated ALLOWED_ORIGINS. A request without an Origin header
 * is refused as well, so a non-browser client must send one.
 */
import { ApiError } from "../../../shared/errors";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function allowedOrigins(requestUrl: string, configured: string | undefined): Set<string> {
  const set = new Set<string>([new URL(requestUrl).origin]);
  for (const o of (configured ?? "").split(",")) {
    const t = o.trim();
    if (t) set.add(t.replace(/\/+$/, ""));
  }
  return set;
}

export function isOriginAllowed(req: Request, configured: string | undefined): boolean {
  const origin = req.headers.get("origin");
  if (!origin || origin === "null") return false;
  return allowedOrigins(req.url, configured).has(origin);
}

/** Throws `forbidden_origin` when a request that needs an Origin check fails it. */
export function checkOrigin(req: Request, configured: string | undefined): void {
  const isUpgrade = req.headers.get("upgrade")?.toLowerCase() === "websocket";
  if (SAFE_METHODS.has(req.method) && !isUpgrade) return;
  if (!isOriginAllowed(req, configured)) {
    throw new ApiError("forbidden_origin", "This request must come from the Woxly app's own origin.");
  }
}

/** Does the request carry a Woxly session cookie (either name: `woxly_session` or `__Host-woxly_session`)? */
export function hasSessionCookie(req: Request): boolean {
  const cookie = req.headers.get("cookie");
  return !!cookie && /(?:^|;)\s*(?:__Host-)?woxly_session=/.test(cookie);
}
