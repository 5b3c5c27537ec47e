/**
 * End-to-end tests: Node-side vitest driving Debian's Chromium (playwright-core) against the
 * whole product, started once by the global setup on free ports with a fresh local state and a
 * real livekit-server on loopback.
 */
import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: path.resolve(import.meta.dirname, ".."),
  test: {
    include: ["e2e/**/*.test.ts"],
    globalSetup: ["./e2e/global-setup.ts"],
    testTimeout: 90_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    environment: "node",
  },
});
