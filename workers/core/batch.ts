/** D1 batches: the statements run in order as one transaction (all or nothing). */
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "./db";

export type Statement = BatchItem<"sqlite">;

/** Runs a list of statements built at run time as one D1 batch; results in order. */
export async function runBatch(db: Db, statements: Statement[]): Promise<unknown[]> {
  const [first, ...rest] = statements;
  if (!first) return [];
  return db.batch([first, ...rest]);
}
