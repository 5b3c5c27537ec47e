import { redirect } from "@sveltejs/kit";
import { loginUrl } from "$lib/navigation";
import { adoptUser, fetchMe } from "$lib/session.svelte";
import type { PageLoad } from "./$types";

/** Making and listing links needs an account: without one, off to log in and back here. */
export const load: PageLoad = async ({ fetch, url }) => {
  const user = await fetchMe(fetch);
  if (!user) redirect(307, loginUrl(url));
  await adoptUser(user);
  return {};
};
