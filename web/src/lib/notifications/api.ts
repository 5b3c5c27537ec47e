/** The notification-settings HTTP API as the web app calls it, parsed with the shared schemas. */
import {
  ChannelNotificationsResponse,
  CommunityNotificationsResponse,
  CommunitySettingResponse,
  DmNotificationsResponse,
  type NotificationSetting,
} from "$shared/notifications";
import { client, read } from "$lib/api";

export const notificationsApi = {
  community: (id: string) => read(client.communities[":id"].notifications.$get({ param: { id } }), CommunityNotificationsResponse),
  setCommunity: (id: string, s: NotificationSetting) =>
    read(client.communities[":id"].notifications.$put({ param: { id }, json: s }), CommunitySettingResponse).then((r) => r.community),
  dms: () => read(client.me.notifications.$get(), DmNotificationsResponse).then((r) => r.dms),
  channel: (id: string) => read(client.channels[":id"].notifications.$get({ param: { id } }), ChannelNotificationsResponse).then((r) => r.setting),
  setChannel: (id: string, s: NotificationSetting) =>
    read(client.channels[":id"].notifications.$put({ param: { id }, json: s }), ChannelNotificationsResponse).then((r) => r.setting),
};
