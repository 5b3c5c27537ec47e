/**
 * The generated access matrix: every communities route × every kind of actor × own, foreign
 * and mixed ids → the expected status, from a route list and one expectation function.
 *
 * Actors (relation to community A): owner, admin (ADMINISTRATOR role), moderator (MOD role),
 * member (@everyone only), non-member, banned (was a member, now banned), other (a member
 * of community B only). Ids: "own" = every id from A; "foreign" = every id from B; "mixed"
 * = A's community id with a sub-resource (role, member, overwrite target, ban) of B, the
 * classic IDOR probe. Id-less routes (create, list, DMs, blocks) run once per actor, with
 * the A- or B-side target in the body where they have one.
 *
 * Each case gets fresh targets (a channel, role, member, invite or whole community made
 * for it), and cases that change the actor's own membership undo it, so every case sees
 * the same world. The number of cases is printed and checked at the end.
 */
import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_EVERYONE, P } from "../workers/shared/permissions";
import { addMember, createCommunity, createRole, inviteCode } from "./community-fixtures";
import { call, newUser, ok, type User } from "./helpers";

const ACTORS = ["owner", "admin", "moderator", "member", "non-member", "banned", "other"] as const;
type Actor = (typeof ACTORS)[number];
type IdSet = "own" | "foreign" | "mixed" | "none";
type Relation = "owner" | "admin" | "moderator" | "member" | "none";

const MOD_PERMS = P.KICK_MEMBERS | P.BAN_MEMBERS | P.MANAGE_NICKNAMES | P.VIEW_AUDIT_LOG | P.MANAGE_MESSAGES | P.MUTE_MEMBERS | P.MOVE_MEMBERS;

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

interface Community {
  id: string;
  name: string;
  owner: User;
  everyoneRoleId: string;
  adminRoleId: string;
  modRoleId: string;
  /** A plain member nobody acts as: DM and block target. */
  bystander: User;
}

interface World {
  users: Record<Actor, User>;
  a: Community;
  b: Community;
}

/** Who `actor` is in a community. */
function relation(w: World, actor: Actor, c: Community): Relation {
  if (c.id === w.a.id) {
    if (actor === "owner" || actor === "admin" || actor === "moderator" || actor === "member") return actor;
    return "none";
  }
  if (c.id === w.b.id) return actor === "other" ? "member" : "none";
  // A fresh copy of A or B made for one case.
  return c.owner.id === w.a.owner.id ? relation(w, actor, w.a) : relation(w, actor, w.b);
}

function permsOf(rel: Relation): bigint {
  switch (rel) {
    case "owner":
    case "admin":
      return -1n;
    case "moderator":
      return MOD_PERMS | DEFAULT_EVERYONE;
    case "member":
      return DEFAULT_EVERYONE;
    case "none":
      return 0n;
  }
}

/** Who may call a route. */
type Need =
  | { kind: "public" }
  | { kind: "authed" }
  | { kind: "member" }
  | { kind: "owner" }
  | { kind: "perm"; bit: bigint }
  /** Redeem: 201 joins, 200 already a member, 403 banned. */
  | { kind: "redeem" }
  /** Leave: 204, but the owner must transfer first (409). */
  | { kind: "leave" }
  /** DMs: only with people you share a community with. */
  | { kind: "shares-community" };

interface Prepared {
  path: string;
  json?: unknown;
  raw?: Uint8Array;
  /** Undo what the case did to the shared world. */
  cleanup?: (status: number) => Promise<void>;
}

interface Route {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  need: Need;
  success: number;
  /** Has a sub-resource id that belongs to a community: gets the "mixed" probe. */
  mixed?: boolean;
  /** No ids at all: runs once per actor. */
  idless?: boolean;
  /** Needs a whole community of its own (transfer, delete). */
  freshCommunity?: boolean;
  /** `path` is the community the path names; `sub` the one sub-resources come from. */
  prepare(ctx: { w: World; actor: Actor; path: Community; sub: Community; user: User }): Promise<Prepared>;
}

// ---------------------------------------------------------------------------------------
// Fresh targets
// ---------------------------------------------------------------------------------------

async function freshChannel(c: Community): Promise<string> {
  return (await ok(201, c.owner, "POST", `/api/communities/${c.id}/channels`, { kind: "text", name: "target" })).channel.id;
}
async function freshRole(c: Community): Promise<string> {
  return (await createRole(c.owner, c.id, "Target", 0n)).id;
}
async function freshMember(c: Community): Promise<User> {
  const u = await newUser("tgt");
  await addMember(c.id, u);
  return u;
}
async function freshBanned(c: Community): Promise<User> {
  const u = await newUser("ban");
  await ok(204, c.owner, "PUT", `/api/communities/${c.id}/bans/${u.id}`, {});
  return u;
}

async function membership(communityId: string, userId: string) {
  const m = await env.DB.prepare(`SELECT joined_at, nickname FROM members WHERE community_id = ? AND user_id = ?`).bind(communityId, userId).first();
  const roles = await env.DB.prepare(`SELECT role_id FROM member_roles WHERE community_id = ? AND user_id = ?`).bind(communityId, userId).all<{ role_id: string }>();
  return { m, roleIds: roles.results.map((r) => r.role_id) };
}

/** Puts a user's membership of a community back as it was before the case. */
async function restoreMembership(communityId: string, userId: string, before: Awaited<ReturnType<typeof membership>>) {
  await env.DB.batch([
    env.DB.prepare(`DELETE FROM member_roles WHERE community_id = ? AND user_id = ?`).bind(communityId, userId),
    env.DB.prepare(`DELETE FROM members WHERE community_id = ? AND user_id = ?`).bind(communityId, userId),
    ...(before.m
      ? [
          env.DB.prepare(`INSERT INTO members (community_id, user_id, joined_at, nickname) VALUES (?, ?, ?, ?)`).bind(
            communityId,
            userId,
            before.m.joined_at,
            before.m.nickname,
          ),
          ...before.roleIds.map((r) => env.DB.prepare(`INSERT INTO member_roles (community_id, user_id, role_id) VALUES (?, ?, ?)`).bind(communityId, userId, r)),
        ]
      : []),
  ]);
}

/** A community with admin and moderator roles, the given members, bans and a bystander. */
async function buildCommunity(owner: User, members: { user: User; role: "admin" | "moderator" | null }[], banned: User[], icon: boolean): Promise<Community> {
  const made = await createCommunity(owner);
  const adminRole = await createRole(owner, made.community.id, "Admin", P.ADMINISTRATOR);
  const modRole = await createRole(owner, made.community.id, "Moderator", MOD_PERMS);
  // Admin above Moderator.
  await ok(200, owner, "PUT", `/api/communities/${made.community.id}/roles/order`, { roleIds: [modRole.id, adminRole.id] });
  for (const m of members) {
    await addMember(made.community.id, m.user, m.role === "admin" ? [adminRole.id] : m.role === "moderator" ? [modRole.id] : []);
  }
  for (const u of banned) {
    await addMember(made.community.id, u);
    await ok(204, owner, "PUT", `/api/communities/${made.community.id}/bans/${u.id}`, {});
  }
  const bystander = await newUser("by");
  await addMember(made.community.id, bystander);
  if (icon) {
    const res = await owner.http.fetch(`/api/uploads/communities/${made.community.id}/icon`, { method: "PUT", body: PNG });
    expect(res.status).toBe(200);
  }
  return {
    id: made.community.id,
    name: made.community.name,
    owner,
    everyoneRoleId: made.roles[0]!.id,
    adminRoleId: adminRole.id,
    modRoleId: modRole.id,
    bystander,
  };
}

async function copyOf(w: World, base: Community): Promise<Community> {
  if (base.id === w.a.id) {
    const u = w.users;
    return buildCommunity(u.owner, [{ user: u.admin, role: "admin" }, { user: u.moderator, role: "moderator" }, { user: u.member, role: null }], [u.banned], false);
  }
  return buildCommunity(w.b.owner, [{ user: w.users.other, role: null }], [], false);
}

// ---------------------------------------------------------------------------------------
// The routes
// ---------------------------------------------------------------------------------------

const perm = (bit: bigint): Need => ({ kind: "perm", bit });
const C = "/api/communities";

const ROUTES: Route[] = [
  { method: "POST", path: "/api/communities", need: { kind: "authed" }, success: 201, idless: true, prepare: async () => ({ path: C, json: { name: "Mine" } }) },
  { method: "GET", path: "/api/communities", need: { kind: "authed" }, success: 200, idless: true, prepare: async () => ({ path: C }) },
  { method: "GET", path: "/api/communities/:id", need: { kind: "member" }, success: 200, prepare: async ({ path }) => ({ path: `${C}/${path.id}` }) },
  {
    method: "PATCH",
    path: "/api/communities/:id",
    need: perm(P.MANAGE_COMMUNITY),
    success: 200,
    prepare: async ({ path }) => ({ path: `${C}/${path.id}`, json: { name: path.name } }),
  },
  {
    method: "POST",
    path: "/api/communities/:id/transfer",
    need: { kind: "owner" },
    success: 200,
    mixed: true,
    freshCommunity: true,
    prepare: async ({ path, sub }) => ({ path: `${C}/${path.id}/transfer`, json: { userId: sub.bystander.id } }),
  },
  {
    method: "DELETE",
    path: "/api/communities/:id",
    need: { kind: "owner" },
    success: 204,
    freshCommunity: true,
    prepare: async ({ path }) => ({ path: `${C}/${path.id}`, json: { confirmName: path.name } }),
  },
  { method: "GET", path: "/api/communities/:id/icon", need: { kind: "public" }, success: 200, prepare: async ({ path }) => ({ path: `${C}/${path.id}/icon` }) },
  {
    method: "PUT",
    path: "/api/uploads/communities/:id/icon",
    need: perm(P.MANAGE_COMMUNITY),
    success: 200,
    prepare: async ({ path }) => ({ path: `/api/uploads/communities/${path.id}/icon`, raw: PNG }),
  },
  {
    method: "DELETE",
    path: "/api/communities/:id/icon",
    need: perm(P.MANAGE_COMMUNITY),
    success: 200,
    prepare: async ({ path }) => ({
      path: `${C}/${path.id}/icon`,
      cleanup: async (status) => {
        if (status === 200) await path.owner.http.fetch(`/api/uploads/communities/${path.id}/icon`, { method: "PUT", body: PNG });
      },
    }),
  },
  { method: "GET", path: "/api/communities/:id/audit-log", need: perm(P.VIEW_AUDIT_LOG), success: 200, prepare: async ({ path }) => ({ path: `${C}/${path.id}/audit-log` }) },
  // Channels
  {
    method: "POST",
    path: "/api/communities/:id/channels",
    need: perm(P.MANAGE_CHANNELS),
    success: 201,
    prepare: async ({ path }) => ({ path: `${C}/${path.id}/channels`, json: { kind: "voice", name: "made" } }),
  },
  {
    method: "PUT",
    path: "/api/communities/:id/channels/order",
    need: perm(P.MANAGE_CHANNELS),
    success: 200,
    prepare: async ({ path }) => {
      const rows = await env.DB.prepare(`SELECT id, parent_id FROM channels WHERE community_id = ? ORDER BY position, id`).bind(path.id).all<{ id: string; parent_id: string | null }>();
      return { path: `${C}/${path.id}/channels/order`, json: { channels: rows.results.map((r) => ({ id: r.id, parentId: r.parent_id })) } };
    },
  },
  {
    method: "PATCH",
    path: "/api/channels/:id",
    need: perm(P.MANAGE_CHANNELS),
    success: 200,
    prepare: async ({ path }) => ({ path: `/api/channels/${await freshChannel(path)}`, json: { name: "renamed", topic: "t" } }),
  },
  {
    method: "DELETE",
    path: "/api/channels/:id",
    need: perm(P.MANAGE_CHANNELS),
    success: 204,
    prepare: async ({ path }) => ({ path: `/api/channels/${await freshChannel(path)}` }),
  },
  {
    method: "PUT",
    path: "/api/channels/:id/overwrites/:targetKind/:targetId",
    need: perm(P.MANAGE_ROLES),
    success: 200,
    mixed: true,
    prepare: async ({ path, sub }) => ({ path: `/api/channels/${await freshChannel(path)}/overwrites/role/${sub.modRoleId}`, json: { allow: String(P.ADD_REACTIONS), deny: "0" } }),
  },
  {
    method: "DELETE",
    path: "/api/channels/:id/overwrites/:targetKind/:targetId",
    need: perm(P.MANAGE_ROLES),
    success: 204,
    mixed: true,
    prepare: async ({ path, sub }) => {
      const ch = await freshChannel(path);
      await ok(200, path.owner, "PUT", `/api/channels/${ch}/overwrites/role/${path.modRoleId}`, { allow: String(P.ADD_REACTIONS), deny: "0" });
      return { path: `/api/channels/${ch}/overwrites/role/${sub.modRoleId}` };
    },
  },
  // Roles
  { method: "GET", path: "/api/communities/:id/roles", need: { kind: "member" }, success: 200, prepare: async ({ path }) => ({ path: `${C}/${path.id}/roles` }) },
  {
    method: "POST",
    path: "/api/communities/:id/roles",
    need: perm(P.MANAGE_ROLES),
    success: 201,
    prepare: async ({ path }) => ({ path: `${C}/${path.id}/roles`, json: { name: "New", permissions: "0" } }),
  },
  {
    method: "PUT",
    path: "/api/communities/:id/roles/order",
    need: perm(P.MANAGE_ROLES),
    success: 200,
    prepare: async ({ path }) => {
      const rows = await env.DB.prepare(`SELECT id FROM roles WHERE community_id = ? AND is_everyone = 0 ORDER BY position, id`).bind(path.id).all<{ id: string }>();
      return { path: `${C}/${path.id}/roles/order`, json: { roleIds: rows.results.map((r) => r.id) } };
    },
  },
  {
    method: "PATCH",
    path: "/api/communities/:id/roles/:roleId",
    need: perm(P.MANAGE_ROLES),
    success: 200,
    mixed: true,
    prepare: async ({ path, sub }) => ({ path: `${C}/${path.id}/roles/${await freshRole(sub)}`, json: { name: "Edited", color: 0x00ff00 } }),
  },
  {
    method: "DELETE",
    path: "/api/communities/:id/roles/:roleId",
    need: perm(P.MANAGE_ROLES),
    success: 204,
    mixed: true,
    prepare: async ({ path, sub }) => ({ path: `${C}/${path.id}/roles/${await freshRole(sub)}` }),
  },
  {
    method: "PUT",
    path: "/api/communities/:id/members/:userId/roles/:roleId",
    need: perm(P.MANAGE_ROLES),
    success: 204,
    mixed: true,
    prepare: async ({ path, sub }) => ({ path: `${C}/${path.id}/members/${(await freshMember(path)).id}/roles/${await freshRole(sub)}` }),
  },
  {
    method: "DELETE",
    path: "/api/communities/:id/members/:userId/roles/:roleId",
    need: perm(P.MANAGE_ROLES),
    success: 204,
    mixed: true,
    prepare: async ({ path, sub }) => {
      const u = await freshMember(path);
      const role = await freshRole(sub);
      if (sub.id === path.id) await ok(204, path.owner, "PUT", `${C}/${path.id}/members/${u.id}/roles/${role}`);
      return { path: `${C}/${path.id}/members/${u.id}/roles/${role}` };
    },
  },
  // Members and moderation
  { method: "GET", path: "/api/communities/:id/members", need: { kind: "member" }, success: 200, prepare: async ({ path }) => ({ path: `${C}/${path.id}/members` }) },
  {
    method: "PATCH",
    path: "/api/communities/:id/members/:userId (self)",
    need: perm(P.CHANGE_NICKNAME),
    success: 200,
    prepare: async ({ path, user }) => ({
      path: `${C}/${path.id}/members/${user.id}`,
      json: { nickname: "Me" },
      cleanup: async () => {
        await env.DB.prepare(`UPDATE members SET nickname = NULL WHERE community_id = ? AND user_id = ?`).bind(path.id, user.id).run();
      },
    }),
  },
  {
    method: "PATCH",
    path: "/api/communities/:id/members/:userId (other)",
    need: perm(P.MANAGE_NICKNAMES),
    success: 200,
    mixed: true,
    prepare: async ({ path, sub }) => ({ path: `${C}/${path.id}/members/${(await freshMember(sub)).id}`, json: { nickname: "Nick" } }),
  },
  {
    method: "POST",
    path: "/api/communities/:id/members/:userId/kick",
    need: perm(P.KICK_MEMBERS),
    success: 204,
    mixed: true,
    prepare: async ({ path, sub }) => ({ path: `${C}/${path.id}/members/${(await freshMember(sub)).id}/kick`, json: { reason: "matrix" } }),
  },
  { method: "GET", path: "/api/communities/:id/bans", need: perm(P.BAN_MEMBERS), success: 200, prepare: async ({ path }) => ({ path: `${C}/${path.id}/bans` }) },
  {
    // Bans take any user id (pre-emptive bans), so there is no "mixed" probe here.
    method: "PUT",
    path: "/api/communities/:id/bans/:userId",
    need: perm(P.BAN_MEMBERS),
    success: 204,
    prepare: async ({ path }) => ({ path: `${C}/${path.id}/bans/${(await freshMember(path)).id}`, json: { deleteMessageSeconds: 60 } }),
  },
  {
    method: "DELETE",
    path: "/api/communities/:id/bans/:userId",
    need: perm(P.BAN_MEMBERS),
    success: 204,
    mixed: true,
    prepare: async ({ path, sub }) => ({ path: `${C}/${path.id}/bans/${(await freshBanned(sub)).id}` }),
  },
  {
    method: "POST",
    path: "/api/communities/:id/leave",
    need: { kind: "leave" },
    success: 204,
    prepare: async ({ path, user }) => {
      const before = await membership(path.id, user.id);
      return { path: `${C}/${path.id}/leave`, cleanup: () => restoreMembership(path.id, user.id, before) };
    },
  },
  // Invites
  {
    method: "POST",
    path: "/api/communities/:id/invites",
    need: perm(P.CREATE_INVITE),
    success: 201,
    prepare: async ({ path }) => ({ path: `${C}/${path.id}/invites`, json: { maxUses: 1 } }),
  },
  {
    method: "GET",
    path: "/api/communities/:id/invites",
    need: perm(P.CREATE_INVITE), // or MANAGE_COMMUNITY, which sees everyone's
    success: 200,
    prepare: async ({ path }) => ({ path: `${C}/${path.id}/invites` }),
  },
  {
    method: "DELETE",
    path: "/api/invites/:code",
    need: perm(P.MANAGE_COMMUNITY), // the creator (here the owner) may too
    success: 204,
    prepare: async ({ path }) => ({ path: `/api/invites/${await inviteCode(path.owner, path.id)}` }),
  },
  { method: "GET", path: "/api/invites/:code", need: { kind: "public" }, success: 200, prepare: async ({ path }) => ({ path: `/api/invites/${await inviteCode(path.owner, path.id)}` }) },
  {
    method: "POST",
    path: "/api/invites/:code/redeem",
    need: { kind: "redeem" },
    success: 201,
    prepare: async ({ path, user }) => {
      const before = await membership(path.id, user.id);
      return { path: `/api/invites/${await inviteCode(path.owner, path.id)}/redeem`, cleanup: () => restoreMembership(path.id, user.id, before) };
    },
  },
  // DMs and blocks
  {
    method: "POST",
    path: "/api/dms",
    need: { kind: "shares-community" },
    success: 201,
    prepare: async ({ path }) => ({ path: "/api/dms", json: { userIds: [path.bystander.id] } }),
  },
  { method: "GET", path: "/api/dms", need: { kind: "authed" }, success: 200, idless: true, prepare: async () => ({ path: "/api/dms" }) },
  {
    method: "PUT",
    path: "/api/me/blocks/:userId",
    need: { kind: "authed" },
    success: 204,
    prepare: async ({ path, user }) => ({
      path: `/api/me/blocks/${path.bystander.id}`,
      cleanup: async () => {
        await env.DB.prepare(`DELETE FROM user_blocks WHERE user_id = ?`).bind(user.id).run();
      },
    }),
  },
  { method: "DELETE", path: "/api/me/blocks/:userId", need: { kind: "authed" }, success: 204, prepare: async ({ path }) => ({ path: `/api/me/blocks/${path.bystander.id}` }) },
  { method: "GET", path: "/api/me/blocks", need: { kind: "authed" }, success: 200, idless: true, prepare: async () => ({ path: "/api/me/blocks" }) },
];

/** The expectation function: what `actor` should get from `route` with these ids. */
function expected(route: Route, rel: Relation, actor: Actor, ids: IdSet): number {
  const success = route.success;
  switch (route.need.kind) {
    case "public":
    case "authed":
      return success;
    case "redeem":
      if (actor === "banned" && ids === "own") return 403;
      return rel === "none" ? 201 : 200;
    case "shares-community":
      return rel === "none" ? 404 : success;
    case "leave":
      if (rel === "none") return 404;
      return rel === "owner" ? 409 : success;
    case "member":
      return rel === "none" ? 404 : success;
    case "owner":
      if (rel === "none") return 404;
      if (rel !== "owner") return 403;
      return ids === "mixed" ? 404 : success;
    case "perm": {
      if (rel === "none") return 404;
      const bit = route.need.bit;
      if ((permsOf(rel) & bit) !== bit) return 403;
      return ids === "mixed" ? 404 : success;
    }
  }
}

// ---------------------------------------------------------------------------------------

let world: World;
const results: { route: string; actor: Actor; ids: IdSet; expected: number; got: number }[] = [];

beforeAll(async () => {
  const users = Object.fromEntries(await Promise.all(ACTORS.map(async (a) => [a, await newUser(a.replace("-", ""))] as const))) as Record<Actor, User>;
  const a = await buildCommunity(users.owner, [{ user: users.admin, role: "admin" }, { user: users.moderator, role: "moderator" }, { user: users.member, role: null }], [users.banned], true);
  const b = await buildCommunity(await newUser("ownerb"), [{ user: users.other, role: null }], [], true);
  world = { users, a, b };
}, 60_000);

function idSetsOf(r: Route): IdSet[] {
  if (r.idless) return ["none"];
  return r.mixed ? ["own", "foreign", "mixed"] : ["own", "foreign"];
}

describe("access matrix", () => {
  for (const route of ROUTES) {
    it(`${route.method} ${route.path}`, { timeout: 120_000 }, async () => {
      for (const ids of idSetsOf(route)) {
        for (const actor of ACTORS) {
          const w = world;
          const base = ids === "foreign" ? w.b : w.a;
          const path = route.freshCommunity ? await copyOf(w, base) : base;
          const sub = ids === "mixed" ? w.b : path;
          const user = w.users[actor];
          const rel = relation(w, actor, path);
          const prep = await route.prepare({ w, actor, path, sub, user });
          const res = prep.raw
            ? await user.http.fetch(prep.path, { method: route.method, body: prep.raw })
            : await call(user, route.method, prep.path, prep.json);
          const want = expected(route, rel, actor, ids);
          results.push({ route: `${route.method} ${route.path}`, actor, ids, expected: want, got: res.status });
          await prep.cleanup?.(res.status);
          expect(res.status, `${route.method} ${prep.path} as ${actor} (${ids} ids)`).toBe(want);
        }
      }
    });
  }

  it("checked every generated case (41 routes × 7 actors × own/foreign/mixed ids = 616)", () => {
    const cases = ROUTES.reduce((n, r) => n + idSetsOf(r).length * ACTORS.length, 0);
    expect(cases).toBe(616);
    expect(results).toHaveLength(cases);
    expect(results.filter((r) => r.expected !== r.got)).toEqual([]);
    // Every kind of answer is exercised, refusals included.
    expect(new Set(results.map((r) => r.expected))).toEqual(new Set([200, 201, 204, 403, 404, 409]));
  });
});

afterAll(() => {
  const byStatus = new Map<number, number>();
  for (const r of results) byStatus.set(r.expected, (byStatus.get(r.expected) ?? 0) + 1);
  const cases = ROUTES.reduce((n, r) => n + idSetsOf(r).length * ACTORS.length, 0);
  console.log(
    JSON.stringify({
      event: "access_matrix",
      routes: ROUTES.length,
      actors: ACTORS.length,
      cases,
      checked: results.length,
      mismatches: results.filter((r) => r.expected !== r.got).length,
      expectedByStatus: Object.fromEntries([...byStatus].sort((x, y) => x[0] - y[0])),
    }),
  );
});
