/** Accounts: register, log in, log out, log out everywhere. */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { ApiError } from "../../../shared/errors";
import { newId } from "../../../shared/ids";
import { LoginBody, RegisterBody } from "../../../shared/protocol";
import { users } from "../../../core/schema";
import type { AppEnv } from "../env";
import { issueDeviceCookie, trustedDevice } from "../lib/device";
import { log } from "../../../core/log";
import { DUMMY_HASH, hashPassword, isCommonPassword, verifyPassword } from "../lib/passwords";
import { clearSessionCookie, createSession, endSession, endUserSessions, isInsecureLocal, setSessionCookie } from "../lib/sessions";
import { clearThrottle, clientIp, refund, take, type Hit, type Limit } from "../lib/throttle";
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
/** Accounts one IP address may create: 10 an hour (a household or a class is fine; a bot farm is not). */
export const REGISTER_IP_LIMIT: Limit = { max: 10, windowMs: 3600_000 };

const TOO_MANY_LOGINS = "Too many failed attempts.";

/**
 * A browser on the developer's own machine talking to a plain-http local server
 * (`wrangler dev`, the browser tests). Every client there is 127.0.0.1, so a per-IP count
 * would only lock the developer out; a deployment (https, real client addresses) never is.
 */
function localDeveloper(req: Request): boolean {
  return isInsecureLocal(req.url) && ["127.0.0.1", "::1"].includes(clientIp(req));
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
    // Counted first, atomically, so a burst of parallel sign-ups cannot pass together; an
    // attempt that creates no account is given back below.
    const ipKey = `register-ip:${clientIp(c.req.raw)}`;
    const ipHit: Hit | undefined = localDeveloper(c.req.raw)
      ? undefined
      : await take(db, ipKey, REGISTER_IP_LIMIT, "Too many new accounts from your network.");
    let created = false;
    try {
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
      created = true;
      const s = await createSession(db, user.id, c.req.header("user-agent") ?? null, now);
      setSessionCookie(c, s.token);
      await issueDeviceCookie(c, c.env.PASSWORD_PEPPER, user.id);
      log({ event: "user.registered", requestId: c.var.requestId, userId: user.id });
      return c.json({ user: toMe(user) }, 201);
    } finally {
      if (!created && ipHit) await refund(db, ipKey, ipHit);
    }
  })
  .post("/login", validate("json", LoginBody), async (c) => {
    const { username, password } = c.req.valid("json");
    const db = c.var.db;
    const key = usernameKey(username);
    // Every attempt is counted before the slow hash, with one atomic upsert per counter
    // (lib/throttle.ts), so parallel guesses cannot all pass a limit they are still under.
    const ipKey = `login-ip:${clientIp(c.req.raw)}`;
    const ipHit = await take(db, ipKey, LOGIN_IP_LIMIT, TOO_MANY_LOGINS);

    const user = (await db.select().from(users).where(eq(users.usernameKey, key)).limit(1))[0];
    const device = await trustedDevice(c, c.env.PASSWORD_PEPPER, user?.id);
    const [accountKey, accountLimit] = device
      ? [`login-dev:${device}`, LOGIN_DEVICE_LIMIT]
      : [`login-user:${key}`, LOGIN_USER_LIMIT];
    await take(db, accountKey, accountLimit, TOO_MANY_LOGINS);

    // Unknown users cost one PBKDF2 run too, so the answer and its timing are the same.
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH, c.env.PASSWORD_PEPPER);
    if (!ok || !user) {
      // Both attempts stay counted: they were failures.
      log({ event: "login.failed", requestId: c.var.requestId, trustedDevice: Boolean(device) });
      throw new ApiError("invalid_credentials", "Wrong username or password.");
    }
    // A success is no failure: the account's counter restarts and the IP gets its attempt back.
    await clearThrottle(db, accountKey);
    await refund(db, ipKey, ipHit);
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
