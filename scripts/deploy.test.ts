/**
 * The deploy runner (scripts/deploy.mjs) against a stand-in wrangler (fixtures/fake-wrangler.mjs)
 * that keeps an account's state in a file: a first deploy creates, writes the id and sets the
 * pepper; a second changes nothing but code; a preview gets its own everything; preview:delete
 * removes it and leaves production alone. Nothing reaches Cloudflare.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeDeployer } from "./deploy.mjs";
import { d1IdInToml } from "./deploy-plan.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const FAKE = path.join(import.meta.dirname, "fixtures", "fake-wrangler.mjs");

interface State {
  calls: string[][];
  d1: { name: string; uuid: string }[];
  r2: string[];
  workers: Record<string, string[]>;
  previews: Record<string, string[]>;
  previewConfigs: Record<string, { d1_databases: { database_name: string; database_id: string }[]; services: { service: string }[] }>;
}

let dir: string;
let stateFile: string;
const state = (): State => JSON.parse(readFileSync(stateFile, "utf8"));
const quiet = () => {};

function deployer(env: Record<string, string> = {}) {
  return makeDeployer({ root: dir, wranglerJs: FAKE, say: quiet, env: { ...process.env, FAKE_WRANGLER_STATE: stateFile, ...env } });
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "woxly-deploy-"));
  cpSync(path.join(ROOT, "wrangler.toml"), path.join(dir, "wrangler.toml"));
  const toml = readFileSync(path.join(dir, "wrangler.toml"), "utf8").replace(/database_id = "[^"]*"/, 'database_id = "00000000-0000-0000-0000-000000000000"');
  writeFileSync(path.join(dir, "wrangler.toml"), toml);
  stateFile = path.join(dir, "state.json");
  writeFileSync(stateFile, JSON.stringify({ calls: [], d1: [], r2: [], workers: {}, previews: {}, previewConfigs: {} }));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const build = () => {};

describe("npm run deploy against an account (stand-in wrangler)", { timeout: 60_000 }, () => {
  it("first run creates D1 and R2, writes the id, generates the pepper, sets LiveKit, migrates and deploys; second run creates nothing", async () => {
    const d = deployer({ LIVEKIT_URL: "wss://x.livekit.cloud", LIVEKIT_API_KEY: "key", LIVEKIT_API_SECRET: "secret" });
    const first = await d.deploy({ kind: "production" }, { buildWeb: build });
    const s = state();
    expect(s.d1.map((x) => x.name)).toEqual(["woxly"]);
    expect(s.r2).toEqual(["woxly-files"]);
    expect(d1IdInToml(readFileSync(path.join(dir, "wrangler.toml"), "utf8"))).toBe("uuid-woxly");
    expect(s.workers).toEqual({ "woxly-token": ["LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"], woxly: ["PASSWORD_PEPPER"] });
    expect(first.url).toBe("https://woxly.example.workers.dev");
    expect(s.calls).toContainEqual(["d1", "migrations", "apply", "DB", "--remote"]);
    const tokenDeploy = s.calls.find((c) => c[0] === "deploy" && c.includes("workers/token/wrangler.toml"))!;
    expect(tokenDeploy).toContain("LIVEKIT_URL:wss://x.livekit.cloud");
    // The pepper's backup copy, for the operator to keep.
    expect(readFileSync(path.join(dir, ".wrangler", "deploy", "PASSWORD_PEPPER.woxly.txt"), "utf8").trim()).toMatch(/^[A-Za-z0-9+/=]{44}$/);

    const before = state().calls.length;
    await d.deploy({ kind: "production" }, { buildWeb: build });
    const again = state().calls.slice(before);
    expect(again.filter((c) => c.includes("create"))).toEqual([]);
    expect(again.filter((c) => c.includes("--secrets-file"))).toEqual([]);
    expect(again.filter((c) => c[0] === "deploy")).toHaveLength(2);
  });

  it("a preview gets its own D1, R2, token worker and pepper, bound in its config; preview:delete removes them and nothing of production", async () => {
    const d = deployer();
    await d.deploy({ kind: "production" }, { buildWeb: build });
    const r = await d.deploy({ kind: "preview", branch: "feature/admin" }, { buildWeb: build });
    let s = state();
    expect(r.url).toBe("https://feature-admin-woxly.example.workers.dev");
    expect(s.d1.map((x) => x.name)).toEqual(["woxly", "woxly-pv-feature-admin"]);
    expect(s.r2).toEqual(["woxly-files", "woxly-files-pv-feature-admin"]);
    expect(s.previews["feature-admin"]).toEqual(["PASSWORD_PEPPER"]);
    expect(Object.keys(s.workers).sort()).toEqual(["woxly", "woxly-token", "woxly-token-pv-feature-admin"]);
    const cfg = s.previewConfigs["feature-admin"]!;
    expect(cfg.d1_databases[0]).toMatchObject({ database_name: "woxly-pv-feature-admin", database_id: "uuid-woxly-pv-feature-admin" });
    expect(cfg.services[0]!.service).toBe("woxly-token-pv-feature-admin");
    // The preview's migrations went to its own database, through its own config.
    const migrate = s.calls.filter((c) => c[1] === "migrations");
    expect(migrate.at(-1)).toEqual(["d1", "migrations", "apply", "DB", "--remote", "-c", path.join(dir, ".wrangler", "deploy", "preview-feature-admin.json")]);
    expect(d1IdInToml(readFileSync(path.join(dir, "wrangler.toml"), "utf8"))).toBe("uuid-woxly");

    d.deletePreview("feature/admin");
    s = state();
    expect(s.d1.map((x) => x.name)).toEqual(["woxly"]);
    expect(s.r2).toEqual(["woxly-files"]);
    expect(Object.keys(s.workers).sort()).toEqual(["woxly", "woxly-token"]);
    expect(s.previews).toEqual({});
  });
});
