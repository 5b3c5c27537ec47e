/** The D1 database through drizzle, with the directory schema (workers/core/schema.ts). */
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export function makeDb(d1: D1Database) {
  return drizzle(d1, { schema });
}
export type Db = ReturnType<typeof makeDb>;
