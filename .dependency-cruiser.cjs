/**
 * Woxly's layers (shared/DESIGN.md "Layers", docs/architecture.md): imports point down only.
 *   web/  →  (types only) workers/shared, the api's AppType
 *   workers/api (routes, upgrades)  ─┐
 *   durable-objects/ (one class a file) ─┴→ workers/core (schema, db, policy, views, log, media client)
 *                                          → workers/shared (protocol, permissions, errors) → nothing of ours
 * Run by `npm run check` (`depcruise` fails on any error-level violation).
 */
module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", comment: "No import cycles (type-only ones included).", from: {}, to: { circular: true } },
    {
      name: "shared-imports-nothing-of-ours",
      severity: "error",
      from: { path: "^workers/shared/" },
      to: { path: "^(workers/(api|core|token)|durable-objects|web)/" },
    },
    {
      name: "core-below-routes-and-objects",
      severity: "error",
      comment: "The server core knows no routes, middleware or objects.",
      from: { path: "^workers/core/" },
      to: { path: "^(workers/(api|token)|durable-objects|web)/" },
    },
    {
      name: "objects-use-core-not-api",
      severity: "error",
      comment: "Durable Objects never import route, middleware or api lib code; the server core serves both.",
      from: { path: "^durable-objects/" },
      to: { path: "^(workers/(api|token)|web)/" },
    },
    {
      name: "api-reaches-objects-through-stubs",
      severity: "error",
      comment: "The api worker reaches Durable Objects only through workers/api/src/stubs.ts (index.ts exports the classes).",
      from: { path: "^workers/api/", pathNot: "^workers/api/src/(stubs|index)\\.ts$" },
      to: { path: "^durable-objects/" },
    },
    {
      name: "web-only-types-from-server",
      severity: "error",
      comment: "The browser bundle takes only types from the api worker (its AppType for the typed client).",
      from: { path: "^web/" },
      to: { path: "^(workers/(api|core|token)|durable-objects)/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "token-worker-alone",
      severity: "error",
      comment: "The token worker holds the LiveKit secret and imports only the shared protocol.",
      from: { path: "^workers/token/" },
      to: { path: "^(workers/(api|core)|durable-objects|web)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|\\.svelte-kit|build|\\.wrangler)/|worker-configuration\\.d\\.ts$" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".mjs", ".svelte"] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
