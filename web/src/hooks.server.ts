import type { Handle, HandleFetch, RequestEvent } from "@sveltejs/kit";
import { get } from "svelte/store";
import { _, init, waitLocale } from "svelte-i18n";
import { FirstScreen } from "$shared/first-screen";
import { LOCALES, type Locale } from "$shared/protocol";
import { firstScreenTitle, renderFirstScreen } from "$lib/server/first-screen";
import "$lib/i18n";

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

/** A text channel's page: /c/<communityId>/<channelId> (not the desk pages under /c/<id>/desk). */
const CHANNEL_PAGE = /^\/c\/([0-9A-Za-z_-]{1,64})\/(?!desk(?:\/|$))([0-9A-Za-z_-]{1,64})\/?$/;

/** The first screen's static style and script (no inline code: the CSP). */
const HEAD = `<link rel="stylesheet" href="/first-screen.css"><script src="/first-screen.js" defer></script></head>`;

/** One of the app's stylesheet links SvelteKit writes into the shell's head. */
const APP_STYLESHEET = /<link href="[^"]*\/_app\/immutable\/assets\/[^"]+\.css" rel="stylesheet">\s*/g;

let i18nStarted = false;

/**
 * The channel's first screen as the visitor may see it, or null: the API decides (one access
 * check, canReadChannel, with their cookie) and any refusal — no session, not a member,
 * kicked, banned, no READ_HISTORY, unknown or non-text channel — or a malformed answer means
 * no first screen, the plain shell as before.
 */
async function firstScreenOf(event: RequestEvent, communityId: string, channelId: string): Promise<{ html: string; title: string } | null> {
  const cookie = event.request.headers.get("cookie");
  if (!cookie) return null;
  const res = await event.fetch(`/api/channels/${channelId}/first-screen`, { headers: { cookie } });
  if (!res.ok) {
    await res.body?.cancel();
    return null;
  }
  const parsed = FirstScreen.safeParse(await res.json());
  if (!parsed.success || parsed.data.channel.communityId !== communityId) return null;
  // The account's language, as the invite page picks it (a saved browser choice is applied by first-screen.js).
  const locale: Locale = parsed.data.me.locale && (LOCALES as readonly string[]).includes(parsed.data.me.locale) ? parsed.data.me.locale : "en";
  if (!i18nStarted) {
    i18nStarted = true;
    await init({ fallbackLocale: "en", initialLocale: "en" });
  }
  await waitLocale(locale);
  const format = get(_);
  return { html: renderFirstScreen(parsed.data, locale, (id, values) => format(id, { locale, values })), title: firstScreenTitle(parsed.data) };
}

/**
 * The app renders in the browser (routes/+layout.ts, ssr = false); for a channel's page the
 * server also puts the channel's first screen into the shell it sends, so the latest messages
 * show before any of the app's JavaScript has loaded (issue 14 goal 1; docs/web-app.md
 * "First screen"). The app removes it once its own channel view is up (lib/first-screen.ts).
 */
export const handle: Handle = async ({ event, resolve }) => {
  const page = event.request.method === "GET" ? CHANNEL_PAGE.exec(event.url.pathname) : null;
  if (!page) return resolve(event);
  event.setHeaders({ "cache-control": "private, no-store", vary: "Cookie" });
  const screen = firstScreenOf(event, page[1]!, page[2]!).catch(() => null);
  let shown = false;
  const response = await resolve(event, {
    transformPageChunk: async ({ html }) => {
      const s = await screen;
      if (!s) return html;
      shown = true;
      // The app's stylesheets move from the head to just after the first screen: a stylesheet in
      // the body holds back only what follows it (the app), so the first screen paints once its
      // own small stylesheet is in, not after the app's ~35; the app's boot script still waits
      // for them, as before. Replacer functions: a `$'` or `$&` in the rendered text must not be
      // read as a pattern.
      const appStyles: string[] = [];
      const end = html.indexOf("</head>");
      const head = html.slice(0, end).replace(APP_STYLESHEET, (link) => {
        appStyles.push(link);
        return "";
      });
      return (head + html.slice(end))
        .replace("<title>Woxly</title>", () => `<title>${s.title}</title>`)
        .replace("</head>", () => HEAD)
        .replace('<div id="app">', () => `${s.html}${appStyles.join("")}<div id="app">`);
    },
  });
  // The Link header's preloads (the app's ~35 stylesheets and ~60 modules) would start with the
  // response, ahead of the head's own scripts and the first screen's stylesheet on the same few
  // connections, so the first screen would wait for the app's JavaScript. On a page with a first
  // screen they are dropped from the header: the stylesheets are linked after it (above), and
  // the module preloads are written there too, so they still start while the page is parsed.
  const link = response.headers.get("link");
  if (!shown || !link) return response;
  const modules = link
    .split(/,\s*(?=<)/)
    .map((l) => /^<([^>]+)>;\s*rel="?modulepreload"?/.exec(l)?.[1])
    .filter((href): href is string => !!href && /^[\w./-]+$/.test(href))
    .map((href) => `<link rel="modulepreload" href="${href}">`);
  const headers = new Headers(response.headers);
  headers.delete("link");
  const body = (await response.text()).replace('<div id="app">', () => `${modules.join("")}<div id="app">`);
  return new Response(body, { status: response.status, headers });
};
