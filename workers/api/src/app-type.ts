/**
 * The API's routes as a type for the web app's typed client (web/src/lib/api.ts): paths,
 * validated inputs and JSON outputs of `app`, without the server's environment. The web app
 * cannot type-check worker code (it has the DOM's globals, not the Workers' `Env`), so
 * scripts/app-type.mjs writes this file's declaration, every type spelled out, to
 * workers/api/app-type.generated.d.ts, which the web app imports (types only);
 * `scripts/app-type.mjs --check` (in `npm run check`) fails when that file is stale.
 */
import type { HonoBase } from "hono/hono-base";
import type { Schema } from "hono/types";
import type { AppType as App } from "./app";

// A call, so the declaration emit spells the inferred schema out instead of naming `app`.
// `any` Env: only the schema is kept.
declare function routesOf<S extends Schema, B extends string>(a: HonoBase<any, S, B, any>): HonoBase<{}, S, B, B>;
const routes = () => routesOf(null as unknown as App);

/** `typeof app` for `hc<AppType>`: the route schema only, no server types. */
export type AppType = ReturnType<typeof routes>;
