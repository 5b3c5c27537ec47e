import { error } from "@sveltejs/kit";
import { isApiError } from "$lib/api";
import { communitiesApi } from "$lib/communities/api";
import { communities } from "$lib/communities/store.svelte";
import type { LayoutLoad } from "./$types";

export const load: LayoutLoad = async ({ params, fetch, parent }) => {
  await parent();
  if (!communities.loaded) await communities.load(fetch);
  try {
    return { detail: await communitiesApi.detail(params.communityId, fetch) };
  } catch (err) {
    if (isApiError(err, "not_found")) error(404, "No such community.");
    throw err;
  }
};
