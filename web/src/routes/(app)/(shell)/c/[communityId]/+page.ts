import { redirect } from "@sveltejs/kit";
import { firstTextChannel } from "$lib/communities/channels";
import type { PageLoad } from "./$types";

/** /c/<id> opens the community's first text channel (the system channel first). */
export const load: PageLoad = async ({ parent, params }) => {
  const { detail } = await parent();
  const system = detail.channels.find((c) => c.id === detail.community.systemChannelId && c.kind === "text");
  const first = system ?? firstTextChannel(detail.channels) ?? detail.channels.find((c) => c.kind !== "category");
  if (first) redirect(307, `/c/${params.communityId}/${first.id}`);
  return {};
};
