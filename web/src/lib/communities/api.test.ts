/**
 * The communities API over the typed client sends exactly the requests the hand-built paths
 * did (method, path, JSON body), and parses the answers with the shared schemas. Node only:
 * `fetch` is a fake that records each request and answers from the case.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { communitiesApi } from "./api";

interface Sent {
  method: string;
  url: string;
  body: string | null;
  contentType: string | null;
}

const user = { id: "u1", username: "ann", displayName: "Ann" };
const community = { id: "c1", name: "Club", iconUrl: null, ownerId: "u1", systemChannelId: null, createdAt: 1 };
const channel = {
  id: "ch1", communityId: "c1", kind: "text", name: "general", topic: null, parentId: null, position: 0,
  userLimit: 0, e2ee: false, stage: false, overwrites: [], permissions: "0", createdAt: 1,
};
const role = { id: "r1", name: "mod", color: null, position: 1, permissions: "0", hoist: false, mentionable: false, isEveryone: false };
const member = { user, nickname: null, roleIds: [], joinedAt: 1, presence: "online" };
const invite = { code: "abcdefghijklmnopqrst", communityId: "c1", channelId: null, creatorId: "u1", createdAt: 1, expiresAt: null, maxUses: null, uses: 0 };
const dm = { id: "d1", kind: "dm", recipients: [user], createdAt: 1 };
const me = { userId: "u1", nickname: null, roleIds: [], isOwner: true, permissions: "0", joinedAt: 1 };

let sent: Sent[] = [];
let answers: unknown[] = [];

beforeEach(() => {
  sent = [];
  answers = [];
  vi.stubGlobal("fetch", async (input: string, init: RequestInit) => {
    const headers = new Headers(init.headers);
    sent.push({
      method: init.method ?? "GET",
      url: input,
      body: typeof init.body === "string" ? init.body : init.body ? "<blob>" : null,
      contentType: headers.get("content-type"),
    });
    const answer = answers.shift();
    return answer === undefined ? new Response(null, { status: 204 }) : Response.json(answer);
  });
});
afterEach(() => vi.unstubAllGlobals());

/** Runs `call` answering `answer`, and returns what it sent and got. */
async function one(call: () => Promise<unknown>, answer?: unknown): Promise<{ req: Sent; result: unknown }> {
  if (answer !== undefined) answers.push(answer);
  const result = await call();
  expect(sent).toHaveLength(1);
  return { req: sent[0]!, result };
}

const json = (body: unknown) => ({ body: JSON.stringify(body), contentType: "application/json" });

describe("communitiesApi", () => {
  it.each([
    ["list", () => communitiesApi.list(), { communities: [community] }, "GET", "/api/communities"],
    ["detail", () => communitiesApi.detail("c1"), { community, channels: [channel], roles: [role], me }, "GET", "/api/communities/c1"],
    ["bans", () => communitiesApi.bans("c1"), { bans: [{ user, reason: null, bannedBy: "u1", createdAt: 1 }] }, "GET", "/api/communities/c1/bans"],
    ["roles", () => communitiesApi.roles("c1"), { roles: [role] }, "GET", "/api/communities/c1/roles"],
    ["invites", () => communitiesApi.invites("c1"), { invites: [invite] }, "GET", "/api/communities/c1/invites"],
    ["dms", () => communitiesApi.dms(), { channels: [dm] }, "GET", "/api/dms"],
    ["blocks", () => communitiesApi.blocks(), { users: [user] }, "GET", "/api/me/blocks"],
    [
      "previewInvite",
      () => communitiesApi.previewInvite(invite.code),
      { code: invite.code, community: { id: "c1", name: "Club", iconUrl: null }, memberCount: 1, onlineCount: 1, expiresAt: null, expired: false },
      "GET",
      `/api/invites/${invite.code}`,
    ],
  ] as const)("%s: GET, no body", async (_name, call, answer, method, url) => {
    const { req } = await one(call, answer);
    expect(req).toEqual({ method, url, body: null, contentType: null });
  });

  it.each([
    ["create", () => communitiesApi.create("Club"), { community, channels: [channel], roles: [role] }, "POST", "/api/communities", { name: "Club" }],
    ["update", () => communitiesApi.update("c1", { name: "New" }), { community }, "PATCH", "/api/communities/c1", { name: "New" }],
    ["transfer", () => communitiesApi.transfer("c1", "u2"), { community }, "POST", "/api/communities/c1/transfer", { userId: "u2" }],
    ["remove", () => communitiesApi.remove("c1", "Club"), undefined, "DELETE", "/api/communities/c1", { confirmName: "Club" }],
    ["leave", () => communitiesApi.leave("c1"), undefined, "POST", "/api/communities/c1/leave", {}],
    ["removeIcon", () => communitiesApi.removeIcon("c1"), { community }, "DELETE", "/api/communities/c1/icon", {}],
    ["setNickname", () => communitiesApi.setNickname("c1", "u2", "Bo"), { member }, "PATCH", "/api/communities/c1/members/u2", { nickname: "Bo" }],
    ["kick", () => communitiesApi.kick("c1", "u2", "spam"), undefined, "POST", "/api/communities/c1/members/u2/kick", { reason: "spam" }],
    ["kick, no reason", () => communitiesApi.kick("c1", "u2"), undefined, "POST", "/api/communities/c1/members/u2/kick", {}],
    ["addRole", () => communitiesApi.addRole("c1", "u2", "r1"), undefined, "PUT", "/api/communities/c1/members/u2/roles/r1", {}],
    ["removeRole", () => communitiesApi.removeRole("c1", "u2", "r1"), undefined, "DELETE", "/api/communities/c1/members/u2/roles/r1", {}],
    ["ban", () => communitiesApi.ban("c1", "u2", { reason: "x" }), undefined, "PUT", "/api/communities/c1/bans/u2", { reason: "x" }],
    ["unban", () => communitiesApi.unban("c1", "u2"), undefined, "DELETE", "/api/communities/c1/bans/u2", {}],
    [
      "createChannel",
      () => communitiesApi.createChannel("c1", { kind: "text", name: "news" }),
      { channel },
      "POST",
      "/api/communities/c1/channels",
      { kind: "text", name: "news" },
    ],
    [
      "reorderChannels",
      () => communitiesApi.reorderChannels("c1", [{ id: "ch1", parentId: null }]),
      { channels: [channel] },
      "PUT",
      "/api/communities/c1/channels/order",
      { channels: [{ id: "ch1", parentId: null }] },
    ],
    ["updateChannel", () => communitiesApi.updateChannel("ch1", { topic: "t" }), { channel }, "PATCH", "/api/channels/ch1", { topic: "t" }],
    ["deleteChannel", () => communitiesApi.deleteChannel("ch1"), undefined, "DELETE", "/api/channels/ch1", {}],
    [
      "setOverwrite",
      () => communitiesApi.setOverwrite("ch1", "role", "r1", { allow: "1", deny: "0" }),
      { channel },
      "PUT",
      "/api/channels/ch1/overwrites/role/r1",
      { allow: "1", deny: "0" },
    ],
    ["deleteOverwrite", () => communitiesApi.deleteOverwrite("ch1", "member", "u2"), undefined, "DELETE", "/api/channels/ch1/overwrites/member/u2", {}],
    ["createRole", () => communitiesApi.createRole("c1", { name: "mod" }), { role }, "POST", "/api/communities/c1/roles", { name: "mod" }],
    ["updateRole", () => communitiesApi.updateRole("c1", "r1", { hoist: true }), { role }, "PATCH", "/api/communities/c1/roles/r1", { hoist: true }],
    ["deleteRole", () => communitiesApi.deleteRole("c1", "r1"), undefined, "DELETE", "/api/communities/c1/roles/r1", {}],
    ["reorderRoles", () => communitiesApi.reorderRoles("c1", ["r1"]), { roles: [role] }, "PUT", "/api/communities/c1/roles/order", { roleIds: ["r1"] }],
    ["createInvite", () => communitiesApi.createInvite("c1", { maxUses: 5 }), { invite }, "POST", "/api/communities/c1/invites", { maxUses: 5 }],
    ["revokeInvite", () => communitiesApi.revokeInvite(invite.code), undefined, "DELETE", `/api/invites/${invite.code}`, {}],
    [
      "redeemInvite",
      () => communitiesApi.redeemInvite(invite.code),
      { communityId: "c1", channelId: null, joined: true },
      "POST",
      `/api/invites/${invite.code}/redeem`,
      {},
    ],
    ["openDm", () => communitiesApi.openDm(["u2"]), { channel: dm }, "POST", "/api/dms", { userIds: ["u2"] }],
    ["block", () => communitiesApi.block("u2"), undefined, "PUT", "/api/me/blocks/u2", {}],
    ["unblock", () => communitiesApi.unblock("u2"), undefined, "DELETE", "/api/me/blocks/u2", {}],
  ] as const)("%s: JSON body, always", async (_name, call, answer, method, url, body) => {
    const { req } = await one(call, answer);
    expect(req).toEqual({ method, url, ...json(body) });
  });

  it("unwraps the envelope and keeps only what the schema knows", async () => {
    const { result } = await one(() => communitiesApi.transfer("c1", "u2"), { community: { ...community, extra: 1 } });
    expect(result).toEqual(community);
  });

  it("pages through members with ?after=", async () => {
    answers.push({ members: [member], nextAfter: "u1" }, { members: [{ ...member, user: { ...user, id: "u2" } }], nextAfter: null });
    const all = await communitiesApi.members("c1");
    expect(all.map((m) => m.user.id)).toEqual(["u1", "u2"]);
    expect(sent.map((s) => s.url)).toEqual(["/api/communities/c1/members", "/api/communities/c1/members?after=u1"]);
  });

  it("sends the audit log's filters as the query", async () => {
    await one(() => communitiesApi.auditLog("c1", { before: "e9", action: "member.kick", limit: 20 }), { entries: [], users: [], nextBefore: null });
    expect(sent[0]!.url).toBe("/api/communities/c1/audit-log?before=e9&action=member.kick&limit=20");
  });

  it("uploads an icon as the raw body with the file's type", async () => {
    const file = new Blob(["png"], { type: "image/png" });
    const { req, result } = await one(() => communitiesApi.uploadIcon("c1", file), { community });
    expect(req).toEqual({ method: "PUT", url: "/api/uploads/communities/c1/icon", body: "<blob>", contentType: "image/png" });
    expect(result).toEqual(community);
  });

  it("percent-encodes path parameters, so an id cannot reach another route", async () => {
    await one(() => communitiesApi.leave("../../me"));
    expect(sent[0]!.url).toBe("/api/communities/..%2F..%2Fme/leave");
  });

  it("uses the load function's fetch when given one", async () => {
    const own = vi.fn(async () => Response.json({ channels: [] }));
    expect(await communitiesApi.dms(own)).toEqual([]);
    expect(own).toHaveBeenCalledOnce();
    expect(sent).toHaveLength(0);
  });
});
