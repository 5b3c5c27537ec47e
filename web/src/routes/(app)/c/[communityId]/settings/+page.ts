import { redirect } from "@sveltejs/kit";
import { communityPerms } from "$lib/communities/perms";
import { settingsSections } from "$lib/communities/settings";
import type { PageLoad } from "./$types";

/** /settings opens the first section the viewer may use. */
export const load: PageLoad = async ({ parent, params }) => {
  const { detail } = await parent();
  const perms = communityPerms({ userId: detail.me.userId, ownerId: detail.community.ownerId, roles: detail.roles, roleIds: detail.me.roleIds });
  const first = settingsSections(perms)[0];
  redirect(307, first ? `/c/${params.communityId}/settings/${first.id}` : `/c/${params.communityId}`);
};
