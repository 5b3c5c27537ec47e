/** Accounts: register, log in, log out, log out everywhere. */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { ApiError } from "../../../shared/errors";
import { newId } from "../../../shared/ids";
import { LoginBody, RegisterBody } from "../../../shared/protocol";
import { users } from "../db/schema";
import type { AppEnv } from "../env";
import { issueDeviceCookie, trustedDevice } from "../lib/device";
import { log } from "../lib/log";
import { DUMMY_HASH, hashPassword, isCommonPassword, verifyPassword } from "../lib/passwords";
import { clearSessionCookie, createSession, endSession, endUserSessions, setSessionCookie } from "../lib/sessions";
import { clearThrottle, recordFailure, retryAfter, type Limit } from "../lib/throttle";
import { closeSockets } from "../lib/sockets";
import { toMe, usernameKey } from "../lib/users";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

/** Failed logins allowed from one IP address, across all usernames. */
export const LOGIN_IP_LIMIT: Limit = { max: 30, windowMs: 15 * 60_000 };
/** Failed logins allowed for one username from browsers it has never logged in from. */
export const LOGIN_USER_LIMIT: Limit = { max: 10, windowMs: 15 * 60_000 };
/** Failed logins allowed from one trusted device (see lib/device.ts). */
export const LOGIN_DEVICE_LIMIT: Limit = { max: 10, windowMs: 15 * 60_000 };

function clientIp(req: Request): string {
  return req.headers.get("cf-connecting-ip") ?? "unknown";
}

function tooMany(seconds: number): ApiError {
  return new ApiError("rate_limited", `Too many failed attempts. Try again in ${seconds} s.`, {
    headers: { "Retry-After": String(seconds) },
  });
}

export async function passwordProblem(username: string, password: string): Promise<string | undefined> {
  if ((await isCommonPassword(password)) || password.toLowerCase().includes(usernameKey(username))) {
    return "This password is too common or too easy to guess.";
  }
  return undefined;
}

export const auth = new Hono<AppEnv>()
  .post("/register", validate("json", RegisterBody), async (c) => {
    const body = c.req.valid("json");
    const db = c.var.db;
    const key = usernameKey(body.username);
    const problem = await passwordProblem(body.username, body.password);
    if (problem) {
      throw new ApiError("common_password", problem, { issues: [{ path: ["password"], message: problem }] });
    }
    const taken = await db.select({ id: users.id }).from(users).where(eq(users.usernameKey, key)).limit(1);
    if (taken.length) throw new ApiError("username_taken", "That username is taken.", { issues: [{ path: ["username"], message: "taken" }] });
    const now = Date.now();
    const user = {
      id: newId(now),
      username: body.username,
      usernameKey: key,
      displayName: body.displayName ?? body.username,
      passwordHash: await hashPassword(body.password, c.env.PASSWORD_PEPPER),
      avatarKey: null,
      locale: null,
      createdAt: now,
      passwordChangedAt: now,
    };
    try {
      await db.insert(users).values(user);
    } catch (e) {
      // Two registrations raced past the check above; the unique index decides.
      if (String(e).includes("UNIQUE")) throw new ApiError("username_taken", "That username is taken.");
      throw e;
    }
    const s = await createSession(db, user.id, c.req.header("user-agent") ?? null, now);
    setSessionCookie(c, s.token);
    await issueDeviceCookie(c, c.env.PASSWORD_PEPPER, user.id);
    log({ event: "user.registered", requestId: c.var.requestId, userId: user.id });
    return c.json({ user: toMe(user) }, 201);
  })
  .post("/login", validate("json", LoginBody), async (c) => {
    const { username, password } = c.req.valid("json");
    const db = c.var.db;
    const key = usernameKey(username);
    const ipKey = `login-ip:${clientIp(c.req.raw)}`;
    let wait = await retryAfter(db, ipKey, LOGIN_IP_LIMIT);
    if (wait) throw tooMany(wait);

    const user = (await db.select().from(users).where(eq(users.usernameKey, key)).limit(1))[0];
    const device = await trustedDevice(c, c.env.PASSWORD_PEPPER, user?.id);
    const [accountKey, accountLimit] = device
      ? [`login-dev:${device}`, LOGIN_DEVICE_LIMIT]
      : [`login-user:${key}`, LOGIN_USER_LIMIT];
    wait = await retryAfter(db, accountKey, accountLimit);
    if (wait) throw tooMany(wait);

    // Unknown users cost one PBKDF2 run too, so the answer and its timing are the same.
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH, c.env.PASSWORD_PEPPER);
    if (!ok || !user) {
      await recordFailure(db, ipKey, LOGIN_IP_LIMIT);
      await recordFailure(db, accountKey, accountLimit);
      log({ event: "login.failed", requestId: c.var.requestId, trustedDevice: Boolean(device) });
      throw new ApiError("invalid_credentials", "Wrong username or password.");
    }
    await clearThrottle(db, accountKey);
    const s = await createSession(db, user.id, c.req.header("user-agent") ?? null);
    setSessionCookie(c, s.token);
    if (!device) await issueDeviceCookie(c, c.env.PASSWORD_PEPPER, user.id);
    log({ event: "login.succeeded", requestId: c.var.requestId, userId: user.id });
    return c.json({ user: toMe(user) });
  })
  .post("/logout", async (c) => {
    if (c.var.session) {
      await endSession(c.var.db, c.var.session.id);
      c.executionCtx.waitUntil(closeSockets(c.env, c.var.db, c.var.session.userId, c.var.session.id));
    }
    clearSessionCookie(c);
    return c.body(null, 204);
  })
  .post("/logout-all", async (c) => {
    const { user } = authed(c);
    await endUserSessions(c.var.db, user.id);
    c.executionCtx.waitUntil(closeSockets(c.env, c.var.db, user.id));
    clearSessionCookie(c);
    log({ event: "sessions.ended", requestId: c.var.requestId, userId: user.id });
    return c.body(null, 204);
  });
