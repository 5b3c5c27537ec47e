// The static import graph of a page in the built web app, without a browser: which chunks the
// server-rendered page preloads (entry, app, its layouts and error page, its leaf, and all they
// import statically) and their sizes gzipped at level 9 — the same bodies the bench measures.
// With a build made with WOXLY_BUILD_SOURCEMAP=1, `--modules` attributes each chunk's bytes to
// its source modules (raw bytes by source map, scaled by the chunk's gzip ratio).
//
//   node bench/first-load/graph.mjs [--route "/(app)/(shell)/c/[communityId]/[channelId]"] [--modules] [--json]
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const OUT = path.join(ROOT, "web", ".svelte-kit", "output");
const CLIENT = path.join(OUT, "client");

const { values: flags } = parseArgs({
  options: {
    route: { type: "string", default: "/(app)/(shell)/c/[communityId]/[channelId]" },
    modules: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    top: { type: "string", default: "40" },
    "per-chunk": { type: "boolean", default: false },
  },
});

const manifest = JSON.parse(readFileSync(path.join(CLIENT, ".vite", "manifest.json"), "utf8"));
const serverManifest = readFileSync(path.join(OUT, "server", "manifest.js"), "utf8");
const at = serverManifest.indexOf(`id: ${JSON.stringify(flags.route)}`);
if (at < 0) throw new Error(`route ${flags.route} not in the server manifest`);
const page = /page: \{ layouts: \[([^\]]*)\], errors: \[([^\]]*)\], leaf: (\d+) \}/.exec(serverManifest.slice(at));
if (!page) throw new Error(`route ${flags.route} has no page`);
const nums = (s) => s.split(",").filter((x) => x.trim() !== "").map(Number);
const nodes = [...new Set([...nums(page[1]), ...nums(page[2]), Number(page[3])])];

const byKey = (key) => manifest[key];
const roots = [
  "../node_modules/@sveltejs/kit/src/runtime/client/entry.js",
  ".svelte-kit/generated/client-optimized/app.js",
  ...nodes.map((n) => `.svelte-kit/generated/client-optimized/nodes/${n}.js`),
];
const seen = new Set();
const walk = (key) => {
  if (seen.has(key)) return;
  const entry = byKey(key);
  if (!entry) throw new Error(`${key} not in the client manifest`);
  seen.add(key);
  for (const i of entry.imports ?? []) walk(i);
};
roots.forEach(walk);

const chunks = [...seen].map((key) => {
  const file = byKey(key).file;
  const code = readFileSync(path.join(CLIENT, file));
  return { key, file, raw: code.length, gzip: gzipSync(code, { level: 9 }).length, name: byKey(key).name ?? byKey(key).src ?? key };
});
chunks.sort((a, b) => b.gzip - a.gzip);
const total = chunks.reduce((s, c) => s + c.gzip, 0);
const kb = (n) => (n / 1024).toFixed(1);

let modules = null;
if (flags.modules) {
  const { TraceMap, eachMapping } = await import("@jridgewell/trace-mapping");
  const bySource = new Map();
  for (const c of chunks) {
    const mapFile = path.join(CLIENT, c.file + ".map");
    if (!existsSync(mapFile)) {
      // Vite's own helpers (preload-helper) come without a map: counted under the chunk's name.
      if (!existsSync(path.join(CLIENT, "_app", "immutable", "entry", path.basename(chunks[0].file) + ".map")) && c === chunks[0]) throw new Error("no source maps: build with WOXLY_BUILD_SOURCEMAP=1");
      bySource.set(`(${c.name})`, (bySource.get(`(${c.name})`) ?? 0) + c.gzip);
      continue;
    }
    const code = readFileSync(path.join(CLIENT, c.file), "utf8");
    const lines = code.split("\n");
    const map = new TraceMap(readFileSync(mapFile, "utf8"));
    // Each generated segment's bytes go to the source of the mapping that starts it.
    const segs = [];
    eachMapping(map, (m) => segs.push(m));
    segs.sort((a, b) => a.generatedLine - b.generatedLine || a.generatedColumn - b.generatedColumn);
    const raw = new Map();
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i];
      const n = segs[i + 1];
      const end = n && n.generatedLine === s.generatedLine ? n.generatedColumn : lines[s.generatedLine - 1].length;
      const src = s.source ?? "(unmapped)";
      raw.set(src, (raw.get(src) ?? 0) + (end - s.generatedColumn));
    }
    const ratio = c.gzip / c.raw;
    c.modules = [...raw].map(([src, n]) => [src.replace(/^(\.\.\/)+/, "").replace(/^.*node_modules\//, "node_modules/"), n * ratio]).sort((a, b) => b[1] - a[1]);
    for (const [src, n] of raw) {
      const name = src.replace(/^(\.\.\/)+/, "").replace(/^.*node_modules\//, "node_modules/");
      bySource.set(name, (bySource.get(name) ?? 0) + n * ratio);
    }
  }
  modules = [...bySource].sort((a, b) => b[1] - a[1]);
}

if (flags.json) {
  console.log(JSON.stringify({ route: flags.route, nodes, total, chunks, modules }, null, 2));
} else {
  console.log(`${flags.route}: nodes ${nodes.join(",")}; ${chunks.length} chunks, ${kb(total)} KB gzipped (level 9)`);
  for (const c of chunks) {
    console.log(`${kb(c.gzip).padStart(7)} KB  ${c.file}  ${c.name}`);
    if (flags["per-chunk"] && c.modules) for (const [m, n] of c.modules.filter(([, n]) => n >= 100)) console.log(`          ${kb(n).padStart(6)} KB  ${m}`);
  }
  if (modules) {
    console.log(`\nby source module (gzip share), top ${flags.top}:`);
    for (const [m, n] of modules.slice(0, Number(flags.top))) console.log(`${kb(n).padStart(7)} KB  ${m}`);
    const groups = new Map();
    for (const [m, n] of modules) {
      const g = m.startsWith("node_modules/") ? m.split("/").slice(0, m.split("/")[1].startsWith("@") ? 3 : 2).join("/") : m.split("/").slice(0, m.startsWith("src/lib/") ? 3 : 2).join("/");
      groups.set(g, (groups.get(g) ?? 0) + n);
    }
    console.log(`\nby package / folder:`);
    for (const [g, n] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, Number(flags.top))) console.log(`${kb(n).padStart(7)} KB  ${g}`);
  }
}
