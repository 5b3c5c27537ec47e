import { error } from "@sveltejs/kit";
import { isApiError } from "$lib/api";
import { communitiesApi } from "$lib/communities/api";
import type { LayoutLoad } from "./$types";

/** The community as the viewer sees it; the hub's snapshot takes over once it arrives. */
export const load: LayoutLoad = async ({ params, fetch, parent }) => {
  await parent();
  try {
    return { detail: await communitiesApi.detail(params.communityId, fetch) };
  } catch (err) {
    // Unknown and forbidden look the same.
    if (isApiError(err, "not_found")) error(404, "No such community.");
    throw err;
  }
};
