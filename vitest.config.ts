/**
 * Unit and integration tests inside workerd with the real bindings (D1, Durable Objects, R2)
 * through @cloudflare/vitest-plugin. The token worker runs beside the api worker, built the
 * same way a deploy builds it.
 */
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const root = import.meta.dirname;
const tokenOut = path.join(root, ".wrangler", "test-build", "token");

function buildTokenWorker(): string {
  execFileSync(
    process.execPath,
    [path.join(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", tokenOut, "-c", "workers/token/wrangler.toml"],
    { cwd: root, stdio: "pipe", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
  );
  return path.join(tokenOut, "index.js");
}

/** A free port on 127.0.0.1 for the link-pages stand-in (its URL must be known to the bindings). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(root, "migrations"));
  // tests/stand-ins/link-pages.ts listens here: the outside web and its DNS-over-HTTPS for the
  // link-preview tests. The loopback allowance is for tests only (docs/link-previews.md).
  process.env.LINK_PAGES_PORT ??= String(await freePort());
  const linkPages = `http://127.0.0.1:${process.env.LINK_PAGES_PORT}`;
  const tokenScript = buildTokenWorker();
  return {
    plugins: [
      cloudflareTest({
        main: "./workers/api/src/index.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          // Coalescing slowed down for tests/chat-coalesce.test.ts: a room of 40 sockets stays
          // "busy" for 200 ms after a fan-out and holds its queue for 200 ms, so the tests can act
          // while events are queued. Rooms under 32 sockets (every other test) never wait.
          bindings: {
            TEST_MIGRATIONS: migrations,
            PASSWORD_PEPPER: "test-pepper",
            CHAT_COALESCE_US_PER_SOCKET: "5000",
            CHAT_COALESCE_WAIT_MS: "200",
            LINK_PREVIEW_ALLOW_LOOPBACK: "1",
            LINK_PREVIEW_DOH_URL: `${linkPages}/dns-query`,
          },
          workers: [
            {
              name: "woxly-token",
              modules: true,
              scriptPath: tokenScript,
              compatibilityDate: "2026-10-30",
              compatibilityFlags: ["nodejs_compat"],
              // A port nothing listens on (discard): the workerd tests never meet a real LiveKit,
              // even when a livekit-server from `npm start` or the e2e run is up on 7880.
              bindings: { LIVEKIT_URL: "ws://127.0.0.1:9", LIVEKIT_API_KEY: "devkey", LIVEKIT_API_SECRET: "secret" },
            },
          ],
        },
      }),
    ],
    test: {
      include: ["tests/**/*.test.ts"],
      setupFiles: ["./tests/setup.ts"],
      // A stand-in for an outside OpenAI-compatible service on 127.0.0.1 (tests/desk-assistant.test.ts);
      // its URL reaches the tests through inject("openAiStandInUrl").
      globalSetup: ["./tests/stand-ins/openai-compatible.ts", "./tests/stand-ins/link-pages.ts"],
      testTimeout: 30_000,
      silent: "passed-only",
    },
  };
});
