/** Accounts: register, log in, log out, log out everywhere, and password-reset links (docs/admin.md). */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { ApiError } from "../../../shared/errors";
import { newId } from "../../../shared/ids";
import { LoginBody, RegisterBody } from "../../../shared/protocol";
import { CheckResetBody, ResetPasswordBody, type CheckResetResponse, type RegistrationInfo } from "../../../shared/admin";
import { invites, users } from "../../../core/schema";
import type { Db } from "../../../core/db";
import { claimOwnership, registrationMode } from "../../../core/instance";
import { canRegister, canUseInstance } from "../../../core/policy";
import { consumeResetLink, liveResetLink } from "../lib/password-resets";
import { isUsable } from "./invites";
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

/** Whether `code` is a community invite someone could redeem now. */
async function inviteUsable(db: Db, code: string | undefined): Promise<boolean> {
  if (!code) return false;
  const inv = (await db.select().from(invites).where(eq(invites.code, code)).limit(1))[0];
  return !!inv && isUsable(inv, Date.now());
}

async function hasOwner(db: Db): Promise<boolean> {
  return (await db.select({ id: users.id }).from(users).where(eq(users.instanceRole, "owner")).limit(1)).length > 0;
}

const resetInvalid = () => new ApiError("reset_link_invalid", "This reset link is invalid, used or expired. Ask an admin for a new one.");

export const auth = new Hono<AppEnv>()
  .get("/registration", async (c) => {
    const body: RegistrationInfo = { registrationMode: (await hasOwner(c.var.db)) ? await registrationMode(c.var.db) : "open" };
    return c.json(body);
  })
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
      // Registration mode (docs/admin.md), decided in the policy: open, by invite, or closed.
      const [mode, owned, invited] = await Promise.all([registrationMode(db), hasOwner(db), inviteUsable(db, body.invite)]);
      canRegister(mode, owned, invited);
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
        instanceRole: null as "owner" | "admin" | null,
        bannedAt: null,
      };
      try {
        await db.insert(users).values(user);
      } catch (e) {
        // Two registrations raced past the check above; the unique index decides.
        if (String(e).includes("UNIQUE")) throw new ApiError("username_taken", "That username is taken.");
        throw e;
      }
      created = true;
      // The first account on the instance is its owner.
      if (!owned && (await claimOwnership(c.env.DB, user.id))) {
        user.instanceRole = "owner";
        log({ event: "instance.owner_claimed", requestId: c.var.requestId, userId: user.id });
      }
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
    // Said only to whoever knows the password, so a ban tells nobody else the name exists.
    if (!canUseInstance(user)) {
      log({ event: "login.suspended", requestId: c.var.requestId, userId: user.id });
      throw new ApiError("account_suspended", "This account has been suspended by the instance's admins.");
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
  })
  .post("/password-reset/check", validate("json", CheckResetBody), async (c) => {
    const link = await liveResetLink(c.var.db, c.req.valid("json").token);
    if (!link || !canUseInstance(link)) throw resetInvalid();
    const body: CheckResetResponse = { username: link.username, expiresAt: link.expiresAt };
    return c.json(body);
  })
  .post("/password-reset", validate("json", ResetPasswordBody), async (c) => {
    const { token, newPassword } = c.req.valid("json");
    const db = c.var.db;
    const link = await liveResetLink(db, token);
    if (!link || !canUseInstance(link)) throw resetInvalid();
    // Checked before the link is used up, so a refused password leaves the link working.
    const problem = await passwordProblem(link.username, newPassword);
    if (problem) throw new ApiError("common_password", problem, { issues: [{ path: ["newPassword"], message: problem }] });
    const hash = await hashPassword(newPassword, c.env.PASSWORD_PEPPER);
    const userId = await consumeResetLink(db, token);
    if (!userId) throw resetInvalid();
    const now = Date.now();
    await db.update(users).set({ passwordHash: hash, passwordChangedAt: now }).where(eq(users.id, userId));
    // Whoever held the old password (or a session) is out: every session ends, every socket closes.
    await endUserSessions(db, userId);
    c.executionCtx.waitUntil(closeSockets(c.env, db, userId));
    clearSessionCookie(c);
    log({ event: "password.reset", requestId: c.var.requestId, userId });
    return c.body(null, 204);
  });
