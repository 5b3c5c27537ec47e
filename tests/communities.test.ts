import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  AuditPage,
  BanListResponse,
  CommunityDetail,
  CommunityListResponse,
  CreateCommunityResponse,
  DmListResponse,
  InviteListResponse,
  InvitePreview,
  MemberPage,
  RoleListResponse,
  type Channel,
  type Member,
  type Role,
} from "../workers/shared/communities";
import { DEFAULT_EVERYONE, P, formatPermissions } from "../workers/shared/permissions";
import { addMember, createCommunity, createRole, isMember } from "./community-fixtures";
import { client, call, newUser, ok } from "./helpers";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);

describe("communities", () => {
  it("answers in the shapes of the shared schemas", async () => {
    const owner = await newUser();
    const made = CreateCommunityResponse.parse(await createCommunity(owner));
    const id = made.community.id;
    await ok(201, owner, "POST", `/api/communities/${id}/invites`, {});
    await ok(204, owner, "PUT", `/api/communities/${id}/bans/${(await newUser()).id}`, { reason: "r" });
    CommunityListResponse.parse(await ok(200, owner, "GET", "/api/communities"));
    CommunityDetail.parse(await ok(200, owner, "GET", `/api/communities/${id}`));
    RoleListResponse.parse(await ok(200, owner, "GET", `/api/communities/${id}/roles`));
    MemberPage.parse(await ok(200, owner, "GET", `/api/communities/${id}/members`));
    BanListResponse.parse(await ok(200, owner, "GET", `/api/communities/${id}/bans`));
    const invites = InviteListResponse.parse(await ok(200, owner, "GET", `/api/communities/${id}/invites`));
    InvitePreview.parse(await ok(200, null, "GET", `/api/invites/${invites.invites[0]!.code}`));
    const audit = AuditPage.parse(await ok(200, owner, "GET", `/api/communities/${id}/audit-log`));
    expect(audit.entries.map((e) => e.action).sort()).toEqual(["invite.create", "member.ban"]);
    DmListResponse.parse(await ok(200, owner, "GET", "/api/dms"));
  });

  it("creates a community with general, General and @everyone, and lists it", async () => {
    const owner = await newUser();
    const made = await createCommunity(owner, "  Hobby Club  ");
    expect(made.community.name).toBe("Hobby Club");
    expect(made.community.ownerId).toBe(owner.id);
    const general = made.channels.find((c) => c.kind === "text");
    const voice = made.channels.find((c) => c.kind === "voice");
    expect(general?.name).toBe("general");
    expect(voice?.name).toBe("General");
    expect(made.channels.filter((c) => c.kind === "category").map((c) => c.name)).toEqual(["Text Channels", "Voice Channels"]);
    expect(general!.parentId).toBe(made.channels.find((c) => c.name === "Text Channels")!.id);
    expect(made.community.systemChannelId).toBe(general!.id);
    expect(made.roles).toHaveLength(1);
    expect(made.roles[0]).toMatchObject({ name: "@everyone", isEveryone: true, position: 0, permissions: formatPermissions(DEFAULT_EVERYONE) });

    const list = await ok(200, owner, "GET", "/api/communities");
    expect(list.communities.map((c: { id: string }) => c.id)).toContain(made.community.id);
    const detail = await ok<CommunityDetail>(200, owner, "GET", `/api/communities/${made.community.id}`);
    expect(detail.me).toMatchObject({ userId: owner.id, isOwner: true });
    expect(detail.channels).toHaveLength(4);

    const other = await newUser();
    expect((await ok(200, other, "GET", "/api/communities")).communities).toEqual([]);
    expect((await call(other, "GET", `/api/communities/${made.community.id}`)).status).toBe(404);
    expect((await call(null, "GET", `/api/communities/${made.community.id}`)).status).toBe(401);
    expect((await call(owner, "POST", "/api/communities", { name: "" })).status).toBe(400);
    expect((await call(owner, "POST", "/api/communities", { name: "x", extra: 1 })).status).toBe(400);
  });

  it("renames with MANAGE_COMMUNITY and writes the audit log", async () => {
    const owner = await newUser();
    const member = await newUser();
    const { community, channels } = await createCommunity(owner);
    await addMember(community.id, member);
    const r = await call(member, "PATCH", `/api/communities/${community.id}`, { name: "Nope" });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("forbidden");
    const renamed = await ok(200, owner, "PATCH", `/api/communities/${community.id}`, { name: "Renamed" });
    expect(renamed.community.name).toBe("Renamed");
    // The system channel must be a text channel of this community.
    const voice = channels.find((c) => c.kind === "voice")!;
    expect((await call(owner, "PATCH", `/api/communities/${community.id}`, { systemChannelId: voice.id })).status).toBe(404);
    await ok(200, owner, "PATCH", `/api/communities/${community.id}`, { systemChannelId: null });

    const log = await ok(200, owner, "GET", `/api/communities/${community.id}/audit-log`);
    expect(log.entries[0].action).toBe("community.update");
    expect(log.entries[1]).toMatchObject({ action: "community.update", actorId: owner.id, changes: { name: { to: "Renamed" } } });
    expect(log.users.map((u: { id: string }) => u.id)).toContain(owner.id);
    expect((await call(member, "GET", `/api/communities/${community.id}/audit-log`)).status).toBe(403);
  });

  it("uploads, serves and removes an icon, checking type by magic bytes and size", async () => {
    const owner = await newUser();
    const { community } = await createCommunity(owner);
    const put = (body: BodyInit, type = "image/png") =>
      owner.http.fetch(`/api/uploads/communities/${community.id}/icon`, { method: "PUT", body, headers: { "content-type": type } });
    let res = await put(new TextEncoder().encode("<svg onload=alert(1)>"), "image/png");
    expect(res.status).toBe(415);
    res = await put(new Uint8Array(1024 * 1024 + 1).fill(0x89));
    expect(res.status).toBe(413);
    res = await put(PNG, "text/html");
    expect(res.status).toBe(200);
    const { community: withIcon } = (await res.json()) as { community: { iconUrl: string } };
    expect(withIcon.iconUrl).toMatch(new RegExp(`^/api/communities/${community.id}/icon\\?v=`));

    const img = await client().fetch(withIcon.iconUrl);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
    expect(img.headers.get("x-content-type-options")).toBe("nosniff");
    expect(img.headers.get("cache-control")).toContain("immutable");
    expect(new Uint8Array(await img.arrayBuffer())).toEqual(PNG);

    const member = await newUser();
    await addMember(community.id, member);
    expect((await member.http.fetch(`/api/uploads/communities/${community.id}/icon`, { method: "PUT", body: PNG })).status).toBe(403);

    const gone = await ok(200, owner, "DELETE", `/api/communities/${community.id}/icon`);
    expect(gone.community.iconUrl).toBeNull();
    expect((await client().fetch(withIcon.iconUrl)).status).toBe(404);
  });

  it("transfers ownership (owner only) and deletes with the exact name (owner only)", async () => {
    const owner = await newUser();
    const admin = await newUser();
    const { community, channels } = await createCommunity(owner, "Delete Me");
    const adminRole = await createRole(owner, community.id, "Admin", P.ADMINISTRATOR);
    await addMember(community.id, admin, [adminRole.id]);

    expect((await call(admin, "POST", `/api/communities/${community.id}/transfer`, { userId: admin.id })).status).toBe(403);
    expect((await call(owner, "POST", `/api/communities/${community.id}/transfer`, { userId: (await newUser()).id })).status).toBe(404);
    await ok(200, owner, "POST", `/api/communities/${community.id}/transfer`, { userId: admin.id });
    // Now the old owner is a plain member.
    expect((await call(owner, "PATCH", `/api/communities/${community.id}`, { name: "x" })).status).toBe(403);
    expect((await call(owner, "POST", `/api/communities/${community.id}/leave`)).status).toBe(204);
    expect((await call(admin, "POST", `/api/communities/${community.id}/leave`)).status).toBe(409);

    const code = (await ok(201, admin, "POST", `/api/communities/${community.id}/invites`, {})).invite.code;
    const wrong = await call(admin, "DELETE", `/api/communities/${community.id}`, { confirmName: "delete me" });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.issues[0].path).toEqual(["confirmName"]);
    expect((await call(admin, "DELETE", `/api/communities/${community.id}`)).status).toBe(400);
    await ok(204, admin, "DELETE", `/api/communities/${community.id}`, { confirmName: "Delete Me" });

    expect((await call(admin, "GET", `/api/communities/${community.id}`)).status).toBe(404);
    expect((await call(null, "GET", `/api/invites/${code}`)).status).toBe(404);
    for (const table of ["members", "roles", "channels", "invites", "audit_log"]) {
      const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE community_id = ?`).bind(community.id).first<{ n: number }>();
      expect(row!.n, table).toBe(0);
    }
    const ow = await env.DB.prepare(`SELECT count(*) AS n FROM channel_overwrites WHERE channel_id = ?`).bind(channels[0]!.id).first<{ n: number }>();
    expect(ow!.n).toBe(0);
  });
});

describe("channels", () => {
  it("creates, renames, moves and deletes channels with MANAGE_CHANNELS", async () => {
    const owner = await newUser();
    const member = await newUser();
    const { community, channels } = await createCommunity(owner);
    await addMember(community.id, member);
    const textCat = channels.find((c) => c.name === "Text Channels")!;
    const voiceCat = channels.find((c) => c.name === "Voice Channels")!;

    expect((await call(member, "POST", `/api/communities/${community.id}/channels`, { kind: "text", name: "x" })).status).toBe(403);
    const made = await ok(201, owner, "POST", `/api/communities/${community.id}/channels`, { kind: "text", name: "Off Topic", parentId: textCat.id, topic: "anything" });
    expect(made.channel).toMatchObject({ name: "off-topic", topic: "anything", parentId: textCat.id, position: 1, kind: "text" });
    const voice = await ok(201, owner, "POST", `/api/communities/${community.id}/channels`, { kind: "voice", name: "Gaming", parentId: voiceCat.id, userLimit: 5 });
    expect(voice.channel.userLimit).toBe(5);
    expect((await call(owner, "POST", `/api/communities/${community.id}/channels`, { kind: "text", name: "x", userLimit: 3 })).status).toBe(400);
    expect((await call(owner, "POST", `/api/communities/${community.id}/channels`, { kind: "text", name: "x", parentId: made.channel.id })).status).toBe(404);

    expect((await call(member, "PATCH", `/api/channels/${made.channel.id}`, { name: "y" })).status).toBe(403);
    const renamed = await ok(200, owner, "PATCH", `/api/channels/${made.channel.id}`, { name: "Random Stuff", topic: null });
    expect(renamed.channel).toMatchObject({ name: "random-stuff", topic: null });
    expect((await call(owner, "PATCH", `/api/channels/${voice.channel.id}`, { topic: "x" })).status).toBe(400);
    await ok(200, owner, "PATCH", `/api/channels/${voice.channel.id}`, { userLimit: 0 });

    // Deleting a category leaves its channels uncategorised.
    await ok(204, owner, "DELETE", `/api/channels/${textCat.id}`);
    const detail = await ok<CommunityDetail>(200, owner, "GET", `/api/communities/${community.id}`);
    expect(detail.channels.find((c) => c.id === made.channel.id)!.parentId).toBeNull();
    expect(detail.channels.some((c) => c.id === textCat.id)).toBe(false);
    expect((await call(member, "DELETE", `/api/channels/${made.channel.id}`)).status).toBe(403);
    await ok(204, owner, "DELETE", `/api/channels/${made.channel.id}`);
    expect((await call(owner, "PATCH", `/api/channels/${made.channel.id}`, { name: "z" })).status).toBe(404);
    // A voice channel goes even while the voice server is down (nothing listens on the test's
    // LiveKit address): closing its call is logged, not fatal.
    await ok(204, owner, "DELETE", `/api/channels/${voice.channel.id}`);
    expect((await call(owner, "PATCH", `/api/channels/${voice.channel.id}`, { name: "z" })).status).toBe(404);
  });

  it("reorders with the full list of visible channels, parents included", async () => {
    const owner = await newUser();
    const { community, channels } = await createCommunity(owner);
    const [textCat, general, voiceCat, voice] = [
      channels.find((c) => c.name === "Text Channels")!,
      channels.find((c) => c.name === "general")!,
      channels.find((c) => c.name === "Voice Channels")!,
      channels.find((c) => c.kind === "voice")!,
    ];
    const url = `/api/communities/${community.id}/channels/order`;
    expect((await call(owner, "PUT", url, { channels: [{ id: general.id, parentId: null }] })).status).toBe(400);
    expect(
      (await call(owner, "PUT", url, { channels: [voiceCat, textCat, general, voice].map((c) => ({ id: c.id, parentId: c.id === voice.id ? general.id : c.parentId })) })).status,
    ).toBe(400);
    const r = await ok<{ channels: Channel[] }>(200, owner, "PUT", url, {
      channels: [
        { id: voiceCat.id, parentId: null },
        { id: voice.id, parentId: voiceCat.id },
        { id: general.id, parentId: voiceCat.id },
        { id: textCat.id, parentId: null },
      ],
    });
    const by = new Map(r.channels.map((c) => [c.id, c]));
    expect(by.get(voiceCat.id)!.position).toBe(0);
    expect(by.get(textCat.id)!.position).toBe(1);
    expect(by.get(voice.id)).toMatchObject({ parentId: voiceCat.id, position: 0 });
    expect(by.get(general.id)).toMatchObject({ parentId: voiceCat.id, position: 1 });
    // Display order: each category followed by its channels.
    expect(r.channels.map((c) => c.id)).toEqual([voiceCat.id, voice.id, general.id, textCat.id]);
  });

  it("makes private channels with overwrites: invisible (404) until allowed", async () => {
    const owner = await newUser();
    const member = await newUser();
    const { community } = await createCommunity(owner);
    await addMember(community.id, member);
    const secret = (await ok(201, owner, "POST", `/api/communities/${community.id}/channels`, { kind: "text", name: "staff", private: true })).channel as Channel;
    expect(secret.overwrites).toHaveLength(2);

    let detail = await ok<CommunityDetail>(200, member, "GET", `/api/communities/${community.id}`);
    expect(detail.channels.some((c) => c.id === secret.id)).toBe(false);
    expect((await call(member, "PATCH", `/api/channels/${secret.id}`, { name: "x" })).status).toBe(404);

    // A member overwrite lets them see it; overwrites need MANAGE_ROLES in the channel.
    const ow = `/api/channels/${secret.id}/overwrites/member/${member.id}`;
    expect((await call(member, "PUT", ow, { allow: String(P.VIEW_CHANNEL), deny: "0" })).status).toBe(404);
    const r = await ok(200, owner, "PUT", ow, { allow: String(P.VIEW_CHANNEL | P.SEND_MESSAGES), deny: "0" });
    expect(r.channel.overwrites).toContainEqual({ targetKind: "member", targetId: member.id, allow: String(P.VIEW_CHANNEL | P.SEND_MESSAGES), deny: "0" });
    detail = await ok<CommunityDetail>(200, member, "GET", `/api/communities/${community.id}`);
    const seen = detail.channels.find((c) => c.id === secret.id)!;
    expect(BigInt(seen.permissions) & P.VIEW_CHANNEL).toBe(P.VIEW_CHANNEL);
    expect((await call(member, "PATCH", `/api/channels/${secret.id}`, { name: "x" })).status).toBe(403);

    // Bad overwrites: both allowed and denied, community-wide bits, unknown targets.
    expect((await call(owner, "PUT", ow, { allow: "1", deny: "1" })).status).toBe(400);
    expect((await call(owner, "PUT", ow, { allow: String(P.KICK_MEMBERS), deny: "0" })).status).toBe(400);
    expect((await call(owner, "PUT", ow, { allow: String(1n << 40n), deny: "0" })).status).toBe(400);
    expect((await call(owner, "PUT", `/api/channels/${secret.id}/overwrites/role/${member.id}`, { allow: "1", deny: "0" })).status).toBe(404);
    expect((await call(owner, "PUT", `/api/channels/${secret.id}/overwrites/member/${(await newUser()).id}`, { allow: "1", deny: "0" })).status).toBe(404);

    await ok(204, owner, "DELETE", ow);
    expect((await call(owner, "DELETE", ow)).status).toBe(404);
    detail = await ok<CommunityDetail>(200, member, "GET", `/api/communities/${community.id}`);
    expect(detail.channels.some((c) => c.id === secret.id)).toBe(false);
  });

  it("does not let a member grant in an overwrite what they do not have", async () => {
    const owner = await newUser();
    const mod = await newUser();
    const { community, channels } = await createCommunity(owner);
    const role = await createRole(owner, community.id, "Perms", P.MANAGE_ROLES);
    await addMember(community.id, mod, [role.id]);
    const general = channels.find((c) => c.name === "general")!;
    // A role below the member's own: overwrites follow the hierarchy (tests/security-roles.test.ts).
    const lower = await createRole(owner, community.id, "Lower", 0n);
    const ow = `/api/channels/${general.id}/overwrites/role/${lower.id}`;
    expect((await call(mod, "PUT", ow, { allow: String(P.MANAGE_MESSAGES), deny: "0" })).status).toBe(403);
    await ok(200, mod, "PUT", ow, { allow: String(P.SEND_MESSAGES), deny: "0" });
  });
});

describe("roles", () => {
  it("creates, edits, reorders and deletes roles within the hierarchy", async () => {
    const owner = await newUser();
    const mod = await newUser();
    const member = await newUser();
    const { community } = await createCommunity(owner);
    const high = await createRole(owner, community.id, "High", P.KICK_MEMBERS);
    const modRole = await createRole(owner, community.id, "Mod", P.MANAGE_ROLES | P.KICK_MEMBERS | P.MANAGE_NICKNAMES);
    // New roles start at the bottom: Mod (1) below High (2). Put Mod on top.
    let roles = (await ok<{ roles: Role[] }>(200, owner, "PUT", `/api/communities/${community.id}/roles/order`, { roleIds: [high.id, modRole.id] })).roles;
    expect(roles.map((r) => r.name)).toEqual(["Mod", "High", "@everyone"]);
    await addMember(community.id, mod, [modRole.id]);
    await addMember(community.id, member);

    const low = (await ok(201, mod, "POST", `/api/communities/${community.id}/roles`, { name: "Low", color: 0xff0000, permissions: String(P.KICK_MEMBERS) })).role as Role;
    expect(low).toMatchObject({ position: 1, color: 0xff0000, hoist: false });
    // Cannot grant a permission it does not have.
    expect((await call(mod, "POST", `/api/communities/${community.id}/roles`, { name: "Ban", permissions: String(P.BAN_MEMBERS) })).status).toBe(403);
    expect((await call(mod, "PATCH", `/api/communities/${community.id}/roles/${low.id}`, { permissions: String(P.BAN_MEMBERS) })).status).toBe(403);
    await ok(200, mod, "PATCH", `/api/communities/${community.id}/roles/${low.id}`, { name: "Lower", hoist: true, mentionable: true });
    // Cannot touch its own role or one above.
    expect((await call(mod, "PATCH", `/api/communities/${community.id}/roles/${modRole.id}`, { name: "Me" })).status).toBe(403);
    // Cannot move a role above its own.
    roles = (await ok<{ roles: Role[] }>(200, mod, "GET", `/api/communities/${community.id}/roles`)).roles;
    const order = roles.filter((r) => !r.isEveryone).reverse().map((r) => r.id); // lowest first
    expect(order).toEqual([low.id, high.id, modRole.id]);
    expect((await call(mod, "PUT", `/api/communities/${community.id}/roles/order`, { roleIds: [high.id, modRole.id, low.id] })).status).toBe(403);
    await ok(200, mod, "PUT", `/api/communities/${community.id}/roles/order`, { roleIds: [high.id, low.id, modRole.id] });

    // Assigning: only roles below its own, only to members below it.
    expect((await call(mod, "PUT", `/api/communities/${community.id}/members/${member.id}/roles/${modRole.id}`)).status).toBe(403);
    await ok(204, mod, "PUT", `/api/communities/${community.id}/members/${member.id}/roles/${low.id}`);
    const members = (await ok<{ members: Member[] }>(200, mod, "GET", `/api/communities/${community.id}/members`)).members;
    expect(members.find((m) => m.user.id === member.id)!.roleIds).toEqual([low.id]);
    expect((await call(mod, "PUT", `/api/communities/${community.id}/members/${owner.id}/roles/${low.id}`)).status).toBe(403);
    await ok(204, mod, "DELETE", `/api/communities/${community.id}/members/${member.id}/roles/${low.id}`);
    expect((await call(member, "PUT", `/api/communities/${community.id}/members/${member.id}/roles/${low.id}`)).status).toBe(403);

    // @everyone: only its permissions change, and it cannot be deleted.
    const everyone = roles.find((r) => r.isEveryone)!;
    expect((await call(owner, "PATCH", `/api/communities/${community.id}/roles/${everyone.id}`, { name: "all" })).status).toBe(400);
    expect((await call(owner, "DELETE", `/api/communities/${community.id}/roles/${everyone.id}`)).status).toBe(400);
    await ok(200, owner, "PATCH", `/api/communities/${community.id}/roles/${everyone.id}`, { permissions: String(DEFAULT_EVERYONE & ~P.CREATE_INVITE) });

    expect((await call(mod, "DELETE", `/api/communities/${community.id}/roles/${modRole.id}`)).status).toBe(403);
    await ok(204, mod, "DELETE", `/api/communities/${community.id}/roles/${low.id}`);
    expect((await call(mod, "DELETE", `/api/communities/${community.id}/roles/${low.id}`)).status).toBe(404);

    const actions = (await ok(200, owner, "GET", `/api/communities/${community.id}/audit-log?limit=100`)).entries.map((e: { action: string }) => e.action);
    for (const a of ["role.create", "role.update", "role.reorder", "role.delete", "member.role_add", "member.role_remove"]) expect(actions).toContain(a);
  });

  it("changing role permissions changes what members can do at once", async () => {
    const owner = await newUser();
    const member = await newUser();
    const { community } = await createCommunity(owner);
    const role = await createRole(owner, community.id, "Helpers", 0n);
    await addMember(community.id, member, [role.id]);
    expect((await call(member, "POST", `/api/communities/${community.id}/channels`, { kind: "text", name: "x" })).status).toBe(403);
    await ok(200, owner, "PATCH", `/api/communities/${community.id}/roles/${role.id}`, { permissions: String(P.MANAGE_CHANNELS) });
    await ok(201, member, "POST", `/api/communities/${community.id}/channels`, { kind: "text", name: "x" });
  });
});

describe("members and moderation", () => {
  it("changes nicknames: self with CHANGE_NICKNAME, others with MANAGE_NICKNAMES from above", async () => {
    const owner = await newUser();
    const mod = await newUser();
    const member = await newUser();
    const { community } = await createCommunity(owner);
    const modRole = await createRole(owner, community.id, "Mod", P.MANAGE_NICKNAMES);
    await addMember(community.id, mod, [modRole.id]);
    await addMember(community.id, member);
    const url = (u: string) => `/api/communities/${community.id}/members/${u}`;
    expect((await ok(200, member, "PATCH", url(member.id), { nickname: "  Nick  " })).member.nickname).toBe("Nick");
    expect((await call(member, "PATCH", url(mod.id), { nickname: "x" })).status).toBe(403);
    expect((await ok(200, mod, "PATCH", url(member.id), { nickname: null })).member.nickname).toBeNull();
    expect((await call(mod, "PATCH", url(owner.id), { nickname: "x" })).status).toBe(403);
    expect((await call(mod, "PATCH", url((await newUser()).id), { nickname: "x" })).status).toBe(404);
    expect((await call(member, "PATCH", url(member.id), { nickname: "x".repeat(33) })).status).toBe(400);
  });

  it("kicks, bans with clean-up, unbans, lists bans, and leaves", async () => {
    const owner = await newUser();
    const mod = await newUser();
    const member = await newUser();
    const peer = await newUser();
    const { community } = await createCommunity(owner);
    const modRole = await createRole(owner, community.id, "Mod", P.KICK_MEMBERS | P.BAN_MEMBERS);
    await addMember(community.id, mod, [modRole.id]);
    await addMember(community.id, member);
    await addMember(community.id, peer, [modRole.id]);
    const base = `/api/communities/${community.id}`;

    expect((await call(member, "POST", `${base}/members/${mod.id}/kick`)).status).toBe(403);
    expect((await call(mod, "POST", `${base}/members/${peer.id}/kick`)).status).toBe(403); // same rank
    expect((await call(mod, "POST", `${base}/members/${owner.id}/kick`)).status).toBe(403);
    expect((await call(mod, "POST", `${base}/members/${mod.id}/kick`)).status).toBe(400);
    await ok(204, mod, "POST", `${base}/members/${member.id}/kick`, { reason: "spam" });
    expect(await isMember(community.id, member.id)).toBe(false);
    expect((await call(member, "GET", base)).status).toBe(404);

    await addMember(community.id, member);
    await ok(204, mod, "PUT", `${base}/bans/${member.id}`, { reason: "again", deleteMessageSeconds: 3600 });
    expect(await isMember(community.id, member.id)).toBe(false);
    const bans = (await ok(200, mod, "GET", `${base}/bans`)).bans;
    expect(bans).toEqual([expect.objectContaining({ user: expect.objectContaining({ id: member.id }), reason: "again", bannedBy: mod.id })]);
    expect((await call(member, "GET", `${base}/bans`)).status).toBe(404);
    // Pre-emptive bans by id; never yourself or the owner; unknown users are 404.
    const stranger = await newUser();
    await ok(204, mod, "PUT", `${base}/bans/${stranger.id}`, {});
    expect((await call(mod, "PUT", `${base}/bans/${owner.id}`, {})).status).toBe(403);
    expect((await call(mod, "PUT", `${base}/bans/${mod.id}`, {})).status).toBe(400);
    expect((await call(mod, "PUT", `${base}/bans/00000000000000000000000000`, {})).status).toBe(404);
    expect((await call(mod, "PUT", `${base}/bans/${member.id}`, { deleteMessageSeconds: 8 * 86400 })).status).toBe(400);

    await ok(204, mod, "DELETE", `${base}/bans/${member.id}`);
    expect((await call(mod, "DELETE", `${base}/bans/${member.id}`)).status).toBe(404);

    const log = (await ok(200, owner, "GET", `${base}/audit-log`)).entries;
    const kick = log.find((e: { action: string }) => e.action === "member.kick");
    expect(kick).toMatchObject({ actorId: mod.id, targetId: member.id, reason: "spam" });
    expect(log.find((e: { action: string; targetId: string }) => e.action === "member.ban" && e.targetId === member.id)).toMatchObject({
      changes: { deleteMessageSeconds: 3600 },
    });
    expect(log.some((e: { action: string }) => e.action === "member.unban")).toBe(true);

    await ok(204, peer, "POST", `${base}/leave`);
    expect(await isMember(community.id, peer.id)).toBe(false);
    expect((await call(owner, "POST", `${base}/leave`)).status).toBe(409);
  });

  it("lists members with roles and pages through them", async () => {
    const owner = await newUser();
    const { community } = await createCommunity(owner);
    const users = [];
    for (let i = 0; i < 4; i++) {
      const u = await newUser();
      users.push(u);
      await addMember(community.id, u);
    }
    const first = await ok(200, owner, "GET", `/api/communities/${community.id}/members?limit=3`);
    expect(first.members).toHaveLength(3);
    expect(first.nextAfter).toBe(first.members[2].user.id);
    const second = await ok(200, owner, "GET", `/api/communities/${community.id}/members?limit=3&after=${first.nextAfter}`);
    expect(second.members).toHaveLength(2);
    expect(second.nextAfter).toBeNull();
    const ids = [...first.members, ...second.members].map((m: Member) => m.user.id);
    expect(new Set(ids)).toEqual(new Set([owner.id, ...users.map((u) => u.id)]));
    expect(first.members[0]).toMatchObject({ presence: "offline", nickname: null, roleIds: [] });
  });

  it("pages the audit log", async () => {
    const owner = await newUser();
    const { community } = await createCommunity(owner);
    for (let i = 0; i < 5; i++) await ok(200, owner, "PATCH", `/api/communities/${community.id}`, { name: `Name ${i}` });
    const p1 = await ok(200, owner, "GET", `/api/communities/${community.id}/audit-log?limit=2`);
    expect(p1.entries).toHaveLength(2);
    expect(p1.entries[0].changes.name.to).toBe("Name 4");
    const p2 = await ok(200, owner, "GET", `/api/communities/${community.id}/audit-log?limit=2&before=${p1.nextBefore}`);
    expect(p2.entries[0].changes.name.to).toBe("Name 2");
    const p3 = await ok(200, owner, "GET", `/api/communities/${community.id}/audit-log?limit=2&before=${p2.nextBefore}`);
    expect(p3.entries).toHaveLength(1);
    expect(p3.nextBefore).toBeNull();
    const filtered = await ok(200, owner, "GET", `/api/communities/${community.id}/audit-log?action=member.kick`);
    expect(filtered.entries).toEqual([]);
  });
});

describe("direct messages and blocks", () => {
  it("opens DMs only with people who share a community, once per set of people", async () => {
    const a = await newUser();
    const b = await newUser();
    const c = await newUser();
    const outsider = await newUser();
    const { community } = await createCommunity(a);
    await addMember(community.id, b);
    await addMember(community.id, c);

    const dm = await ok(201, a, "POST", "/api/dms", { userIds: [b.id] });
    expect(dm.channel.kind).toBe("dm");
    expect(dm.channel.recipients.map((u: { id: string }) => u.id).sort()).toEqual([a.id, b.id].sort());
    const again = await ok(200, b, "POST", "/api/dms", { userIds: [a.id] });
    expect(again.channel.id).toBe(dm.channel.id);
    const group = await ok(201, a, "POST", "/api/dms", { userIds: [b.id, c.id] });
    expect(group.channel.kind).toBe("group_dm");
    expect((await ok(200, c, "POST", "/api/dms", { userIds: [b.id, a.id] })).channel.id).toBe(group.channel.id);

    expect((await call(a, "POST", "/api/dms", { userIds: [outsider.id] })).status).toBe(404);
    expect((await call(a, "POST", "/api/dms", { userIds: [a.id] })).status).toBe(400);
    expect((await call(a, "POST", "/api/dms", { userIds: [b.id, b.id] })).status).toBe(400);
    expect((await call(a, "POST", "/api/dms", { userIds: [] })).status).toBe(400);
    expect((await call(a, "POST", "/api/dms", { userIds: Array.from({ length: 10 }, () => b.id) })).status).toBe(400);

    const mine = (await ok(200, b, "GET", "/api/dms")).channels.map((ch: { id: string }) => ch.id);
    expect(mine.sort()).toEqual([dm.channel.id, group.channel.id].sort());
    expect((await ok(200, outsider, "GET", "/api/dms")).channels).toEqual([]);
    // Parallel opens of one new conversation give one channel.
    const d = await newUser();
    await addMember(community.id, d);
    const opened = await Promise.all(Array.from({ length: 5 }, () => call(d, "POST", "/api/dms", { userIds: [c.id] })));
    expect(new Set(opened.map((r) => r.body.channel.id)).size).toBe(1);
    expect(opened.filter((r) => r.status === 201)).toHaveLength(1);
  });

  it("blocks: no new DMs either way, and an existing DM becomes read-only", async () => {
    const a = await newUser();
    const b = await newUser();
    const { community } = await createCommunity(a);
    await addMember(community.id, b);
    const dm = (await ok(201, a, "POST", "/api/dms", { userIds: [b.id] })).channel;
    await ok(204, b, "PUT", `/api/me/blocks/${a.id}`);
    await ok(204, b, "PUT", `/api/me/blocks/${a.id}`);
    expect((await ok(200, b, "GET", "/api/me/blocks")).users.map((u: { id: string }) => u.id)).toEqual([a.id]);
    expect((await call(a, "POST", "/api/dms", { userIds: [b.id] })).status).toBe(403);
    expect((await call(b, "POST", "/api/dms", { userIds: [a.id] })).status).toBe(403);
    expect((await call(b, "PUT", `/api/me/blocks/${b.id}`)).status).toBe(400);
    expect((await call(b, "PUT", `/api/me/blocks/00000000000000000000000000`)).status).toBe(404);

    const { DM_BLOCKED_PERMISSIONS } = await import("../workers/core/access");
    const { canSeeChannel: channelAccess } = await import("../workers/core/policy");
    const { makeDb } = await import("../workers/core/db");
    const access = await channelAccess(makeDb(env.DB), a.id, dm.id);
    expect(access.perms).toBe(DM_BLOCKED_PERMISSIONS);

    await ok(204, b, "DELETE", `/api/me/blocks/${a.id}`);
    expect((await ok(200, b, "GET", "/api/me/blocks")).users).toEqual([]);
    expect((await ok(200, a, "POST", "/api/dms", { userIds: [b.id] })).channel.id).toBe(dm.id);
    expect((await channelAccess(makeDb(env.DB), a.id, dm.id)).perms & P.SEND_MESSAGES).toBe(P.SEND_MESSAGES);
  });
});
