import type { Db } from "../../core/db";
import type { SessionUser } from "./lib/sessions";
import type { sessions } from "../../core/schema";

/** Hono's environment: bindings from wrangler.toml (generated `Env`) and per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    db: Db;
    requestId: string;
    user: SessionUser | undefined;
    session: typeof sessions.$inferSelect | undefined;
  };
}

