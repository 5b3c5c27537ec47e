import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { freePort, startProduct } from "../scripts/product.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    livekitUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const persistTo = mkdtempSync(path.join(os.tmpdir(), "woxly-e2e-"));
  const port: number = await freePort();
  // `npm test` has just built the web app; a bare `vitest --config e2e/...` builds it here.
  const product = await startProduct({
    port,
    persistTo,
    requireLivekit: true,
    quiet: true,
    build: process.env.WOXLY_SKIP_BUILD !== "1",
    // Every e2e file's visitors come from 127.0.0.1: the per-address limit (default 10) is for the internet.
    // LINK_PREVIEW_ALLOW_LOOPBACK: e2e/previews.test.ts serves its pages on 127.0.0.1 (tests only;
    // docs/link-previews.md). LINK_PREVIEW_DOH_URL: a loopback port nothing answers on, so a link to
    // an outside name in any test is refused (dns_failed) without a query leaving the machine.
    vars: { WIDGET_VISITOR_START_LIMIT: "1000", LINK_PREVIEW_ALLOW_LOOPBACK: "1", LINK_PREVIEW_DOH_URL: "http://127.0.0.1:9/dns-query" },
  });
  project.provide("baseUrl", product.url);
  project.provide("livekitUrl", product.livekitUrl ?? "");
  return async () => {
    await product.stop();
    rmSync(persistTo, { recursive: true, force: true });
  };
}
