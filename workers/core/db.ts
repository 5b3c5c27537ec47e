/**
 * The D1 database through drizzle's query builder (tables from workers/core/schema.ts, imported
 * where they are queried). No relational schema is handed to drizzle: nothing uses its
 * relational query API (`db.query.*`), and building that config costs ~0.2 ms of CPU on every
 * call — once per request, upgrade and object that touches D1 (issue 14, docs/benchmarks.md).
 */
import { drizzle } from "drizzle-orm/d1";

export function makeDb(d1: D1Database) {
  return drizzle(d1);
}
export type Db = ReturnType<typeof makeDb>;
