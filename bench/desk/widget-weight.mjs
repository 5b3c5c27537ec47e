// The embeddable widget's weight, read from the built files (builds nothing; `npm run build`
// first): the launcher /widget.js raw and gzipped against its goal (< 15 KB gzipped), the
// panel iframe's bytes gzipped — what opening the panel loads (its entry, the entry's static
// imports and its CSS) and everything it may ever load — and livekit-client's chunk, loaded only
// when a call starts. gzip at level 9, as a CDN would serve it.
//
//   node bench/desk/widget-weight.mjs           prints the table
//   import { widgetWeight } from "./widget-weight.mjs"   (bench/desk/run.mjs)
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const ASSETS = path.join(ROOT, "web", ".svelte-kit", "cloudflare");
/** The launcher's goal, gzipped bytes. */
export const LAUNCHER_GOAL_GZIP = 15 * 1024;

const gz = (buf) => gzipSync(buf, { level: 9 }).length;
const kb = (n) => (typeof n === "number" ? `${(n / 1024).toFixed(1)} KB` : "—");

function sizes(files) {
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const buf = readFileSync(f);
    raw += buf.length;
    gzip += gz(buf);
  }
  return { raw, gzip, files: files.length };
}

/** Reads the built widget; throws when it is not built. */
export async function widgetWeight() {
  const launcherFile = path.join(ASSETS, "widget.js");
  const panelDir = path.join(ASSETS, "widget-panel");
  const manifestFile = path.join(panelDir, "manifest.json");
  if (!existsSync(launcherFile) || !existsSync(manifestFile)) throw new Error("the widget is not built (npm run build)");
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
  const entryKey = Object.keys(manifest).find((k) => manifest[k].isEntry);
  // What opening the panel loads: the entry, its static imports (transitively) and their CSS.
  const initial = new Set();
  const walk = (key) => {
    const chunk = manifest[key];
    if (!chunk || initial.has(chunk.file)) return;
    initial.add(chunk.file);
    for (const c of chunk.css ?? []) initial.add(c);
    for (const k of chunk.imports ?? []) walk(k);
  };
  walk(entryKey);
  const all = readdirSync(path.join(panelDir, "assets")).map((f) => `assets/${f}`);
  const livekit = all.filter((f) => /livekit/i.test(f) && f.endsWith(".js"));

  const launcher = sizes([launcherFile]);
  const panelInitial = sizes([...initial].map((f) => path.join(panelDir, f)));
  const panelAll = sizes(all.map((f) => path.join(panelDir, f)));
  const livekitChunk = sizes(livekit.map((f) => path.join(panelDir, f)));
  const result = {
    launcher,
    panelInitial,
    panelAll,
    livekit: livekitChunk,
    goal: { launcherGzip: LAUNCHER_GOAL_GZIP },
    launcherWithinGoal: launcher.gzip < LAUNCHER_GOAL_GZIP,
  };
  result.table = formatTable(result);
  return result;
}

export function formatTable(w) {
  return [
    "| file | when it loads | raw | gzipped | goal (gzipped) | within |",
    "|---|---|---|---|---|---|",
    `| \`/widget.js\` (launcher) | every page of the site | ${kb(w.launcher.raw)} | ${kb(w.launcher.gzip)} | < ${kb(w.goal.launcherGzip)} | ${w.launcherWithinGoal ? "yes" : "**no**"} |`,
    `| panel, initial (${w.panelInitial.files} files: entry, its imports, CSS) | the first open | ${kb(w.panelInitial.raw)} | ${kb(w.panelInitial.gzip)} | — | — |`,
    `| panel, everything (${w.panelAll.files} files) | at most | ${kb(w.panelAll.raw)} | ${kb(w.panelAll.gzip)} | — | — |`,
    `| of which livekit-client (${w.livekit.files} chunk) | when a call starts | ${kb(w.livekit.raw)} | ${kb(w.livekit.gzip)} | — | — |`,
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const w = await widgetWeight();
  console.log(w.table);
  if (!w.launcherWithinGoal) process.exitCode = 1;
}
