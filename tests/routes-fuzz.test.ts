/**
 * Every route of the API, found from the Hono app itself, gets malformed input from
 * fast-check — random JSON, random strings, wrong types, random path parameters — as a
 * logged-in member and anonymously. The answer must be a JSON error below 500 (or a success),
 * never a 500 or a stack trace.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { app } from "../workers/api/src/app";
import { client, register } from "./helpers";

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);

/** Every distinct (method, path pattern) under /api, from Hono's route table. */
function apiRoutes(): { method: string; path: string }[] {
  const seen = new Set<string>();
  const out: { method: string; path: string }[] = [];
  for (const r of app.routes) {
    if (!METHODS.has(r.method) || !r.path.startsWith("/api/") || r.path.includes("*")) continue;
    const key = `${r.method} ${r.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ method: r.method, path: r.path });
  }
  return out;
}

const junkParam = fc.oneof(
  fc.constantFrom("x", "0", "-1", "null", "undefined", "%00", "..%2F..", "a".repeat(300), "06h00x07mtk8g85vtm3v482qr8"),
  fc.string({ minLength: 1, maxLength: 40 }).map((s) => encodeURIComponent(s)),
);
const body = fc.oneof(
  fc.json(),
  fc.string({ maxLength: 200 }),
  fc.object({ maxDepth: 2 }).map((o) => JSON.stringify(o)),
  fc.constantFrom("{", "[]", "null", '{"name":1}', '{"userIds":"x"}', '{"allow":"-1","deny":"99999999999999999999999"}'),
);
const query = fc.oneof(fc.constant(""), fc.constantFrom("?limit=-5", "?before=abc", "?limit=1e9&after=x", "?q=%00", "?has=nothing&author=x"));

describe("route fuzzing", () => {
  it("finds the API's routes from the app", () => {
    const routes = apiRoutes();
    // Sanity: the table is the real one (accounts, communities, chat, voice are all there).
    expect(routes.length).toBeGreaterThan(40);
    for (const p of ["/api/auth/login", "/api/communities", "/api/channels/:id/messages", "/api/invites/:code/redeem"]) {
      expect(routes.some((r) => r.path === p)).toBe(true);
    }
  });

  it("never answers malformed input with a 500, logged in or not", async () => {
    const member = client();
    const { user } = await register(member);
    // Real ids too, so validation past the access check is reached: the member's own
    // community, its channels and roles, and their user id.
    const made = (await (await member.fetch("/api/communities", { method: "POST", json: { name: "Fuzz" } })).json()) as {
      community: { id: string };
      channels: { id: string }[];
      roles: { id: string }[];
    };
    const real = [made.community.id, user.id, ...made.channels.map((c) => c.id), ...made.roles.map((r) => r.id)];
    const param = fc.oneof(junkParam, fc.constantFrom(...real));
    const anon = client();
    const routes = apiRoutes();
    let requests = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.array(param, { minLength: 4, maxLength: 4 }),
        body,
        query,
        fc.boolean(),
        async (route, params, raw, q, loggedIn) => {
          let i = 0;
          const path = route.path.replace(/:[A-Za-z]+(\{[^}]*\})?/g, () => params[i++ % params.length]!);
          const c = loggedIn ? member : anon;
          const hasBody = route.method !== "GET" && route.method !== "DELETE";
          const res = await c.fetch(path + q, {
            method: route.method,
            ...(hasBody ? { body: raw, headers: { "content-type": path.startsWith("/api/uploads/") ? "application/octet-stream" : "application/json" } } : {}),
          });
          requests++;
          const text = await res.text();
          // No LiveKit listens during these tests: a call-moderation route that must reach it
          // answers 503 `unavailable` (the voice server is down), which is its documented answer.
          const voiceDown = res.status === 503 && route.path.includes("/voice/") && /"code":"unavailable"/.test(text);
          if (!voiceDown) expect(res.status, `${route.method} ${path}${q} → ${res.status} ${text.slice(0, 200)}`).toBeLessThan(500);
          if (res.status >= 400) {
            const parsed = JSON.parse(text) as { error: { code: string; message: string } };
            expect(typeof parsed.error.code).toBe("string");
            expect(text).not.toMatch(/\bat .*\.(ts|js):\d+/);
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(requests).toBe(400);
  });
});
