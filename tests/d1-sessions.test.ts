/**
 * Global reads (docs/deploy.md): every /api request runs in one D1 session (Sessions API) and
 * the bookmark travels in a cookie, so a member reads their own writes on the next request.
 * Locally there are no replicas, so these tests check the plumbing that makes it true on the
 * edge: a bookmark comes back, writes (drizzle and raw `c.env.DB` alike) move it forward, the
 * next request carries it and sees the write, and a forged cookie is ignored.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MeResponse } from "../workers/shared/protocol";
import { createCommunity, inviteCode } from "./community-fixtures";
import { GOOD_PASSWORD, client, newUser, uniqueName } from "./helpers";

const BOOKMARK = /^[0-9a-f]+(-[0-9a-f]+)+$/i;

describe("D1 sessions with bookmarks", () => {
  it("an API answer carries the session's bookmark in an HttpOnly cookie", async () => {
    const u = await newUser("bm");
    const res = await u.http.fetch("/api/me");
    expect(res.status).toBe(200);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("woxly_d1="));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(u.http.cookies.get("woxly_d1")).toMatch(BOOKMARK);
  });

  it("read-your-writes: the bookmark after a write is not older, and the next request with it sees the write", async () => {
    const u = await newUser("ryw");
    await u.http.fetch("/api/me");
    const before = u.http.cookies.get("woxly_d1")!;
    const res = await u.http.fetch("/api/me", { method: "PATCH", json: { displayName: "Written Name" } });
    expect(res.status).toBe(200);
    const after = u.http.cookies.get("woxly_d1")!;
    expect(after >= before).toBe(true);
    const me = MeResponse.parse(await (await u.http.fetch("/api/me")).json());
    expect(me.user.displayName).toBe("Written Name");
  });

  it("raw c.env.DB writes in a route run in the same session and move the bookmark too", async () => {
    const owner = await newUser("rawo");
    const joiner = await newUser("rawj");
    const c = await createCommunity(owner);
    const code = await inviteCode(owner, c.community.id);
    await joiner.http.fetch("/api/me");
    const before = joiner.http.cookies.get("woxly_d1")!;
    // Redeeming writes with c.env.DB.batch (routes/invites.ts), then reads the member back.
    const res = await joiner.http.fetch(`/api/invites/${code}/redeem`, { method: "POST", json: {} });
    expect(res.status).toBe(201);
    expect(joiner.http.cookies.get("woxly_d1")! > before).toBe(true);
    const list = await joiner.http.fetch(`/api/communities/${c.community.id}`);
    expect(list.status).toBe(200);
  });

  it("anonymous requests and the site API's key-holding servers get no bookmark cookie; registering gets one", async () => {
    const anon = client();
    expect((await anon.fetch("/api/auth/registration")).status).toBe(200);
    expect(anon.cookies.has("woxly_d1")).toBe(false);
    const fresh = client();
    expect((await fresh.fetch("/api/auth/register", { method: "POST", json: { username: uniqueName("bmreg"), password: GOOD_PASSWORD } })).status).toBe(201);
    expect(fresh.cookies.get("woxly_d1")).toMatch(BOOKMARK);
  });

  it("a forged or malformed bookmark cookie is ignored, never an error", async () => {
    const u = await newUser("forged");
    for (const bad of ["not-a-bookmark", "'; DROP TABLE users; --", "f".repeat(600), "zzzz-zzzz"]) {
      u.http.cookies.set("woxly_d1", encodeURIComponent(bad));
      const res = await u.http.fetch("/api/me");
      expect(res.status, bad).toBe(200);
      expect(u.http.cookies.get("woxly_d1")).toMatch(BOOKMARK);
    }
  });

  it("a bookmark from the future of another database still reads correctly (the engine decides)", async () => {
    const u = await newUser("future");
    const b = (await env.DB.withSession("first-primary").prepare("SELECT 1").run()).meta as { served_by_primary?: boolean };
    expect(b).toBeDefined();
    u.http.cookies.set("woxly_d1", "00000000-00000000-00000000-00000000000000000000000000000000");
    expect((await u.http.fetch("/api/me")).status).toBe(200);
  });
});
