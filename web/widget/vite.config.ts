/**
 * The embeddable widget's two builds (run by build.mjs, which `npm run build` calls after the
 * SvelteKit build), both into the served assets directory (web/.svelte-kit/cloudflare):
 *   --mode launcher  /widget.js — one minified IIFE, no framework (launcher/main.ts)
 *   --mode panel     /widget-panel/* — the panel iframe's ES modules with hashed names, Svelte 5;
 *                    livekit-client is a chunk of its own, loaded only when a call starts.
 */
import path from "node:path";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vite";

const here = import.meta.dirname;
export const ASSETS_DIR = path.resolve(here, "../.svelte-kit/cloudflare");

export default defineConfig(({ mode }) => {
  process.env.NODE_ENV = "production";
  const alias = { $shared: path.resolve(here, "../../workers/shared"), $lib: path.resolve(here, "../src/lib") };
  if (mode === "launcher") {
    return {
      configFile: false,
      publicDir: false,
      resolve: { alias },
      build: {
        outDir: ASSETS_DIR,
        emptyOutDir: false,
        target: "es2020",
        minify: true,
        sourcemap: false,
        copyPublicDir: false,
        lib: { entry: path.join(here, "launcher/main.ts"), formats: ["iife"], name: "WoxlyWidget", fileName: () => "widget.js" },
      },
    };
  }
  return {
    root: here,
    base: "/widget-panel/",
    publicDir: false,
    plugins: [svelte({ configFile: false, compilerOptions: { runes: true } })],
    resolve: { alias },
    build: {
      outDir: path.join(ASSETS_DIR, "widget-panel"),
      emptyOutDir: true,
      target: "es2022",
      manifest: "manifest.json",
      sourcemap: false,
      // livekit-client (~560 KB) is a chunk of its own, loaded only when a call starts.
      chunkSizeWarningLimit: 700,
      rollupOptions: {
        input: { panel: path.join(here, "panel/main.ts") },
        output: { entryFileNames: "assets/[name]-[hash].js", chunkFileNames: "assets/[name]-[hash].js", assetFileNames: "assets/[name]-[hash][extname]" },
      },
    },
  };
});
