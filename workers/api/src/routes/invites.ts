/**
 * Invites: create and list (mounted at /api/communities), preview, redeem and revoke
 * (mounted at /api/invites). Codes carry 128 random bits. Redemption is one D1 batch: a
 * conditional UPDATE that consumes a use only while the invite is live and the user is
 * neither banned nor a member, and a member INSERT that runs only if that UPDATE changed
 * a row; D1 runs a batch as one transaction, so parallel redemptions cannot overshoot.
 */
import { and, desc, eq, isNull } from "drizzle-orm";
import { Hono } from "hono";
import {
  CommunityParam,
  CreateInviteBody,
  DEFAULT_INVITE_AGE_S,
  InviteParam,
  iconUrl,
  type Invite,
  type InviteListResponse,
  type InviteResponse,
  type InvitePreview,
  type RedeemResponse,
} from "../../../shared/communities";
import { ApiError } from "../../../shared/errors";
import { randomToken } from "../../../shared/ids";
import { communities, invites, members } from "../../../core/schema";
import type { AppEnv } from "../env";
import { isBanned } from "../../../core/access";
import { canCreateInvite, canListInvites, canRevokeInvite, canSeeChannel } from "../../../core/policy";
import { auditInsert } from "../../../core/audit";
import { log } from "../../../core/log";
import { memberView } from "../lib/membership";
import { postSystem, publish } from "../lib/rooms";
import { hubOf } from "../stubs";
import type { Db } from "../../../core/db";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

type InviteRow = typeof invites.$inferSelect;

/** Bits of randomness in an invite code (26 base32 characters). */
export const INVITE_CODE_BITS = 128;

function toInvite(r: InviteRow): Invite {
  return {
    code: r.code,
    communityId: r.communityId,
    channelId: r.channelId,
    creatorId: r.creatorId,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    maxUses: r.maxUses,
    uses: r.uses,
  };
}

const invalid = () => new ApiError("not_found", "This invite is invalid or has expired.");

/** Whether an invite can still be redeemed (also asked by registration by invite, routes/auth.ts). */
export function isUsable(r: InviteRow, now: number): boolean {
  return r.revokedAt === null && (r.expiresAt === null || r.expiresAt > now) && (r.maxUses === null || r.uses < r.maxUses);
}

async function liveInvite(db: Db, code: string): Promise<InviteRow> {
  const r = (await db.select().from(invites).where(eq(invites.code, code)).limit(1))[0];
  if (!r || r.revokedAt !== null) throw invalid();
  return r;
}

/** Where a member lands: the invite's channel, else the system channel, if they can see it. */
async function landing(db: Db, userId: string, inv: InviteRow, systemChannelId: string | null): Promise<string | null> {
  for (const id of [inv.channelId, systemChannelId]) {
    if (!id) continue;
    try {
      await canSeeChannel(db, userId, id);
      return id;
    } catch {
      // Not visible to them: try the next one.
    }
  }
  return null;
}

/** /api/communities/:id/invites */
export const communityInviteRoutes = new Hono<AppEnv>()
  .post("/:id/invites", validate("param", CommunityParam), validate("json", CreateInviteBody), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = c.var.db;
    await canCreateInvite(db, user.id, id, body.channelId);
    const now = Date.now();
    const maxAge = body.maxAgeSeconds === undefined ? DEFAULT_INVITE_AGE_S : body.maxAgeSeconds;
    const row: InviteRow = {
      code: randomToken(INVITE_CODE_BITS),
      communityId: id,
      channelId: body.channelId ?? null,
      creatorId: user.id,
      createdAt: now,
      expiresAt: maxAge === null ? null : now + maxAge * 1000,
      maxUses: body.maxUses ?? null,
      uses: 0,
      revokedAt: null,
    };
    await db.batch([
      db.insert(invites).values(row),
      auditInsert(db, {
        communityId: id,
        actorId: user.id,
        action: "invite.create",
        targetKind: "invite",
        // The audit log never shows the code itself, only its start.
        targetId: row.code.slice(0, 6),
        changes: { maxAgeSeconds: maxAge, maxUses: row.maxUses, channelId: row.channelId },
      }),
    ]);
    return c.json({ invite: toInvite(row) } satisfies InviteResponse, 201);
  })
  .get("/:id/invites", validate("param", CommunityParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const db = c.var.db;
    // MANAGE_COMMUNITY sees every invite; CREATE_INVITE only one's own.
    const all = (await canListInvites(db, user.id, id)) === "all";
    const rows = await db
      .select()
      .from(invites)
      .where(and(eq(invites.communityId, id), isNull(invites.revokedAt), all ? undefined : eq(invites.creatorId, user.id)))
      .orderBy(desc(invites.createdAt));
    const now = Date.now();
    return c.json({ invites: rows.filter((r) => isUsable(r, now)).map(toInvite) } satisfies InviteListResponse);
  });

/** /api/invites/:code */
export const inviteRoutes = new Hono<AppEnv>()
  .get("/:code", validate("param", InviteParam), async (c) => {
    // Public: the invite page and link unfurls show it to anyone.
    const { code } = c.req.valid("param");
    const db = c.var.db;
    const inv = await liveInvite(db, code);
    const community = (await db.select().from(communities).where(eq(communities.id, inv.communityId)).limit(1))[0];
    if (!community) throw invalid();
    const [memberCount, onlineCount] = await Promise.all([
      db.$count(members, eq(members.communityId, community.id)),
      (async () => (await hubOf(c.env, community.id)).onlineCount())().catch(() => 0),
    ]);
    const body: InvitePreview = {
      code,
      community: { id: community.id, name: community.name, iconUrl: iconUrl(community.id, community.iconKey) },
      memberCount,
      onlineCount,
      expiresAt: inv.expiresAt,
      expired: !isUsable(inv, Date.now()),
    };
    return c.json(body);
  })
  .post("/:code/redeem", validate("param", InviteParam), async (c) => {
    const { user } = authed(c);
    const { code } = c.req.valid("param");
    const db = c.var.db;
    const inv = await liveInvite(db, code);
    const communityId = inv.communityId;
    if (await isBanned(db, communityId, user.id)) throw new ApiError("forbidden", "You are banned from this community.");
    const community = (await db.select().from(communities).where(eq(communities.id, communityId)).limit(1))[0];
    if (!community) throw invalid();
    const already = await db
      .select({ u: members.userId })
      .from(members)
      .where(and(eq(members.communityId, communityId), eq(members.userId, user.id)))
      .limit(1);
    if (already.length) {
      const body: RedeemResponse = { communityId, channelId: await landing(db, user.id, inv, community.systemChannelId), joined: false };
      return c.json(body, 200);
    }
    const now = Date.now();
    const [consumed] = await c.env.DB.batch<{ community_id: string }>([
      c.env.DB.prepare(
        `UPDATE invites SET uses = uses + 1
         WHERE code = ?1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)
           AND (max_uses IS NULL OR uses < max_uses)
           AND NOT EXISTS (SELECT 1 FROM bans b WHERE b.community_id = invites.community_id AND b.user_id = ?3)
           AND NOT EXISTS (SELECT 1 FROM members m WHERE m.community_id = invites.community_id AND m.user_id = ?3)
         RETURNING community_id`,
      ).bind(code, now, user.id),
      // Runs only when the UPDATE above consumed a use (changes() is that statement's count).
      c.env.DB.prepare(
        `INSERT INTO members (community_id, user_id, nickname, joined_at, timeout_until)
         SELECT community_id, ?2, NULL, ?3,
                (SELECT d.until FROM departed_timeouts d WHERE d.community_id = invites.community_id AND d.user_id = ?2 AND d.until > ?3)
         FROM invites WHERE code = ?1 AND changes() = 1`,
      ).bind(code, user.id, now),
      // The kept timeout is back on the member row (or over): a later lift must not be undone.
      c.env.DB.prepare(
        `DELETE FROM departed_timeouts WHERE user_id = ?1
           AND community_id IN (SELECT community_id FROM members WHERE user_id = ?1 AND joined_at = ?2)`,
      ).bind(user.id, now),
    ]);
    if (!consumed?.results.length) {
      // Lost a race: banned, joined by a parallel request, or the last use went elsewhere.
      if (await isBanned(db, communityId, user.id)) throw new ApiError("forbidden", "You are banned from this community.");
      const nowMember = await db
        .select({ u: members.userId })
        .from(members)
        .where(and(eq(members.communityId, communityId), eq(members.userId, user.id)))
        .limit(1);
      if (nowMember.length) {
        const body: RedeemResponse = { communityId, channelId: await landing(db, user.id, inv, community.systemChannelId), joined: false };
        return c.json(body, 200);
      }
      throw invalid();
    }
    log({ event: "invite.redeemed", requestId: c.var.requestId, communityId, userId: user.id });
    const member = await memberView(db, c.env, communityId, user.id);
    const system = community.systemChannelId;
    await Promise.all([
      member ? publish(c.env, communityId, { type: "member.joined", member }) : Promise.resolve(),
      system ? postSystem(c.env, system, { kind: "member_joined", userId: user.id }) : Promise.resolve(),
    ]);
    const body: RedeemResponse = { communityId, channelId: await landing(db, user.id, inv, system), joined: true };
    return c.json(body, 201);
  })
  .delete("/:code", validate("param", InviteParam), async (c) => {
    const { user } = authed(c);
    const { code } = c.req.valid("param");
    const db = c.var.db;
    const inv = (await db.select().from(invites).where(eq(invites.code, code)).limit(1))[0];
    if (!inv) throw invalid();
    // Non-members get the same 404 as an unknown code.
    await canRevokeInvite(db, user.id, inv);
    if (inv.revokedAt === null) {
      await db.batch([
        db.update(invites).set({ revokedAt: Date.now() }).where(eq(invites.code, code)),
        auditInsert(db, {
          communityId: inv.communityId,
          actorId: user.id,
          action: "invite.revoke",
          targetKind: "invite",
          targetId: code.slice(0, 6),
          changes: { uses: inv.uses },
        }),
      ]);
    }
    return c.body(null, 204);
  });
