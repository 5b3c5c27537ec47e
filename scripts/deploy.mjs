// `npm run deploy`, `npm run deploy:preview` and `npm run preview:delete` (docs/deploy.md): list
// what the Cloudflare account has with wrangler, plan (scripts/deploy-plan.mjs, pure and
// tested), create what is missing, and re-plan until nothing is left to create; then migrate
// and deploy. Running it again changes only what changed. Needs `npx wrangler login` (or
// CLOUDFLARE_API_TOKEN + CLOUDFLARE_ACCOUNT_ID in CI).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  d1IdInToml,
  namesFor,
  parseD1List,
  parseR2List,
  parseSecretList,
  planDeploy,
  planPreviewDelete,
  previewConfig,
  setD1IdInToml,
  urlFrom,
} from "./deploy-plan.mjs";

export function makeDeployer({ root, wranglerJs, say, env = process.env }) {
  const out = path.join(root, ".wrangler", "deploy");
  mkdirSync(out, { recursive: true });

  /** Runs wrangler; `echo` prints its output as it would, and it is returned either way. */
  function w(args, { allowFail = false, echo = true } = {}) {
    const r = spawnSync(process.execPath, [wranglerJs, ...args], {
      cwd: root,
      encoding: "utf8",
      env: { ...env, WRANGLER_SEND_METRICS: "false" },
      stdio: ["inherit", "pipe", "pipe"],
      maxBuffer: 64 * 1024 * 1024,
    });
    if (echo) {
      process.stdout.write(r.stdout ?? "");
      process.stderr.write(r.stderr ?? "");
    }
    if (r.status !== 0 && !allowFail) {
      if (!echo) process.stderr.write(r.stderr ?? "");
      throw new Error(`wrangler ${args.join(" ")} failed (exit ${r.status})`);
    }
    return { ok: r.status === 0, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }

  /** A --secrets-file for one deploy (0600, removed after); null when there is nothing to set. */
  function secretsFile(secrets, label) {
    const values = {};
    for (const [name, source] of Object.entries(secrets)) {
      if (source === "generate") {
        values[name] = randomBytes(32).toString("base64");
        // The pepper cannot be read back from Cloudflare; losing it means every password stops working.
        const backup = path.join(out, `${name}.${label}.txt`);
        writeFileSync(backup, `${values[name]}\n`, { mode: 0o600 });
        say(`generated ${name}; a copy is in ${path.relative(root, backup)} — store it somewhere safe (a password manager)`);
      } else {
        values[name] = env[name];
      }
    }
    if (!Object.keys(values).length) return null;
    const file = path.join(os.tmpdir(), `woxly-secrets-${process.pid}-${label}.json`);
    writeFileSync(file, JSON.stringify(values), { mode: 0o600 });
    chmodSync(file, 0o600);
    return file;
  }

  function existing(names, target) {
    const d1 = w(["d1", "list", "--json"], { echo: false });
    const r2 = w(["r2", "bucket", "list"], { echo: false });
    const apiSecrets =
      target.kind === "production"
        ? parseSecretList(w(["secret", "list", "--format", "json"], { allowFail: true, echo: false }).stdout)
        : parseSecretList(w(["preview", "secret", "list", "--name", names.preview, "--json"], { allowFail: true, echo: false }).stdout);
    const tokenSecrets = parseSecretList(
      w(["secret", "list", "--format", "json", "--name", names.token, "-c", "workers/token/wrangler.toml"], { allowFail: true, echo: false }).stdout,
    );
    return { d1: parseD1List(d1.stdout), r2: parseR2List(r2.stdout), apiSecrets, tokenSecrets };
  }

  const tomlPath = path.join(root, "wrangler.toml");
  const readToml = () => readFileSync(tomlPath, "utf8");

  async function deploy(target, { rotate = false, buildWeb }) {
    const envGiven = { LIVEKIT_URL: env.LIVEKIT_URL, LIVEKIT_API_KEY: env.LIVEKIT_API_KEY, LIVEKIT_API_SECRET: env.LIVEKIT_API_SECRET };
    let plan;
    let state;
    // Create what is missing, then look again: the next plan must create nothing.
    for (let round = 0; ; round++) {
      state = existing(namesFor(target), target);
      plan = planDeploy({ target, existing: state, config: { d1Id: d1IdInToml(readToml()) }, env: envGiven, rotate });
      const creating = plan.steps.filter((s) => s.op === "create-d1" || s.op === "create-r2" || s.op === "set-d1-id");
      if (!creating.length) break;
      if (round >= 2) throw new Error(`still missing after creating: ${creating.map((s) => s.op).join(", ")}`);
      for (const s of creating) {
        if (s.op === "create-d1") {
          say(`creating D1 database ${s.name}`);
          w(["d1", "create", s.name]);
        } else if (s.op === "create-r2") {
          say(`creating R2 bucket ${s.name}`);
          w(["r2", "bucket", "create", s.name]);
        } else if (s.op === "set-d1-id" && s.id) {
          say(`writing database_id ${s.id} into wrangler.toml`);
          writeFileSync(tomlPath, setD1IdInToml(readToml(), s.id));
        }
      }
    }
    say(`plan: ${plan.steps.map((s) => s.op).join(" → ")}`);
    buildWeb();
    const { names } = plan;
    let previewConfigPath = null;
    if (target.kind === "preview") {
      const { experimental_readRawConfig } = await import("wrangler");
      const raw = experimental_readRawConfig({ config: tomlPath }).rawConfig;
      const d1Id = state.d1.find((d) => d.name === names.d1)?.uuid;
      previewConfigPath = path.join(out, `preview-${names.preview}.json`);
      writeFileSync(previewConfigPath, JSON.stringify(previewConfig(raw, names, { root, d1Id }), null, 2));
    }
    let url = null;
    for (const s of plan.steps) {
      if (s.op === "apply-migrations") {
        say(`applying migrations to ${s.name}`);
        w(["d1", "migrations", "apply", "DB", "--remote", ...(previewConfigPath ? ["-c", previewConfigPath] : [])]);
      } else if (s.op === "deploy-token") {
        const file = secretsFile(s.secrets, names.token);
        try {
          w([
            "deploy",
            "-c",
            "workers/token/wrangler.toml",
            ...(target.kind === "preview" ? ["--name", s.name] : []),
            ...Object.entries(s.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
            ...(file ? ["--secrets-file", file] : []),
          ]);
        } finally {
          if (file) rmSync(file, { force: true });
        }
      } else if (s.op === "deploy-api" || s.op === "preview-api") {
        const file = secretsFile(s.secrets, s.op === "deploy-api" ? names.api : `${names.api}-pv-${names.preview}`);
        try {
          const r =
            s.op === "deploy-api"
              ? w(["deploy", ...(file ? ["--secrets-file", file] : [])])
              : w(["preview", "--name", s.slug, "-c", previewConfigPath, "--ignore-base-config", ...(file ? ["--secrets-file", file] : [])]);
          url = urlFrom(r.stdout + r.stderr);
        } finally {
          if (file) rmSync(file, { force: true });
        }
      }
    }
    say(url ? `Woxly is live at ${url}` : "deployed; wrangler printed the URL above");
    // In GitHub Actions, the URL is a step output (.github/workflows/deploy.yml posts it on the pull request).
    if (url && env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, `url=${url}\n`);
    return { plan, url };
  }

  function deletePreview(branch) {
    const d1 = parseD1List(w(["d1", "list", "--json"], { echo: false }).stdout);
    const r2 = parseR2List(w(["r2", "bucket", "list"], { echo: false }).stdout);
    const plan = planPreviewDelete({ branch, existing: { d1, r2 } });
    for (const s of plan.steps) {
      if (s.op === "delete-preview") w(["preview", "delete", "--name", s.slug, "-y"], { allowFail: true });
      else if (s.op === "delete-worker") w(["delete", "--name", s.name, "--force"], { allowFail: true });
      else if (s.op === "delete-d1") w(["d1", "delete", s.name, "-y"]);
      else if (s.op === "delete-r2") {
        // R2 deletes only empty buckets: if files remain, expire them all and come back tomorrow.
        if (!w(["r2", "bucket", "delete", s.name], { allowFail: true }).ok) {
          w(["r2", "bucket", "lifecycle", "add", s.name, "expire-all", "", "--expire-days", "1", "-y"], { allowFail: true });
          say(`bucket ${s.name} still has files: they expire within a day; run npm run preview:delete again then`);
        }
      }
    }
    say(`preview ${plan.names.preview} removed`);
    return plan;
  }

  return { deploy, deletePreview };
}
