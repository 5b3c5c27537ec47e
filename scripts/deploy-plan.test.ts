/**
 * The provisioning plan (scripts/deploy-plan.mjs) against fixtures of wrangler 4.155's own
 * output (scripts/fixtures/): a first deploy on an empty account, a second run that changes
 * nothing, a config whose id is stale, LiveKit secrets given or not, branch previews with their
 * own names, and preview deletion that can never touch production. No Cloudflare account.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  PLACEHOLDER_ID,
  d1IdInToml,
  namesFor,
  parseD1List,
  parseR2List,
  parseSecretList,
  planDeploy,
  planPreviewDelete,
  previewConfig,
  previewSlug,
  setD1IdInToml,
  urlFrom,
} from "./deploy-plan.mjs";

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, "fixtures", name), "utf8");
const ROOT = path.resolve(import.meta.dirname, "..");
const d1 = parseD1List(fixture("d1-list.json"));
const r2 = parseR2List(fixture("r2-bucket-list.txt"));
const apiSecrets = parseSecretList(fixture("secret-list-api.json"));
const tokenSecrets = parseSecretList(fixture("secret-list-token.json"));
const PROD = { kind: "production" as const };
const ops = (p: { steps: { op: string }[] }) => p.steps.map((s) => s.op);

describe("wrangler's output", () => {
  it("parses d1 list --json, r2 bucket list (coloured text) and secret list --format json", () => {
    expect(d1.map((d) => d.name)).toEqual(["woxly", "woxly-pv-feature-admin", "someone-elses-db"]);
    expect(r2).toEqual(["woxly-files", "photos"]);
    expect(apiSecrets).toEqual(["PASSWORD_PEPPER"]);
    expect(tokenSecrets).toEqual(["LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"]);
    // A worker that does not exist yet: wrangler prints an error, not JSON.
    expect(parseSecretList("✘ [ERROR] This Worker does not exist on your account.")).toEqual([]);
  });

  it("reads and writes database_id in wrangler.toml, touching nothing else", () => {
    const toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
    expect(d1IdInToml(toml)).toBeDefined();
    const next = setD1IdInToml(toml, d1[0]!.uuid);
    expect(d1IdInToml(next)).toBe(d1[0]!.uuid);
    expect(next.replace(d1[0]!.uuid, d1IdInToml(toml)!)).toBe(toml);
    expect(() => setD1IdInToml(toml, "x", "NOPE")).toThrow(/no \[\[d1_databases\]\]/);
  });

  it("finds the URL wrangler printed", () => {
    expect(urlFrom("Uploaded woxly (4.2 sec)\nDeployed woxly triggers (0.5 sec)\n  https://woxly.example.workers.dev\nCurrent Version ID: x")).toBe(
      "https://woxly.example.workers.dev",
    );
    expect(urlFrom("nothing here")).toBeNull();
  });
});

describe("npm run deploy: the plan", () => {
  it("on an empty account: creates D1 and R2, writes the id, generates the pepper, sets LiveKit when given, migrates, deploys both", () => {
    const p = planDeploy({
      target: PROD,
      existing: { d1: [], r2: [], apiSecrets: [], tokenSecrets: [] },
      config: { d1Id: PLACEHOLDER_ID },
      env: { LIVEKIT_URL: "wss://x.livekit.cloud", LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "s" },
    });
    expect(p.steps).toEqual([
      { op: "create-d1", name: "woxly" },
      { op: "set-d1-id", name: "woxly", id: null },
      { op: "create-r2", name: "woxly-files" },
      { op: "apply-migrations", name: "woxly" },
      { op: "deploy-token", name: "woxly-token", secrets: { LIVEKIT_API_KEY: "env", LIVEKIT_API_SECRET: "env" }, vars: { LIVEKIT_URL: "wss://x.livekit.cloud" } },
      { op: "deploy-api", secrets: { PASSWORD_PEPPER: "generate" } },
    ]);
  });

  it("run again with everything in place: creates nothing, sets no secret, only migrates and deploys", () => {
    const p = planDeploy({ target: PROD, existing: { d1, r2, apiSecrets, tokenSecrets }, config: { d1Id: d1[0]!.uuid }, env: { LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "s" } });
    expect(ops(p)).toEqual(["apply-migrations", "deploy-token", "deploy-api"]);
    expect(p.steps.find((s) => s.op === "deploy-api")).toMatchObject({ secrets: {} });
    expect(p.steps.find((s) => s.op === "deploy-token")).toMatchObject({ secrets: {}, vars: {} });
  });

  it("the database exists but the config has another id (a fresh clone): writes the existing id, creates nothing", () => {
    const p = planDeploy({ target: PROD, existing: { d1, r2, apiSecrets, tokenSecrets }, config: { d1Id: PLACEHOLDER_ID } });
    expect(p.steps[0]).toEqual({ op: "set-d1-id", name: "woxly", id: d1[0]!.uuid });
    expect(ops(p)).not.toContain("create-d1");
  });

  it("never replaces an existing PASSWORD_PEPPER; LiveKit secrets only when given, and again only with rotate", () => {
    const existing = { d1, r2, apiSecrets, tokenSecrets };
    const rotate = planDeploy({ target: PROD, existing, config: { d1Id: d1[0]!.uuid }, env: { LIVEKIT_API_KEY: "k2", LIVEKIT_API_SECRET: "s2" }, rotate: true });
    expect(rotate.steps.find((s) => s.op === "deploy-token")).toMatchObject({ secrets: { LIVEKIT_API_KEY: "env", LIVEKIT_API_SECRET: "env" } });
    expect(rotate.steps.find((s) => s.op === "deploy-api")).toMatchObject({ secrets: {} });
    const none = planDeploy({ target: PROD, existing: { ...existing, tokenSecrets: [] }, config: { d1Id: d1[0]!.uuid } });
    expect(none.steps.find((s) => s.op === "deploy-token")).toMatchObject({ secrets: {} });
  });

  it("a plan applied reaches a fixed point: after its creations, the next plan creates nothing", () => {
    const existing = { d1: [] as { name: string; uuid: string }[], r2: [] as string[], apiSecrets: [] as string[], tokenSecrets: [] as string[] };
    let config = { d1Id: PLACEHOLDER_ID };
    for (let round = 0; round < 3; round++) {
      const p = planDeploy({ target: PROD, existing, config });
      for (const s of p.steps as { op: string; name?: string; id?: string | null; secrets?: Record<string, string> }[]) {
        if (s.op === "create-d1") existing.d1.push({ name: s.name!, uuid: "new-uuid" });
        if (s.op === "set-d1-id") config = { d1Id: s.id ?? "new-uuid" };
        if (s.op === "create-r2") existing.r2.push(s.name!);
        if (s.op === "deploy-api") existing.apiSecrets.push(...Object.keys(s.secrets ?? {}));
      }
    }
    const last = planDeploy({ target: PROD, existing, config });
    expect(ops(last)).toEqual(["apply-migrations", "deploy-token", "deploy-api"]);
    expect(config.d1Id).toBe("new-uuid");
  });
});

describe("previews per branch", () => {
  it("names: branch-safe, ≤ 32 chars, distinct for long branches that share a start", () => {
    expect(previewSlug("feature/Admin_Page")).toBe("feature-admin-page");
    expect(previewSlug("---")).toBe("preview");
    const a = previewSlug("feature/a-very-long-branch-name-about-the-admin-page-one");
    const b = previewSlug("feature/a-very-long-branch-name-about-the-admin-page-two");
    expect(a.length).toBeLessThanOrEqual(32);
    expect(a).not.toBe(b);
    expect(namesFor({ kind: "preview", branch: "feature/admin" })).toEqual({
      api: "woxly",
      token: "woxly-token-pv-feature-admin",
      d1: "woxly-pv-feature-admin",
      r2: "woxly-files-pv-feature-admin",
      preview: "feature-admin",
    });
    // R2 bucket names: 3–63 of a-z 0-9 -; worker names ≤ 63.
    const long = namesFor({ kind: "preview", branch: "x".repeat(200) });
    for (const n of [long.r2, long.token, long.d1]) expect(n).toMatch(/^[a-z0-9-]{3,63}$/);
  });

  it("a first preview creates the branch's own D1 and R2, never touches wrangler.toml, and gives the preview a pepper", () => {
    const p = planDeploy({ target: { kind: "preview", branch: "fix/login" }, existing: { d1, r2, apiSecrets: [], tokenSecrets: [] }, config: { d1Id: d1[0]!.uuid } });
    expect(ops(p)).toEqual(["create-d1", "create-r2", "apply-migrations", "deploy-token", "preview-api"]);
    expect(p.steps[0]).toEqual({ op: "create-d1", name: "woxly-pv-fix-login" });
    expect(p.steps.at(-1)).toEqual({ op: "preview-api", slug: "fix-login", secrets: { PASSWORD_PEPPER: "generate" } });
    expect(JSON.stringify(p)).not.toMatch(/"woxly-files"|"name":"woxly"[,}]/);
  });

  it("a preview that exists: migrates and redeploys only", () => {
    const p = planDeploy({
      target: { kind: "preview", branch: "feature/admin" },
      existing: { d1, r2: [...r2, "woxly-files-pv-feature-admin"], apiSecrets: ["PASSWORD_PEPPER"], tokenSecrets: [] },
    });
    expect(ops(p)).toEqual(["apply-migrations", "deploy-token", "preview-api"]);
  });

  it("its config binds the branch's D1, R2 and token worker, top level and in previews, with no cron", () => {
    const raw = {
      name: "woxly",
      main: "workers/api/src/index.ts",
      assets: { directory: "web/.svelte-kit/cloudflare", binding: "ASSETS" },
      triggers: { crons: ["17 * * * *"] },
      vars: { ALLOWED_ORIGINS: "" },
      d1_databases: [{ binding: "DB", database_name: "woxly", database_id: d1[0]!.uuid, migrations_dir: "migrations" }],
      r2_buckets: [{ binding: "FILES", bucket_name: "woxly-files" }],
      services: [{ binding: "TOKEN", service: "woxly-token" }],
    };
    const names = namesFor({ kind: "preview", branch: "feature/admin" });
    const c = previewConfig(raw, names, { root: "/repo", d1Id: d1[1]!.uuid });
    expect(c.name).toBe("woxly");
    expect(c.main).toBe("/repo/workers/api/src/index.ts");
    expect(c.assets?.directory).toBe("/repo/web/.svelte-kit/cloudflare");
    expect("triggers" in c).toBe(false);
    for (const where of [c, c.previews]) {
      expect(where.d1_databases).toEqual([{ binding: "DB", database_name: "woxly-pv-feature-admin", database_id: d1[1]!.uuid, migrations_dir: "/repo/migrations" }]);
      expect(where.r2_buckets).toEqual([{ binding: "FILES", bucket_name: "woxly-files-pv-feature-admin" }]);
      expect(where.services).toEqual([{ binding: "TOKEN", service: "woxly-token-pv-feature-admin" }]);
    }
    // The source config is left as it was.
    expect(raw.d1_databases[0]!.database_name).toBe("woxly");
  });

  it("preview:delete removes the preview, its token worker, D1 and R2 — and only what exists", () => {
    const p = planPreviewDelete({ branch: "feature/admin", existing: { d1, r2: [], workers: ["woxly", "woxly-token-pv-feature-admin"] } });
    expect(p.steps).toEqual([
      { op: "delete-preview", slug: "feature-admin" },
      { op: "delete-worker", name: "woxly-token-pv-feature-admin" },
      { op: "delete-d1", name: "woxly-pv-feature-admin" },
    ]);
    for (const s of p.steps as { name?: string }[]) expect(["woxly", "woxly-files", "woxly-token"]).not.toContain(s.name);
  });
});

describe(".github/workflows/deploy.yml", () => {
  const workflow = readFileSync(path.join(ROOT, ".github", "workflows", "deploy.yml"), "utf8");
  const docs = readFileSync(path.join(ROOT, "docs", "deploy.md"), "utf8");
  const scripts = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;

  it("previews pull requests, deletes them on close, deploys production from main after the tests", () => {
    expect(workflow).toMatch(/pull_request:\s*\n\s*types: \[opened, synchronize, reopened, closed\]/);
    expect(workflow).toMatch(/run: npm run deploy:preview/);
    expect(workflow).toMatch(/run: npm run preview:delete/);
    expect(workflow).toMatch(/needs: test[\s\S]*run: npm run deploy\n/);
    expect(workflow).toContain("WOXLY_PREVIEW_BRANCH: ${{ github.head_ref }}");
  });

  it("runs only npm scripts that exist, and every secret it uses is documented in docs/deploy.md", () => {
    for (const [, name] of workflow.matchAll(/npm run ([\w:-]+)/g)) expect(scripts, name).toHaveProperty(name!);
    const secrets = new Set([...workflow.matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]!));
    expect([...secrets].sort()).toEqual(["CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "LIVEKIT_URL"]);
    for (const s of secrets) expect(docs).toContain(`\`${s}\``);
  });
});
