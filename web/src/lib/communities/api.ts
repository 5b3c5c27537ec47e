/**
 * The communities HTTP API as the web app calls it: every path in one place, every answer
 * parsed with the shared schemas (workers/shared/communities.ts). See docs/communities.md.
 */
import { z } from "zod";
import {
  Ban,
  AuditPage,
  type AuditQuery,
  type BanBody,
  Channel,
  Community,
  CommunityDetail,
  type CreateChannelBody,
  CreateCommunityResponse,
  type CreateInviteBody,
  type CreateRoleBody,
  DmChannel,
  Invite,
  InvitePreview,
  Member,
  type OverwriteBody,
  type OverwriteTargetKind,
  RedeemResponse,
  Role,
  type UpdateChannelBody,
  type UpdateRoleBody,
  UserSummary,
} from "$shared/communities";
import { ErrorBody } from "$shared/protocol";
import { ApiRequestError, api } from "$lib/api";

const enc = encodeURIComponent;

const CommunityList = z.object({ communities: z.array(Community) });
const CommunityOne = z.object({ community: Community });
const MemberPage = z.object({ members: z.array(Member), nextAfter: z.string().nullable() });
const MemberOne = z.object({ member: Member });
const ChannelOne = z.object({ channel: Channel });
const ChannelList = z.object({ channels: z.array(Channel) });
const RoleOne = z.object({ role: Role });
const RoleList = z.object({ roles: z.array(Role) });
const BanList = z.object({ bans: z.array(Ban) });
const InviteOne = z.object({ invite: Invite });
const InviteList = z.object({ invites: z.array(Invite) });
const DmList = z.object({ channels: z.array(DmChannel) });
const DmOne = z.object({ channel: DmChannel });
const BlockList = z.object({ users: z.array(UserSummary) });

type Fetch = typeof fetch;

export const communitiesApi = {
  list: (f?: Fetch) => api.get("/api/communities", CommunityList, f).then((r) => r.communities),
  detail: (id: string, f?: Fetch) => api.get(`/api/communities/${enc(id)}`, CommunityDetail, f),
  create: (name: string) => api.post("/api/communities", { name }, CreateCommunityResponse),
  update: (id: string, body: { name?: string; systemChannelId?: string | null }) =>
    api.patch(`/api/communities/${enc(id)}`, body, CommunityOne).then((r) => r.community),
  transfer: (id: string, userId: string) => api.post(`/api/communities/${enc(id)}/transfer`, { userId }, CommunityOne).then((r) => r.community),
  remove: (id: string, confirmName: string) => api.delete(`/api/communities/${enc(id)}`, { confirmName }),
  leave: (id: string) => api.post(`/api/communities/${enc(id)}/leave`),
  removeIcon: (id: string) => api.delete(`/api/communities/${enc(id)}/icon`, {}, CommunityOne).then((r) => r.community),
  /** PUT the image bytes as the body (not JSON): the uploads prefix takes raw files. */
  async uploadIcon(id: string, file: Blob): Promise<Community> {
    let res: Response;
    try {
      res = await fetch(`/api/uploads/communities/${enc(id)}/icon`, {
        method: "PUT",
        credentials: "same-origin",
        headers: { accept: "application/json", "content-type": file.type || "application/octet-stream" },
        body: file,
      });
    } catch {
      throw new ApiRequestError("network_error", "network error", 0);
    }
    let raw: unknown = undefined;
    try {
      raw = await res.json();
    } catch {
      // handled below
    }
    if (!res.ok) {
      const err = ErrorBody.safeParse(raw);
      if (err.success) throw new ApiRequestError(err.data.error.code, err.data.error.message, res.status, { issues: err.data.error.issues });
      throw new ApiRequestError(res.status === 413 ? "payload_too_large" : "bad_response", `HTTP ${res.status}`, res.status);
    }
    const parsed = CommunityOne.safeParse(raw);
    if (!parsed.success) throw new ApiRequestError("bad_response", "unexpected response shape", res.status);
    return parsed.data.community;
  },

  /** Every member (pages of up to 1000, by user id). */
  async members(id: string, f?: Fetch): Promise<Member[]> {
    const out: Member[] = [];
    let after: string | null = null;
    for (let i = 0; i < 100; i++) {
      const q: string = after ? `?after=${enc(after)}` : "";
      const page: z.infer<typeof MemberPage> = await api.get(`/api/communities/${enc(id)}/members${q}`, MemberPage, f);
      out.push(...page.members);
      after = page.nextAfter;
      if (!after) break;
    }
    return out;
  },
  setNickname: (id: string, userId: string, nickname: string | null) =>
    api.patch(`/api/communities/${enc(id)}/members/${enc(userId)}`, { nickname }, MemberOne).then((r) => r.member),
  kick: (id: string, userId: string, reason?: string) => api.post(`/api/communities/${enc(id)}/members/${enc(userId)}/kick`, reason ? { reason } : {}),
  addRole: (id: string, userId: string, roleId: string) => api.put(`/api/communities/${enc(id)}/members/${enc(userId)}/roles/${enc(roleId)}`),
  removeRole: (id: string, userId: string, roleId: string) => api.delete(`/api/communities/${enc(id)}/members/${enc(userId)}/roles/${enc(roleId)}`),

  bans: (id: string) => api.get(`/api/communities/${enc(id)}/bans`, BanList).then((r) => r.bans),
  ban: (id: string, userId: string, body: BanBody) => api.put(`/api/communities/${enc(id)}/bans/${enc(userId)}`, body),
  unban: (id: string, userId: string) => api.delete(`/api/communities/${enc(id)}/bans/${enc(userId)}`),

  createChannel: (id: string, body: CreateChannelBody) => api.post(`/api/communities/${enc(id)}/channels`, body, ChannelOne).then((r) => r.channel),
  reorderChannels: (id: string, channels: { id: string; parentId: string | null }[]) =>
    api.put(`/api/communities/${enc(id)}/channels/order`, { channels }, ChannelList).then((r) => r.channels),
  updateChannel: (channelId: string, body: UpdateChannelBody) => api.patch(`/api/channels/${enc(channelId)}`, body, ChannelOne).then((r) => r.channel),
  deleteChannel: (channelId: string) => api.delete(`/api/channels/${enc(channelId)}`),
  setOverwrite: (channelId: string, kind: OverwriteTargetKind, targetId: string, body: OverwriteBody) =>
    api.put(`/api/channels/${enc(channelId)}/overwrites/${kind}/${enc(targetId)}`, body, ChannelOne).then((r) => r.channel),
  deleteOverwrite: (channelId: string, kind: OverwriteTargetKind, targetId: string) => api.delete(`/api/channels/${enc(channelId)}/overwrites/${kind}/${enc(targetId)}`),

  roles: (id: string) => api.get(`/api/communities/${enc(id)}/roles`, RoleList).then((r) => r.roles),
  createRole: (id: string, body: CreateRoleBody) => api.post(`/api/communities/${enc(id)}/roles`, body, RoleOne).then((r) => r.role),
  updateRole: (id: string, roleId: string, body: UpdateRoleBody) => api.patch(`/api/communities/${enc(id)}/roles/${enc(roleId)}`, body, RoleOne).then((r) => r.role),
  deleteRole: (id: string, roleId: string) => api.delete(`/api/communities/${enc(id)}/roles/${enc(roleId)}`),
  /** Every role but @everyone, lowest first. */
  reorderRoles: (id: string, roleIds: string[]) => api.put(`/api/communities/${enc(id)}/roles/order`, { roleIds }, RoleList).then((r) => r.roles),

  auditLog(id: string, q: Partial<AuditQuery> = {}) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
    const qs = params.size ? `?${params}` : "";
    return api.get(`/api/communities/${enc(id)}/audit-log${qs}`, AuditPage);
  },

  invites: (id: string) => api.get(`/api/communities/${enc(id)}/invites`, InviteList).then((r) => r.invites),
  createInvite: (id: string, body: CreateInviteBody) => api.post(`/api/communities/${enc(id)}/invites`, body, InviteOne).then((r) => r.invite),
  revokeInvite: (code: string) => api.delete(`/api/invites/${enc(code)}`),
  previewInvite: (code: string, f?: Fetch) => api.get(`/api/invites/${enc(code)}`, InvitePreview, f),
  redeemInvite: (code: string) => api.post(`/api/invites/${enc(code)}/redeem`, {}, RedeemResponse),

  dms: (f?: Fetch) => api.get("/api/dms", DmList, f).then((r) => r.channels),
  openDm: (userIds: string[]) => api.post("/api/dms", { userIds }, DmOne).then((r) => r.channel),
  blocks: () => api.get("/api/me/blocks", BlockList).then((r) => r.users),
  block: (userId: string) => api.put(`/api/me/blocks/${enc(userId)}`),
  unblock: (userId: string) => api.delete(`/api/me/blocks/${enc(userId)}`),
};
