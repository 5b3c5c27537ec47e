import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../../../shared/errors";
import type { AppEnv } from "../env";
import { loadSession, readSessionToken, setSessionCookie } from "../lib/sessions";

/** Loads the session named by the cookie, if any, into `c.var.user` / `c.var.session`. */
export const session = createMiddleware<AppEnv>(async (c, next) => {
  const token = readSessionToken(c);
  c.set("user", undefined);
  c.set("session", undefined);
  if (token) {
    const found = await loadSession(c.var.db, token);
    if (found) {
      c.set("user", found.user);
      c.set("session", found.session);
      if (found.refreshed) setSessionCookie(c, token);
    }
  }
  await next();
});

/** The logged-in user and session, or a 401. */
export function authed(c: Context<AppEnv>) {
  const { user, session } = c.var;
  if (!user || !session) throw new ApiError("unauthorized", "Log in to continue.");
  return { user, session };
}
