/**
 * Community icons, uploaded as a raw body: PUT /api/uploads/communities/:id/icon (the
 * JSON-only rule does not apply under /api/uploads/). The type is recognised by magic
 * bytes, never by the declared type; the size is capped while reading. Served by
 * GET /api/communities/:id/icon (routes/communities.ts).
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { CommunityParam, MAX_ICON_BYTES, type CommunityResponse } from "../../../shared/communities";
import { ApiError } from "../../../shared/errors";
import { randomToken } from "../../../shared/ids";
import { P } from "../../../shared/permissions";
import { communities } from "../db/schema";
import type { AppEnv } from "../env";
import { communityAccess, requirePerms } from "../lib/access";
import { auditInsert } from "../lib/audit";
import { publish } from "../lib/rooms";
import { toCommunity } from "../lib/views";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

export type IconType = "image/png" | "image/jpeg" | "image/gif" | "image/webp";

/** The image type of `b` by its first bytes, or undefined for anything else. */
export function sniffIcon(b: Uint8Array): IconType | undefined {
  const at = (i: number, ...bytes: number[]) => bytes.every((x, k) => b[i + k] === x);
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (at(0, 0xff, 0xd8, 0xff)) return "image/jpeg";
  if (at(0, 0x47, 0x49, 0x46, 0x38) && (b[4] === 0x37 || b[4] === 0x39) && b[5] === 0x61) return "image/gif";
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return "image/webp";
  return undefined;
}

/** Reads a request body, refusing it as soon as it passes `max` bytes. */
async function readIcon(req: Request, max: number): Promise<Uint8Array> {
  const tooLarge = () => new ApiError("payload_too_large", `Icons may be at most ${max} bytes.`);
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > max) throw tooLarge();
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const ch of chunks) {
    out.set(ch, off);
    off += ch.byteLength;
  }
  return out;
}

/** Mounted at /api/uploads. */
export const communityIconUploads = new Hono<AppEnv>().put("/communities/:id/icon", validate("param", CommunityParam), async (c) => {
  const { user } = authed(c);
  const { id } = c.req.valid("param");
  const db = c.var.db;
  const a = await communityAccess(db, user.id, id);
  requirePerms(a.perms, P.MANAGE_COMMUNITY);
  const bytes = await readIcon(c.req.raw, MAX_ICON_BYTES);
  if (bytes.byteLength === 0) throw new ApiError("validation_failed", "The body is empty.");
  const type = sniffIcon(bytes);
  if (!type) throw new ApiError("unsupported_media_type", "Icons must be PNG, JPEG, GIF or WebP images.");
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
