// First visit, cold cache (issue 14, goal 1): how much JavaScript a phone downloads before the
// first message of a channel shows, and before the invite page is usable — this build against
// a "before" build of an earlier commit, both served in the same run on this machine.
//
//   node bench/first-load/run.mjs [--runs 10] [--before <git rev>] [--after <git rev>] [--no-build]
//        [--quick] [--out bench/results/first-load-latest.json]
//
// What it does:
//  - builds this working tree's web app (`--no-build`: takes the build that is there; `--after
//    <rev>`: that commit instead, in a worktree, untouched by edits in progress here), and the
//    "before" commit's in a temporary `git worktree` (node_modules linked from this checkout),
//    removed again at the end;
//  - starts each tree's product as the e2e global setup does (scripts/product.mjs, wrangler
//    dev on a fresh temporary state, no LiveKit), seeded with three members, a community and a
//    text channel (bench/lib/seed.mjs), 24 messages without code blocks sent over the
//    channel's WebSocket, and an invite;
//  - in Chromium (playwright-core, the e2e flags), through the DevTools protocol: cache
//    disabled and Chrome DevTools' "Fast 4G" preset (puppeteer's PredefinedNetworkConditions:
//    9 Mbit/s × 0.9 down, 1.5 Mbit/s × 0.9 up, 60 ms × 2.75 = 165 ms latency), `runs` cold loads
//    of each page in a fresh browser context, the two builds alternating;
//  - the channel page (/c/<community>/<channel>, logged in) has two moments: "first message
//    visible", when a message is in the DOM — the server-rendered first screen's (`#first-screen
//    .fs-msg`, web/src/lib/server/first-screen.ts) or the app's (`article.message`), whichever
//    comes first — and painted (not before the page's first contentful paint); and "app ready",
//    when the app's own `article.message` is in the DOM. The invite page (/invite/<code>, a
//    visitor without an account) is ready when the visitor's action is there (the register link
//    or an enabled button);
//  - per load and moment: the JavaScript bytes received before it (CDP dataReceived), and the
//    JavaScript requests started before it (modulepreloads included)
//    and the bytes they transferred (CDP `encodedDataLength`, gzipped as wrangler dev serves
//    them: the bodies, and with their response headers), every request started before it, the
//    time from navigation to it, and the JavaScript of the whole load (up to 1.5 s after it);
//  - prints a table (p50 over the runs) beside the goals (≤ 100 KB, ≤ 30 KB), writes JSON.
//
// `npm run bench` runs it after the desk benchmarks (WOXLY_BENCH_FIRST_LOAD=0 skips it).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import WebSocket from "ws";
import { CHROMIUM, CHROMIUM_ARGS } from "../../scripts/chromium.mjs";
import { ROOT, buildWeb, freePort, say } from "../../scripts/product.mjs";
import { seedChannel } from "../lib/seed.mjs";

/** The commit before issue 14 goal 1's changes: the "before" of this benchmark. */
export const BEFORE_REV = "9f1bab9";
/** Chrome DevTools' "Fast 4G" (bytes/s and ms), as puppeteer's PredefinedNetworkConditions give it. */
export const FAST_4G = { downloadThroughput: ((9 * 1000 * 1000) / 8) * 0.9, uploadThroughput: ((1.5 * 1000 * 1000) / 8) * 0.9, latency: 60 * 2.75 };
/** Goals of issue 14 (JavaScript before the page is usable, transferred bytes). */
export const GOALS = { channel: 100 * 1024, invite: 30 * 1024 };
const SETTLE_MS = 1500;

const { values: flags } = parseArgs({
  options: {
    runs: { type: "string" },
    before: { type: "string", default: BEFORE_REV },
    after: { type: "string" },
    "no-build": { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    out: { type: "string", default: path.join(ROOT, "bench", "results", "first-load-latest.json") },
  },
});
const runs = Number(flags.runs ?? (flags.quick ? 4 : 10));

const cleanups = [];
async function cleanup() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch (e) {
      say(`cleanup: ${e?.message ?? e}`);
    }
  }
}
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    await cleanup();
    process.exit(130);
  });
}

const git = (args, cwd = ROOT) => {
  const r = spawnSync("git", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout.trim();
};

/** A temporary worktree of `rev` with this checkout's node_modules, built. */
function builtTree(rev, label) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `woxly-first-load-${label}-`));
  rmSync(dir, { recursive: true, force: true });
  git(["worktree", "add", "--detach", dir, rev]);
  cleanups.push(() => {
    git(["worktree", "remove", "--force", dir]);
  });
  symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  say(`building ${rev} in ${dir}`);
  const r = spawnSync(process.execPath, [path.join(dir, "scripts", "woxly.mjs"), "build"], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error(`build of ${rev} failed`);
  return dir;
}

async function post(base, cookie, p, body) {
  const res = await fetch(`${base}${p}`, { method: "POST", headers: { cookie, origin: base, "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${p}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Chat-like contents: inline markdown, links, a quote, a list, mentions — no code blocks. */
function contents(users, n) {
  const lines = [
    "hey, is anyone around tonight?",
    "**yes** — just got back. did you see the new map?",
    "_finally_ someone asked. link: https://example.org/maps/42",
    `> the old one was better\nit really was not <@${users[0].id}>`,
    "list for saturday:\n- snacks\n- cables\n- the spare controller",
    "ok ~~maybe~~ definitely coming",
    "what time again? 19:00 or 20:00?",
    "20:00, door code is in the pinned message ||1234||",
  ];
  return Array.from({ length: n }, (_, i) => lines[i % lines.length]);
}

/** Sends each user's messages over the channel's WebSocket, waiting for every ack. */
async function sendMessages(base, channelId, user, list) {
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/parties/channel-room/${channelId}`, { headers: { cookie: user.cookie, origin: base } });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  try {
    for (const content of list) {
      const nonce = `fl${Math.random().toString(36).slice(2)}`;
      const answer = await new Promise((resolve) => {
        const on = (data) => {
          const f = JSON.parse(String(data));
          if ((f.type === "message.ack" && f.nonce === nonce) || (f.type === "error" && f.ref === nonce)) {
            ws.off("message", on);
            resolve(f);
          }
        };
        ws.on("message", on);
        ws.send(JSON.stringify({ type: "message.send", nonce, content }));
      });
      if (answer.type !== "message.ack") throw new Error(`send: ${answer.code}`);
    }
  } finally {
    ws.close();
  }
}

/** Starts `root`'s product on a fresh state with a seeded channel, messages and an invite. */
async function serve(root, label) {
  const product = await import(pathToFileURL(path.join(root, "scripts", "product.mjs")).href);
  const persistTo = mkdtempSync(path.join(os.tmpdir(), `woxly-first-load-${label}-`));
  cleanups.push(() => rmSync(persistTo, { recursive: true, force: true }));
  const seed = seedChannel({ persistTo, userCount: 3, prefix: "fl" });
  const port = await freePort();
  const p = await product.startProduct({ port, persistTo, livekit: false, quiet: true, build: false });
  cleanups.push(() => p.stop());
  const list = contents(seed.users, 24);
  await Promise.all(seed.users.map((u, i) => sendMessages(p.url, seed.channelId, u, list.filter((_, j) => j % seed.users.length === i))));
  const { invite } = await post(p.url, seed.users[0].cookie, `/api/communities/${seed.communityId}/invites`, {});
  say(`${label}: ${p.url} (${root === ROOT ? "this tree" : root}), channel ${seed.channelId}, invite ${invite.code}`);
  return {
    label,
    url: p.url,
    cookie: seed.users[0].cookie,
    pages: {
      channel: { path: `/c/${seed.communityId}/${seed.channelId}`, marks: { first: "#first-screen .fs-msg, article.message", app: "article.message" }, loggedIn: true },
      invite: { path: `/invite/${invite.code}`, marks: { ready: ".card a.btn[href^='/register'], .card button.btn:not([disabled])" }, loggedIn: false },
    },
  };
}

/** Records, in the page, when each of `marks` (name → selector) first matches (ms since navigation). */
function readyProbe(marks) {
  window.__marks = {};
  const check = () => {
    let all = true;
    for (const [name, selector] of Object.entries(marks)) {
      if (!window.__marks[name] && document.querySelector(selector)) window.__marks[name] = performance.now();
      all &&= !!window.__marks[name];
    }
    return all;
  };
  if (check()) return;
  const obs = new MutationObserver(() => {
    if (check()) obs.disconnect();
  });
  obs.observe(document, { childList: true, subtree: true, attributes: true });
}

/** Each mark's moment (ms since navigation): not before the first contentful paint (a node in the DOM is not yet on screen). */
function markMoments(names) {
  const fcp = performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? 0;
  return Object.fromEntries(names.map((n) => [n, { sinceNavMs: Math.max(window.__marks[n], fcp), epochMs: performance.timeOrigin + Math.max(window.__marks[n], fcp) }]));
}

const isJs = (r) => r.type === "Script" || /\.m?js(?:$|\?)/.test(new URL(r.url).pathname);

/** One cold load of `page` of `target`; what was requested before it was ready. */
async function coldLoad(browser, target, pageName) {
  const spec = target.pages[pageName];
  const context = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 800 } });
  try {
    if (spec.loggedIn) {
      const [name, ...rest] = target.cookie.split("=");
      await context.addCookies([{ name, value: rest.join("="), url: target.url, httpOnly: true, sameSite: "Lax" }]);
    }
    await context.addInitScript(readyProbe, spec.marks);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    await cdp.send("Network.emulateNetworkConditions", { offline: false, ...FAST_4G, connectionType: "cellular4g" });
    const requests = new Map();
    // Wall ms = monotonic ms + clockOffset (from the first request, which carries both clocks).
    let clockOffset = null;
    cdp.on("Network.requestWillBeSent", (e) => {
      if (e.request.url.startsWith("data:")) return;
      clockOffset ??= e.wallTime * 1000 - e.timestamp * 1000;
      requests.set(e.requestId, { url: e.request.url, type: e.type, wallMs: e.wallTime * 1000, bytes: 0, headerBytes: 0, done: false, chunks: [] });
    });
    // What arrived when: a request started early may still be downloading when a moment comes.
    cdp.on("Network.dataReceived", (e) => {
      const r = requests.get(e.requestId);
      if (r) r.chunks.push({ wallMs: e.timestamp * 1000 + (clockOffset ?? 0), bytes: e.encodedDataLength ?? 0 });
    });
    cdp.on("Network.responseReceived", (e) => {
      const r = requests.get(e.requestId);
      if (!r) return;
      r.type = e.type;
      // What had arrived when the response started: its status line and headers.
      r.headerBytes = e.response.encodedDataLength ?? 0;
    });
    cdp.on("Network.loadingFinished", (e) => {
      const r = requests.get(e.requestId);
      if (r) {
        r.bytes = e.encodedDataLength;
        r.done = true;
      }
    });
    await page.goto(`${target.url}${spec.path}`, { waitUntil: "commit" });
    const names = Object.keys(spec.marks);
    await page.waitForFunction((n) => n.every((m) => window.__marks?.[m]), names, { timeout: 60_000, polling: 50 });
    const moments = await page.evaluate(markMoments, names);
    await page.waitForTimeout(SETTLE_MS);
    // Requests still in flight once settled: wait for them (their bytes count).
    const until = Date.now() + 10_000;
    while ([...requests.values()].some((r) => !r.done) && Date.now() < until) await page.waitForTimeout(100);
    const all = [...requests.values()];
    const allJs = all.filter(isJs);
    const body = (r) => Math.max(0, r.bytes - r.headerBytes);
    const at = (m) => {
      const before = all.filter((r) => r.wallMs <= m.epochMs);
      const js = before.filter(isJs);
      return {
        readyMs: m.sinceNavMs,
        requestsBefore: before.length,
        jsRequestsBefore: js.length,
        jsBytesBefore: js.reduce((s, r) => s + body(r), 0),
        jsTransferBefore: js.reduce((s, r) => s + r.bytes, 0),
        // Of all the JavaScript requested, the bytes that had arrived by then (gzipped, as sent).
        jsReceivedBefore: allJs.reduce((s, r) => s + r.chunks.filter((c) => c.wallMs <= m.epochMs).reduce((a, c) => a + c.bytes, 0), 0),
        jsBefore: js.map((r) => ({ path: new URL(r.url).pathname, bytes: body(r), transfer: r.bytes })),
      };
    };
    return {
      marks: Object.fromEntries(names.map((n) => [n, at(moments[n])])),
      jsRequestsTotal: allJs.length,
      jsBytesTotal: allJs.reduce((s, r) => s + body(r), 0),
    };
  } finally {
    await context.close();
  }
}

const p50 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};
const kb = (b) => (typeof b === "number" ? `${(b / 1024).toFixed(1)} KB` : "—");

function summarise(loads, mark) {
  const at = loads.map((l) => l.marks[mark]);
  return {
    runs: loads.length,
    readyMsP50: p50(at.map((l) => l.readyMs)),
    jsBytesBeforeP50: p50(at.map((l) => l.jsBytesBefore)),
    jsTransferBeforeP50: p50(at.map((l) => l.jsTransferBefore)),
    jsReceivedBeforeP50: p50(at.map((l) => l.jsReceivedBefore)),
    jsRequestsBeforeP50: p50(at.map((l) => l.jsRequestsBefore)),
    requestsBeforeP50: p50(at.map((l) => l.requestsBefore)),
    jsBytesTotalP50: p50(loads.map((l) => l.jsBytesTotal)),
    jsRequestsTotalP50: p50(loads.map((l) => l.jsRequestsTotal)),
  };
}

/** The table's rows: a page's moments, each with its goal (the channel's goal is on its first message). */
const ROWS = [
  { page: "channel", mark: "first", what: "channel (first message visible)", goal: GOALS.channel },
  { page: "channel", mark: "app", what: "channel (app ready: its `article.message`)", goal: null },
  { page: "invite", mark: "ready", what: "invite (visitor's action)", goal: GOALS.invite },
];

export function formatTable(results) {
  const rows = [
    "| page | build | JS requested before it (gzipped bodies) | with headers | JS received before it | JS requests before it | all requests before it | navigation → it, p50 | JS of the whole load (requests) | goal |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const row of ROWS) {
    for (const build of ["before", "after"]) {
      const s = results.summary?.[row.page]?.[build]?.[row.mark];
      if (!s) continue;
      // Judged on what had arrived: preloads started early but still in flight were not needed to show it.
      const goal = row.goal === null ? "—" : `≤ ${kb(row.goal)} received: ${s.jsReceivedBeforeP50 <= row.goal ? "met" : "**not met**"}`;
      const label = build === "before" ? `before (${results.before.rev})` : `after (${results.after.rev})`;
      rows.push(
        `| ${row.what} | ${label} | ${kb(s.jsBytesBeforeP50)} | ${kb(s.jsTransferBeforeP50)} | ${kb(s.jsReceivedBeforeP50)} | ${s.jsRequestsBeforeP50} | ${s.requestsBeforeP50} | ${Math.round(s.readyMsP50)} ms | ${kb(s.jsBytesTotalP50)} (${s.jsRequestsTotalP50}) | ${goal} |`,
      );
    }
  }
  return rows.join("\n");
}

async function main() {
  const head = git(["rev-parse", "--short", "HEAD"]);
  const dirty = git(["status", "--porcelain", "--", "web", "workers/shared"]) !== "";
  let afterRoot = ROOT;
  if (flags.after) afterRoot = builtTree(flags.after, "after");
  else if (!flags["no-build"] || !existsSync(path.join(ROOT, "web", ".svelte-kit", "cloudflare", "_worker.js"))) buildWeb();
  const beforeRoot = builtTree(flags.before, "before");
  const targets = { before: await serve(beforeRoot, "before"), after: await serve(afterRoot, "after") };

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  cleanups.push(() => browser.close());
  const results = {
    machine: { date: new Date().toISOString(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, node: process.version, loadAvgAtStart: os.loadavg() },
    network: { preset: "Fast 4G (Chrome DevTools)", ...FAST_4G, cacheDisabled: true },
    before: { rev: git(["rev-parse", "--short", flags.before]) },
    after: { rev: flags.after ? git(["rev-parse", "--short", flags.after]) : dirty ? `${head}+working tree` : head },
    goals: GOALS,
    loads: { channel: { before: [], after: [] }, invite: { before: [], after: [] } },
    summary: {},
  };
  for (const pageName of ["channel", "invite"]) {
    // One warm-up load each (the server's first render compiles, the DO wakes), not counted.
    for (const build of ["before", "after"]) await coldLoad(browser, targets[build], pageName);
    for (let i = 0; i < runs; i++) {
      for (const build of i % 2 ? ["after", "before"] : ["before", "after"]) {
        // A load that never got there (60 s) is reported and tried once more, not counted.
        const r = await coldLoad(browser, targets[build], pageName).catch((e) => {
          say(`${pageName} ${build} #${i + 1}: ${e?.message?.split("\n")[0] ?? e}; once more`);
          results.retried = (results.retried ?? 0) + 1;
          return coldLoad(browser, targets[build], pageName);
        });
        results.loads[pageName][build].push(r);
        const told = Object.entries(r.marks).map(([m, x]) => `${m}: ${kb(x.jsBytesBefore)} of JS in ${x.jsRequestsBefore} requests (${kb(x.jsReceivedBefore)} received) at ${Math.round(x.readyMs)} ms`);
        say(`${pageName} ${build} #${i + 1}: ${told.join("; ")}`);
      }
    }
    const marks = Object.keys(targets.after.pages[pageName].marks);
    results.summary[pageName] = Object.fromEntries(
      ["before", "after"].map((build) => [build, Object.fromEntries(marks.map((m) => [m, summarise(results.loads[pageName][build], m)]))]),
    );
  }
  results.machine.loadAvgAtEnd = os.loadavg();
  results.table = formatTable(results);
  mkdirSync(path.dirname(flags.out), { recursive: true });
  writeFileSync(flags.out, JSON.stringify(results, null, 2) + "\n");
  console.log(`\nFirst load, cold cache, Chrome's "Fast 4G" (p50 of ${runs} loads each):\n\n${results.table}\n`);
  say(`results written to ${path.relative(ROOT, flags.out)}`);
}

try {
  await main();
} finally {
  await cleanup();
}
process.exit(0);
