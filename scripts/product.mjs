// Starts and stops the whole product on one machine: local D1 migrations, wrangler dev with
// the api worker (pages + API + Durable Objects) and the token worker, and a livekit-server
// in dev mode on loopback. Used by `npm start` and by the end-to-end test harness.
// Plain ESM JavaScript that also runs on Node 20, so it can bootstrap Node 24 first.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const LIVEKIT_VERSION = "v1.13.5";
const WRANGLER = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const VITE = path.join(ROOT, "node_modules", "vite", "bin", "vite.js");

/** Environment for wrangler: no calls to Cloudflare hosts (there may be no internet). */
export const QUIET_ENV = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_UPDATE_NOTIFIER: "1" };

export function say(msg) {
  process.stderr.write(`[woxly] ${msg}\n`);
}

export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: "inherit", ...opts, env: { ...process.env, ...QUIET_ENV, ...(opts.env ?? {}) } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status ?? r.signal}`);
}

export function wrangler(args, opts = {}) {
  run(process.execPath, [WRANGLER, ...args], opts);
}

/** Local secrets for development, created once with a random pepper; never committed. */
export function ensureDevVars() {
  const api = path.join(ROOT, ".dev.vars");
  if (!existsSync(api)) {
    const pepper = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    writeFileSync(api, `PASSWORD_PEPPER=${pepper}\n`);
    say("created .dev.vars with a random PASSWORD_PEPPER");
  }
}

export function writeTokenDevVars(livekitUrl) {
  writeFileSync(
    path.join(ROOT, "workers", "token", ".dev.vars"),
    `LIVEKIT_URL=${livekitUrl}\nLIVEKIT_API_KEY=devkey\nLIVEKIT_API_SECRET=secret\n`,
  );
}

export function buildWeb() {
  say("building the web app (vite build)");
  const t = Date.now();
  run(process.execPath, [VITE, "build", "--logLevel", "warn"], { cwd: path.join(ROOT, "web") });
  // The embeddable widget (/widget.js, /widget-panel/*) into the directory the kit build just made.
  run(process.execPath, [path.join(ROOT, "web", "widget", "build.mjs")]);
  say(`web app built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

export function applyMigrations(persistTo) {
  wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], { stdio: ["ignore", "ignore", "inherit"] });
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function portIsFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** Where a livekit-server binary may be: PATH, the project's .tools/bin, the shared cache. */
export function findLivekit() {
  const candidates = [
    process.env.LIVEKIT_SERVER_BIN,
    path.join(ROOT, ".tools", "bin", "livekit-server"),
    path.join(os.homedir(), ".cache", "woxly", "bin", "livekit-server"),
    path.join(os.homedir(), ".cache", "woxly", "bin", "server"),
  ].filter(Boolean);
  for (const c of candidates) if (existsSync(c)) return c;
  const which = spawnSync("sh", ["-c", "command -v livekit-server"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  return undefined;
}

function goVersionOk() {
  const r = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8" });
  if (r.status !== 0) return false;
  const m = /go(\d+)\.(\d+)/.exec(r.stdout);
  return Boolean(m && (Number(m[1]) > 1 || Number(m[2]) >= 26));
}

/**
 * Builds livekit-server with `go install` into ~/.cache/woxly/bin when Go >= 1.26 is
 * present. Takes a few minutes the first time; the result is reused by every later run.
 */
export function installLivekit() {
  if (!goVersionOk()) return undefined;
  const bin = path.join(os.homedir(), ".cache", "woxly", "bin");
  mkdirSync(bin, { recursive: true });
  say(`building livekit-server ${LIVEKIT_VERSION} with go install (first time only; a few minutes)…`);
  const t = Date.now();
  run("go", ["install", `github.com/livekit/livekit-server/cmd/server@${LIVEKIT_VERSION}`], {
    env: { GOBIN: bin, GOTOOLCHAIN: "local" },
  });
  say(`livekit-server built in ${Math.round((Date.now() - t) / 1000)} s`);
  return findLivekit();
}

function startChild(name, cmd, args, opts = {}) {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    detached: true, // own process group, so stop() also ends workerd under wrangler
    stdio: opts.stdio ?? ["ignore", "inherit", "inherit"],
    env: { ...process.env, ...QUIET_ENV, ...(opts.env ?? {}) },
  });
  child.on("exit", (code, signal) => {
    if (!child.stopping) say(`${name} exited (${code ?? signal})`);
  });
  return child;
}

export function stopChild(child) {
  if (!child || child.exitCode !== null) return Promise.resolve();
  child.stopping = true;
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      resolve();
      return;
    }
    setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, 3000).unref();
  });
}

async function waitFor(url, timeoutMs, isDead) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (isDead?.()) throw new Error(`process died before ${url} answered`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/**
 * Starts `wrangler dev` for `configs` on 127.0.0.1:`port` with its state in `persistTo`, in its
 * own process group (stopChild ends workerd too); resolves with the child once `/api/health`
 * answers.
 */
export async function startWranglerDev({ name = "wrangler dev", configs, port, persistTo, quiet = false, vars = {}, inspectorPort, env = {} }) {
  const args = [
    WRANGLER, "dev",
    ...configs.flatMap((c) => ["-c", c]),
    "--port", String(port), "--ip", "127.0.0.1",
    "--persist-to", persistTo,
    "--show-interactive-dev-session=false",
    "--log-level", quiet ? "error" : "info",
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ...(inspectorPort ? ["--inspector-port", String(inspectorPort)] : []),
  ];
  const child = startChild(name, process.execPath, args, { stdio: ["ignore", quiet ? "ignore" : "inherit", "inherit"], env });
  await waitFor(`http://127.0.0.1:${port}/api/health`, 60_000, () => child.exitCode !== null);
  return child;
}

/**
 * Starts LiveKit (unless `livekit: false` or LIVEKIT_URL points elsewhere) and wrangler dev;
 * `vars` ({ NAME: "value" }) override wrangler.toml's [vars] (`wrangler dev --var NAME:value`).
 * `localTraces: false` turns off wrangler dev's local trace store ([observability] in
 * wrangler.toml makes it record every invocation into a SQLite Durable Object in the same
 * workerd: ~1 fsync and ~17 page writes per chat message, none of which production or the
 * benchmark's workerd floor has); the benchmarks run without it.
 * Returns { url, livekitUrl, stop, restartWorkers(kill9) }.
 */
export async function startProduct({
  port = 8787,
  persistTo = path.join(ROOT, ".wrangler", "state"),
  livekit = true,
  requireLivekit = false,
  quiet = false,
  build = true,
  vars = {},
  inspectorPort,
  localTraces = true,
} = {}) {
  ensureDevVars();
  if (build) buildWeb();
  mkdirSync(persistTo, { recursive: true });
  applyMigrations(persistTo);

  let lk;
  let livekitUrl = process.env.LIVEKIT_URL;
  if (livekit && !livekitUrl) {
    let bin = findLivekit();
    if (!bin && process.env.WOXLY_BUILD_LIVEKIT !== "0") bin = installLivekit();
    if (!bin) {
      const msg = "livekit-server not found (PATH, .tools/bin, ~/.cache/woxly/bin) and Go >= 1.26 is missing to build it";
      if (requireLivekit) throw new Error(msg);
      say(`${msg}: text chat works; voice will say LiveKit is missing.`);
    } else {
      let lkPort = 7880;
      if (!(await portIsFree(lkPort)) || !(await portIsFree(7881))) lkPort = await freePort();
      const tcp = lkPort === 7880 ? 7881 : await freePort();
      const udp = lkPort === 7880 ? 7882 : await freePort();
      // Webhooks (signed with the dev key) keep the communities' voice states: /api/livekit/webhook.
      const webhook = `webhook:\n  api_key: devkey\n  urls:\n    - http://127.0.0.1:${port}/api/livekit/webhook\n`;
      const config = `port: ${lkPort}\nrtc:\n  tcp_port: ${tcp}\n  udp_port: ${udp}\n${webhook}`;
      // Its debug log is long; it goes to a file beside the local state.
      const logFd = openSync(path.join(persistTo, "livekit.log"), "a");
      lk = startChild("livekit-server", bin, ["--dev", "--bind", "127.0.0.1", "--node-ip", "127.0.0.1", "--config-body", config], {
        stdio: ["ignore", logFd, logFd],
      });
      closeSync(logFd);
      livekitUrl = `ws://127.0.0.1:${lkPort}`;
      await waitFor(`http://127.0.0.1:${lkPort}/`, 20_000, () => lk.exitCode !== null);
      say(`livekit-server (dev) on ${livekitUrl}, log in ${path.join(persistTo, "livekit.log")}`);
    }
  }
  writeTokenDevVars(livekitUrl ?? "");

  const configs = ["wrangler.toml", "workers/token/wrangler.toml"];
  let wr;
  const startWorkers = async () => {
    wr = await startWranglerDev({ configs, port, persistTo, quiet, vars, inspectorPort, env: localTraces ? {} : { X_LOCAL_OBSERVABILITY: "false" } });
  };
  await startWorkers();

  return {
    url: `http://localhost:${port}`,
    livekitUrl,
    persistTo,
    /** Kills the workers (SIGKILL with `hard`) and starts them again on the same state. */
    async restartWorkers({ hard = false } = {}) {
      if (hard) {
        try {
          process.kill(-wr.pid, "SIGKILL");
        } catch {}
        await new Promise((r) => (wr.exitCode !== null ? r() : wr.once("exit", r)));
      } else await stopChild(wr);
      await startWorkers();
    },
    async stop() {
      await Promise.all([stopChild(wr), stopChild(lk)]);
    },
  };
}

export function readJson(p) {
  return JSON.parse(readFileSync(p, "utf8"));
}
