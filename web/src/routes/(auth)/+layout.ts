import { redirect } from "@sveltejs/kit";
import { safeNext } from "$lib/navigation";
import { adoptUser, fetchMe } from "$lib/session.svelte";
import type { LayoutLoad } from "./$types";

export const load: LayoutLoad = async ({ fetch, url }) => {
  let loggedIn = false;
  try {
    const user = await fetchMe(fetch);
    if (user) {
      await adoptUser(user);
      loggedIn = true;
    }
  } catch {
    // The API is unreachable: show the form; submitting it will say so.
  }
  if (loggedIn) redirect(307, safeNext(url.searchParams.get("next"), url.origin));
  return {};
};
