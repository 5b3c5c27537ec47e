// Seeds a local D1 (before `wrangler dev` starts on it) with what the benchmarks and the chaos
// test need: `userCount` users with live sessions, one community they all belong to (the
// first user owns it) with @everyone holding DEFAULT_EVERYONE, and one text channel.
//
// Registering a thousand users over HTTP would spend minutes in PBKDF2 (100,000 iterations
// each) before a benchmark even starts, so the rows are written with SQL instead: the sessions
// are real (SHA-256 of a random token, as lib/sessions.ts stores them), and the WebSocket
// upgrade checks them exactly as it checks any browser's. The password hashes are unusable
// placeholders: these users cannot log in with a password.
//
// Also `registerUser()`: the real HTTP registration, for tests that want to go through it.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { applyMigrations, wrangler } from "../../scripts/product.mjs";
import { newId } from "../../workers/shared/ids.ts";
import { DEFAULT_EVERYONE } from "../../workers/shared/permissions.ts";

const sqlText = (s) => `'${String(s).replaceAll("'", "''")}'`;
const SESSION_MS = 30 * 24 * 3600 * 1000;

/**
 * Applies the migrations to `persistTo` and writes the rows. Run it before startProduct on the
 * same `persistTo` (startProduct re-applies migrations, which is then a no-op).
 */
export function seedChannel({ persistTo, userCount, prefix = "bench" }) {
  applyMigrations(persistTo);
  const now = Date.now();
  const tag = randomBytes(3).toString("hex");
  const users = [];
  const stmts = [];
  for (let i = 0; i < userCount; i++) {
    const id = newId(now);
    const username = `${prefix}_${tag}_${String(i).padStart(4, "0")}`;
    const token = randomBytes(32).toString("base64url");
    const sessionId = createHash("sha256").update(token).digest("hex");
    users.push({ id, username, cookie: `woxly_session=${token}` });
    stmts.push(
      `INSERT INTO users (id, username, username_key, display_name, password_hash, created_at, password_changed_at) VALUES (${sqlText(id)}, ${sqlText(username)}, ${sqlText(username.toLowerCase())}, ${sqlText(username)}, 'seeded$no-password', ${now}, ${now});`,
      `INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, user_agent) VALUES (${sqlText(sessionId)}, ${sqlText(id)}, ${now}, ${now}, ${now + SESSION_MS}, 'woxly-bench');`,
    );
  }
  const communityId = newId(now);
  const channelId = newId(now);
  const everyoneId = newId(now);
  stmts.push(
    `INSERT INTO communities (id, name, owner_id, created_at) VALUES (${sqlText(communityId)}, ${sqlText(`${prefix} ${tag}`)}, ${sqlText(users[0].id)}, ${now});`,
    `INSERT INTO roles (id, community_id, name, position, permissions, is_everyone, created_at) VALUES (${sqlText(everyoneId)}, ${sqlText(communityId)}, '@everyone', 0, ${sqlText(DEFAULT_EVERYONE.toString())}, 1, ${now});`,
    `INSERT INTO channels (id, community_id, kind, name, position, created_at) VALUES (${sqlText(channelId)}, ${sqlText(communityId)}, 'text', 'general', 0, ${now});`,
  );
  for (const u of users) {
    stmts.push(`INSERT INTO members (community_id, user_id, joined_at) VALUES (${sqlText(communityId)}, ${sqlText(u.id)}, ${now});`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "woxly-seed-"));
  const file = path.join(dir, "seed.sql");
  writeFileSync(file, stmts.join("\n") + "\n");
  try {
    wrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--file", file], { stdio: ["ignore", "ignore", "inherit"] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { communityId, channelId, users };
}

/** Registers a user through the API; returns { id, username, cookie }. */
export async function registerUser(baseUrl, username, password = `pw-${randomBytes(12).toString("hex")}`) {
  const res = await fetch(`${baseUrl}/api/auth/register`, {
    method: "POST",
    headers: { origin: baseUrl, "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${await res.text()}`);
  const body = await res.json();
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .find((c) => c.startsWith("woxly_session="));
  if (!cookie) throw new Error(`register ${username}: no session cookie`);
  return { id: body.user.id, username, cookie };
}
