/** HTTP-level checks against the running product (wrangler dev), as curl would send them. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launch, newPage, uniqueName } from "./browser";

const base = inject("baseUrl");
const origin = new URL(base).origin;

async function post(path: string, body: string | Blob, headers: Record<string, string> = {}) {
  return fetch(base + path, { method: "POST", body, headers: { origin, "content-type": "application/json", ...headers } });
}

async function expectJsonError(res: Response, status: number, code?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  if (code) expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body;
}

describe("request hygiene on the running product", () => {
  it("bad JSON, a missing field, a 2 MB body and a cross-origin POST get 4xx JSON errors", async () => {
    await expectJsonError(await post("/api/auth/login", "{nope"), 400, "invalid_json");
    await expectJsonError(await post("/api/auth/register", JSON.stringify({ username: "abc" })), 400, "validation_failed");
    await expectJsonError(await post("/api/auth/login", new Blob(["a".repeat(2 * 1024 * 1024)])), 413, "payload_too_large");
    await expectJsonError(
      await post("/api/auth/register", JSON.stringify({ username: uniqueName(), password: "a fine password 1" }), { origin: "https://evil.example" }),
      403,
      "forbidden_origin",
    );
  });

  it("never answers random bodies on any route with a 500", async () => {
    const routes = ["/api/auth/register", "/api/auth/login", "/api/auth/logout", "/api/auth/logout-all", "/api/me/password"];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.oneof(fc.json(), fc.string(), fc.object().map((o) => JSON.stringify(o))),
        async (route, body) => {
          const res = await post(route, body);
          expect(res.status).toBeGreaterThanOrEqual(200);
          expect(res.status).toBeLessThan(500);
          if (res.status >= 400) await expectJsonError(res, res.status);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("throttles repeated failed logins with 429 and Retry-After", async () => {
    const username = uniqueName("victim");
    const reg = await post("/api/auth/register", JSON.stringify({ username, password: "a fine password 1" }));
    expect(reg.status).toBe(201);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 11; i++) {
      last = await post("/api/auth/login", JSON.stringify({ username, password: "wrong password" }));
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("pages carry a CSP with object-src 'none', base-uri 'none' and frame-ancestors", async () => {
    const res = await fetch(`${base}/login`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("base-uri 'none'");
    expect(csp).toContain("frame-ancestors");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("CSRF in a real browser", () => {
  let server: http.Server;
  let evilOrigin: string;
  const username = uniqueName("csrf");

  beforeAll(async () => {
    // A page on another origin (127.0.0.1 vs localhost) that posts a form to Woxly on load.
    server = http.createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(`<!doctype html><form id=f method=post enctype="text/plain" action="${base}/api/auth/register">
        <input name='{"username":"${username}","password":"a fine password 1","x":"' value='"}'>
        </form><script>document.getElementById("f").submit()</script>`);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    evilOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("a form post from another origin is refused and changes nothing", async () => {
    const browser = await launch();
    try {
      const { page } = await newPage(browser);
      const response = page.waitForResponse((r) => r.url().startsWith(`${base}/api/auth/register`));
      await page.goto(evilOrigin);
      const res = await response;
      expect(res.status()).toBe(403);
      expect((await res.json()).error.code).toBe("forbidden_origin");
    } finally {
      await browser.close();
    }
    // The username is still free: nothing was created.
    const reg = await post("/api/auth/register", JSON.stringify({ username, password: "a fine password 1" }));
    expect(reg.status).toBe(201);
  });
});
