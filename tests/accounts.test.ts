import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { GOOD_PASSWORD, client, register, uniqueName } from "./helpers";

describe("accounts", () => {
  it("registers, reports /api/me, logs out and back in", async () => {
    const c = client();
    const { username } = await register(c);
    expect([...c.cookies.keys()]).toContain("woxly_session");

    const me = await c.fetch("/api/me");
    expect(me.status).toBe(200);
    const body = (await me.json()) as { user: { username: string; displayName: string } };
    expect(body.user.username).toBe(username);
    expect(body.user.displayName).toBe(username);

    expect((await c.fetch("/api/auth/logout", { method: "POST" })).status).toBe(204);
    expect(c.cookies.has("woxly_session")).toBe(false);
    expect((await c.fetch("/api/me")).status).toBe(401);

    const login = await c.fetch("/api/auth/login", { method: "POST", json: { username: username.toUpperCase(), password: GOOD_PASSWORD } });
    expect(login.status).toBe(200);
    expect((await c.fetch("/api/me")).status).toBe(200);
  });

  it("sets an HttpOnly SameSite=Lax cookie, __Host- prefixed and Secure over https", async () => {
    const { exports } = await import("cloudflare:workers");
    const res = await exports.default.fetch(
      new Request("https://chat.example.org/api/auth/register", {
        method: "POST",
        headers: { origin: "https://chat.example.org", "content-type": "application/json" },
        body: JSON.stringify({ username: uniqueName(), password: GOOD_PASSWORD }),
      }),
    );
    expect(res.status).toBe(201);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("__Host-woxly_session="));
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\//i);
    expect(cookie).not.toMatch(/Domain=/i);
  });

  it("stores only a hash of the session token and a self-describing PBKDF2 hash", async () => {
    const c = client();
    const { user } = await register(c);
    const token = c.cookies.get("woxly_session")!;
    expect(token.length).toBeGreaterThanOrEqual(51); // 256 bits in base32
    const rows = await env.DB.prepare("SELECT id FROM sessions WHERE user_id = ?").bind(user.id).all<{ id: string }>();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0]!.id).not.toBe(token);
    expect(rows.results[0]!.id).toMatch(/^[0-9a-f]{64}$/);
    const u = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?").bind(user.id).first<{ password_hash: string }>();
    expect(u!.password_hash).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(u!.password_hash).not.toContain(GOOD_PASSWORD);
  });

  it("refuses a username taken in another case, and bad or common passwords", async () => {
    const c = client();
    const name = uniqueName("Taken");
    await register(c, name);
    const dup = await client().fetch("/api/auth/register", { method: "POST", json: { username: name.toLowerCase(), password: GOOD_PASSWORD } });
    expect(dup.status).toBe(409);
    expect(((await dup.json()) as { error: { code: string } }).error.code).toBe("username_taken");

    for (const [username, password, code] of [
      ["a", GOOD_PASSWORD, "validation_failed"],
      ["x".repeat(33), GOOD_PASSWORD, "validation_failed"],
      ["has space", GOOD_PASSWORD, "validation_failed"],
      [uniqueName(), "short", "validation_failed"],
      [uniqueName(), "p".repeat(129), "validation_failed"],
      [uniqueName(), "password123", "common_password"],
      [uniqueName(), "qwertyuiop", "common_password"],
    ] as const) {
      const res = await client().fetch("/api/auth/register", { method: "POST", json: { username, password } });
      expect(res.status, `${username}/${password}`).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
  });

  it("accepts Unicode usernames (Cyrillic) with the allowed punctuation", async () => {
    const c = client();
    const name = `Айбек.${Date.now() % 100000}_к-1`;
    const { username } = await register(c, name);
    expect(username).toBe(name);
  });

  it("answers an unknown user and a wrong password the same way", async () => {
    const c = client();
    const { username } = await register(c);
    const wrong = await client().fetch("/api/auth/login", { method: "POST", json: { username, password: "not the password" } });
    const unknown = await client().fetch("/api/auth/login", { method: "POST", json: { username: uniqueName("ghost"), password: "not the password" } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.json()).toEqual(await unknown.json());
  });

  it("log out everywhere ends the sessions of other browsers", async () => {
    const a = client();
    const { username } = await register(a);
    const b = client();
    expect((await b.fetch("/api/auth/login", { method: "POST", json: { username, password: GOOD_PASSWORD } })).status).toBe(200);
    const sessions = (await (await a.fetch("/api/me/sessions")).json()) as { sessions: { current: boolean }[] };
    expect(sessions.sessions).toHaveLength(2);
    expect(sessions.sessions.filter((s) => s.current)).toHaveLength(1);

    expect((await a.fetch("/api/auth/logout-all", { method: "POST" })).status).toBe(204);
    expect((await b.fetch("/api/me")).status).toBe(401);
    expect((await a.fetch("/api/me")).status).toBe(401);
  });

  it("changing the password ends other sessions, keeps this one and needs the current password", async () => {
    const a = client();
    const { username } = await register(a);
    const b = client();
    await b.fetch("/api/auth/login", { method: "POST", json: { username, password: GOOD_PASSWORD } });

    const wrong = await a.fetch("/api/me/password", { method: "POST", json: { currentPassword: "nope nope", newPassword: "a brand new secret 77" } });
    expect(wrong.status).toBe(401);
    expect((await b.fetch("/api/me")).status).toBe(200);

    const ok = await a.fetch("/api/me/password", { method: "POST", json: { currentPassword: GOOD_PASSWORD, newPassword: "a brand new secret 77" } });
    expect(ok.status).toBe(200);
    expect((await a.fetch("/api/me")).status).toBe(200);
    expect((await b.fetch("/api/me")).status).toBe(401);

    const old = await client().fetch("/api/auth/login", { method: "POST", json: { username, password: GOOD_PASSWORD } });
    expect(old.status).toBe(401);
    const fresh = await client().fetch("/api/auth/login", { method: "POST", json: { username, password: "a brand new secret 77" } });
    expect(fresh.status).toBe(200);
  });

  it("updates the display name and locale", async () => {
    const c = client();
    await register(c);
    const res = await c.fetch("/api/me", { method: "PATCH", json: { displayName: "Нурлан", locale: "ky" } });
    expect(res.status).toBe(200);
    const me = (await (await c.fetch("/api/me")).json()) as { user: { displayName: string; locale: string } };
    expect(me.user).toMatchObject({ displayName: "Нурлан", locale: "ky" });
    const bad = await c.fetch("/api/me", { method: "PATCH", json: { locale: "de" } });
    expect(bad.status).toBe(400);
  });

  it("slides the session expiry forward when the session is used", async () => {
    const c = client();
    const { user } = await register(c);
    const past = Date.now() - 2 * 3600_000;
    await env.DB.prepare("UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE user_id = ?").bind(past, past + 60_000 + 2 * 3600_000, user.id).run();
    const before = await env.DB.prepare("SELECT expires_at FROM sessions WHERE user_id = ?").bind(user.id).first<{ expires_at: number }>();
    expect((await c.fetch("/api/me")).status).toBe(200);
    const after = await env.DB.prepare("SELECT expires_at FROM sessions WHERE user_id = ?").bind(user.id).first<{ expires_at: number }>();
    expect(after!.expires_at).toBeGreaterThan(before!.expires_at + 24 * 3600_000);

    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE user_id = ?").bind(Date.now() - 1, user.id).run();
    expect((await c.fetch("/api/me")).status).toBe(401);
  });
});
