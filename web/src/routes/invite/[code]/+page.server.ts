import { fail, redirect } from "@sveltejs/kit";
import { InviteCode, type InvitePreview } from "$shared/communities";
import { LOCALES, MeResponse, type Locale } from "$shared/protocol";
import { init, waitLocale } from "svelte-i18n";
import { apiClient, isApiError, read } from "$lib/api";
import { communitiesApi } from "$lib/communities/api";
import { formMessage, type Msg } from "$lib/forms";
import type { Actions, PageServerLoad } from "./$types";
import "$lib/i18n";

/**
 * Rendered on the server (the root layout is client-only) so a pasted link unfurls, and only
 * there: the page ships none of the app's JavaScript (issue 14: a first visit downloads ≤ 30 KB
 * of it; this page needs none). Accepting is a form posted to the `accept` action; the few
 * things done in the browser (remembering the invite across registration, the theme and
 * language choices) are static/invite.js.
 */
export const ssr = true;
export const csr = false;

function isLocale(value: unknown): value is Locale {
  return typeof value === "string" && (LOCALES as readonly string[]).includes(value);
}

/** The first of the request's languages Woxly speaks. */
function requestLocale(header: string | null): Locale {
  for (const part of (header ?? "").split(",")) {
    const base = part.trim().split(";")[0]?.split("-")[0]?.toLowerCase();
    if (isLocale(base)) return base;
  }
  return "en";
}

let i18nStarted = false;

/**
 * The load's fetch, as the visitor: their cookies and the page's Origin (the API's CSRF check).
 * hooks.server.ts hands `/api/*` to the Worker's own entry before SvelteKit's fetch would add
 * the cookies, so they are set here.
 */
function asVisitor(fetch: typeof globalThis.fetch, request: Request, origin: string): typeof globalThis.fetch {
  const cookie = request.headers.get("cookie");
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    if (cookie) headers.set("cookie", cookie);
    headers.set("origin", origin);
    return fetch(input, { ...init, headers });
  };
}

export const load: PageServerLoad = async ({ params, fetch, request, url, setHeaders }) => {
  const [preview, me] = await Promise.all([
    InviteCode.safeParse(params.code).success
      ? communitiesApi.previewInvite(params.code, fetch).catch((err: unknown): InvitePreview | null => {
          // Expired, used up, or an unexpected answer: the page says the link does not work.
          if (!isApiError(err)) throw err;
          return null;
        })
      : null,
    // Logged in or not (the session cookie goes with a same-origin fetch of a load).
    read(apiClient(asVisitor(fetch, request, url.origin)).me.$get(), MeResponse).then(
      (r) => r.user,
      () => null,
    ),
  ]);
  // A language chosen on this page (?lang=), else the account's, else the request's.
  const asked = url.searchParams.get("lang");
  const locale: Locale = isLocale(asked) ? asked : (me?.locale ?? requestLocale(request.headers.get("accept-language")));
  setHeaders({ vary: "Accept-Language, Cookie", "cache-control": "private, no-store" });
  // The page's strings in that language, for this render (they stay loaded in the isolate).
  // The page passes `locale` to every message, so requests in other languages cannot mix.
  if (!i18nStarted) {
    i18nStarted = true;
    await init({ fallbackLocale: "en", initialLocale: "en" });
  }
  await waitLocale(locale);
  return {
    code: params.code,
    preview,
    locale,
    user: me ? { displayName: me.displayName } : null,
  };
};

/** A failed accept, with its message for the page (null: the session is gone, show the choices). */
const refused = (status: number, error: Msg | null) => fail(status, { error });

export const actions: Actions = {
  /** Redeems the invite as the visitor (their session cookie) and opens the community. */
  accept: async ({ params, fetch, request, url }) => {
    if (!InviteCode.safeParse(params.code).success) return refused(404, { key: "comm.invitePage.invalidBody" });
    let target: string;
    try {
      const r = await communitiesApi.redeemInvite(params.code, asVisitor(fetch, request, url.origin));
      target = r.channelId ? `/c/${r.communityId}/${r.channelId}` : `/c/${r.communityId}`;
    } catch (err) {
      if (isApiError(err, "forbidden")) return refused(403, { key: "comm.invitePage.banned" });
      if (isApiError(err, "not_found")) return refused(404, { key: "comm.invitePage.invalidBody" });
      if (isApiError(err, "unauthorized")) return refused(401, null);
      return refused(isApiError(err) && err.status >= 400 && err.status < 500 ? err.status : 502, formMessage(err));
    }
    redirect(303, target);
  },
};
