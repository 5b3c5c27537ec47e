/**
 * After a change that may take the desk away from some managers (a role removed, a kick, a ban,
 * leaving, a desk's manager role changed): every desk of the community re-checks its managers'
 * sockets against the policy (SupportDesk.revalidate): those who lost it are disconnected
 * (4403) and their tickets go back to the queue. D1 has already changed; a failing object call
 * is logged, never turned into a failed request.
 */
import { eq } from "drizzle-orm";
import { makeDb } from "../../../core/db";
import { desks } from "../../../core/schema";
import { deskOf } from "../stubs";
import { settle } from "./rooms";

export async function revalidateDesks(env: Env, communityId: string): Promise<void> {
  const rows = await makeDb(env.DB).select({ id: desks.id }).from(desks).where(eq(desks.communityId, communityId));
  await settle("desk.revalidate_failed", { communityId }, rows.map((r) => async () => (await deskOf(env, r.id)).revalidate()));
}
