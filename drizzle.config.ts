import { defineConfig } from "drizzle-kit";

// Migrations are generated from the schema and applied by wrangler (locally and in deploys).
export default defineConfig({
  dialect: "sqlite",
  schema: "./workers/core/schema.ts",
  out: "./migrations",
});
