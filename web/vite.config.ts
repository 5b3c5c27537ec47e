import { fileURLToPath } from "node:url";
import { sveltekit } from "@sveltejs/kit/vite";
import { defineConfig, type Plugin } from "vite";
import { compiledMessages } from "./build/i18n.js";
import { effectsAssets } from "./vite-effects";

/**
 * The browser gets zod-lite (src/lib/validate/zod-lite.ts) for `import { z } from "zod"`: the
 * same shared schemas, zod's parsing rules, ~2 KB instead of ~26 KB on every page that reads an
 * answer or a frame. The server render keeps the real zod, as do the workers and the tests
 * (zod-lite.test.ts compares the two on every shared schema).
 */
function zodLiteInBrowser(): Plugin {
  const lite = fileURLToPath(new URL("./src/lib/validate/zod-lite.ts", import.meta.url));
  return {
    name: "woxly:zod-lite-in-browser",
    enforce: "pre",
    resolveId(source, _importer, options) {
      if (source === "zod" && !options?.ssr) return lite;
      return null;
    },
  };
}

/**
 * `svelte-i18n` resolves to src/lib/i18n/runtime.ts (its API over messages compiled at build
 * time by ./build/i18n.ts), in the browser and the server render alike: call sites keep
 * `import { _ } from "svelte-i18n"` and its types; no ICU parser ships.
 */
function i18nRuntime(): Plugin {
  const runtime = fileURLToPath(new URL("./src/lib/i18n/runtime.ts", import.meta.url));
  return {
    name: "woxly:i18n-runtime",
    enforce: "pre",
    resolveId(source) {
      return source === "svelte-i18n" ? runtime : null;
    },
  };
}

/**
 * The server render's sanitizer (sanitize-html, lib/server/sanitize.ts) is bundled into the
 * server build with a stub for postcss (lib/server/postcss-stub.ts): it would only parse
 * `style` attributes, which the allowlist drops before that.
 */
function postcssStubOnServer(): Plugin {
  const stub = fileURLToPath(new URL("./src/lib/server/postcss-stub.ts", import.meta.url));
  return {
    name: "woxly:postcss-stub-on-server",
    enforce: "pre",
    resolveId(source, _importer, options) {
      return source === "postcss" && options?.ssr ? stub : null;
    },
  };
}

/** sanitize-html and everything it imports (postcss is stubbed, above). */
const SANITIZER_PACKAGES = [
  "sanitize-html",
  "htmlparser2",
  "domhandler",
  "domutils",
  "dom-serializer",
  "domelementtype",
  "entities",
  "launder",
  "dayjs",
  "parse-srcset",
  "is-plain-object",
  "escape-string-regexp",
];

export default defineConfig(({ command }) => {
  // A build inherits NODE_ENV from whatever runs it (vitest sets "test"), and Vite then makes
  // a development build. The app is only ever built to be served, so always for production.
  if (command === "build") process.env.NODE_ENV = "production";
  return {
    // effectsAssets: MediaPipe's wasm and model, served by Woxly for camera background effects.
    plugins: [zodLiteInBrowser(), i18nRuntime(), postcssStubOnServer(), compiledMessages(), sveltekit(), effectsAssets()],
    // sanitize-html and its dependencies, bundled: a CommonJS package left external would be
    // required through createRequire(import.meta.url), which workerd does not give a module.
    ssr: { noExternal: SANITIZER_PACKAGES },
    // Source maps only on request, for bench/first-load/graph.mjs --modules (never deployed).
    build: { sourcemap: process.env.WOXLY_BUILD_SOURCEMAP === "1" ? "hidden" : false },
    server: {
      // The shared protocol lives outside web/ (kit alias $shared).
      fs: { allow: ["../workers/shared"] },
    },
  };
});
