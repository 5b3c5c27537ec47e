import { sveltekit } from "@sveltejs/kit/vite";
import { defineConfig } from "vite";

export default defineConfig(({ command }) => {
  // A build inherits NODE_ENV from whatever runs it (vitest sets "test"), and Vite then makes
  // a development build. The app is only ever built to be served, so always for production.
  if (command === "build") process.env.NODE_ENV = "production";
  return {
    plugins: [sveltekit()],
    server: {
      // The shared protocol lives outside web/ (kit alias $shared).
      fs: { allow: ["../workers/shared"] },
    },
  };
});
