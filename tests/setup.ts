import { applyD1Migrations, env } from "cloudflare:test";

// Applies the same migrations a deploy applies; idempotent across test files.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS ?? []);
