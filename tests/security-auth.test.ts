/**
 * Security regressions: accounts and sessions.
 * - Password guessing in parallel: every attempt is counted atomically before the slow hash
 *   (login per username and per IP, the current password of POST /api/me/password per user
 *   and per IP), so a burst cannot slip past a limit it is still under.
 * - Mass registration: POST /api/auth/register is limited per IP.
 * - Cookie tossing: a plain `woxly_session` cookie (settable from a sibling subdomain) is
 *   ignored over https by every entry point; only `__Host-woxly_session` counts.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LOGIN_IP_LIMIT, LOGIN_USER_LIMIT, REGISTER_IP_LIMIT } from "../workers/api/src/routes/auth";
import { PASSWORD_CHECK_IP_LIMIT, PASSWORD_CHECK_USER_LIMIT } from "../workers/api/src/routes/me";

import { GOOD_PASSWORD, ORIGIN, client, freshIp, register, uniqueName, newUser, type Client } from "./helpers";

const WRONG = "not the password 123";

async function statusCounts(responses: Response[]): Promise<Record<number, number>> {
  const counts: Record<number, number> = {};
  for (const r of responses) {
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    await r.arrayBuffer();
  }
  return counts;
}

async function expectRateLimited(res: Response): Promise<void> {
  expect(res.status).toBe(429);
  expect(res.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
}

function login(c: Client, username: string, password: string) {
  return c.fetch("/api/auth/login", { method: "POST", json: { username, password } });
}

function changePassword(c: Client, currentPassword: string, newPassword = "a brand new passphrase 77") {
  return c.fetch("/api/me/password", { method: "POST", json: { currentPassword, newPassword } });
}

describe("login throttling is counted before the hash", () => {
  it("40 parallel wrong passwords for one username: at most the limit are evaluated, and the right password is refused while locked", async () => {
    const { username } = await register(client());
    // Each guess from its own address, so only the per-username counter applies.
    const results = await Promise.all(Array.from({ length: 40 }, () => login(client({ ip: freshIp() }), username, WRONG)));
    const counts = await statusCounts(results);
    expect(counts[401] ?? 0).toBeLessThanOrEqual(LOGIN_USER_LIMIT.max);
    expect((counts[401] ?? 0) + (counts[429] ?? 0)).toBe(40);
    expect(counts[429]).toBeGreaterThanOrEqual(40 - LOGIN_USER_LIMIT.max);
    await expectRateLimited(await login(client({ ip: freshIp() }), username, GOOD_PASSWORD));
  });

  it("40 parallel wrong logins from one IP across usernames: at most the IP limit are evaluated; a fresh IP is unaffected", async () => {
    const ip = freshIp();
    const results = await Promise.all(Array.from({ length: 40 }, () => login(client({ ip }), uniqueName("nobody"), WRONG)));
    const counts = await statusCounts(results);
    expect(counts[401] ?? 0).toBeLessThanOrEqual(LOGIN_IP_LIMIT.max);
    expect((counts[401] ?? 0) + (counts[429] ?? 0)).toBe(40);

    const { username } = await register(client());
    await expectRateLimited(await login(client({ ip }), username, GOOD_PASSWORD));
    expect((await login(client({ ip: freshIp() }), username, GOOD_PASSWORD)).status).toBe(200);
  });

  it("a successful login gives its attempt back: the IP's count stays a count of failures", async () => {
    const ip = freshIp();
    const { username } = await register(client());
    for (let i = 0; i < LOGIN_IP_LIMIT.max + 5; i++) expect((await login(client({ ip }), username, GOOD_PASSWORD)).status).toBe(200);
    const row = await env.DB.prepare(`SELECT count FROM throttles WHERE key = ?`).bind(`login-ip:${ip}`).first<{ count: number }>();
    expect(row?.count ?? 0).toBe(0);
  });
});

describe("password change throttling", () => {
  it("40 parallel wrong current passwords for one account: at most the limit are evaluated, then even the right one is refused", async () => {
    const c = client();
    const { username } = await register(c);
    const results = await Promise.all(Array.from({ length: 40 }, () => changePassword(c, WRONG)));
    const counts = await statusCounts(results);
    expect(counts[401] ?? 0).toBeLessThanOrEqual(PASSWORD_CHECK_USER_LIMIT.max);
    expect((counts[401] ?? 0) + (counts[429] ?? 0)).toBe(40);
    await expectRateLimited(await changePassword(c, GOOD_PASSWORD));
    // Nothing changed: the old password still logs in.
    expect((await login(client(), username, GOOD_PASSWORD)).status).toBe(200);
  });

  it("wrong current passwords from one IP across accounts are limited too; another IP is unaffected", async () => {
    const ip = freshIp();
    const accounts: Client[] = [];
    for (let i = 0; i < 4; i++) {
      const c = client({ ip });
      await register(c);
      accounts.push(c);
    }
    // 4 accounts × 10 guesses stay under each account's limit but not under the IP's.
    const results = await Promise.all(accounts.flatMap((c) => Array.from({ length: PASSWORD_CHECK_USER_LIMIT.max }, () => changePassword(c, WRONG))));
    const counts = await statusCounts(results);
    expect(counts[401] ?? 0).toBeLessThanOrEqual(PASSWORD_CHECK_IP_LIMIT.max);
    expect(counts[429] ?? 0).toBeGreaterThanOrEqual(accounts.length * PASSWORD_CHECK_USER_LIMIT.max - PASSWORD_CHECK_IP_LIMIT.max);

    const elsewhere = client();
    await register(elsewhere);
    expect((await changePassword(elsewhere, GOOD_PASSWORD)).status).toBe(200);
  });
});

describe("registration is limited per IP", () => {
  it("parallel sign-ups from one IP: exactly the limit succeed, the rest get 429 with Retry-After; a fresh IP is unaffected", async () => {
    const ip = freshIp();
    const extra = 4;
    const results = await Promise.all(
      Array.from({ length: REGISTER_IP_LIMIT.max + extra }, () =>
        client({ ip }).fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("reg"), password: GOOD_PASSWORD } }),
      ),
    );
    const refused = results.filter((r) => r.status === 429);
    expect(await statusCounts(results.filter((r) => r.status !== 429))).toEqual({ 201: REGISTER_IP_LIMIT.max });
    expect(refused).toHaveLength(extra);
    await expectRateLimited(refused[0]!);
    await expectRateLimited(await client({ ip }).fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("reg"), password: GOOD_PASSWORD } }));
    expect((await client({ ip: freshIp() }).fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("reg"), password: GOOD_PASSWORD } })).status).toBe(201);
  });

  it("attempts that make no account (name taken, common password) do not use the allowance", async () => {
    const ip = freshIp();
    const { username } = await register(client());
    for (let i = 0; i < REGISTER_IP_LIMIT.max + 2; i++) {
      const taken = await client({ ip }).fetch("/api/auth/register", { method: "POST", json: { username, password: GOOD_PASSWORD } });
      expect(taken.status).toBe(409);
      const common = await client({ ip }).fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("reg"), password: "password123" } });
      expect(common.status).toBe(400);
    }
    expect((await client({ ip }).fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("reg"), password: GOOD_PASSWORD } })).status).toBe(201);
  });

  it("loopback clients of a plain-http local server (wrangler dev) are not counted; the same address over https is", async () => {
    for (let i = 0; i < REGISTER_IP_LIMIT.max + 1; i++) {
      const res = await client({ ip: "127.0.0.1" }).fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("dev"), password: GOOD_PASSWORD } });
      expect(res.status).toBe(201);
    }
    const overHttps = () =>
      exports.default.fetch(
        new Request("https://chat.example.org/api/auth/register", {
          method: "POST",
          headers: { origin: "https://chat.example.org", "content-type": "application/json", "cf-connecting-ip": "::1" },
          body: JSON.stringify({ username: uniqueName("tls"), password: GOOD_PASSWORD }),
        }),
      );
    for (let i = 0; i < REGISTER_IP_LIMIT.max; i++) expect((await overHttps()).status).toBe(201);
    await expectRateLimited(await overHttps());
  });
});

describe("session cookie: only __Host- over https (cookie tossing)", () => {
  const HTTPS = "https://chat.example.org";

  function upgrade(path: string, cookie: string, base = HTTPS) {
    return exports.default.fetch(new Request(base + path, { headers: { Upgrade: "websocket", origin: base, cookie } }));
  }

  it("a WebSocket upgrade uses __Host-woxly_session even when a tossed plain woxly_session comes first", async () => {
    const victim = await newUser();
    const attacker = await newUser();
    // The victim's own inbox: opens only as the victim.
    const res = await upgrade(`/parties/user-inbox/${victim.id}`, `woxly_session=${attacker.token}; __Host-woxly_session=${victim.token}`);
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    res.webSocket!.close(1000, "done");
    // The attacker's session, planted as a plain cookie, does not make it the attacker's socket.
    const planted = await upgrade(`/parties/user-inbox/${attacker.id}`, `woxly_session=${attacker.token}; __Host-woxly_session=${victim.token}`);
    expect(planted.status).toBe(404);
    await planted.arrayBuffer();
  });

  it("over https a plain woxly_session alone is no session: WebSocket, API and attachment downloads answer 401", async () => {
    const u = await newUser();
    const ws = await upgrade(`/parties/user-inbox/${u.id}`, `woxly_session=${u.token}`);
    expect(ws.status).toBe(401);
    await ws.arrayBuffer();
    const me = await exports.default.fetch(new Request(`${HTTPS}/api/me`, { headers: { cookie: `woxly_session=${u.token}` } }));
    expect(me.status).toBe(401);
    await me.arrayBuffer();
    const file = await exports.default.fetch(new Request(`${HTTPS}/attachments/x/y/z.png`, { headers: { cookie: `woxly_session=${u.token}` } }));
    expect(file.status).toBe(401);
    await file.arrayBuffer();
    const ok = await exports.default.fetch(new Request(`${HTTPS}/api/me`, { headers: { cookie: `woxly_session=${u.token}; __Host-woxly_session=${u.token}` } }));
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
  });

  it("plain http on localhost uses the plain cookie (where lib/sessions.ts sets it)", async () => {
    const u = await newUser();
    const res = await upgrade(`/parties/user-inbox/${u.id}`, `woxly_session=${u.token}`, ORIGIN);
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    res.webSocket!.close(1000, "done");
  });
});
