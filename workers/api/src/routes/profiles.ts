/**
 * Profiles (docs/profiles-and-emoji.md): a user's profile card, their own profile fields and
 * custom status, their avatar and their per-community avatar. Avatars are cropped and
 * resized in the browser to AVATAR_PX square; the server proves the type by magic bytes,
 * checks the size from the header and the byte cap, and stores them content-addressed in R2
 * under avatars/<userId>/<sha256>, served at /api/avatars/<userId>/<sha256> with a year's
 * cache and nosniff. Raw-body uploads live under /api/uploads/ (the JSON-only rule skips it).
 */
import { and, eq } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { ApiError } from "../../../shared/errors";
import { CommunityUserParam, type MemberResponse } from "../../../shared/communities";
import {
  AVATAR_PX,
  AVATAR_TYPES,
  AvatarFileParam,
  MAX_AVATAR_BYTES,
  ProfileQuery,
  UpdateMyProfileBody,
  UserIdParam,
  avatarUrl,
  liveStatus,
  statusExpiresAt,
  type Profile,
  type ProfileResponse,
} from "../../../shared/profiles";
import { members, users } from "../../../core/schema";
import type { Db } from "../../../core/db";
import type { AppEnv } from "../env";
import { auditInsert } from "../../../core/audit";
import { canResetCommunityAvatar, canSeeProfile, canSetCommunityAvatar } from "../../../core/policy";
import { toUserSummary } from "../../../core/views";
import { readCapped, verifyImage } from "../lib/files";
import { memberView } from "../lib/membership";
import { publish, settle } from "../lib/rooms";
import { toMe } from "../lib/users";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");

/** Reads, checks and stores one avatar upload; answers its R2 key. */
async function storeAvatar(c: Context<AppEnv>, userId: string): Promise<string> {
  const bytes = await readCapped(c.req.raw, MAX_AVATAR_BYTES, "Avatars");
  const { type } = verifyImage(bytes, AVATAR_TYPES, "Avatars", { exact: AVATAR_PX });
  const key = `avatars/${userId}/${hex(await crypto.subtle.digest("SHA-256", bytes))}`;
  await c.env.FILES.put(key, bytes, { httpMetadata: { contentType: type } });
  return key;
}

/** Deletes an avatar's bytes once no profile or membership names them any more. */
async function dropAvatarIfUnused(db: Db, env: Env, key: string | null | undefined): Promise<void> {
  if (!key) return;
  const [u, m] = await db.batch([
    db.select({ id: users.id }).from(users).where(eq(users.avatarKey, key)).limit(1),
    db.select({ id: members.userId }).from(members).where(eq(members.avatarKey, key)).limit(1),
  ]);
  if (!u.length && !m.length) await env.FILES.delete(key);
}

/** Tells every community the user is in that their member view changed (avatar). */
async function republishMember(db: Db, env: Env, userId: string, only?: string): Promise<void> {
  const ids = only ? [only] : (await db.select({ id: members.communityId }).from(members).where(eq(members.userId, userId))).map((r) => r.id);
  await settle("profile.republish_failed", { userId }, [
    ...ids.map((communityId) => async () => {
      const member = await memberView(db, env, communityId, userId);
      if (member) await publish(env, communityId, { type: "member.updated", member });
    }),
  ]);
}

function toProfile(u: typeof users.$inferSelect, member: Profile["member"]): Profile {
  return {
    user: toUserSummary(u),
    pronouns: u.pronouns,
    aboutMe: u.aboutMe,
    bannerColor: u.bannerColor,
    status: liveStatus(u, Date.now()),
    member,
  };
}

/** Mounted at /api. */
export const profileRoutes = new Hono<AppEnv>()
  .get("/users/:userId/profile", validate("param", UserIdParam), validate("query", ProfileQuery), async (c) => {
    const { user } = authed(c);
    const { userId } = c.req.valid("param");
    const { communityId } = c.req.valid("query");
    const db = c.var.db;
    const row = (await db.select().from(users).where(eq(users.id, userId)).limit(1))[0];
    const { target, community } = await canSeeProfile(db, user.id, row, communityId);
    let member: Profile["member"] = null;
    if (community) {
      const m = (
        await db
          .select({ nickname: members.nickname, avatarKey: members.avatarKey })
          .from(members)
          .where(and(eq(members.communityId, community.community.id), eq(members.userId, userId)))
          .limit(1)
      )[0];
      if (m) member = { nickname: m.nickname, avatarUrl: avatarUrl(m.avatarKey ?? target.avatarKey), communityAvatar: !!m.avatarKey };
    }
    return c.json({ profile: toProfile(target, member) } satisfies ProfileResponse);
  })
  .patch("/me/profile", validate("json", UpdateMyProfileBody), async (c) => {
    const { user } = authed(c);
    const body = c.req.valid("json");
    const patch: Partial<typeof users.$inferInsert> = {};
    if (body.pronouns !== undefined) patch.pronouns = body.pronouns;
    if (body.aboutMe !== undefined) patch.aboutMe = body.aboutMe;
    if (body.bannerColor !== undefined) patch.bannerColor = body.bannerColor;
    if (body.status !== undefined) {
      const s = body.status;
      const now = Date.now();
      const expiresAt = s ? statusExpiresAt(s.expiry, now, s.endOfDay) : null;
      if (s?.expiry === "today" && expiresAt === null) {
        throw new ApiError("validation_failed", "endOfDay must be within the next 24 hours.", { issues: [{ path: ["status", "endOfDay"], message: "out of range" }] });
      }
      patch.statusText = s?.text ?? null;
      patch.statusEmoji = s?.emoji ?? null;
      patch.statusExpiresAt = expiresAt;
    }
    if (Object.keys(patch).length) await c.var.db.update(users).set(patch).where(eq(users.id, user.id));
    // Member lists show the status: tell the member's communities.
    if (body.status !== undefined) c.executionCtx.waitUntil(republishMember(c.var.db, c.env, user.id));
    return c.json({ profile: toProfile({ ...user, ...patch }, null) } satisfies ProfileResponse);
  })
  .delete("/me/avatar", async (c) => {
    const { user } = authed(c);
    const db = c.var.db;
    if (user.avatarKey) {
      await db.update(users).set({ avatarKey: null }).where(eq(users.id, user.id));
      await dropAvatarIfUnused(db, c.env, user.avatarKey);
      c.executionCtx.waitUntil(republishMember(db, c.env, user.id));
    }
    return c.json({ user: toMe({ ...user, avatarKey: null }) });
  })
  .delete("/communities/:id/members/:userId/avatar", validate("param", CommunityUserParam), async (c) => {
    const { user } = authed(c);
    const { id, userId } = c.req.valid("param");
    const db = c.var.db;
    await canResetCommunityAvatar(db, user.id, id, userId);
    const old = (await db.select({ avatarKey: members.avatarKey }).from(members).where(and(eq(members.communityId, id), eq(members.userId, userId))).limit(1))[0];
    if (old?.avatarKey) {
      await db.batch([
        db.update(members).set({ avatarKey: null }).where(and(eq(members.communityId, id), eq(members.userId, userId))),
        ...(userId === user.id
          ? []
          : [auditInsert(db, { communityId: id, actorId: user.id, action: "member.avatar_reset", targetKind: "user", targetId: userId })]),
      ]);
      await dropAvatarIfUnused(db, c.env, old.avatarKey);
    }
    const member = await memberView(db, c.env, id, userId);
    if (!member) throw new ApiError("not_found", "No such member.");
    if (old?.avatarKey) await publish(c.env, id, { type: "member.updated", member });
    return c.json({ member } satisfies MemberResponse);
  })
  .get("/avatars/:userId/:hash", validate("param", AvatarFileParam), async (c) => {
    // Any signed-in user: avatars show wherever the person does (DMs, call links, every community).
    authed(c);
    const { userId, hash } = c.req.valid("param");
    const obj = await c.env.FILES.get(`avatars/${userId}/${hash}`);
    if (!obj) throw new ApiError("not_found", "No such avatar.");
    return new Response(obj.body, {
      headers: {
        "Content-Type": obj.httpMetadata?.contentType ?? "application/octet-stream",
        "Content-Length": String(obj.size),
        "Content-Disposition": "inline",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        // The URL names the content (SHA-256): it never changes.
        "Cache-Control": "private, max-age=31536000, immutable",
        ETag: obj.httpEtag,
      },
    });
  });

/** Raw-body avatar uploads, mounted at /api/uploads. */
export const avatarUploads = new Hono<AppEnv>()
  .put("/me/avatar", async (c) => {
    const { user } = authed(c);
    const db = c.var.db;
    const key = await storeAvatar(c, user.id);
    if (key !== user.avatarKey) {
      await db.update(users).set({ avatarKey: key }).where(eq(users.id, user.id));
      await dropAvatarIfUnused(db, c.env, user.avatarKey);
      c.executionCtx.waitUntil(republishMember(db, c.env, user.id));
    }
    return c.json({ user: toMe({ ...user, avatarKey: key }) });
  })
  .put("/communities/:id/members/:userId/avatar", validate("param", CommunityUserParam), async (c) => {
    const { user } = authed(c);
    const { id, userId } = c.req.valid("param");
    const db = c.var.db;
    await canSetCommunityAvatar(db, user.id, id, userId);
    const old = (await db.select({ avatarKey: members.avatarKey }).from(members).where(and(eq(members.communityId, id), eq(members.userId, userId))).limit(1))[0];
    const key = await storeAvatar(c, user.id);
    await db.update(members).set({ avatarKey: key }).where(and(eq(members.communityId, id), eq(members.userId, userId)));
    if (old?.avatarKey && old.avatarKey !== key) await dropAvatarIfUnused(db, c.env, old.avatarKey);
    const member = await memberView(db, c.env, id, userId);
    if (!member) throw new ApiError("not_found", "No such member.");
    await publish(c.env, id, { type: "member.updated", member });
    return c.json({ member } satisfies MemberResponse);
  });
