/**
 * Unit tests in plain Node: the web app's framework-free cores (web/src/lib/realtime: channel, hub, inbox,
 * the socket helper) in plain Node: no browser, no server, a fake socket. The aliases are
 * SvelteKit's (web/svelte.config.js), so the cores import exactly as they do in the app.
 */
import path from "node:path";
import { defineConfig } from "vitest/config";

const root = import.meta.dirname;

export default defineConfig({
  resolve: {
    alias: {
      $shared: path.join(root, "workers/shared"),
      $lib: path.join(root, "web/src/lib"),
    },
  },
  test: {
    // scripts/*.test.ts: the deploy plan and the admin CLI's pure parts (Node, no Cloudflare account).
    include: ["web/src/**/*.test.ts", "web/widget/**/*.test.ts", "scripts/**/*.test.ts"],
    environment: "node",
  },
});
