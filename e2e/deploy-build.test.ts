/** `wrangler deploy --dry-run --outdir` builds both workers as a deploy would, offline. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { experimental_readRawConfig } from "wrangler";
import { namesFor, previewConfig } from "../scripts/deploy-plan.mjs";

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

  it("builds a branch preview's generated config, bound to the branch's own D1, R2 and token worker", () => {
    const raw = experimental_readRawConfig({ config: path.join(root, "wrangler.toml") }).rawConfig as Record<string, unknown>;
    const names = namesFor({ kind: "preview", branch: "feature/dry-run" });
    const dir = mkdtempSync(path.join(os.tmpdir(), "woxly-preview-cfg-"));
    const config = path.join(dir, "preview.json");
    writeFileSync(config, JSON.stringify(previewConfig(raw, names, { root, d1Id: "0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d" })));
    const r = dryRun(config);
    expect(r.files).toContain("index.js");
    for (const name of [names.d1, names.r2, names.token]) expect(r.log).toContain(name);
    expect(r.log).not.toMatch(/woxly-files\b(?!-pv)/);
    expect(r.gz).toBeLessThan(FREE_PLAN_LIMIT);
  });
});
