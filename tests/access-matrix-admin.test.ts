/**
 * The access matrix of the instance administration routes (docs/admin.md): every route ×
 * owner, admin, member, banned, anonymous → the expected status, from one expectation
 * function. Targets are fresh plain members (made per case), so a ban or a reset link in one
 * case changes nothing another case sees; the instance-wide settings are put back after.
 */
import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommunity } from "./community-fixtures";
import { ORIGIN, call, client, newUser, type User } from "./helpers";

const ACTORS = ["owner", "admin", "member", "banned", "anonymous"] as const;
type Actor = (typeof ACTORS)[number];

interface Route {
  name: string;
  method: string;
  path: (target: User, communityId: string) => string;
  body?: unknown;
  /** Status for the owner and (unless `ownerOnly`) admins. */
  ok: number;
  ownerOnly?: boolean;
}

const ROUTES: Route[] = [
  { name: "overview", method: "GET", path: () => "/api/admin", ok: 200 },
  { name: "settings", method: "PATCH", path: () => "/api/admin/settings", body: { registrationMode: "open" }, ok: 200 },
  { name: "users", method: "GET", path: () => "/api/admin/users?q=a", ok: 200 },
  { name: "reset link", method: "POST", path: (t) => `/api/admin/users/${t.id}/reset-link`, ok: 201 },
  { name: "ban", method: "PUT", path: (t) => `/api/admin/users/${t.id}/ban`, ok: 200 },
  { name: "unban", method: "DELETE", path: (t) => `/api/admin/users/${t.id}/ban`, ok: 200 },
  { name: "name admin", method: "PUT", path: (t) => `/api/admin/users/${t.id}/role`, body: { role: "admin" }, ok: 200, ownerOnly: true },
  { name: "storage", method: "GET", path: () => "/api/admin/storage", ok: 200 },
  { name: "export", method: "GET", path: (_t, id) => `/api/admin/communities/${id}/export`, ok: 200 },
];

/** The one expectation: anonymous and banned have no session (401); members 403; admins all but naming admins. */
function expected(actor: Actor, r: Route): number {
  if (actor === "anonymous" || actor === "banned") return 401;
  if (actor === "member") return 403;
  if (actor === "admin" && r.ownerOnly) return 403;
  return r.ok;
}

const users = {} as Record<Exclude<Actor, "anonymous">, User>;
let communityId: string;
let cases = 0;

beforeAll(async () => {
  await env.DB.prepare("UPDATE users SET instance_role = NULL WHERE instance_role = 'owner'").run();
  for (const a of ["owner", "admin", "member", "banned"] as const) users[a] = await newUser(a);
  await env.DB.prepare("UPDATE users SET instance_role = 'owner' WHERE id = ?").bind(users.owner.id).run();
  await env.DB.prepare("UPDATE users SET instance_role = 'admin' WHERE id = ?").bind(users.admin.id).run();
  // Banned with a session row still present: the policy, not the missing row, must refuse it.
  await env.DB.prepare("UPDATE users SET banned_at = ? WHERE id = ?").bind(Date.now(), users.banned.id).run();
  communityId = (await createCommunity(users.member, "Matrix")).community.id;
});

afterAll(async () => {
  await env.DB.prepare("DELETE FROM instance_settings").run();
  expect(cases).toBe(ACTORS.length * ROUTES.length + ACTORS.length);
});

describe("admin routes × actors", () => {
  for (const actor of ACTORS) {
    for (const r of ROUTES) {
      const want = expected(actor, r);
      it(`${actor} ${r.method} ${r.name} → ${want}`, async () => {
        const target = await newUser("target");
        const res = await call(actor === "anonymous" ? null : users[actor], r.method, r.path(target, communityId), r.body ?? (r.method === "GET" ? undefined : {}));
        expect(res.status, JSON.stringify(res.body)).toBe(want);
        if (want >= 400) expect(res.body.error.code).toBeTypeOf("string");
        cases++;
      });
    }
    it(`${actor}: a state-changing admin request from another origin → 403 forbidden_origin`, async () => {
      const c = client({ origin: "https://evil.example" });
      if (actor !== "anonymous") for (const [k, v] of users[actor].http.cookies) c.cookies.set(k, v);
      const res = await c.fetch("/api/admin/settings", { method: "PATCH", json: { registrationMode: "closed" } });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden_origin");
      cases++;
    });
  }
  it("the page's own origin is the one allowed", () => expect(ORIGIN).toBe("http://localhost:8787"));
});
