/**
 * The chat's markdown renderer (web/src/lib/markdown/render.ts, with marked, DOMPurify and
 * highlight.js) bundled for a bare Chromium page, to time it there: the same code the app
 * runs, without the app around it. Used by e2e/xss.test.ts and bench/markdown-render.mjs.
 */
import path from "node:path";
import { build } from "esbuild";
import type { Page } from "playwright-core";

const ROOT = path.resolve(import.meta.dirname, "..");

/** An IIFE that puts `renderMarkdown` on `window.woxlyMarkdown`. */
export async function bundleRenderer(): Promise<string> {
  const out = await build({
    stdin: {
      contents: `import { renderMarkdown } from "./web/src/lib/markdown/render.ts"; window.woxlyMarkdown = { renderMarkdown };`,
      resolveDir: ROOT,
      loader: "ts",
    },
    bundle: true,
    format: "iife",
    target: "es2024",
    write: false,
    logLevel: "silent",
    nodePaths: [path.join(ROOT, "node_modules")],
  });
  return out.outputFiles[0]!.text;
}

export interface RenderTiming {
  name: string;
  /** UTF-16 code units */
  length: number;
  /** median of the runs, ms */
  medianMs: number;
  /** slowest run, ms */
  maxMs: number;
  /** characters of HTML produced */
  htmlLength: number;
}

/**
 * Renders each input `runs` times in `page` (after one warm-up, each run past the cache) and
 * returns the timings measured there with performance.now().
 */
export async function timeRenders(page: Page, script: string, inputs: { name: string; content: string }[], runs = 5): Promise<RenderTiming[]> {
  await page.setContent("<!doctype html><meta charset=utf-8><title>render</title><body></body>");
  await page.addScriptTag({ content: script });
  return page.evaluate(
    ({ inputs, runs }) => {
      type Render = (content: string, names: unknown) => string;
      const render = (window as unknown as { woxlyMarkdown: { renderMarkdown: Render } }).woxlyMarkdown.renderMarkdown;
      const names = (key: string) => ({ user: () => null, role: () => null, meId: "me", unknownUser: "u", unknownRole: "r", key });
      let n = 0;
      render("warm **up** `code` ||s|| <@x>", names("warm"));
      return inputs.map(({ name, content }) => {
        const times: number[] = [];
        let html = "";
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          html = render(content, names(`run${n++}`));
          times.push(performance.now() - t0);
        }
        times.sort((a, b) => a - b);
        return { name, length: content.length, medianMs: times[Math.floor(times.length / 2)]!, maxMs: times[times.length - 1]!, htmlLength: html.length };
      });
    },
    { inputs, runs },
  );
}
