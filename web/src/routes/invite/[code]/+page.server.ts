import { InviteCode, type InvitePreview } from "$shared/communities";
import { LOCALES, type Locale } from "$shared/protocol";
import { init, waitLocale } from "svelte-i18n";
import { isApiError } from "$lib/api";
import { communitiesApi } from "$lib/communities/api";
import type { PageServerLoad } from "./$types";
import "$lib/i18n";

/** Rendered on the server (the root layout is client-only) so a pasted link unfurls. */
export const ssr = true;

/** The first of the request's languages Woxly speaks. */
function requestLocale(header: string | null): Locale {
  for (const part of (header ?? "").split(",")) {
    const base = part.trim().split(";")[0]?.split("-")[0]?.toLowerCase();
    if (base && (LOCALES as readonly string[]).includes(base)) return base as Locale;
  }
  return "en";
}

let i18nStarted = false;

export const load: PageServerLoad = async ({ params, fetch, request, setHeaders }) => {
  const locale = requestLocale(request.headers.get("accept-language"));
  setHeaders({ vary: "Accept-Language" });
  let preview: InvitePreview | null = null;
  if (InviteCode.safeParse(params.code).success) {
    try {
      preview = await communitiesApi.previewInvite(params.code, fetch);
    } catch (err) {
      // Expired, used up, or an unexpected answer: the page says the link does not work.
      if (!isApiError(err)) throw err;
    }
  }
  // The page's strings in that language, for this render (they stay loaded in the isolate).
  // The page passes `locale` to every message, so requests in other languages cannot mix.
  if (!i18nStarted) {
    i18nStarted = true;
    await init({ fallbackLocale: "en", initialLocale: "en" });
  }
  await waitLocale(locale);
  return { code: params.code, preview, locale };
};
