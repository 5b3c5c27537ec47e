/**
 * Community icons, uploaded as a raw body: PUT /api/uploads/communities/:id/icon (the
 * JSON-only rule does not apply under /api/uploads/). The type is recognised by magic
 * bytes, never by the declared type; the size is capped while reading. Served by
 * GET /api/communities/:id/icon (routes/communities.ts).
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { CommunityParam, MAX_ICON_BYTES, type CommunityResponse } from "../../../shared/communities";
import { randomToken } from "../../../shared/ids";
import { P } from "../../../shared/permissions";
import { communities } from "../../../core/schema";
import type { AppEnv } from "../env";
import { canInCommunity } from "../../../core/policy";
import { auditInsert } from "../../../core/audit";
import { readCapped, verifyImage } from "../lib/files";
import { publish } from "../lib/rooms";
import { toCommunity } from "../../../core/views";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

/** What an icon may be, proven by its magic bytes (lib/files.ts verifyImage). */
export const ICON_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/** Mounted at /api/uploads. */
export const communityIconUploads = new Hono<AppEnv>().put("/communities/:id/icon", validate("param", CommunityParam), async (c) => {
  const { user } = authed(c);
  const { id } = c.req.valid("param");
  const db = c.var.db;
  const a = await canInCommunity(db, user.id, id, P.MANAGE_COMMUNITY);
  const bytes = await readCapped(c.req.raw, MAX_ICON_BYTES, "Icons");
  const { type } = verifyImage(bytes, ICON_TYPES, "Icons");
  const key = `icons/${id}/${randomToken(80)}`;
  await c.env.FILES.put(key, bytes, { httpMetadata: { contentType: type } });
  await db.batch([
    db.update(communities).set({ iconKey: key }).where(eq(communities.id, id)),
    auditInsert(db, {
      communityId: id,
      actorId: user.id,
      action: "community.icon_update",
      targetKind: "community",
      targetId: id,
      changes: { icon: { from: a.community.iconKey ? "set" : null, to: "set" }, contentType: type, bytes: bytes.byteLength },
    }),
  ]);
  if (a.community.iconKey) await c.env.FILES.delete(a.community.iconKey);
  const community = toCommunity({ ...a.community, iconKey: key });
  await publish(c.env, id, { type: "community.updated", community });
  return c.json({ community } satisfies CommunityResponse);
});
