import { drizzle } from "drizzle-orm/d1";
import { createMiddleware } from "hono/factory";
import * as schema from "../db/schema";
import type { AppEnv } from "../env";

export function makeDb(d1: D1Database) {
  return drizzle(d1, { schema });
}
export type Db = ReturnType<typeof makeDb>;

/** Puts a drizzle client for the D1 binding in `c.var.db`. */
export const db = createMiddleware<AppEnv>(async (c, next) => {
  c.set("db", makeDb(c.env.DB));
  await next();
});
