/**
 * Fails `npm run check` (tsc) when workers/api/app-type.generated.d.ts no longer matches the
 * routes: run `node scripts/app-type.mjs`. Types only; nothing imports this file.
 */
import type { HonoBase } from "hono/hono-base";
import type { AppType as Generated } from "../app-type.generated";
import type { AppType as Live } from "./app-type";

// `any` Env: only the schema is compared.
type SchemaOf<T> = T extends HonoBase<any, infer S, any, any> ? S : never;
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

export const appTypeIsFresh: Same<SchemaOf<Generated>, SchemaOf<Live>> extends true
  ? true
  : "workers/api/app-type.generated.d.ts is stale: run `node scripts/app-type.mjs`" = true;
