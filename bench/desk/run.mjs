// Support desk benchmarks, on this machine over loopback only: (a) the time from a visitor's
// "Talk to a manager" to the manager's panel showing the request (p50/p95 over 30 runs),
// beside the floor of the same kind of event measured in the same run (bench/desk/request-to-panel.mjs),
// and (b) the widget's weight: the launcher gzipped against its 15 KB goal and the panel's
// bytes (bench/desk/widget-weight.mjs). `npm run bench` runs it after the voice benchmarks;
// alone:
//
//   node bench/desk/run.mjs [--quick] [--runs 30] [--warmup 3] [--skip latency,weight]
//        [--out bench/results/desk-latest.json] [--no-docs] [--date YYYY-MM-DD] [--machine "2 vCPU, 24 GB"]
//        [--commit <what the run measured, when not this checkout's HEAD>] [--docs-file docs/benchmarks.md]
//   node bench/desk/run.mjs --from bench/results/desk-latest.json   (measures nothing: writes that run into the docs again)
//
// It starts the product (wrangler dev, no LiveKit: a queue needs none) on a fresh temporary
// state with two members and a community (bench/lib/seed.mjs), a desk and its visitors
// (seedDesk) written into D1 first, prints tables, writes JSON and puts the run under
// "## Support desk" in docs/benchmarks.md (replacing the run there). Do not edit the tree while
// it runs: `wrangler dev` reloads the workers on every change and drops the sockets measured.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { ROOT, buildWeb, freePort, say, startProduct, wrangler } from "../../scripts/product.mjs";
import { newId, randomToken } from "../../workers/shared/ids.ts";
import { seedChannel } from "../lib/seed.mjs";
import { launch } from "../voice/browser.mjs";
import { call, requestToPanel } from "./request-to-panel.mjs";

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    runs: { type: "string" },
    warmup: { type: "string" },
    skip: { type: "string", default: "" },
    out: { type: "string", default: path.join(ROOT, "bench", "results", "desk-latest.json") },
    "no-docs": { type: "boolean", default: false },
    "docs-file": { type: "string", default: path.join(ROOT, "docs", "benchmarks.md") },
    date: { type: "string" },
    machine: { type: "string" },
    commit: { type: "string" },
    from: { type: "string" },
  },
});
const quick = flags.quick;
const runs = Number(flags.runs ?? (quick ? 10 : 30));
const warmup = Number(flags.warmup ?? 3);
const skip = new Set(flags.skip.split(",").filter(Boolean));
/** The website the visitors are on (an origin the desk allows; nothing is served there). */
const SITE = "http://127.0.0.1:9";

const cleanups = [];
async function cleanup() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch {}
  }
}
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    await cleanup();
    process.exit(130);
  });
}

const ms = (v) => (v === null || v === undefined ? "—" : v === Infinity || v === "Infinity" ? "∞" : `${Math.round(v)} ms`);
const ratio = (a, b) => (typeof a === "number" && typeof b === "number" && b > 0 ? `${(a / b).toFixed(2)}×` : "—");
const kb = (bytes) => (typeof bytes === "number" ? `${(bytes / 1024).toFixed(1)} KB` : "—");

export function formatLatency(r) {
  if (!r || r.failed) return `Request to panel: failed (${r?.failed ?? "not run"})`;
  const d = r.desk;
  const f = r.floor;
  return [
    "| from the action (Node) to … | runs | the manager's socket p50 | p95 | the manager's page (Chromium) p50 | p95 |",
    "|---|---|---|---|---|---|",
    `| **visitor's "Talk to a manager"** (\`POST /api/widget/request-human\`) → \`queue.requested\` / the panel's queue row | ${d.socketMs.count} | ${ms(d.socketMs.p50)} | ${ms(d.socketMs.p95)} | ${ms(d.panelMs.p50)} | ${ms(d.panelMs.p95)} |`,
    `| floor: a member's chat message (\`message.send\`) → the other member's \`message.created\` / its row in the channel page | ${f.socketMs.count} | ${ms(f.socketMs.p50)} | ${ms(f.socketMs.p95)} | ${ms(f.panelMs.p50)} | ${ms(f.panelMs.p95)} |`,
    `| desk ÷ floor | | ${ratio(d.socketMs.p50, f.socketMs.p50)} | ${ratio(d.socketMs.p95, f.socketMs.p95)} | ${ratio(d.panelMs.p50, f.panelMs.p50)} | ${ratio(d.panelMs.p95, f.panelMs.p95)} |`,
    "",
    `The request's own HTTP answer (with the visitor's queue position: ${d.positions.join(", ")}) took p50 ${ms(d.httpMs.p50)}, p95 ${ms(d.httpMs.p95)}; the chat message's ack p50 ${ms(f.ackMs.p50)}, p95 ${ms(f.ackMs.p95)}; \`GET /api/health\` (the cheapest route through the same dev proxy and worker) p50 ${ms(f.healthMs?.p50)}, p95 ${ms(f.healthMs?.p95)}.`,
  ].join("\n");
}

export function formatWeight(w) {
  if (!w || w.failed) return `Widget weight: failed (${w?.failed ?? "not run"})`;
  if (typeof w.table === "string") return w.table;
  return "```\n" + JSON.stringify(w, null, 2) + "\n```";
}

const INTRO = `## Support desk

\`npm run bench\` ends with the support desk's benchmarks (\`bench/desk/run.mjs\`; alone:
\`node bench/desk/run.mjs [--quick] [--runs 30]\`, about two minutes; \`WOXLY_BENCH_DESK=0\` skips
them in \`npm run bench\`). They start the product without LiveKit on a fresh state with two
members, a community, a desk and its visitors written into D1 first (a visitor row with the
SHA-256 of a 256-bit token, as the widget's start route writes it: new visitors are limited to
10 per address in 10 minutes, and every visitor here comes from 127.0.0.1), add a
knowledge-base entry through the API and drive the manager's real pages in headless Chromium;
all traffic stays on loopback.

- **(a) "Talk to a manager" to the panel**: per run a new visitor asks the assistant a question
  (not timed; it creates the ticket), then sends \`POST /api/widget/request-human\` from Node,
  exactly as the widget's iframe does. Timed from just before that request to the manager's
  SupportDesk socket (Node) receiving \`queue.requested\` for the ticket, and to the ticket's row
  appearing in the manager's panel page (\`/c/<community>/desk/<desk>\`, a MutationObserver in
  the page stamps it). The manager then accepts and closes the ticket, so each request finds an
  empty queue (position 1). Node and the page both stamp with \`performance.timeOrigin +
  performance.now()\`.
- **The floor**, alternating run by run with the desk's: a member's chat message
  (\`message.send\` on their ChannelRoom socket) to the same manager's socket and to its row in
  their channel page. It is the fairest floor for this path: the same workerd and dev proxy, the
  same session checks, a Durable Object that stores the event before it broadcasts it, and the
  same Svelte app drawing a row — what Woxly already takes to carry one person's action to
  another person's screen. A bare WebSocket echo would leave out the storage and the page, and
  so say little about what the desk adds. The desk's extra is that its action is an HTTP
  request (\`POST /api/widget/request-human\`, as the contract has it), its D1 writes and the
  SupportDesk queue; \`GET /api/health\`, timed in the same runs, shows what an HTTP request
  alone costs on this path (through wrangler's local dev proxy, like every request here).
- **Reading it**: the ratio to the chat floor says how much slower than Woxly's fastest
  person-to-person path a request reaches the manager. Most of the difference is that the
  visitor's action is an HTTP request: set the desk's times beside \`GET /api/health\` before
  blaming the queue. Both are measured on one machine that also runs the browser and the
  generator; the load average at start and end is printed with each run.
- **(b) Widget weight** (\`bench/desk/widget-weight.mjs\`): the launcher script gzipped, against
  the 15 KB goal, and the panel's bytes, loaded only when the visitor opens the widget.
`;

function formatRun(results) {
  const i = results.info;
  return [
    `### ${i.date} · ${i.machine}${i.cpuModel ? ` (${i.cpuModel})` : ""} · commit ${i.commit}`,
    "",
    `\`${i.command}\`; Node ${i.node}; load average ${i.loadAvgAtStart?.join(" ")} at start, ${i.loadAvgAtEnd?.join(" ") ?? "?"} at end.`,
    "",
    "**(a) \"Talk to a manager\" to the panel**",
    "",
    formatLatency(results.latency),
    "",
    "**(b) Widget weight**",
    "",
    formatWeight(results.weight),
    "",
  ].join("\n");
}

/** Puts INTRO and this run under "## Support desk" in `file`, replacing what was there. */
function writeDocs(file, results) {
  let text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const section = `${INTRO}\n${formatRun(results)}`;
  const at = text.search(/^## Support desk\s*$/m);
  if (at < 0) text = `${text.replace(/\s*$/, "")}\n\n${section}`;
  else {
    const next = text.slice(at + 1).search(/^## /m);
    const end = next < 0 ? text.length : at + 1 + next;
    text = `${text.slice(0, at)}${section}\n${text.slice(end)}`;
  }
  writeFileSync(file, text.replace(/\s*$/, "\n"));
}

function commit() {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return dirty ? `${sha} + uncommitted changes` : sha;
  } catch {
    return "unknown";
  }
}

async function main() {
  if (flags.from) {
    writeDocs(flags["docs-file"], JSON.parse(readFileSync(flags.from, "utf8")));
    say(`wrote the run of ${flags.from} under "## Support desk" in ${path.relative(ROOT, flags["docs-file"])}`);
    return;
  }
  const cpus = os.cpus();
  const info = {
    date: flags.date ?? new Date().toISOString().slice(0, 10),
    machine: flags.machine ?? `${cpus.length} vCPU, ${Math.round(os.totalmem() / 2 ** 30)} GB`,
    cpuModel: cpus[0]?.model ?? null,
    node: process.version,
    commit: flags.commit ?? commit(),
    command: `node bench/desk/run.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
  say(`support desk benchmarks on ${info.machine} (${info.cpuModel}); load average ${info.loadAvgAtStart.join(" ")}`);
  if (info.loadAvgAtStart[0] > 1) say("warning: the machine is busy; other work distorts these numbers");
  const results = { info, config: { runs, warmup, quick, skip: [...skip] } };
  const save = () => {
    mkdirSync(path.dirname(flags.out), { recursive: true });
    writeFileSync(flags.out, JSON.stringify(results, (_k, v) => (v === Infinity ? "Infinity" : v), 2) + "\n");
  };

  if (!skip.has("latency")) {
    try {
      results.latency = await latency();
    } catch (e) {
      results.latency = { failed: String(e?.message ?? e) };
    }
    save();
    console.log('\n(a) "Talk to a manager" to the panel\n\n' + formatLatency(results.latency));
  }

  if (!skip.has("weight")) {
    try {
      const { widgetWeight } = await import("./widget-weight.mjs");
      results.weight = await widgetWeight();
    } catch (e) {
      results.weight = { failed: String(e?.message ?? e) };
    }
    save();
    console.log("\n(b) Widget weight\n\n" + formatWeight(results.weight));
  }

  results.info.loadAvgAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  save();
  if (!flags["no-docs"]) {
    writeDocs(flags["docs-file"], results);
    say(`wrote the run under "## Support desk" in ${path.relative(ROOT, flags["docs-file"])}`);
  }
  say(`results written to ${path.relative(ROOT, flags.out)}`);
}

/**
 * A desk of the seeded community (its owner administers it, so works it) allowing SITE, and
 * `count` visitors of it, each with a token of their own, written into the local D1 before
 * `wrangler dev` starts, as the routes write them (POST /api/communities/:id/desks is one
 * insert; a visitor is a row with the SHA-256 of a 256-bit token). New visitors are limited
 * per client address (10 in 10 minutes, VISITOR_START_LIMIT in workers/api/src/routes/widget.ts)
 * and every visitor here comes from 127.0.0.1; each request still checks the token exactly as
 * it checks the widget's.
 */
function seedDesk({ persistTo, communityId, count }) {
  const now = Date.now();
  const deskId = newId(now);
  const q = (s) => `'${String(s).replaceAll("'", "''")}'`;
  const stmts = [
    `INSERT INTO desks (id, community_id, name, greeting, colour, allowed_origins, capacity, auto_assign, created_at) VALUES (${q(deskId)}, ${q(communityId)}, 'Bench desk', '', '#5865f2', ${q(JSON.stringify([SITE]))}, 20, 0, ${now});`,
  ];
  const visitors = [];
  for (let i = 0; i < count; i++) {
    const token = randomToken(256);
    const id = newId(now);
    visitors.push({ id, token });
    const hash = createHash("sha256").update(token).digest("hex");
    stmts.push(
      `INSERT INTO visitors (id, desk_id, name, token_hash, origin, page_url, language, created_at, last_seen_at) VALUES (${q(id)}, ${q(deskId)}, ${q(`Visitor ${i}`)}, ${q(hash)}, ${q(SITE)}, ${q(`${SITE}/pricing`)}, 'en', ${now}, ${now});`,
    );
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "woxly-desk-seed-"));
  try {
    writeFileSync(path.join(dir, "desk.sql"), stmts.join("\n") + "\n");
    wrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--file", path.join(dir, "desk.sql")], { stdio: ["ignore", "ignore", "inherit"] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { deskId, visitors };
}

async function latency() {
  if (!existsSync(path.join(ROOT, "web", ".svelte-kit", "cloudflare", "_worker.js"))) buildWeb();
  const persistTo = mkdtempSync(path.join(os.tmpdir(), "woxly-bench-desk-"));
  cleanups.push(() => rmSync(persistTo, { recursive: true, force: true }));
  const seed = seedChannel({ persistTo, userCount: 2, prefix: "deskbench" });
  const [manager, member] = seed.users;
  const { deskId, visitors } = seedDesk({ persistTo, communityId: seed.communityId, count: runs + warmup });
  const port = await freePort();
  const product = await startProduct({ port, persistTo, livekit: false, quiet: true, build: false });
  cleanups.push(() => product.stop());
  const base = product.url;
  say(`product on ${base}`);
  await call(base, "POST", `/api/desks/${deskId}/kb`, {
    cookie: manager.cookie,
    body: { question: "How do I reset my password?", answer: "Open Settings, then Security, and choose Reset password.", language: "en" },
  });
  // The public config answers: the desk is there for the widget.
  await call(base, "GET", `/api/widget/desks/${deskId}`);

  const browser = await launch();
  cleanups.push(() => browser.close());
  say(`(a) "Talk to a manager" to the panel: ${runs} runs (+${warmup} warm-up), alternating with the chat floor`);
  return requestToPanel({ base, browser, communityId: seed.communityId, channelId: seed.channelId, deskId, manager, member, visitors, runs, warmup, say });
}

try {
  await main();
} finally {
  await cleanup();
}
process.exit(0);
