// Builds the widget (vite.config.ts: the launcher, then the panel) into the served assets
// directory and writes /widget-panel/entry.json, which names the panel's hashed entry files for
// the worker's frame page (workers/api/src/widget-page.ts). Run after the SvelteKit build,
// which recreates that directory. `node web/widget/build.mjs`
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "vite";

const here = import.meta.dirname;
const configFile = path.join(here, "vite.config.ts");
const out = path.resolve(here, "../.svelte-kit/cloudflare");

export async function buildWidget() {
  await build({ configFile, mode: "launcher", logLevel: "warn" });
  await build({ configFile, mode: "panel", logLevel: "warn" });
  const manifest = JSON.parse(readFileSync(path.join(out, "widget-panel", "manifest.json"), "utf8"));
  const entry = Object.values(manifest).find((c) => c.isEntry);
  if (!entry) throw new Error("the panel build has no entry");
  const entryJson = { script: `/widget-panel/${entry.file}`, styles: (entry.css ?? []).map((c) => `/widget-panel/${c}`) };
  writeFileSync(path.join(out, "widget-panel", "entry.json"), JSON.stringify(entryJson));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await buildWidget();
