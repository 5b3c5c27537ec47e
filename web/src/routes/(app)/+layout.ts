import { redirect } from "@sveltejs/kit";
import { loginUrl } from "$lib/navigation";
import { adoptUser, fetchMe } from "$lib/session.svelte";
import type { LayoutLoad } from "./$types";

/** Every page in (app) needs a logged-in user; without one, off to the login page. */
export const load: LayoutLoad = async ({ fetch, url, depends }) => {
  depends("app:me");
  const user = await fetchMe(fetch);
  if (!user) redirect(307, loginUrl(url));
  await adoptUser(user);
  return {};
};
