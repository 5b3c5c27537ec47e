/**
 * The room's SQL per message, measured inside workerd (tests/bench/room-sql.bench.ts): the
 * workerd test config with only that file. Not part of the test suite (it asserts nothing;
 * its name does not match the suite's `*.test.ts`).
 *
 *   npx vitest run --config bench/room-sql/vitest.config.mjs
 */
import path from "node:path";
import { defineConfig } from "vitest/config";
import base from "../../vitest.config.ts";

export default defineConfig(async (env) => {
  const c = await base(env);
  return { ...c, root: path.resolve(import.meta.dirname, "../.."), test: { ...c.test, include: ["tests/bench/room-sql.bench.ts"], silent: false } };
});
