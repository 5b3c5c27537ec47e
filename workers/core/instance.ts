/**
 * Instance-wide state in D1 (tables `instance_settings`, `users.instance_role`,
 * `users.banned_at`): the registration mode and who the owner is. Reading and writing only;
 * who may change them is decided in policy.ts ("instance").
 */
import { and, eq, isNotNull } from "drizzle-orm";
import { RegistrationMode } from "../shared/admin";
import type { Db } from "./db";
import { instanceSettings, users } from "./schema";

const REGISTRATION_KEY = "registration_mode";

/** The registration mode; `open` until an admin changes it. */
export async function registrationMode(db: Db): Promise<RegistrationMode> {
  const row = (await db.select({ value: instanceSettings.value }).from(instanceSettings).where(eq(instanceSettings.key, REGISTRATION_KEY)).limit(1))[0];
  const parsed = RegistrationMode.safeParse(row?.value);
  return parsed.success ? parsed.data : "open";
}

export async function setRegistrationMode(db: Db, mode: RegistrationMode, byUserId: string, now = Date.now()): Promise<void> {
  await db
    .insert(instanceSettings)
    .values({ key: REGISTRATION_KEY, value: mode, updatedAt: now, updatedBy: byUserId })
    .onConflictDoUpdate({ target: instanceSettings.key, set: { value: mode, updatedAt: now, updatedBy: byUserId } });
}

/**
 * Makes `userId` the owner when the instance has none yet (the first account). One statement,
 * so two first registrations racing each other cannot both become owner. True when it did.
 */
export async function claimOwnership(d1: D1Database, userId: string): Promise<boolean> {
  const r = await d1
    .prepare(
      `UPDATE users SET instance_role = 'owner'
       WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM users WHERE instance_role = 'owner')`,
    )
    .bind(userId)
    .run();
  return (r.meta.changes ?? 0) > 0;
}

/** Whether the user is banned from the whole instance (for callers that hold only an id: webhooks). */
export async function instanceBanned(db: Db, userId: string): Promise<boolean> {
  const r = await db.select({ id: users.id }).from(users).where(and(eq(users.id, userId), isNotNull(users.bannedAt))).limit(1);
  return r.length > 0;
}
