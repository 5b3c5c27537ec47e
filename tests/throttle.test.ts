import { describe, expect, it } from "vitest";
import { LOGIN_IP_LIMIT, LOGIN_USER_LIMIT } from "../workers/api/src/routes/auth";
import { GOOD_PASSWORD, client, freshIp, register, uniqueName } from "./helpers";

async function failLogin(c: ReturnType<typeof client>, username: string) {
  return c.fetch("/api/auth/login", { method: "POST", json: { username, password: "wrong password!" } });
}

describe("login throttling", () => {
  it("answers 429 with Retry-After after too many failures for one username", async () => {
    const owner = client();
    const { username } = await register(owner);
    await owner.fetch("/api/auth/logout", { method: "POST" });
    // The attacker spreads attempts over many IPs so only the per-username limit applies.
    for (let i = 0; i < LOGIN_USER_LIMIT.max; i++) {
      expect((await failLogin(client({ ip: freshIp() }), username)).status).toBe(401);
    }
    const blocked = await client({ ip: freshIp() }).fetch("/api/auth/login", { method: "POST", json: { username, password: GOOD_PASSWORD } });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await blocked.json()) as { error: { code: string } }).error.code).toBe("rate_limited");

    // The owner's browser has logged in before (device cookie): not locked out.
    const mine = await owner.fetch("/api/auth/login", { method: "POST", json: { username, password: GOOD_PASSWORD } });
    expect(mine.status).toBe(200);
  });

  it("limits failures from one IP across usernames", async () => {
    const ip = freshIp();
    for (let i = 0; i < LOGIN_IP_LIMIT.max; i++) {
      expect((await failLogin(client({ ip }), uniqueName("nobody"))).status).toBe(401);
    }
    const res = await failLogin(client({ ip }), uniqueName("nobody"));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  it("a stolen device cookie is throttled on its own", async () => {
    const owner = client();
    const { username } = await register(owner);
    await owner.fetch("/api/auth/logout", { method: "POST" });
    for (let i = 0; i < 10; i++) expect((await failLogin(owner, username)).status).toBe(401);
    expect((await failLogin(owner, username)).status).toBe(429);
    // Other browsers are not affected by the device's counter.
    const other = await client().fetch("/api/auth/login", { method: "POST", json: { username, password: GOOD_PASSWORD } });
    expect(other.status).toBe(200);
  });
});
