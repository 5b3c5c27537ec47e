/**
 * The room's SQL per message, measured inside workerd (bench/room-sql/room-sql.bench.ts): the
 * workerd test config with only that file. Not part of the test suite (it asserts nothing).
 *
 *   npx vitest run --config bench/room-sql/vitest.config.ts
 */
import path from "node:path";
import { defineConfig, type UserConfig } from "vitest/config";
import base from "../../vitest.config";

export default defineConfig(async (env) => {
  const c = (await (base as unknown as (e: typeof env) => Promise<UserConfig>)(env)) as UserConfig;
  return { ...c, root: path.resolve(import.meta.dirname, "../.."), test: { ...c.test, include: ["bench/room-sql/*.bench.ts"], silent: false } };
});
