/**
 * Notification settings over HTTP: defaults, PUT then GET for a community and a channel,
 * validation (4xx with {error:{code,message}}), and access: only communities and channels the
 * member can see (private channels, non-members, strangers' DMs are not_found).
 */
import { describe, expect, it } from "vitest";
import { MUTED_FOREVER } from "../workers/shared/notifications";
import { addMember, createCommunity } from "./community-fixtures";
import { call, newUser, ok } from "./helpers";
import { dm } from "./voice-fixtures";

const base = (id: string) => `/api/communities/${id}/notifications`;
const chan = (id: string) => `/api/channels/${id}/notifications`;

async function setup() {
  const owner = await newUser("owner");
  const member = await newUser("member");
  const stranger = await newUser("stranger");
  const made = await createCommunity(owner);
  const id = made.community.id;
  await addMember(id, member);
  const general = made.channels.find((c) => c.kind === "text")!.id;
  const secret = (await ok(201, owner, "POST", `/api/communities/${id}/channels`, { kind: "text", name: "staff", private: true })).channel.id as string;
  return { owner, member, stranger, id, general, secret };
}

describe("notification settings", () => {
  it("defaults, then stores and returns a community's and a channel's settings", async () => {
    const { member, id, general } = await setup();
    expect(await ok(200, member, "GET", base(id))).toEqual({ community: { level: null, mutedUntil: null }, channels: {} });
    expect(await ok(200, member, "GET", chan(general))).toEqual({ channelId: general, setting: { level: null, mutedUntil: null } });

    await ok(200, member, "PUT", base(id), { level: "mentions", mutedUntil: null });
    const until = Date.now() + 3600_000;
    await ok(200, member, "PUT", chan(general), { level: "nothing", mutedUntil: until });
    expect(await ok(200, member, "GET", base(id))).toEqual({
      community: { level: "mentions", mutedUntil: null },
      channels: { [general]: { level: "nothing", mutedUntil: until } },
    });
    expect(await ok(200, member, "GET", chan(general))).toEqual({ channelId: general, setting: { level: "nothing", mutedUntil: until } });

    // Muted until turned back on, then back to defaults (the row goes).
    await ok(200, member, "PUT", chan(general), { level: null, mutedUntil: MUTED_FOREVER });
    expect((await ok(200, member, "GET", chan(general))).setting).toEqual({ level: null, mutedUntil: MUTED_FOREVER });
    await ok(200, member, "PUT", chan(general), { level: null, mutedUntil: null });
    expect((await ok(200, member, "GET", base(id))).channels).toEqual({});
  });

  it("keeps each member's settings their own", async () => {
    const { owner, member, id } = await setup();
    await ok(200, member, "PUT", base(id), { level: "nothing", mutedUntil: null });
    expect((await ok(200, owner, "GET", base(id))).community).toEqual({ level: null, mutedUntil: null });
  });

  it("works for a DM's people only", async () => {
    const a = await newUser("a");
    const b = await newUser("b");
    const c = await newUser("c");
    const dmId = await dm([a, b]);
    await ok(200, a, "PUT", chan(dmId), { level: "nothing", mutedUntil: null });
    expect((await ok(200, a, "GET", chan(dmId))).setting.level).toBe("nothing");
    expect((await ok(200, b, "GET", chan(dmId))).setting.level).toBe(null);
    expect((await call(c, "GET", chan(dmId))).status).toBe(404);
    expect((await call(c, "PUT", chan(dmId), { level: "all", mutedUntil: null })).status).toBe(404);
    // All of a member's DM settings at once (for the DM list's badges); not community channels.
    const made = await createCommunity(a);
    const general = made.channels.find((ch) => ch.kind === "text")!.id;
    await ok(200, a, "PUT", chan(general), { level: "mentions", mutedUntil: null });
    expect(await ok(200, a, "GET", "/api/me/notifications")).toEqual({ dms: { [dmId]: { level: "nothing", mutedUntil: null } } });
    expect(await ok(200, b, "GET", "/api/me/notifications")).toEqual({ dms: {} });
    // Left the DM (a group DM member can leave): no longer listed.
    await env_delete_recipient(dmId, a.id);
    expect(await ok(200, a, "GET", "/api/me/notifications")).toEqual({ dms: {} });
    expect((await call(null, "GET", "/api/me/notifications")).status).toBe(401);
  });

  it("rejects bad bodies with a validation error", async () => {
    const { member, id, general } = await setup();
    const bad = [
      { level: "loud", mutedUntil: null },
      { level: "all" },
      { level: "all", mutedUntil: -1 },
      { level: "all", mutedUntil: 1.5 },
      { level: "all", mutedUntil: MUTED_FOREVER + 1 },
      { level: "all", mutedUntil: null, extra: 1 },
      "all",
    ];
    for (const body of bad) {
      for (const path of [base(id), chan(general)]) {
        const r = await call(member, "PUT", path, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(typeof r.body.error.code).toBe("string");
        expect(typeof r.body.error.message).toBe("string");
      }
    }
    expect((await call(member, "GET", `/api/communities/nope!/notifications`)).status).toBe(400);
  });

  it("is only for communities and channels the member can see", async () => {
    const { owner, member, stranger, id, secret } = await setup();
    const body = { level: "nothing", mutedUntil: null };
    // A private channel: the owner sees it, the member does not.
    await ok(200, owner, "PUT", chan(secret), body);
    for (const [m, p] of [["GET", chan(secret)], ["PUT", chan(secret)]] as const) {
      const r = await call(member, m, p, m === "PUT" ? body : undefined);
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe("not_found");
    }
    // A setting kept from when the member could see it is not listed once they cannot.
    await env_insert(member.id, id, secret);
    expect((await ok(200, member, "GET", base(id))).channels).toEqual({});
    // Non-members.
    expect((await call(stranger, "GET", base(id))).status).toBe(404);
    expect((await call(stranger, "PUT", base(id), body)).status).toBe(404);
    // Anonymous.
    expect((await call(null, "GET", base(id))).status).toBe(401);
  });
});

async function env_insert(userId: string, communityId: string, channelId: string): Promise<void> {
  const { env } = await import("cloudflare:test");
  await env.DB.prepare(
    `INSERT INTO notification_settings (user_id, scope, scope_id, community_id, level, muted_until, updated_at) VALUES (?, 'channel', ?, ?, 'all', NULL, 0)`,
  )
    .bind(userId, channelId, communityId)
    .run();
}

async function env_delete_recipient(channelId: string, userId: string): Promise<void> {
  const { env } = await import("cloudflare:test");
  await env.DB.prepare(`DELETE FROM channel_recipients WHERE channel_id = ? AND user_id = ?`).bind(channelId, userId).run();
}
