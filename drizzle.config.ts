import { defineConfig } from "drizzle-kit";

// Migrations are generated from the schema and applied by wrangler (locally and in deploys).
export default defineConfig({
  dialect: "sqlite",
  schema: "./workers/api/src/db/schema.ts",
  out: "./migrations",
});
