#!/usr/bin/env node
// Lists (and with --download copies) every file Woxly keeps in R2, for backups (docs/deploy.md
// "Backups and restore"). wrangler has no "list objects" command, so the list comes from D1,
// which knows every key Woxly writes: attachments (chat, DMs, desks, call chats) and community
// icons. Usage:
//   npm run backup:files -- [--remote] [--out backups/files-<date>.json] [--download <dir>]
//   npm run backup:files -- --restore <dir> [--remote]     (puts the files back, same keys)
// Without --remote it reads `npm start`'s local state (.wrangler/state).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The one query that names every R2 key the app wrote, with what it is. */
export const MANIFEST_SQL =
  "SELECT key, size, content_type AS contentType, filename, 'attachment' AS kind FROM attachments " +
  "UNION ALL SELECT icon_key AS key, NULL AS size, NULL AS contentType, NULL AS filename, 'icon' AS kind FROM communities WHERE icon_key IS NOT NULL " +
  "ORDER BY key";

/** `wrangler d1 execute --json` output → the manifest's files; keys that could leave the folder are refused. */
export function manifestFrom(output) {
  const rows = (typeof output === "string" ? JSON.parse(output) : output).at(-1)?.results ?? [];
  return rows.map((r) => {
    if (typeof r.key !== "string" || r.key.startsWith("/") || r.key.split("/").includes("..")) throw new Error(`unexpected key ${r.key}`);
    return { key: r.key, size: r.size ?? null, contentType: r.contentType ?? null, filename: r.filename ?? null, kind: r.kind };
  });
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

function wrangler(args) {
  const r = spawnSync(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`wrangler ${args.slice(0, 4).join(" ")} failed:\n${r.stderr || r.stdout}`);
  return r.stdout;
}

async function main(argv) {
  const opt = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const remote = argv.includes("--remote");
  const where = remote ? ["--remote"] : ["--local", "--persist-to", opt("--persist-to") ?? path.join(ROOT, ".wrangler", "state")];
  const bucket = opt("--bucket") ?? "woxly-files";
  const restore = opt("--restore");
  if (restore) {
    const manifest = JSON.parse(readFileSync(path.join(restore, "manifest.json"), "utf8"));
    let n = 0;
    for (const f of manifest.files) {
      const file = path.join(restore, f.key);
      if (!existsSync(file)) continue;
      wrangler(["r2", "object", "put", `${bucket}/${f.key}`, "--file", file, ...(f.contentType ? ["--content-type", f.contentType] : []), ...where]);
      n++;
    }
    console.log(`restored ${n} of ${manifest.files.length} files into ${bucket}`);
    return;
  }
  const files = manifestFrom(wrangler(["d1", "execute", "DB", ...where, "--json", "--command", MANIFEST_SQL]));
  const bytes = files.reduce((s, f) => s + (f.size ?? 0), 0);
  const manifest = { bucket, takenAt: new Date().toISOString(), files };
  const dir = opt("--download");
  const out = opt("--out") ?? (dir ? path.join(dir, "manifest.json") : path.join(ROOT, "backups", `files-${manifest.takenAt.slice(0, 10)}.json`));
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(manifest, null, 2));
  console.log(`${files.length} files (${bytes} bytes known) listed in ${path.relative(process.cwd(), out)}`);
  if (dir) {
    for (const f of files) {
      const file = path.join(dir, f.key);
      mkdirSync(path.dirname(file), { recursive: true });
      wrangler(["r2", "object", "get", `${bucket}/${f.key}`, "--file", file, ...where]);
    }
    console.log(`downloaded ${files.length} files into ${dir}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(String(e instanceof Error ? e.message : e));
    process.exit(1);
  });
}
