import { communities } from "$lib/communities/store.svelte";
import type { LayoutLoad } from "./$types";

/** The rail needs the user's communities (and the home page their DMs) before it renders. */
export const load: LayoutLoad = async ({ fetch, parent }) => {
  await parent();
  if (!communities.loaded) await communities.load(fetch);
  return {};
};
