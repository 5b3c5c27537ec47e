import { createMiddleware } from "hono/factory";
import { makeDb } from "../../../core/db";
import type { AppEnv } from "../env";

/** Puts a drizzle client for the D1 binding in `c.var.db`. */
export const db = createMiddleware<AppEnv>(async (c, next) => {
  c.set("db", makeDb(c.env.DB));
  await next();
});
