import type { HandleFetch } from "@sveltejs/kit";

/** The part of the Worker's own entry that `ctx.exports` exposes (a loopback, no network). */
interface SelfEntry {
  fetch(request: Request): Promise<Response>;
}

/**
 * Server-rendered pages (the invite page) call the API with SvelteKit's `fetch`. Same-origin
 * `/api/*` is not a SvelteKit route: it is handed to this Worker's own entry through
 * `ctx.exports.default`, in process, so the Hono app answers it without a network round trip.
 */
export const handleFetch: HandleFetch = async ({ event, request, fetch }) => {
  const url = new URL(request.url);
  if (url.origin === event.url.origin && url.pathname.startsWith("/api/")) {
    // The platform's types predate ctx.exports (on since compatibility date 2025-11-17).
    const platform = event.platform as { ctx?: { exports?: { default?: SelfEntry } } } | undefined;
    const self = platform?.ctx?.exports?.default;
    if (self) return self.fetch(request);
  }
  return fetch(request);
};
