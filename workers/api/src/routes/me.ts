/** The logged-in user's own account: profile, password, sessions. */
import { and, desc, eq, gt } from "drizzle-orm";
import { Hono } from "hono";
import { ApiError } from "../../../shared/errors";
import { ChangePasswordBody, UpdateProfileBody, type SessionInfo } from "../../../shared/protocol";
import { sessions, users } from "../../../core/schema";
import type { AppEnv } from "../env";
import { log } from "../../../core/log";
import { hashPassword, verifyPassword } from "../lib/passwords";
import { createSession, endUserSessions, setSessionCookie } from "../lib/sessions";
import { closeSockets } from "../lib/sockets";
import { clearThrottle, clientIp, refund, take, type Limit } from "../lib/throttle";
import { toMe } from "../lib/users";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";
import { passwordProblem } from "./auth";

/**
 * Wrong current passwords allowed per account when changing the password: a stolen session
 * must not become an unlimited password oracle (the password unlocks other sites too).
 */
export const PASSWORD_CHECK_USER_LIMIT: Limit = { max: 10, windowMs: 15 * 60_000 };
/** Wrong current passwords allowed from one IP address, across accounts (many stolen sessions). */
export const PASSWORD_CHECK_IP_LIMIT: Limit = { max: 30, windowMs: 15 * 60_000 };

export const me = new Hono<AppEnv>()
  .get("/", (c) => c.json({ user: toMe(authed(c).user) }))
  .patch("/", validate("json", UpdateProfileBody), async (c) => {
    const { user } = authed(c);
    const body = c.req.valid("json");
    const patch: Partial<typeof users.$inferInsert> = {};
    if (body.displayName !== undefined) patch.displayName = body.displayName;
    if (body.locale !== undefined) patch.locale = body.locale;
    if (Object.keys(patch).length) await c.var.db.update(users).set(patch).where(eq(users.id, user.id));
    return c.json({ user: toMe({ ...user, ...patch }) });
  })
  .post("/password", validate("json", ChangePasswordBody), async (c) => {
    const { user } = authed(c);
    const { currentPassword, newPassword } = c.req.valid("json");
    // Counted before the hash, atomically, like logins (lib/throttle.ts).
    const ipKey = `password-ip:${clientIp(c.req.raw)}`;
    const userKey = `password-user:${user.id}`;
    const tooMany = "Too many wrong passwords.";
    const ipHit = await take(c.var.db, ipKey, PASSWORD_CHECK_IP_LIMIT, tooMany);
    await take(c.var.db, userKey, PASSWORD_CHECK_USER_LIMIT, tooMany);
    if (!(await verifyPassword(currentPassword, user.passwordHash, c.env.PASSWORD_PEPPER))) {
      log({ event: "password.check_failed", requestId: c.var.requestId, userId: user.id });
      throw new ApiError("invalid_credentials", "The current password is wrong.", {
        issues: [{ path: ["currentPassword"], message: "wrong password" }],
      });
    }
    await clearThrottle(c.var.db, userKey);
    await refund(c.var.db, ipKey, ipHit);
    const problem = await passwordProblem(user.username, newPassword);
    if (problem) throw new ApiError("common_password", problem, { issues: [{ path: ["newPassword"], message: problem }] });
    const now = Date.now();
    await c.var.db
      .update(users)
      .set({ passwordHash: await hashPassword(newPassword, c.env.PASSWORD_PEPPER), passwordChangedAt: now })
      .where(eq(users.id, user.id));
    // A password change ends every session; this browser gets a fresh one.
    await endUserSessions(c.var.db, user.id);
    c.executionCtx.waitUntil(closeSockets(c.env, c.var.db, user.id));
    const s = await createSession(c.var.db, user.id, c.req.header("user-agent") ?? null, now);
    setSessionCookie(c, s.token);
    log({ event: "password.changed", requestId: c.var.requestId, userId: user.id });
    return c.json({ user: toMe(user) });
  })
  .get("/sessions", async (c) => {
    const { user, session } = authed(c);
    const rows = await c.var.db
      .select()
      .from(sessions)
      .where(and(eq(sessions.userId, user.id), gt(sessions.expiresAt, Date.now())))
      .orderBy(desc(sessions.lastSeenAt));
    const list: SessionInfo[] = rows.map((s) => ({
      id: s.id.slice(0, 12),
      current: s.id === session.id,
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      userAgent: s.userAgent,
    }));
    return c.json({ sessions: list });
  });
