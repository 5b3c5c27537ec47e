/**
 * A community's custom emoji (docs/profiles-and-emoji.md): list and images for members, add
 * (raw body under /api/uploads/), rename and delete with MANAGE_EMOJI. At most
 * MAX_CUSTOM_EMOJI per community, names unique per community. Images are PNG, GIF or WebP
 * (magic bytes), at most EMOJI_PX square and MAX_EMOJI_BYTES; stored in R2 under
 * emoji/<communityId>/<emojiId> and never changed, so their URL is cached for a year. Every
 * change pushes the whole list to the community's sockets (`emoji.updated`).
 */
import { and, asc, count, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { CommunityParam } from "../../../shared/communities";
import { ApiError } from "../../../shared/errors";
import { newId } from "../../../shared/ids";
import {
  EMOJI_PX,
  EMOJI_TYPES,
  EmojiParam,
  EmojiUploadQuery,
  MAX_CUSTOM_EMOJI,
  MAX_EMOJI_BYTES,
  RenameEmojiBody,
  emojiUrl,
  type CustomEmoji,
  type CustomEmojiListResponse,
  type CustomEmojiResponse,
} from "../../../shared/profiles";
import { customEmoji } from "../../../core/schema";
import type { Db } from "../../../core/db";
import type { AppEnv } from "../env";
import { auditInsert } from "../../../core/audit";
import { canManageEmoji, canSeeCustomEmoji } from "../../../core/policy";
import { isAnimated, readCapped, verifyImage } from "../lib/files";
import { publish } from "../lib/rooms";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

function toCustomEmoji(r: typeof customEmoji.$inferSelect): CustomEmoji {
  return { id: r.id, name: r.name, url: emojiUrl(r.communityId, r.id), animated: r.animated };
}

/** The community's emoji, by name. */
export async function listEmoji(db: Db, communityId: string): Promise<CustomEmoji[]> {
  return (await db.select().from(customEmoji).where(eq(customEmoji.communityId, communityId)).orderBy(asc(customEmoji.name))).map(toCustomEmoji);
}

async function pushList(db: Db, env: Env, communityId: string): Promise<void> {
  await publish(env, communityId, { type: "emoji.updated", emoji: await listEmoji(db, communityId) });
}

const nameTaken = () => new ApiError("conflict", "This community already has an emoji with that name.", { issues: [{ path: ["name"], message: "taken" }] });

async function emojiRow(db: Db, communityId: string, emojiId: string) {
  const row = (await db.select().from(customEmoji).where(and(eq(customEmoji.id, emojiId), eq(customEmoji.communityId, communityId))).limit(1))[0];
  if (!row) throw new ApiError("not_found", "No such emoji.");
  return row;
}

/** Mounted at /api/communities. */
export const emojiRoutes = new Hono<AppEnv>()
  .get("/:id/emoji", validate("param", CommunityParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    await canSeeCustomEmoji(c.var.db, user.id, id);
    return c.json({ emoji: await listEmoji(c.var.db, id) } satisfies CustomEmojiListResponse);
  })
  .get("/:id/emoji/:emojiId", validate("param", EmojiParam), async (c) => {
    const { user } = authed(c);
    const { id, emojiId } = c.req.valid("param");
    await canSeeCustomEmoji(c.var.db, user.id, id);
    const row = await emojiRow(c.var.db, id, emojiId);
    const obj = await c.env.FILES.get(row.key);
    if (!obj) throw new ApiError("not_found", "No such emoji.");
    return new Response(obj.body, {
      headers: {
        "Content-Type": row.contentType,
        "Content-Length": String(obj.size),
        "Content-Disposition": "inline",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        // An emoji's id names its image for good (a new image is a new emoji). Members only: private.
        "Cache-Control": "private, max-age=31536000, immutable",
        ETag: obj.httpEtag,
      },
    });
  })
  .patch("/:id/emoji/:emojiId", validate("param", EmojiParam), validate("json", RenameEmojiBody), async (c) => {
    const { user } = authed(c);
    const { id, emojiId } = c.req.valid("param");
    const { name } = c.req.valid("json");
    const db = c.var.db;
    await canManageEmoji(db, user.id, id);
    const row = await emojiRow(db, id, emojiId);
    if (row.name !== name) {
      const clash = await db.select({ id: customEmoji.id }).from(customEmoji).where(and(eq(customEmoji.communityId, id), eq(customEmoji.name, name))).limit(1);
      if (clash.length) throw nameTaken();
      await db.batch([
        db.update(customEmoji).set({ name }).where(eq(customEmoji.id, emojiId)),
        auditInsert(db, { communityId: id, actorId: user.id, action: "emoji.update", targetKind: "emoji", targetId: emojiId, changes: { name: { from: row.name, to: name } } }),
      ]);
      await pushList(db, c.env, id);
    }
    return c.json({ emoji: toCustomEmoji({ ...row, name }) } satisfies CustomEmojiResponse);
  })
  .delete("/:id/emoji/:emojiId", validate("param", EmojiParam), async (c) => {
    const { user } = authed(c);
    const { id, emojiId } = c.req.valid("param");
    const db = c.var.db;
    await canManageEmoji(db, user.id, id);
    const row = await emojiRow(db, id, emojiId);
    await db.batch([
      db.delete(customEmoji).where(eq(customEmoji.id, emojiId)),
      auditInsert(db, { communityId: id, actorId: user.id, action: "emoji.delete", targetKind: "emoji", targetId: emojiId, changes: { name: { from: row.name, to: null } } }),
    ]);
    await c.env.FILES.delete(row.key);
    await pushList(db, c.env, id);
    return c.body(null, 204);
  });

/** Raw-body emoji uploads, mounted at /api/uploads. */
export const emojiUploads = new Hono<AppEnv>().post(
  "/communities/:id/emoji",
  validate("param", CommunityParam),
  validate("query", EmojiUploadQuery),
  async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const { name } = c.req.valid("query");
    const db = c.var.db;
    await canManageEmoji(db, user.id, id);
    const [[n], clash] = await db.batch([
      db.select({ n: count() }).from(customEmoji).where(eq(customEmoji.communityId, id)),
      db.select({ id: customEmoji.id }).from(customEmoji).where(and(eq(customEmoji.communityId, id), eq(customEmoji.name, name))).limit(1),
    ]);
    if ((n?.n ?? 0) >= MAX_CUSTOM_EMOJI) throw new ApiError("limit_reached", `A community can have at most ${MAX_CUSTOM_EMOJI} custom emoji.`);
    if (clash.length) throw nameTaken();
    const bytes = await readCapped(c.req.raw, MAX_EMOJI_BYTES, "Emoji");
    const { type } = verifyImage(bytes, EMOJI_TYPES, "Emoji", { max: EMOJI_PX });
    const emojiId = newId();
    const key = `emoji/${id}/${emojiId}`;
    await c.env.FILES.put(key, bytes, { httpMetadata: { contentType: type } });
    const row = { id: emojiId, communityId: id, name, key, contentType: type, animated: isAnimated(bytes, type), createdBy: user.id, createdAt: Date.now() };
    // The cap is checked again in the insert itself: two uploads racing at 49 cannot make 51
    // (D1 runs one statement at a time, so the count and the insert cannot interleave).
    let inserted: number;
    try {
      const r = await db.run(sql`
        INSERT INTO custom_emoji (id, community_id, name, key, content_type, animated, created_by, created_at)
        SELECT ${row.id}, ${row.communityId}, ${row.name}, ${row.key}, ${row.contentType}, ${row.animated ? 1 : 0}, ${row.createdBy}, ${row.createdAt}
        WHERE (SELECT count(*) FROM custom_emoji WHERE community_id = ${id}) < ${MAX_CUSTOM_EMOJI}`);
      inserted = r.meta.changes ?? 0;
    } catch (e) {
      // The unique name index lost a race with another upload of the same name.
      await c.env.FILES.delete(key);
      if (/UNIQUE/i.test(String(e))) throw nameTaken();
      throw e;
    }
    if (inserted === 0) {
      await c.env.FILES.delete(key);
      throw new ApiError("limit_reached", `A community can have at most ${MAX_CUSTOM_EMOJI} custom emoji.`);
    }
    await auditInsert(db, { communityId: id, actorId: user.id, action: "emoji.create", targetKind: "emoji", targetId: emojiId, changes: { name: { from: null, to: name }, contentType: type, bytes: bytes.byteLength } });
    await pushList(db, c.env, id);
    return c.json({ emoji: toCustomEmoji(row) } satisfies CustomEmojiResponse, 201);
  },
);
