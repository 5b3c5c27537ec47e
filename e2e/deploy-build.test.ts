/** `wrangler deploy --dry-run --outdir` builds both workers as a deploy would, offline. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..");
const wrangler = path.join(root, "node_modules/wrangler/bin/wrangler.js");
/** The free plan's Worker size limit after compression, bytes. */
const FREE_PLAN_LIMIT = 3 * 1024 * 1024;

function dryRun(config: string) {
  const out = mkdtempSync(path.join(os.tmpdir(), "woxly-dry-"));
  const log = execFileSync(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", out, "-c", config], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  const files = readdirSync(out).filter((f) => f.endsWith(".js"));
  const gz = files.reduce((n, f) => n + gzipSync(readFileSync(path.join(out, f))).length, 0);
  return { out, files, log, gz };
}

describe("deploy build (dry run, nothing leaves the machine)", () => {
  it("builds the api worker with its bindings and under the free plan's size", () => {
    const r = dryRun("wrangler.toml");
    expect(r.files).toContain("index.js");
    expect(statSync(path.join(r.out, "index.js")).size).toBeGreaterThan(1000);
    for (const binding of ["DB", "FILES", "TOKEN", "ASSETS"]) expect(r.log).toContain(binding);
    expect(r.gz).toBeLessThan(FREE_PLAN_LIMIT);
  });

  it("builds the token worker, which holds the LiveKit secret only as a secret", () => {
    const r = dryRun("workers/token/wrangler.toml");
    expect(r.files).toContain("index.js");
    expect(r.gz).toBeLessThan(FREE_PLAN_LIMIT);
    expect(readFileSync(path.join(root, "workers/token/wrangler.toml"), "utf8")).not.toMatch(/LIVEKIT_API_SECRET\s*=/);
  });
});
