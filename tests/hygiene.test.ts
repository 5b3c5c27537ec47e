import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { GOOD_PASSWORD, ORIGIN, client, register, uniqueName } from "./helpers";

type Err = { error: { code: string; message: string; issues?: unknown[] } };

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
  const body = (await res.json()) as Err;
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
  return body;
}

describe("request hygiene", () => {
  it("GET /api/health answers", async () => {
    const res = await client().fetch("/api/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("sets security headers on API responses", async () => {
    const res = await client().fetch("/api/health");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("base-uri 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("refuses state-changing requests from another origin or with no origin, changing nothing", async () => {
    const username = uniqueName("csrf");
    const evil = client({ origin: "https://evil.example" });
    await expectError(
      await evil.fetch("/api/auth/register", { method: "POST", json: { username, password: GOOD_PASSWORD } }),
      403,
      "forbidden_origin",
    );
    // A classic cross-site form post.
    const form = await exports.default.fetch(
      new Request(`${ORIGIN}/api/auth/register`, {
        method: "POST",
        headers: { origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
        body: `username=${username}&password=${encodeURIComponent(GOOD_PASSWORD)}`,
      }),
    );
    await expectError(form, 403, "forbidden_origin");
    await expectError(
      await client({ origin: null }).fetch("/api/auth/register", { method: "POST", json: { username, password: GOOD_PASSWORD } }),
      403,
      "forbidden_origin",
    );
    // Nothing was created: the name is still free.
    await register(client(), username);
  });

  it("log out from another origin does not end the session", async () => {
    const c = client();
    await register(c);
    const evil = client({ origin: "https://evil.example" });
    for (const [k, v] of c.cookies) evil.cookies.set(k, v);
    await expectError(await evil.fetch("/api/auth/logout-all", { method: "POST" }), 403, "forbidden_origin");
    expect((await c.fetch("/api/me")).status).toBe(200);
  });

  it("answers malformed bodies with 4xx JSON errors", async () => {
    const c = client();
    const raw = (body: string, type = "application/json") =>
      c.fetch("/api/auth/login", { method: "POST", body, headers: { "content-type": type } });
    await expectError(await raw("{not json"), 400, "invalid_json");
    await expectError(await raw("[]"), 400, "validation_failed");
    await expectError(await raw("null"), 400, "validation_failed");
    await expectError(await raw('{"username":"x"}'), 400, "validation_failed");
    await expectError(await raw('{"username":1,"password":2}'), 400, "validation_failed");
    await expectError(await raw('{"username":"abc","password":"abcdefgh","extra":true}'), 400, "validation_failed");
    await expectError(await raw("username=a&password=b", "application/x-www-form-urlencoded"), 415, "unsupported_media_type");
    await expectError(await raw("x".repeat(2 * 1024 * 1024)), 413, "payload_too_large");
    const missing = await expectError(
      await c.fetch("/api/auth/register", { method: "POST", json: { password: GOOD_PASSWORD } }),
      400,
      "validation_failed",
    );
    expect(missing.error.issues).toEqual([expect.objectContaining({ path: ["username"] })]);
  });

  it("unknown routes are a JSON 404 and unauthenticated /api/me is 401", async () => {
    await expectError(await client().fetch("/api/nope"), 404, "not_found");
    await expectError(await client().fetch("/api/me"), 401, "unauthorized");
  });
});
