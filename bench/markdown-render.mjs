// Times the chat's markdown renderer (marked + DOMPurify + highlight.js, exactly as the web
// app bundles it) on pathological 2,000-character inputs, measured inside Chromium with
// performance.now(), and prints a table against the 50 ms budget of issue 4.
//
//   node bench/markdown-render.mjs [--runs 7]
//
// Needs Chromium (CHROMIUM_PATH or /usr/bin/chromium); not the product.
import os from "node:os";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../scripts/chromium.mjs";
import { PATHOLOGICAL, XSS_CORPUS } from "../e2e/markdown-corpus.ts";
import { bundleRenderer, timeRenders } from "../e2e/markdown-page.ts";

const BUDGET_MS = 50;
const runsArg = process.argv.indexOf("--runs");
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;

const script = await bundleRenderer();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage();
  const timings = await timeRenders(page, script, [...PATHOLOGICAL, { name: "XSS corpus (all, joined)", content: XSS_CORPUS.map((x) => x.content).join("\n\n") }], runs);
  const rows = timings.map((t) => ({
    input: t.name,
    chars: t.length,
    "median ms": t.medianMs.toFixed(2),
    "max ms": t.maxMs.toFixed(2),
    "html chars": t.htmlLength,
    [`< ${BUDGET_MS} ms`]: t.maxMs < BUDGET_MS ? "yes" : "NO",
  }));
  console.log(`markdown render, ${runs} runs each, Chromium ${browser.version()}, ${os.cpus()[0]?.model ?? "cpu"} ×${os.cpus().length}, ${new Date().toISOString().slice(0, 10)}`);
  console.table(rows);
  const over = timings.filter((t) => t.maxMs >= BUDGET_MS);
  console.log(over.length ? `${over.length} input(s) over ${BUDGET_MS} ms` : `all inputs under ${BUDGET_MS} ms`);
  process.exitCode = over.length ? 1 : 0;
} finally {
  await browser.close();
}
