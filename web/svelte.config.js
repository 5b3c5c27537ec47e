import adapter from "@sveltejs/adapter-cloudflare";
import { vitePreprocess } from "@sveltejs/vite-plugin-svelte";

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  compilerOptions: { runes: true },
  kit: {
    // wrangler.kit.jsonc only tells the adapter where to write; ../wrangler.toml deploys it.
    adapter: adapter({ config: "wrangler.kit.jsonc" }),
    alias: {
      // The shared protocol (zod schemas, types, error codes) — imported, never copied.
      $shared: "../workers/shared",
    },
    csp: {
      mode: "auto",
      directives: {
        "default-src": ["self"],
        // wasm-unsafe-eval: compiling WebAssembly only (MediaPipe's segmenter for camera
        // background effects, docs/voice.md); it does not allow eval() of script text.
        "script-src": ["self", "wasm-unsafe-eval"],
        "style-src": ["self", "unsafe-inline"],
        "img-src": ["self", "data:", "blob:"],
        "connect-src": ["self", "ws:", "wss:"],
        "media-src": ["self", "blob:"],
        "font-src": ["self"],
        "object-src": ["none"],
        "base-uri": ["none"],
        "form-action": ["self"],
        "frame-ancestors": ["none"],
      },
    },
  },
};

export default config;
