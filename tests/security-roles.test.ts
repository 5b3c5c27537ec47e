/**
 * Security regression: role escalation and the hierarchy of channel overwrites (issue 11,
 * items 1 and 8). "Nobody grants what they do not have" and "members act only on roles and
 * members strictly below them" (docs/communities.md), proven over the real routes.
 */
import { describe, expect, it } from "vitest";
import type { Channel, CreateCommunityResponse, Role } from "../workers/shared/communities";
import { DEFAULT_EVERYONE, P } from "../workers/shared/permissions";
import { addMember, createCommunity, createRole, isMember } from "./community-fixtures";
import { call, newUser, ok, type User } from "./helpers";

const C = "/api/communities";

async function order(owner: User, communityId: string): Promise<string[]> {
  const roles = (await ok<{ roles: Role[] }>(200, owner, "GET", `${C}/${communityId}/roles`)).roles;
  return roles.filter((r) => !r.isEveryone).map((r) => r.name); // highest first
}

/**
 * The reported set-up: "Moderator" (MANAGE_ROLES only) made first, "Admin" (ADMINISTRATOR)
 * made later, so Admin sits at position 1, below Moderator.
 */
async function escalationWorld() {
  const owner = await newUser("sr");
  const mod = await newUser("sr");
  const victim = await newUser("sr");
  const made = await createCommunity(owner);
  const id = made.community.id;
  const moderator = await createRole(owner, id, "Moderator", P.MANAGE_ROLES);
  const admin = await createRole(owner, id, "Admin", P.ADMINISTRATOR);
  expect(await order(owner, id)).toEqual(["Moderator", "Admin"]);
  await addMember(id, mod, [moderator.id]);
  await addMember(id, victim);
  return { owner, mod, victim, made, id, moderator, admin };
}

describe("a permission set that is not a number", () => {
  it("is a 400 with the error shape, on roles and on overwrites, never a 500", async () => {
    const owner = await newUser("sr");
    const made = await createCommunity(owner);
    const id = made.community.id;
    const role = await createRole(owner, id, "Plain", P.SEND_MESSAGES);
    const channel = made.channels.find((c) => c.kind === "text")!;
    for (const bad of ["abc", "12x", "", "-1", "1e3"]) {
      for (const [method, path, body] of [
        ["POST", `${C}/${id}/roles`, { name: "New", permissions: bad }],
        ["PATCH", `${C}/${id}/roles/${role.id}`, { permissions: bad }],
        ["PUT", `/api/channels/${channel.id}/overwrites/role/${role.id}`, { allow: bad, deny: "0" }],
      ] as const) {
        const res = await call<{ error: { code: string; message: string } }>(owner, method, path, body);
        expect(res.status, `${method} ${path} ${JSON.stringify(bad)}`).toBe(400);
        const json = res.body;
        expect(json.error.code).toBe("validation_failed");
        expect(json.error.message).toEqual(expect.any(String));
      }
    }
  });
});

describe("role escalation through assignment", () => {
  it("a MANAGE_ROLES member cannot give themselves a lower-placed ADMINISTRATOR role, so cannot kick with it", async () => {
    const w = await escalationWorld();
    const assign = await call(w.mod, "PUT", `${C}/${w.id}/members/${w.mod.id}/roles/${w.admin.id}`);
    expect(assign.status).toBe(403);
    expect(assign.body.error.code).toBe("forbidden");
    expect((await call(w.mod, "POST", `${C}/${w.id}/members/${w.victim.id}/kick`, {})).status).toBe(403);
    expect(await isMember(w.id, w.victim.id)).toBe(true);
    // Nor to anyone else below them.
    expect((await call(w.mod, "PUT", `${C}/${w.id}/members/${w.victim.id}/roles/${w.admin.id}`)).status).toBe(403);
    const me = await ok(200, w.mod, "GET", `${C}/${w.id}`);
    expect(me.me.roleIds).toEqual([w.moderator.id]);
  });

  it("removing a role also takes holding its permissions; the owner and ADMINISTRATOR hold them all", async () => {
    const w = await escalationWorld();
    await ok(204, w.owner, "PUT", `${C}/${w.id}/members/${w.victim.id}/roles/${w.admin.id}`);
    expect((await call(w.mod, "DELETE", `${C}/${w.id}/members/${w.victim.id}/roles/${w.admin.id}`)).status).toBe(403);
    // An ADMINISTRATOR placed above Admin may assign and remove it.
    const top = await createRole(w.owner, w.id, "Top", P.ADMINISTRATOR);
    const ids = (await ok<{ roles: Role[] }>(200, w.owner, "GET", `${C}/${w.id}/roles`)).roles.filter((r) => !r.isEveryone).reverse().map((r) => r.id);
    await ok(200, w.owner, "PUT", `${C}/${w.id}/roles/order`, { roleIds: [...ids.filter((r) => r !== top.id), top.id] });
    const boss = await newUser("sr");
    await addMember(w.id, boss, [top.id]);
    await ok(204, boss, "DELETE", `${C}/${w.id}/members/${w.victim.id}/roles/${w.admin.id}`);
    await ok(204, boss, "PUT", `${C}/${w.id}/members/${w.victim.id}/roles/${w.admin.id}`);
  });

  it("roles whose permissions the actor holds are still assignable (the fix does not lock moderators out)", async () => {
    const w = await escalationWorld();
    const helper = await createRole(w.owner, w.id, "Helper", P.MANAGE_ROLES | P.SEND_MESSAGES);
    await ok(204, w.mod, "PUT", `${C}/${w.id}/members/${w.victim.id}/roles/${helper.id}`);
    await ok(204, w.mod, "DELETE", `${C}/${w.id}/members/${w.victim.id}/roles/${helper.id}`);
  });

  it("a role's channel overwrites count: no assigning a role that opens a channel the actor cannot see", async () => {
    const w = await escalationWorld();
    const secret = (await ok<{ channel: Channel }>(201, w.owner, "POST", `${C}/${w.id}/channels`, { kind: "text", name: "staff", private: true })).channel;
    const staff = await createRole(w.owner, w.id, "Staff", 0n);
    await ok(200, w.owner, "PUT", `/api/channels/${secret.id}/overwrites/role/${staff.id}`, { allow: String(P.VIEW_CHANNEL), deny: "0" });
    expect((await call(w.mod, "PUT", `${C}/${w.id}/members/${w.mod.id}/roles/${staff.id}`)).status).toBe(403);
    expect((await call(w.mod, "GET", `/api/channels/${secret.id}/messages`)).status).toBe(404);
    // Once the moderator can see it themselves, handing it on is theirs to do.
    await ok(200, w.owner, "PUT", `/api/channels/${secret.id}/overwrites/member/${w.mod.id}`, { allow: String(P.VIEW_CHANNEL), deny: "0" });
    await ok(204, w.mod, "PUT", `${C}/${w.id}/members/${w.victim.id}/roles/${staff.id}`);
  });

  it("editing a role below you changes only bits you hold, adding or removing; deleting one takes holding it all", async () => {
    const w = await escalationWorld();
    const path = `${C}/${w.id}/roles/${w.admin.id}`;
    expect((await call(w.mod, "PATCH", path, { permissions: "0" })).status, "take ADMINISTRATOR away").toBe(403);
    expect((await call(w.mod, "DELETE", path)).status, "delete Admin").toBe(403);
    const roles = (await ok<{ roles: Role[] }>(200, w.owner, "GET", `${C}/${w.id}/roles`)).roles;
    expect(roles.find((r) => r.id === w.admin.id)?.permissions).toBe(String(P.ADMINISTRATOR));
    // What the moderator holds, they may add and take away.
    const low = await createRole(w.owner, w.id, "Low", P.SEND_MESSAGES);
    await ok(200, w.mod, "PATCH", `${C}/${w.id}/roles/${low.id}`, { permissions: String(P.SEND_MESSAGES | P.MANAGE_ROLES) });
    await ok(200, w.mod, "PATCH", `${C}/${w.id}/roles/${low.id}`, { permissions: "0" });
    await ok(204, w.mod, "DELETE", `${C}/${w.id}/roles/${low.id}`);
    // @everyone's bits the moderator lacks stay out of reach too.
    const everyone = roles.find((r) => r.isEveryone)!;
    expect((await call(w.mod, "PATCH", `${C}/${w.id}/roles/${everyone.id}`, { permissions: String(DEFAULT_EVERYONE | P.KICK_MEMBERS) })).status, "@everyone").toBe(403);
  });

  it("reordering cannot move a role carrying permissions the actor lacks, nor move another role past it", async () => {
    const w = await escalationWorld();
    const mid = await createRole(w.owner, w.id, "Mid", 0n);
    await ok(200, w.owner, "PUT", `${C}/${w.id}/roles/order`, { roleIds: [w.admin.id, mid.id, w.moderator.id] });
    const low = await createRole(w.owner, w.id, "Low", P.SEND_MESSAGES);
    const low2 = await createRole(w.owner, w.id, "Low2", 0n);
    const before = ["Moderator", "Mid", "Admin", "Low", "Low2"];
    expect(await order(w.owner, w.id)).toEqual(before);
    const put = (lowestFirst: string[]) => call(w.mod, "PUT", `${C}/${w.id}/roles/order`, { roleIds: lowestFirst });
    // Admin up past Low, or down to the bottom: refused.
    expect((await put([low2.id, w.admin.id, low.id, mid.id, w.moderator.id])).status).toBe(403);
    expect((await put([w.admin.id, low2.id, low.id, mid.id, w.moderator.id])).status).toBe(403);
    // Admin keeps its place but Low and Mid swap across it (Low's holders would outrank Admin's): refused.
    expect((await put([low2.id, mid.id, w.admin.id, low.id, w.moderator.id])).status).toBe(403);
    expect(await order(w.owner, w.id)).toEqual(before);
    // Roles the moderator holds still move among themselves on one side of Admin.
    await ok(200, w.mod, "PUT", `${C}/${w.id}/roles/order`, { roleIds: [low.id, low2.id, w.admin.id, mid.id, w.moderator.id] });
    expect(await order(w.owner, w.id)).toEqual(["Moderator", "Mid", "Admin", "Low2", "Low"]);
    // The owner may do anything.
    await ok(200, w.owner, "PUT", `${C}/${w.id}/roles/order`, { roleIds: [w.admin.id, low.id, low2.id, mid.id, w.moderator.id] });
  });
});

/** Roles (highest first): Senior (KICK), Helper (MANAGE_ROLES), Lowest; a member of each; a private text channel. */
async function overwriteWorld() {
  const owner = await newUser("so");
  const made: CreateCommunityResponse = await createCommunity(owner);
  const id = made.community.id;
  const senior = await createRole(owner, id, "Senior", P.KICK_MEMBERS);
  const helper = await createRole(owner, id, "Helper", P.MANAGE_ROLES);
  const lowest = await createRole(owner, id, "Lowest", 0n);
  expect(await order(owner, id)).toEqual(["Senior", "Helper", "Lowest"]);
  const [seniorUser, helperUser, lowUser] = [await newUser("so"), await newUser("so"), await newUser("so")];
  await addMember(id, seniorUser, [senior.id]);
  await addMember(id, helperUser, [helper.id]);
  await addMember(id, lowUser, [lowest.id]);
  const general = made.channels.find((c) => c.name === "general")!;
  const everyone = made.roles[0]!;
  return { owner, id, senior, helper, lowest, seniorUser, helperUser, lowUser, general, everyone };
}

const deny = (bits: bigint) => ({ allow: "0", deny: String(bits) });
const allow = (bits: bigint) => ({ allow: String(bits), deny: "0" });

describe("channel overwrites follow the hierarchy", () => {
  it("a lower MANAGE_ROLES member cannot deny a higher role or member, nor the owner", async () => {
    const w = await overwriteWorld();
    const ow = (kind: string, target: string) => `/api/channels/${w.general.id}/overwrites/${kind}/${target}`;
    expect((await call(w.helperUser, "PUT", ow("role", w.senior.id), deny(P.SEND_MESSAGES))).status).toBe(403);
    expect((await call(w.helperUser, "PUT", ow("role", w.helper.id), deny(P.SEND_MESSAGES))).status).toBe(403);
    expect((await call(w.helperUser, "PUT", ow("member", w.seniorUser.id), deny(P.SEND_MESSAGES))).status).toBe(403);
    expect((await call(w.helperUser, "PUT", ow("member", w.owner.id), deny(P.SEND_MESSAGES))).status).toBe(403);
    // The senior member can still write there.
    const detail = await ok(200, w.seniorUser, "GET", `${C}/${w.id}`);
    const perms = BigInt(detail.channels.find((c: Channel) => c.id === w.general.id).permissions);
    expect(perms & P.SEND_MESSAGES).toBe(P.SEND_MESSAGES);
    // Below them, and @everyone, are theirs to set.
    await ok(200, w.helperUser, "PUT", ow("role", w.lowest.id), deny(P.SEND_MESSAGES));
    await ok(200, w.helperUser, "PUT", ow("member", w.lowUser.id), deny(P.ADD_REACTIONS));
    await ok(200, w.helperUser, "PUT", ow("role", w.everyone.id), deny(P.ADD_REACTIONS));
  });

  it("a lower MANAGE_ROLES member cannot delete the overwrites of higher roles or members", async () => {
    const w = await overwriteWorld();
    const ow = (kind: string, target: string) => `/api/channels/${w.general.id}/overwrites/${kind}/${target}`;
    await ok(200, w.owner, "PUT", ow("role", w.senior.id), allow(P.SEND_MESSAGES));
    await ok(200, w.owner, "PUT", ow("member", w.seniorUser.id), allow(P.SEND_MESSAGES));
    await ok(200, w.owner, "PUT", ow("member", w.owner.id), allow(P.SEND_MESSAGES));
    expect((await call(w.helperUser, "DELETE", ow("role", w.senior.id))).status).toBe(403);
    expect((await call(w.helperUser, "DELETE", ow("member", w.seniorUser.id))).status).toBe(403);
    expect((await call(w.helperUser, "DELETE", ow("member", w.owner.id))).status).toBe(403);
    const ch = (await ok(200, w.owner, "GET", `${C}/${w.id}`)).channels.find((c: Channel) => c.id === w.general.id) as Channel;
    expect(ch.overwrites.map((o) => o.targetId).sort()).toEqual([w.senior.id, w.seniorUser.id, w.owner.id].sort());
    // Below them they may; the owner may everywhere.
    await ok(200, w.owner, "PUT", ow("role", w.lowest.id), allow(P.SEND_MESSAGES));
    await ok(204, w.helperUser, "DELETE", ow("role", w.lowest.id));
    await ok(204, w.owner, "DELETE", ow("role", w.senior.id));
    await ok(204, w.owner, "DELETE", ow("member", w.seniorUser.id));
  });

  it("a member cannot write an overwrite for themselves that grants what they lack", async () => {
    const w = await overwriteWorld();
    const mine = `/api/channels/${w.general.id}/overwrites/member/${w.helperUser.id}`;
    expect((await call(w.helperUser, "PUT", mine, allow(P.MANAGE_MESSAGES))).status).toBe(403);
    expect((await call(w.helperUser, "PUT", mine, allow(P.MANAGE_CHANNELS))).status).toBe(403);
    await ok(200, w.helperUser, "PUT", mine, allow(P.SEND_MESSAGES));
    const detail = await ok(200, w.helperUser, "GET", `${C}/${w.id}`);
    expect(BigInt(detail.channels.find((c: Channel) => c.id === w.general.id).permissions) & P.MANAGE_MESSAGES).toBe(0n);
  });

  it("replacing an overwrite checks the bits it drops as well as those it sets", async () => {
    const w = await overwriteWorld();
    const target = `/api/channels/${w.general.id}/overwrites/member/${w.lowUser.id}`;
    // The owner let the low member manage messages here, and kept them from reacting.
    await ok(200, w.owner, "PUT", target, { allow: String(P.MANAGE_MESSAGES), deny: String(P.MANAGE_CHANNELS) });
    // The helper holds neither: wiping the overwrite with an empty one is as refused as deleting it.
    expect((await call(w.helperUser, "PUT", target, { allow: "0", deny: "0" })).status).toBe(403);
    expect((await call(w.helperUser, "PUT", target, { allow: String(P.MANAGE_MESSAGES), deny: "0" })).status).toBe(403);
    expect((await call(w.helperUser, "DELETE", target)).status).toBe(403);
    // Changing only bits they hold leaves the others as the owner set them.
    const r = await ok<{ channel: Channel }>(200, w.helperUser, "PUT", target, {
      allow: String(P.MANAGE_MESSAGES | P.SEND_MESSAGES),
      deny: String(P.MANAGE_CHANNELS),
    });
    expect(r.channel.overwrites).toContainEqual({
      targetKind: "member",
      targetId: w.lowUser.id,
      allow: String(P.MANAGE_MESSAGES | P.SEND_MESSAGES),
      deny: String(P.MANAGE_CHANNELS),
    });
  });
});
