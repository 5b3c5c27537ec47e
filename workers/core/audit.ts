/** The audit log: every moderation and settings action, readable with VIEW_AUDIT_LOG. */
import type { AuditAction } from "../shared/communities";
import { newId } from "../shared/ids";
import { auditLog } from "./schema";
import type { Db } from "./db";

export interface AuditInput {
  communityId: string;
  actorId: string;
  action: AuditAction;
  targetKind?: "community" | "channel" | "role" | "user" | "invite" | "overwrite" | "desk" | "desk_key" | "emoji";
  targetId?: string;
  /** What changed: `{ field: { from, to } }` or action-specific details. */
  changes?: Record<string, unknown>;
  reason?: string | null;
}

/** The insert for one entry, to run alone or inside a `db.batch`. */
export function auditInsert(db: Db, e: AuditInput, now = Date.now()) {
  return db.insert(auditLog).values({
    id: newId(now),
    communityId: e.communityId,
    actorId: e.actorId,
    action: e.action,
    targetKind: e.targetKind ?? null,
    targetId: e.targetId ?? null,
    changes: e.changes ? JSON.stringify(e.changes) : null,
    reason: e.reason ?? null,
    createdAt: now,
  });
}

/** `{ field: { from, to } }` for the fields of `patch` whose value differs from `before`. */
export function diff<T extends Record<string, unknown>>(before: T, patch: Partial<T>): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v !== undefined && before[k] !== v) out[k] = { from: before[k] ?? null, to: v };
  }
  return out;
}
