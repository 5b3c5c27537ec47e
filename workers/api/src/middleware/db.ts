import type { Context } from "hono";
import { setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { parse } from "hono/utils/cookie";
import { makeDb } from "../../../core/db";
import type { AppEnv } from "../env";
import { SESSION_IDLE_MS, cookiePrefix, isInsecureLocal, readSessionToken } from "../lib/sessions";

/**
 * D1 read replication through the Sessions API (docs/deploy.md "Global reads"). Every /api
 * request runs in one D1 session, and the session's bookmark travels back in a cookie, so a
 * member's next request reads from a replica at least as new as their own last write — they
 * always see what they wrote — while reads may be served by a replica near them. Without a
 * bookmark: a logged-in member's request, and every write, starts at the primary; an anonymous
 * read may start anywhere. Only members get the cookie (anonymous visitors and API-key clients
 * have no writes of their own to read back). On a database without replication enabled all of it goes to the
 * primary, as before.
 */
const BOOKMARK_COOKIE = "woxly_d1";
/** D1 bookmarks are hex groups joined by dashes; anything else in the cookie is ignored. */
const BOOKMARK_RE = /^[0-9a-f]+(-[0-9a-f]+){1,15}$/i;

export function bookmarkFrom(c: Context): string | undefined {
  const name = isInsecureLocal(c.req.url) ? BOOKMARK_COOKIE : `__Host-${BOOKMARK_COOKIE}`;
  const value = parse(c.req.header("cookie") ?? "", name)[name];
  return value && value.length <= 512 && BOOKMARK_RE.test(value) ? value : undefined;
}

/**
 * The binding with every query of this request in `session`: raw `c.env.DB.prepare` and the
 * drizzle client alike, so a write made either way moves the bookmark the cookie carries.
 */
function sessionBinding(d1: D1Database, session: D1DatabaseSession): D1Database {
  return {
    prepare: (query: string) => session.prepare(query),
    batch: <T = unknown>(statements: D1PreparedStatement[]) => session.batch<T>(statements),
    exec: (query: string) => d1.exec(query),
    withSession: (b?: string) => d1.withSession(b),
    dump: () => d1.dump(),
  };
}

/** Puts a drizzle client for this request's D1 session in `c.var.db` (and the session behind `c.env.DB`). */
export const db = createMiddleware<AppEnv>(async (c, next) => {
  const write = c.req.method !== "GET" && c.req.method !== "HEAD";
  const bookmark = bookmarkFrom(c);
  const session = c.env.DB.withSession(bookmark ?? (write || readSessionToken(c) ? "first-primary" : "first-unconstrained"));
  const binding = sessionBinding(c.env.DB, session);
  // Everything else in env (objects, R2, the token service) stays as it is.
  c.env = new Proxy(c.env, { get: (target, key) => (key === "DB" ? binding : Reflect.get(target, key)) });
  c.set("db", makeDb(binding));
  await next();
  // Only members carry a bookmark: requests with a session, and answers that start one (log in,
  // register). Anonymous reads and the site API's servers (API keys, no cookies) get none.
  const member = readSessionToken(c) !== undefined || c.res.headers.getSetCookie().some((h) => /^(__Host-)?woxly_session=[^;]/.test(h));
  const latest = session.getBookmark();
  if (member && latest && latest !== bookmark) {
    setCookie(c, BOOKMARK_COOKIE, latest, {
      httpOnly: true,
      secure: !isInsecureLocal(c.req.url),
      sameSite: "Lax",
      path: "/",
      maxAge: SESSION_IDLE_MS / 1000,
      ...cookiePrefix(c.req.url),
    });
  }
});
