// The provisioning plan of `npm run deploy`, `npm run deploy:preview` and `npm run preview:delete`
// (docs/deploy.md), as pure functions: given what exists on the Cloudflare account (wrangler's
// own listings) and what the config says, what to create, write, set, apply and deploy. No I/O
// here; scripts/deploy.mjs gathers the listings, runs the steps and re-plans until nothing is
// left to create, so running it again changes only what changed. Tested in scripts/deploy-plan.test.ts.

/** The production names, as wrangler.toml and workers/token/wrangler.toml give them. */
export const PRODUCTION = { api: "woxly", token: "woxly-token", d1: "woxly", r2: "woxly-files" };
/** The all-zero id wrangler.toml ships with: "no database yet". */
export const PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000";

/**
 * A git branch as a preview name: lowercase letters, digits and dashes, at most 32 characters;
 * a branch cut short gets 6 characters of its own hash, so two long branches never share one.
 */
export function previewSlug(branch) {
  const clean = branch.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-+|-+$/g, "") || "preview";
  if (clean.length <= 32) return clean;
  let h = 2166136261;
  for (const ch of branch) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return `${clean.slice(0, 25).replace(/-+$/, "")}-${h.toString(36).padStart(6, "0").slice(-6)}`;
}

/**
 * What a target is called on the account. A preview gets its own D1 database, R2 bucket and
 * token worker, all named after the branch; the api worker stays `woxly`, with `wrangler
 * preview --name <slug>` making the branch's copy (its own Durable Object namespace).
 */
export function namesFor(target) {
  if (target.kind === "production") return { ...PRODUCTION, preview: null };
  const slug = previewSlug(target.branch);
  return { api: PRODUCTION.api, token: `woxly-token-pv-${slug}`, d1: `woxly-pv-${slug}`, r2: `woxly-files-pv-${slug}`, preview: slug };
}

/** `wrangler d1 list --json` → [{ name, uuid }]. */
export function parseD1List(json) {
  const rows = typeof json === "string" ? JSON.parse(json) : json;
  if (!Array.isArray(rows)) throw new Error("wrangler d1 list --json did not answer a list");
  return rows.map((r) => ({ name: String(r.name), uuid: String(r.uuid) }));
}

/** `wrangler r2 bucket list` (text: `name: <bucket>` lines) → bucket names. */
export function parseR2List(text) {
  // eslint-disable-next-line no-control-regex -- wrangler colours its labels with ANSI escapes
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  return [...plain.matchAll(/^name:\s+(\S+)\s*$/gm)].map((m) => m[1]);
}

/** `wrangler secret list --format json` (or `preview secret list --json`) → secret names. */
export function parseSecretList(json) {
  try {
    const rows = typeof json === "string" ? JSON.parse(json) : json;
    return Array.isArray(rows) ? rows.map((r) => String(r.name)) : [];
  } catch {
    return [];
  }
}

/** The `database_id` wrangler.toml has for the D1 binding `binding`, or undefined. */
export function d1IdInToml(toml, binding = "DB") {
  return d1Block(toml, binding)?.text.match(/^\s*database_id\s*=\s*"([^"]*)"/m)?.[1];
}

/** wrangler.toml with the D1 binding `binding`'s `database_id` set to `id`; the rest untouched. */
export function setD1IdInToml(toml, id, binding = "DB") {
  const block = d1Block(toml, binding);
  if (!block) throw new Error(`wrangler.toml has no [[d1_databases]] with binding = "${binding}"`);
  const next = block.text.replace(/^(\s*database_id\s*=\s*)"[^"]*"/m, `$1"${id}"`);
  return toml.slice(0, block.start) + next + toml.slice(block.start + block.text.length);
}

function d1Block(toml, binding) {
  const re = /^\[\[d1_databases\]\][^\n]*\n([\s\S]*?)(?=^\[|(?![\s\S]))/gm;
  for (let m; (m = re.exec(toml)); ) {
    if (new RegExp(`^\\s*binding\\s*=\\s*"${binding}"`, "m").test(m[0])) return { start: m.index, text: m[0] };
  }
  return undefined;
}

/**
 * The plan. `existing`: { d1: [{ name, uuid }], r2: [names], apiSecrets: [names] (the production
 * api worker's, or for a preview the preview's), tokenSecrets: [names] }; `config`: { d1Id }
 * (wrangler.toml's database_id); `env`: { LIVEKIT_URL?, LIVEKIT_API_KEY?, LIVEKIT_API_SECRET? }.
 *
 * Steps, in order:
 *   create-d1 {name}            — `wrangler d1 create`
 *   set-d1-id {name, id}        — production: write the database's id into wrangler.toml
 *                                  (id null: the one just created, read back from `d1 list`)
 *   create-r2 {name}            — `wrangler r2 bucket create`
 *   apply-migrations {name}     — `wrangler d1 migrations apply --remote`
 *   deploy-token {name, secrets, vars}
 *   deploy-api {secrets}        — production: `wrangler deploy` / preview-api {slug, secrets}
 * `secrets` name what goes into the deploy's --secrets-file: "generate" (a new random value:
 * PASSWORD_PEPPER, only when the worker has none — it is never replaced, or every password
 * stops working) or "env" (given in the environment: the LiveKit key and secret, set when given
 * and missing, or always with `rotate`).
 */
export function planDeploy({ target, existing, config = {}, env = {}, rotate = false }) {
  const names = namesFor(target);
  const steps = [];
  const db = existing.d1.find((d) => d.name === names.d1);
  if (!db) steps.push({ op: "create-d1", name: names.d1 });
  if (target.kind === "production") {
    const id = db?.uuid ?? null;
    if (!db || config.d1Id !== id) steps.push({ op: "set-d1-id", name: names.d1, id });
  }
  if (!existing.r2.includes(names.r2)) steps.push({ op: "create-r2", name: names.r2 });
  steps.push({ op: "apply-migrations", name: names.d1 });

  const tokenSecrets = {};
  for (const key of ["LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"]) {
    if (env[key] && (rotate || !existing.tokenSecrets.includes(key))) tokenSecrets[key] = "env";
  }
  const tokenVars = env.LIVEKIT_URL ? { LIVEKIT_URL: env.LIVEKIT_URL } : {};
  steps.push({ op: "deploy-token", name: names.token, secrets: tokenSecrets, vars: tokenVars });

  const apiSecrets = existing.apiSecrets.includes("PASSWORD_PEPPER") ? {} : { PASSWORD_PEPPER: "generate" };
  if (target.kind === "production") steps.push({ op: "deploy-api", secrets: apiSecrets });
  else steps.push({ op: "preview-api", slug: names.preview, secrets: apiSecrets });
  return { names, steps };
}

/**
 * What `npm run preview:delete` removes, of what exists: the preview itself, its token worker,
 * D1 database and R2 bucket. Never anything of production (a production name here is an error).
 */
export function planPreviewDelete({ branch, existing }) {
  const names = namesFor({ kind: "preview", branch });
  for (const n of [names.d1, names.r2, names.token]) {
    if (Object.values(PRODUCTION).includes(n)) throw new Error(`refusing to delete production resource ${n}`);
  }
  const steps = [{ op: "delete-preview", slug: names.preview }];
  if (existing.workers?.includes(names.token) ?? true) steps.push({ op: "delete-worker", name: names.token });
  if (existing.d1.some((d) => d.name === names.d1)) steps.push({ op: "delete-d1", name: names.d1 });
  if (existing.r2.includes(names.r2)) steps.push({ op: "delete-r2", name: names.r2 });
  return { names, steps };
}

/**
 * The config a branch preview deploys with (JSON, for `-c`): wrangler.toml's, with the branch's
 * D1 database, R2 bucket and token worker bound instead of production's — at the top level (for
 * `d1 migrations apply`) and in `previews` (for `wrangler preview`) — paths made absolute, and
 * no cron trigger (production's hourly clean-up is not a preview's business).
 */
export function previewConfig(raw, names, { root, d1Id }) {
  const abs = (p) => (p.startsWith("/") ? p : `${root}/${p}`);
  const d1 = (raw.d1_databases ?? []).map((d) =>
    d.binding === "DB" ? { ...d, database_name: names.d1, database_id: d1Id, migrations_dir: abs(d.migrations_dir ?? "migrations") } : d,
  );
  const r2 = (raw.r2_buckets ?? []).map((b) => (b.binding === "FILES" ? { ...b, bucket_name: names.r2 } : b));
  const services = (raw.services ?? []).map((s) => (s.binding === "TOKEN" ? { ...s, service: names.token } : s));
  const { triggers: _crons, ...rest } = raw;
  return {
    ...rest,
    main: abs(raw.main),
    assets: raw.assets ? { ...raw.assets, directory: abs(raw.assets.directory) } : undefined,
    d1_databases: d1,
    r2_buckets: r2,
    services,
    previews: { ...(raw.previews ?? {}), d1_databases: d1, r2_buckets: r2, services, vars: raw.vars ?? {} },
  };
}

/** The URL wrangler printed for a deploy or preview (the first workers.dev address), or null. */
export function urlFrom(output) {
  return output.match(/https:\/\/[a-z0-9.-]+\.workers\.dev[^\s"'<>)\]}]*/i)?.[0]?.replace(/[,.]+$/, "") ?? null;
}
