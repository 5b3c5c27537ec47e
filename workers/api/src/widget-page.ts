/**
 * GET /widget/frame/<deskId>: the support desk panel's iframe page (web/widget/panel), embedded
 * by widget.js on the desk's allowed websites. Its headers are the isolation: `frame-ancestors`
 * lists exactly the desk's allowed origins (so no other site can frame it, and no
 * X-Frame-Options here), scripts and connections only from Woxly itself (plus the LiveKit
 * server when its URL is known), and camera, microphone, screen and autoplay allowed to this
 * origin (the embedding iframe's `allow` attribute grants them on the host's side). The panel's
 * bundle has hashed names; `/widget-panel/entry.json`, written by the widget build, names them.
 * An unknown desk answers a 404 page that no one may frame.
 */
import { eq } from "drizzle-orm";
import { Id } from "../../shared/communities";
import { DeskLanguage } from "../../shared/desk";
import { makeDb } from "../../core/db";
import { desks } from "../../core/schema";
import { log } from "../../core/log";

/** What the widget build writes to /widget-panel/entry.json: the panel's module and styles, site-absolute paths. */
interface PanelEntry {
  script: string;
  styles: string[];
}

const BASE_HEADERS: Record<string, string> = {
  "Content-Type": "text/html; charset=utf-8",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "strict-origin-when-cross-origin",
  // frame-ancestors follows the desk's settings, which may change at any time.
  "Cache-Control": "no-store",
};

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** The allowed-origins list as stored (a JSON array), keeping only well-formed origins. */
export function storedOrigins(json: string): string[] {
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(list)) return [];
  return list.filter((o): o is string => typeof o === "string" && /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i.test(o));
}

/** The LiveKit server's ws(s) and http(s) origins, for connect-src; `ws: wss:` when its URL is not known here. */
export function livekitSources(url: string | undefined): string[] {
  if (!url) return ["ws:", "wss:"];
  try {
    const u = new URL(url);
    const secure = u.protocol === "wss:" || u.protocol === "https:";
    return [`${secure ? "wss" : "ws"}://${u.host}`, `${secure ? "https" : "http"}://${u.host}`];
  } catch {
    return ["ws:", "wss:"];
  }
}

/** The panel page's Content-Security-Policy for a desk allowing `ancestors`. */
export function frameCsp(requestUrl: URL, ancestors: string[], livekitUrl: string | undefined): string {
  const wsSelf = `${requestUrl.protocol === "https:" ? "wss" : "ws"}://${requestUrl.host}`;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "font-src 'self'",
    `connect-src 'self' ${wsSelf} ${livekitSources(livekitUrl).join(" ")}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${ancestors.length ? ancestors.join(" ") : "'none'"}`,
  ].join("; ");
}

const PERMISSIONS = "camera=(self), microphone=(self), display-capture=(self), autoplay=(self), clipboard-write=(self), geolocation=()";

function page(status: number, body: string, csp: string, extra: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { ...BASE_HEADERS, "Content-Security-Policy": csp, ...extra } });
}

function notFound(): Response {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found</title></head><body><p>This support desk does not exist.</p></body></html>`;
  return page(404, html, "default-src 'none'; frame-ancestors 'none'", { "X-Frame-Options": "DENY" });
}

async function panelEntry(request: Request, env: Env): Promise<PanelEntry | null> {
  try {
    const res = await env.ASSETS.fetch(new URL("/widget-panel/entry.json", request.url));
    if (!res.ok) return null;
    const raw: unknown = await res.json();
    if (typeof raw !== "object" || raw === null) return null;
    const { script, styles } = raw as Record<string, unknown>;
    if (typeof script !== "string" || !Array.isArray(styles) || !styles.every((s) => typeof s === "string")) return null;
    return { script, styles };
  } catch {
    return null;
  }
}

export async function serveWidgetFrame(request: Request, env: Env): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response(null, { status: 405, headers: { Allow: "GET, HEAD" } });
  }
  const url = new URL(request.url);
  const parts = url.pathname.split("/");
  const deskId = parts.length === 4 ? parts[3] : undefined;
  if (!deskId || !Id.safeParse(deskId).success) return notFound();
  const row = (await makeDb(env.DB).select({ allowedOrigins: desks.allowedOrigins, name: desks.name }).from(desks).where(eq(desks.id, deskId)).limit(1))[0];
  if (!row) return notFound();

  const ancestors = storedOrigins(row.allowedOrigins);
  const livekitUrl = (env as { LIVEKIT_URL?: string }).LIVEKIT_URL;
  const csp = frameCsp(url, ancestors, livekitUrl);
  const entry = await panelEntry(request, env);
  if (!entry) {
    log({ event: "widget.panel_missing", deskId });
    return page(503, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unavailable</title></head><body><p>The support panel is not built on this server.</p></body></html>`, csp, {
      "Permissions-Policy": PERMISSIONS,
    });
  }
  const lang = DeskLanguage.safeParse(url.searchParams.get("lang")).data ?? "en";
  const styles = entry.styles.map((s) => `<link rel="stylesheet" href="${escapeHtml(s)}">`).join("");
  const html =
    `<!doctype html><html lang="${lang}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(row.name)}</title>${styles}` +
    `<script type="module" src="${escapeHtml(entry.script)}"></script>` +
    `</head><body><div id="woxly-panel" data-desk="${escapeHtml(deskId)}"></div></body></html>`;
  return page(200, html, csp, { "Permissions-Policy": PERMISSIONS });
}
