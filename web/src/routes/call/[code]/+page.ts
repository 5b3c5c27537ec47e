import { CallCode, type CallLinkPreview } from "$shared/call-links";
import { isApiError } from "$lib/api";
import { callsApi } from "$lib/calls/api";
import { adoptUser, fetchMe } from "$lib/session.svelte";
import type { PageLoad } from "./$types";

/**
 * Anyone with the link: the link's preview and, when logged in, the member. A guest needs no
 * account (the page is outside the (app) group, which sends visitors to log in).
 */
export const load: PageLoad = async ({ fetch, params }) => {
  const code = params.code.toLowerCase();
  const [user, preview] = await Promise.all([
    fetchMe(fetch).catch(() => null),
    CallCode.safeParse(code).success
      ? callsApi.preview(code, fetch).catch((err: unknown): CallLinkPreview | null => {
          if (isApiError(err)) return null;
          throw err;
        })
      : Promise.resolve(null),
  ]);
  if (user) await adoptUser(user);
  return { code, preview, user };
};
