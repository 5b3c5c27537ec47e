/**
 * The communities HTTP API as the web app calls it: the typed client's routes (paths and
 * bodies typed from workers/api), every answer parsed with the shared schemas
 * (workers/shared/communities.ts). See docs/communities.md.
 */
import {
  AuditPage,
  type AuditQuery,
  BanListResponse,
  type BanBody,
  BlockListResponse,
  ChannelListResponse,
  ChannelResponse,
  type Community,
  CommunityDetail,
  CommunityListResponse,
  CommunityResponse,
  type CreateChannelBody,
  CreateCommunityResponse,
  type CreateInviteBody,
  type CreateRoleBody,
  DmListResponse,
  DmResponse,
  InviteListResponse,
  InvitePreview,
  InviteResponse,
  type Member,
  MemberPage,
  MemberResponse,
  type OverwriteBody,
  type OverwriteTargetKind,
  RedeemResponse,
  RoleListResponse,
  RoleResponse,
  type UpdateChannelBody,
  type UpdateCommunityBody,
  type UpdateRoleBody,
} from "$shared/communities";
import { apiClient, client, done, read } from "$lib/api";

type Fetch = typeof fetch;

const community = client.communities[":id"];
const member = community.members[":userId"];
const channel = client.channels[":id"];

export const communitiesApi = {
  list: (f?: Fetch) => read(apiClient(f).communities.$get(), CommunityListResponse).then((r) => r.communities),
  detail: (id: string, f?: Fetch) => read(apiClient(f).communities[":id"].$get({ param: { id } }), CommunityDetail),
  create: (name: string) => read(client.communities.$post({ json: { name } }), CreateCommunityResponse),
  update: (id: string, body: UpdateCommunityBody) =>
    read(community.$patch({ param: { id }, json: body }), CommunityResponse).then((r) => r.community),
  transfer: (id: string, userId: string) =>
    read(community.transfer.$post({ param: { id }, json: { userId } }), CommunityResponse).then((r) => r.community),
  remove: (id: string, confirmName: string) => done(community.$delete({ param: { id }, json: { confirmName } })),
  leave: (id: string) => done(community.leave.$post({ param: { id } })),
  removeIcon: (id: string) => read(community.icon.$delete({ param: { id } }), CommunityResponse).then((r) => r.community),
  /** PUT the image bytes as the body (not JSON): the uploads prefix takes raw files. */
  uploadIcon: (id: string, file: Blob): Promise<Community> =>
    read(
      client.uploads.communities[":id"].icon.$put(
        { param: { id } },
        { init: { body: file, headers: { "content-type": file.type || "application/octet-stream" } } },
      ),
      CommunityResponse,
    ).then((r) => r.community),

  /** Every member (pages of up to 1000, by user id). */
  async members(id: string, f?: Fetch): Promise<Member[]> {
    const out: Member[] = [];
    let after: string | null = null;
    for (let i = 0; i < 100; i++) {
      const query: { after?: string } = after ? { after } : {};
      const page: MemberPage = await read(apiClient(f).communities[":id"].members.$get({ param: { id }, query }), MemberPage);
      out.push(...page.members);
      after = page.nextAfter;
      if (!after) break;
    }
    return out;
  },
  setNickname: (id: string, userId: string, nickname: string | null) =>
    read(member.$patch({ param: { id, userId }, json: { nickname } }), MemberResponse).then((r) => r.member),
  kick: (id: string, userId: string, reason?: string) => done(member.kick.$post({ param: { id, userId }, json: reason ? { reason } : {} })),
  addRole: (id: string, userId: string, roleId: string) => done(member.roles[":roleId"].$put({ param: { id, userId, roleId } })),
  removeRole: (id: string, userId: string, roleId: string) => done(member.roles[":roleId"].$delete({ param: { id, userId, roleId } })),

  bans: (id: string) => read(community.bans.$get({ param: { id } }), BanListResponse).then((r) => r.bans),
  ban: (id: string, userId: string, body: BanBody) => done(community.bans[":userId"].$put({ param: { id, userId }, json: body })),
  unban: (id: string, userId: string) => done(community.bans[":userId"].$delete({ param: { id, userId } })),

  createChannel: (id: string, body: CreateChannelBody) =>
    read(community.channels.$post({ param: { id }, json: body }), ChannelResponse).then((r) => r.channel),
  reorderChannels: (id: string, channels: { id: string; parentId: string | null }[]) =>
    read(community.channels.order.$put({ param: { id }, json: { channels } }), ChannelListResponse).then((r) => r.channels),
  updateChannel: (channelId: string, body: UpdateChannelBody) =>
    read(channel.$patch({ param: { id: channelId }, json: body }), ChannelResponse).then((r) => r.channel),
  deleteChannel: (channelId: string) => done(channel.$delete({ param: { id: channelId } })),
  setOverwrite: (channelId: string, kind: OverwriteTargetKind, targetId: string, body: OverwriteBody) =>
    read(
      channel.overwrites[":targetKind"][":targetId"].$put({ param: { id: channelId, targetKind: kind, targetId }, json: body }),
      ChannelResponse,
    ).then((r) => r.channel),
  deleteOverwrite: (channelId: string, kind: OverwriteTargetKind, targetId: string) =>
    done(channel.overwrites[":targetKind"][":targetId"].$delete({ param: { id: channelId, targetKind: kind, targetId } })),

  roles: (id: string) => read(community.roles.$get({ param: { id } }), RoleListResponse).then((r) => r.roles),
  createRole: (id: string, body: CreateRoleBody) => read(community.roles.$post({ param: { id }, json: body }), RoleResponse).then((r) => r.role),
  updateRole: (id: string, roleId: string, body: UpdateRoleBody) =>
    read(community.roles[":roleId"].$patch({ param: { id, roleId }, json: body }), RoleResponse).then((r) => r.role),
  deleteRole: (id: string, roleId: string) => done(community.roles[":roleId"].$delete({ param: { id, roleId } })),
  /** Every role but @everyone, lowest first. */
  reorderRoles: (id: string, roleIds: string[]) =>
    read(community.roles.order.$put({ param: { id }, json: { roleIds } }), RoleListResponse).then((r) => r.roles),

  auditLog: (id: string, { limit, ...q }: Partial<AuditQuery> = {}) =>
    read(community["audit-log"].$get({ param: { id }, query: { ...q, limit: limit?.toString() } }), AuditPage),

  invites: (id: string) => read(community.invites.$get({ param: { id } }), InviteListResponse).then((r) => r.invites),
  createInvite: (id: string, body: CreateInviteBody) =>
    read(community.invites.$post({ param: { id }, json: body }), InviteResponse).then((r) => r.invite),
  revokeInvite: (code: string) => done(client.invites[":code"].$delete({ param: { code } })),
  previewInvite: (code: string, f?: Fetch) => read(apiClient(f).invites[":code"].$get({ param: { code } }), InvitePreview),
  redeemInvite: (code: string, f?: Fetch) => read(apiClient(f).invites[":code"].redeem.$post({ param: { code } }), RedeemResponse),

  dms: (f?: Fetch) => read(apiClient(f).dms.$get(), DmListResponse).then((r) => r.channels),
  openDm: (userIds: string[]) => read(client.dms.$post({ json: { userIds } }), DmResponse).then((r) => r.channel),
  blocks: () => read(client.me.blocks.$get(), BlockListResponse).then((r) => r.users),
  block: (userId: string) => done(client.me.blocks[":userId"].$put({ param: { userId } })),
  unblock: (userId: string) => done(client.me.blocks[":userId"].$delete({ param: { userId } })),
};
