/**
 * Instance administration (docs/admin.md): the first account is the owner, registration
 * modes, password-reset links, instance-wide bans on every access path, storage, export.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminUsersResponse, CheckResetResponse, ResetLinkResponse, StorageResponse, type CommunityExport } from "../workers/shared/admin";
import { MeResponse } from "../workers/shared/protocol";
import { connectRoom, say } from "./chat-fixtures";
import { createCommunity, inviteCode } from "./community-fixtures";
import { GOOD_PASSWORD, ORIGIN, call, client, newUser, ok, register, uniqueName, type Client, type User } from "./helpers";

async function setRole(u: User, role: "owner" | "admin" | null) {
  await env.DB.prepare("UPDATE users SET instance_role = ? WHERE id = ?").bind(role, u.id).run();
}

async function open(c: Client, path: string) {
  const cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  const res = await exports.default.fetch(new Request(ORIGIN + path, { headers: { Upgrade: "websocket", origin: ORIGIN, cookie } }));
  return { status: res.status, ws: res.webSocket };
}

async function waitClosed(ws: WebSocket, ms = 2000): Promise<number> {
  let code: number | null = null;
  ws.addEventListener("close", (e) => (code = e.code));
  ws.accept();
  const until = Date.now() + ms;
  while (code === null) {
    if (Date.now() > until) throw new Error("socket still open");
    await new Promise((r) => setTimeout(r, 20));
  }
  return code;
}

let owner: User;
beforeAll(async () => {
  // Whoever the other files made owner, this file's owner is its own.
  await env.DB.prepare("UPDATE users SET instance_role = NULL WHERE instance_role = 'owner'").run();
  owner = await newUser("owner");
  await setRole(owner, "owner");
});
afterAll(async () => {
  await ok(200, owner, "PATCH", "/api/admin/settings", { registrationMode: "open" });
});

describe("the instance owner", () => {
  it("is the first account registered, and only the first", async () => {
    await env.DB.prepare("UPDATE users SET instance_role = NULL WHERE instance_role = 'owner'").run();
    const first = client();
    const a = MeResponse.parse(await (await first.fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("first"), password: GOOD_PASSWORD } })).json());
    expect(a.user.instanceRole).toBe("owner");
    const second = client();
    const b = MeResponse.parse(await (await second.fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("second"), password: GOOD_PASSWORD } })).json());
    expect(b.user.instanceRole).toBeNull();
    expect(MeResponse.parse(await (await first.fetch("/api/me")).json()).user.instanceRole).toBe("owner");
    await env.DB.prepare("UPDATE users SET instance_role = NULL WHERE id = ?").bind(a.user.id).run();
    await setRole(owner, "owner");
  });

  it("the migration makes the oldest account of an existing instance its owner", async () => {
    const sql = (env.TEST_MIGRATIONS ?? []).find((m) => m.name.startsWith("0007"))!.queries.join("\n");
    expect(sql).toMatch(/UPDATE `users` SET `instance_role` = 'owner' WHERE `id` = \(SELECT `id` FROM `users` ORDER BY `created_at`, `id` LIMIT 1\)/);
  });
});

describe("registration mode", () => {
  it("closed refuses every new account; invite-only takes only a live invite; open takes anyone", async () => {
    const member = await newUser("inviter");
    const community = await createCommunity(member);
    const code = await inviteCode(member, community.community.id);

    await ok(200, owner, "PATCH", "/api/admin/settings", { registrationMode: "closed" });
    expect((await call(null, "GET", "/api/auth/registration")).body).toEqual({ registrationMode: "closed" });
    let r = await client().fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("late"), password: GOOD_PASSWORD, invite: code } });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("registration_closed");

    await ok(200, owner, "PATCH", "/api/admin/settings", { registrationMode: "invite" });
    r = await client().fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("noinv"), password: GOOD_PASSWORD } });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("invite_required");
    r = await client().fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("badinv"), password: GOOD_PASSWORD, invite: "a".repeat(24) } });
    expect(r.status).toBe(403);
    r = await client().fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("inv"), password: GOOD_PASSWORD, invite: code } });
    expect(r.status).toBe(201);
    // A revoked invite no longer opens the door.
    await ok(204, member, "DELETE", `/api/invites/${code}`);
    r = await client().fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("revoked"), password: GOOD_PASSWORD, invite: code } });
    expect(r.status).toBe(403);

    await ok(200, owner, "PATCH", "/api/admin/settings", { registrationMode: "open" });
    r = await client().fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("open"), password: GOOD_PASSWORD } });
    expect(r.status).toBe(201);
  });

  it("refuses an unknown mode with validation_failed", async () => {
    const r = await call(owner, "PATCH", "/api/admin/settings", { registrationMode: "secret" });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("validation_failed");
  });
});

describe("password-reset links", () => {
  it("set a new password once, end every session and close every socket", async () => {
    const c = client();
    const { username } = await register(c);
    const me = MeResponse.parse(await (await c.fetch("/api/me")).json()).user;
    const other = client();
    expect((await other.fetch("/api/auth/login", { method: "POST", json: { username, password: GOOD_PASSWORD } })).status).toBe(200);
    const inbox = await open(other, `/parties/user-inbox/${me.id}`);
    expect(inbox.status).toBe(101);

    const link = ResetLinkResponse.parse(await ok(201, owner, "POST", `/api/admin/users/${me.id}/reset-link`));
    expect(link.path).toMatch(/^\/reset#[0-9a-z]{52}$/);
    expect(link.expiresAt - Date.now()).toBeLessThanOrEqual(3600_000);
    const token = link.path.slice("/reset#".length);
    // Only the token's hash is stored.
    const stored = await env.DB.prepare("SELECT id FROM password_resets WHERE user_id = ?").bind(me.id).first<{ id: string }>();
    expect(stored?.id).not.toBe(token);
    expect(stored?.id).toMatch(/^[0-9a-f]{64}$/);

    const visitor = client();
    const check = CheckResetResponse.parse(await (await visitor.fetch("/api/auth/password-reset/check", { method: "POST", json: { token } })).json());
    expect(check.username).toBe(username);
    // A common password is refused and leaves the link usable.
    let r = await visitor.fetch("/api/auth/password-reset", { method: "POST", json: { token, newPassword: "password123" } });
    expect(r.status).toBe(400);
    const NEW = "new lantern meadow 77";
    r = await visitor.fetch("/api/auth/password-reset", { method: "POST", json: { token, newPassword: NEW } });
    expect(r.status).toBe(204);

    expect((await c.fetch("/api/me")).status).toBe(401);
    expect((await other.fetch("/api/me")).status).toBe(401);
    expect(await waitClosed(inbox.ws!)).toBeGreaterThan(0);
    // Used once: gone.
    r = await visitor.fetch("/api/auth/password-reset", { method: "POST", json: { token, newPassword: "another meadow lantern 88" } });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("reset_link_invalid");
    expect((await client().fetch("/api/auth/login", { method: "POST", json: { username, password: GOOD_PASSWORD } })).status).toBe(401);
    expect((await client().fetch("/api/auth/login", { method: "POST", json: { username, password: NEW } })).status).toBe(200);
  });

  it("expire, and a newer link replaces the older one", async () => {
    const u = await newUser("forgetful");
    const a = ResetLinkResponse.parse(await ok(201, owner, "POST", `/api/admin/users/${u.id}/reset-link`)).path.slice(7);
    const b = ResetLinkResponse.parse(await ok(201, owner, "POST", `/api/admin/users/${u.id}/reset-link`)).path.slice(7);
    expect((await call(null, "POST", "/api/auth/password-reset/check", { token: a })).status).toBe(400);
    expect((await call(null, "POST", "/api/auth/password-reset/check", { token: b })).status).toBe(200);
    await env.DB.prepare("UPDATE password_resets SET expires_at = ? WHERE user_id = ?").bind(Date.now() - 1, u.id).run();
    expect((await call(null, "POST", "/api/auth/password-reset", { token: b, newPassword: "quiet harbour lamp 31" })).status).toBe(400);
  });

  it("two requests racing with one link: exactly one wins", async () => {
    const u = await newUser("racer");
    const token = ResetLinkResponse.parse(await ok(201, owner, "POST", `/api/admin/users/${u.id}/reset-link`)).path.slice(7);
    const results = await Promise.all(
      ["amber willow tide 11", "copper meadow kite 22"].map((p) => call(null, "POST", "/api/auth/password-reset", { token, newPassword: p })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([204, 400]);
  });
});

describe("instance-wide ban", () => {
  it("ends sessions, closes sockets, blocks login, HTTP, WebSockets, downloads and voice tokens; unban lets them log in again", async () => {
    const c = client();
    const { username } = await register(c);
    const me = MeResponse.parse(await (await c.fetch("/api/me")).json()).user;
    const created = (await (await c.fetch("/api/communities", { method: "POST", json: { name: "Mine" } })).json()) as {
      community: { id: string };
      channels: { id: string; kind: string }[];
    };
    const text = created.channels.find((ch) => ch.kind === "text")!.id;
    const voiceCh = created.channels.find((ch) => ch.kind === "voice")!.id;
    const hub = await open(c, `/parties/community-hub/${created.community.id}`);
    expect(hub.status).toBe(101);
    const token = (await c.cookies.get("woxly_session"))!;

    await ok(200, owner, "PUT", `/api/admin/users/${me.id}/ban`);
    expect(await waitClosed(hub.ws!)).toBeGreaterThan(0);
    expect((await c.fetch("/api/me")).status).toBe(401);

    // Even a session row that somehow survived (a race with the ban) opens nothing.
    const now = Date.now();
    const { sha256Hex } = await import("../workers/core/crypto");
    await env.DB.prepare("INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)")
      .bind(await sha256Hex(token), me.id, now, now, now + 86_400_000)
      .run();
    c.cookies.set("woxly_session", token);
    expect((await c.fetch("/api/me")).status).toBe(401);
    expect((await c.fetch(`/api/channels/${voiceCh}/voice/token`, { method: "POST", json: {} })).status).toBe(401);
    expect((await open(c, `/parties/channel-room/${text}`)).status).toBe(401);
    expect((await open(c, `/parties/user-inbox/${me.id}`)).status).toBe(401);
    expect((await c.fetch(`/attachments/anything/x.png`)).status).not.toBe(200);

    // Login: the right password hears it is suspended; a wrong one hears nothing new.
    let r = await client().fetch("/api/auth/login", { method: "POST", json: { username, password: GOOD_PASSWORD } });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("account_suspended");
    r = await client().fetch("/api/auth/login", { method: "POST", json: { username, password: "wrong password here" } });
    expect(r.status).toBe(401);
    // No reset link for a banned account.
    expect((await call(owner, "POST", `/api/admin/users/${me.id}/reset-link`)).status).toBe(409);

    const listed = AdminUsersResponse.parse(await ok(200, owner, "GET", `/api/admin/users?q=${encodeURIComponent(username)}`));
    expect(listed.users[0]?.bannedAt).toBeTypeOf("number");

    await ok(200, owner, "DELETE", `/api/admin/users/${me.id}/ban`);
    expect((await client().fetch("/api/auth/login", { method: "POST", json: { username, password: GOOD_PASSWORD } })).status).toBe(200);
  });

  it("the policy removes a banned member from voice at LiveKit admission", async () => {
    const u = await newUser("voicer");
    const created = await createCommunity(u);
    const voiceCh = created.channels.find((ch) => ch.kind === "voice")!.id;
    const { canStayInVoice } = await import("../workers/core/policy");
    const { makeDb } = await import("../workers/core/db");
    expect(await canStayInVoice(makeDb(env.DB), u.id, voiceCh)).not.toBeNull();
    await ok(200, owner, "PUT", `/api/admin/users/${u.id}/ban`);
    expect(await canStayInVoice(makeDb(env.DB), u.id, voiceCh)).toBeNull();
  });
});

describe("admins", () => {
  it("the owner names admins; an admin acts on members, not on the owner or other admins, and names nobody", async () => {
    const a = await newUser("adm");
    const b = await newUser("adm2");
    const m = await newUser("plain");
    await ok(200, owner, "PUT", `/api/admin/users/${a.id}/role`, { role: "admin" });
    await ok(200, owner, "PUT", `/api/admin/users/${b.id}/role`, { role: "admin" });
    expect((await ok(200, a, "GET", "/api/admin")).viewerRole).toBe("admin");
    expect((await call(a, "PUT", `/api/admin/users/${m.id}/role`, { role: "admin" })).status).toBe(403);
    expect((await call(a, "PUT", `/api/admin/users/${b.id}/ban`)).status).toBe(403);
    expect((await call(a, "PUT", `/api/admin/users/${owner.id}/ban`)).status).toBe(403);
    expect((await call(owner, "PUT", `/api/admin/users/${owner.id}/ban`)).status).toBe(403);
    expect((await call(a, "POST", `/api/admin/users/${m.id}/reset-link`)).status).toBe(201);
    await ok(200, owner, "PUT", `/api/admin/users/${a.id}/role`, { role: "member" });
    expect((await call(a, "GET", "/api/admin")).status).toBe(403);
  });
});

describe("storage and export", () => {
  it("storage counts D1 rows and R2 bytes per community from the files table", async () => {
    const u = await newUser("stor");
    const created = await createCommunity(u, "Storage test");
    const text = created.channels.find((ch) => ch.kind === "text")!.id;
    await env.DB.prepare(
      "INSERT INTO attachments (id, channel_id, uploader_id, key, filename, content_type, size, created_at, attached_at) VALUES (?, ?, ?, ?, 'a.bin', 'application/octet-stream', 1234, ?, ?)",
    )
      .bind(uniqueName("att"), text, u.id, uniqueName("key"), Date.now(), Date.now())
      .run();
    const s = StorageResponse.parse(await ok(200, owner, "GET", "/api/admin/storage"));
    expect(s.d1.tables.find((t) => t.name === "users")!.rows).toBeGreaterThan(0);
    const mine = s.communities.find((c) => c.id === created.community.id)!;
    expect(mine).toMatchObject({ files: 1, fileBytes: 1234, members: 1 });
    expect(s.r2.totalBytes).toBeGreaterThanOrEqual(1234);
  });

  it("export streams the community's members, channels with messages, and files as a JSON download", async () => {
    const u = await newUser("exp");
    const created = await createCommunity(u, "Export me");
    const text = created.channels.find((ch) => ch.kind === "text")!.id;
    const room = await connectRoom(text, u);
    for (const content of ["first", "second", "third"]) await say(room, content);
    room.close();
    const res = await owner.http.fetch(`/api/admin/communities/${created.community.id}/export`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="woxly-Export-me-/);
    const archive = (await res.json()) as CommunityExport;
    expect(archive.format).toBe("woxly-community-export");
    expect(archive.members.map((m) => m.userId)).toEqual([u.id]);
    const ch = archive.channels.find((c) => c.id === text)!;
    expect((ch.messages as { content: string }[]).map((m) => m.content)).toEqual(["first", "second", "third"]);
    expect((await call(owner, "GET", "/api/admin/communities/nope/export")).status).toBe(404);
  });
});
