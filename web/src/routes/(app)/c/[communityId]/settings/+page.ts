import { redirect } from "@sveltejs/kit";
import { can, communityPerms } from "$lib/communities/perms";
import { settingsSections } from "$lib/communities/settings";
import type { PageLoad } from "./$types";

/** /settings opens the first section the viewer may use. */
export const load: PageLoad = async ({ parent, params }) => {
  const { detail } = await parent();
  const perms = communityPerms({ userId: detail.me.userId, ownerId: detail.community.ownerId, roles: detail.roles, roleIds: detail.me.roleIds });
  const first = settingsSections(perms)[0];
  // Emoji managers with no other section land on the emoji page (docs/profiles-and-emoji.md);
  // moderators without one, on the reports queue (docs/moderation.md).
  const section = first?.id ?? (can(perms, "MANAGE_EMOJI") ? "emoji" : can(perms, "MODERATE_MEMBERS") || can(perms, "MANAGE_MESSAGES") ? "reports" : null);
  redirect(307, section ? `/c/${params.communityId}/settings/${section}` : `/c/${params.communityId}`);
};
