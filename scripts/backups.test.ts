/**
 * The files backup (scripts/r2-list.mjs) rehearsed against a local D1 and R2 (wrangler's local
 * mode, nothing remote): list from D1, download, lose the object, restore it, read it back.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { manifestFrom } from "./r2-list.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", env });
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const wrangler = (...args: string[]) => run([path.join(ROOT, "node_modules/wrangler/bin/wrangler.js"), ...args]);

describe("npm run backup:files", () => {
  it("refuses keys that would leave the backup folder", () => {
    expect(() => manifestFrom([{ results: [{ key: "../etc/passwd", kind: "attachment" }] }])).toThrow(/unexpected key/);
    expect(manifestFrom([{ results: [{ key: "icons/c/x", kind: "icon" }] }])).toEqual([{ key: "icons/c/x", size: null, contentType: null, filename: null, kind: "icon" }]);
  });

  it("lists, downloads and restores the files D1 knows (local rehearsal)", { timeout: 120_000 }, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "woxly-r2-"));
    try {
      const local = ["--local", "--persist-to", dir];
      wrangler("d1", "migrations", "apply", "DB", ...local);
      wrangler("d1", "execute", "DB", ...local, "--command",
        "INSERT INTO attachments (id, channel_id, uploader_id, key, filename, content_type, size, created_at) VALUES ('a1','c1','u1','attachments/c1/a1','hello.txt','text/plain',6,1)");
      writeFileSync(path.join(dir, "hello.txt"), "hello\n");
      wrangler("r2", "object", "put", "woxly-files/attachments/c1/a1", "--file", path.join(dir, "hello.txt"), ...local);

      const backup = path.join(dir, "backup");
      run(["scripts/r2-list.mjs", "--persist-to", dir, "--download", backup]);
      const manifest = JSON.parse(readFileSync(path.join(backup, "manifest.json"), "utf8"));
      expect(manifest.files).toEqual([{ key: "attachments/c1/a1", size: 6, contentType: "text/plain", filename: "hello.txt", kind: "attachment" }]);
      expect(readFileSync(path.join(backup, "attachments/c1/a1"), "utf8")).toBe("hello\n");

      wrangler("r2", "object", "delete", "woxly-files/attachments/c1/a1", ...local);
      run(["scripts/r2-list.mjs", "--persist-to", dir, "--restore", backup]);
      expect(wrangler("r2", "object", "get", "woxly-files/attachments/c1/a1", "--pipe", ...local)).toBe("hello\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a D1 export (the nightly backup of docs/deploy.md) restores into an empty database (local rehearsal)", { timeout: 120_000 }, () => {
    // `d1 export --local` reads the default local state of the directory it runs in.
    const a = mkdtempSync(path.join(os.tmpdir(), "woxly-d1-a-"));
    const b = mkdtempSync(path.join(os.tmpdir(), "woxly-d1-b-"));
    try {
      cpSync(path.join(ROOT, "wrangler.toml"), path.join(a, "wrangler.toml"));
      cpSync(path.join(ROOT, "migrations"), path.join(a, "migrations"), { recursive: true });
      const inA = (...args: string[]) => wrangler("--cwd", a, ...args);
      inA("d1", "migrations", "apply", "DB", "--local");
      inA("d1", "execute", "DB", "--local", "--command",
        "INSERT INTO users (id, username, username_key, display_name, password_hash, created_at, password_changed_at, instance_role) VALUES ('u1','Owner','owner','Owner','x',1,1,'owner')");
      const dump = path.join(a, "backup.sql");
      inA("d1", "export", "DB", "--local", "--output", dump, "-y");
      wrangler("d1", "execute", "DB", "--local", "--persist-to", b, "--file", dump, "-y");
      const out = JSON.parse(wrangler("d1", "execute", "DB", "--local", "--persist-to", b, "--json", "--command", "SELECT username, instance_role AS role FROM users; SELECT count(*) AS n FROM d1_migrations"));
      expect(out[0].results).toEqual([{ username: "Owner", role: "owner" }]);
      // The migrations table came along, so `d1 migrations apply` on the restored copy adds only newer ones.
      expect(out[1].results[0].n).toBeGreaterThan(0);
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });
});
