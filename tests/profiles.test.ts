/**
 * Profiles and custom emoji (docs/profiles-and-emoji.md), over real HTTP, D1, R2 and sockets:
 * what an upload must be (magic bytes, dimensions, byte caps), how files are served, profile
 * fields and the custom status's expiry, emoji names, the per-community cap, pushes to the
 * hub, and custom emoji reactions stored under the emoji's current name.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { AVATAR_PX, EMOJI_PX, MAX_AVATAR_BYTES, MAX_CUSTOM_EMOJI } from "../workers/shared/profiles";
import { addMember, connectRoom, makeCommunity, nonce, say, world } from "./chat-fixtures";
import { openHub } from "./community-fixtures";
import { call, newUser, ok } from "./helpers";
import { gif, png, upload } from "./profile-fixtures";

const emojiPath = (communityId: string, name: string) => `/api/uploads/communities/${communityId}/emoji?name=${name}`;

describe("avatars", () => {
  it("accepts only a PNG, JPEG or WebP of exactly AVATAR_PX square, proven by its bytes, within the byte cap", async () => {
    const u = await newUser();
    const text = new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'/>");
    expect((await upload(u, "PUT", "/api/uploads/me/avatar", text, "image/png")).status).toBe(415);
    expect((await upload(u, "PUT", "/api/uploads/me/avatar", gif(AVATAR_PX, AVATAR_PX), "image/gif")).status).toBe(415);
    expect((await upload(u, "PUT", "/api/uploads/me/avatar", png(AVATAR_PX - 1, AVATAR_PX))).status).toBe(400);
    expect((await upload(u, "PUT", "/api/uploads/me/avatar", png(4096, 4096))).status).toBe(400);
    expect((await upload(u, "PUT", "/api/uploads/me/avatar", new Uint8Array(0))).status).toBe(400);
    const big = new Uint8Array(MAX_AVATAR_BYTES + 1);
    big.set(png(AVATAR_PX, AVATAR_PX));
    expect((await upload(u, "PUT", "/api/uploads/me/avatar", big)).status).toBe(413);
    const res = await upload(u, "PUT", "/api/uploads/me/avatar", png(AVATAR_PX, AVATAR_PX, 1));
    expect(res.status).toBe(200);
    const { user } = (await res.json()) as { user: { avatarUrl: string } };
    expect(user.avatarUrl).toMatch(new RegExp(`^/api/avatars/${u.id}/[0-9a-f]{64}$`));
    // Served with the content hash in the URL: cached for a year, never sniffed.
    const file = await u.http.fetch(user.avatarUrl);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("image/png");
    expect(file.headers.get("x-content-type-options")).toBe("nosniff");
    expect(file.headers.get("cache-control")).toContain("immutable");
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(png(AVATAR_PX, AVATAR_PX, 1));
    expect((await ok(200, u, "GET", "/api/me")).user.avatarUrl).toBe(user.avatarUrl);
  });

  it("a new avatar replaces the old one, whose bytes leave R2; removing it clears it", async () => {
    const u = await newUser();
    const first = ((await (await upload(u, "PUT", "/api/uploads/me/avatar", png(AVATAR_PX, AVATAR_PX, 11))).json()) as { user: { avatarUrl: string } }).user.avatarUrl;
    const second = ((await (await upload(u, "PUT", "/api/uploads/me/avatar", png(AVATAR_PX, AVATAR_PX, 12))).json()) as { user: { avatarUrl: string } }).user.avatarUrl;
    expect(second).not.toBe(first);
    expect(await env.FILES.head(first.slice("/api/".length))).toBeNull();
    expect((await u.http.fetch(first)).status).toBe(404);
    const after = await ok(200, u, "DELETE", "/api/me/avatar");
    expect(after.user.avatarUrl).toBeNull();
    expect(await env.FILES.head(second.slice("/api/".length))).toBeNull();
  });

  it("the member list and hub show the community avatar over the member's own; a change is pushed as member.updated", async () => {
    const { owner, member, community } = await world();
    const own = ((await (await upload(member, "PUT", "/api/uploads/me/avatar", png(AVATAR_PX, AVATAR_PX, 21))).json()) as { user: { avatarUrl: string } }).user.avatarUrl;
    let list = await ok(200, owner, "GET", `/api/communities/${community.id}/members`);
    expect(list.members.find((m: { user: { id: string } }) => m.user.id === member.id).avatarUrl).toBe(own);
    const hub = await openHub(owner, community.id);
    try {
      const res = await upload(member, "PUT", `/api/uploads/communities/${community.id}/members/${member.id}/avatar`, png(AVATAR_PX, AVATAR_PX, 22));
      expect(res.status).toBe(200);
      const pushed = await hub.next("member.updated", (f) => f.member.user.id === member.id);
      expect(pushed.member.communityAvatar).toBe(true);
      expect(pushed.member.avatarUrl).not.toBe(own);
      list = await ok(200, owner, "GET", `/api/communities/${community.id}/members`);
      expect(list.members.find((m: { user: { id: string } }) => m.user.id === member.id).avatarUrl).toBe(pushed.member.avatarUrl);
      // The profile inside the community names it; outside, only the user's own.
      const p = await ok(200, owner, "GET", `/api/users/${member.id}/profile?communityId=${community.id}`);
      expect(p.profile.member).toEqual({ nickname: null, avatarUrl: pushed.member.avatarUrl, communityAvatar: true });
      expect(p.profile.user.avatarUrl).toBe(own);
      expect((await ok(200, owner, "GET", `/api/users/${member.id}/profile`)).profile.member).toBeNull();
    } finally {
      hub.close();
    }
  });
});

describe("profile fields and custom status", () => {
  it("stores pronouns, about me and banner colour; trims, and empty text clears", async () => {
    const u = await newUser();
    const p = await ok(200, u, "PATCH", "/api/me/profile", { pronouns: " they/them ", aboutMe: "Plays the oud.", bannerColor: 0x3366ff });
    expect(p.profile).toMatchObject({ pronouns: "they/them", aboutMe: "Plays the oud.", bannerColor: 0x3366ff, status: null });
    const other = await newUser();
    expect((await ok(200, other, "GET", `/api/users/${u.id}/profile`)).profile.aboutMe).toBe("Plays the oud.");
    expect((await ok(200, u, "PATCH", "/api/me/profile", { pronouns: "" })).profile.pronouns).toBeNull();
    for (const bad of [{ bannerColor: 0x1000000 }, { aboutMe: "x".repeat(191) }, { pronouns: 5 }, { nope: 1 }]) {
      expect((await call(u, "PATCH", "/api/me/profile", bad)).status).toBe(400);
    }
    expect((await call(u, "GET", "/api/users/NoSuchUser0000000000000000/profile")).status).toBe(404);
    expect((await call(null, "GET", `/api/users/${u.id}/profile`)).status).toBe(401);
  });

  it("a status lasts as chosen: 30 min from now, today until the given midnight, never; an expired one is not shown", async () => {
    const u = await newUser();
    const before = Date.now();
    const s = (await ok(200, u, "PATCH", "/api/me/profile", { status: { text: "Out for lunch", emoji: "🍜", expiry: "30m" } })).profile.status;
    expect(s.text).toBe("Out for lunch");
    expect(s.emoji).toBe("🍜");
    expect(s.expiresAt).toBeGreaterThanOrEqual(before + 30 * 60_000);
    expect(s.expiresAt).toBeLessThanOrEqual(Date.now() + 30 * 60_000);
    // Time passes (the stored end moves into the past): nobody sees it any more.
    await env.DB.prepare(`UPDATE users SET status_expires_at = ? WHERE id = ?`).bind(Date.now() - 1, u.id).run();
    expect((await ok(200, u, "GET", `/api/users/${u.id}/profile`)).profile.status).toBeNull();
    const midnight = Date.now() + 3 * 3600_000;
    expect((await ok(200, u, "PATCH", "/api/me/profile", { status: { text: null, emoji: "🎧", expiry: "today", endOfDay: midnight } })).profile.status.expiresAt).toBe(midnight);
    expect((await call(u, "PATCH", "/api/me/profile", { status: { text: "x", emoji: null, expiry: "today", endOfDay: Date.now() + 25 * 3600_000 } })).status).toBe(400);
    expect((await call(u, "PATCH", "/api/me/profile", { status: { text: "x", emoji: null, expiry: "today" } })).status).toBe(400);
    expect((await call(u, "PATCH", "/api/me/profile", { status: { text: null, emoji: null, expiry: "never" } })).status).toBe(400);
    expect((await call(u, "PATCH", "/api/me/profile", { status: { text: "x", emoji: "not an emoji", expiry: "never" } })).status).toBe(400);
    expect((await ok(200, u, "PATCH", "/api/me/profile", { status: { text: "Here", emoji: null, expiry: "never" } })).profile.status.expiresAt).toBeNull();
    expect((await ok(200, u, "PATCH", "/api/me/profile", { status: null })).profile.status).toBeNull();
  });

  it("member lists carry the live status, and a change is pushed to the member's communities", async () => {
    const { owner, member, community } = await world();
    const hub = await openHub(owner, community.id);
    try {
      await ok(200, member, "PATCH", "/api/me/profile", { status: { text: "Away", emoji: "🌙", expiry: "1h" } });
      const pushed = await hub.next("member.updated", (f) => f.member.user.id === member.id);
      expect(pushed.member.customStatus).toMatchObject({ text: "Away", emoji: "🌙" });
      const list = await ok(200, owner, "GET", `/api/communities/${community.id}/members`);
      expect(list.members.find((m: { user: { id: string } }) => m.user.id === member.id).customStatus.text).toBe("Away");
      await env.DB.prepare(`UPDATE users SET status_expires_at = ? WHERE id = ?`).bind(Date.now() - 1, member.id).run();
      const later = await ok(200, owner, "GET", `/api/communities/${community.id}/members`);
      expect(later.members.find((m: { user: { id: string } }) => m.user.id === member.id).customStatus).toBeNull();
    } finally {
      hub.close();
    }
  });
});

describe("custom emoji", () => {
  it("names are [a-z0-9_]{2,32} and unique per community; rename keeps the image; delete drops it from R2", async () => {
    const { owner, community } = await world();
    for (const bad of ["a", "Caps", "has-dash", "x".repeat(33), "ünï"]) {
      expect((await upload(owner, "POST", emojiPath(community.id, encodeURIComponent(bad)), png(32, 32))).status).toBe(400);
    }
    const made = await upload(owner, "POST", emojiPath(community.id, "blob_cat"), png(32, 32));
    expect(made.status).toBe(201);
    const { emoji } = (await made.json()) as { emoji: { id: string; url: string; name: string } };
    expect((await upload(owner, "POST", emojiPath(community.id, "blob_cat"), png(32, 32))).status).toBe(409);
    // Another community may use the same name.
    const other = await makeCommunity(owner);
    expect((await upload(owner, "POST", emojiPath(other.id, "blob_cat"), png(32, 32))).status).toBe(201);
    const second = (await (await upload(owner, "POST", emojiPath(community.id, "blob_dog"), png(32, 32))).json()) as { emoji: { id: string } };
    expect((await call(owner, "PATCH", `/api/communities/${community.id}/emoji/${second.emoji.id}`, { name: "blob_cat" })).status).toBe(409);
    const renamed = await ok(200, owner, "PATCH", `/api/communities/${community.id}/emoji/${emoji.id}`, { name: "cat_blob" });
    expect(renamed.emoji).toMatchObject({ id: emoji.id, name: "cat_blob", url: emoji.url });
    const file = await owner.http.fetch(emoji.url);
    expect(file.status).toBe(200);
    expect(file.headers.get("x-content-type-options")).toBe("nosniff");
    expect(file.headers.get("cache-control")).toContain("max-age=31536000");
    await file.arrayBuffer();
    await ok(204, owner, "DELETE", `/api/communities/${community.id}/emoji/${emoji.id}`);
    expect(await env.FILES.head(`emoji/${community.id}/${emoji.id}`)).toBeNull();
    expect((await owner.http.fetch(emoji.url)).status).toBe(404);
    expect((await ok(200, owner, "GET", `/api/communities/${community.id}/emoji`)).emoji.map((e: { name: string }) => e.name)).toEqual(["blob_dog"]);
  });

  it("takes PNG, GIF and WebP up to EMOJI_PX, knows an animated GIF, refuses JPEG, SVG and larger images", async () => {
    const { owner, community } = await world();
    const still = (await (await upload(owner, "POST", emojiPath(community.id, "still"), gif(EMOJI_PX, 64, 1), "image/gif")).json()) as { emoji: { animated: boolean } };
    expect(still.emoji.animated).toBe(false);
    const moving = (await (await upload(owner, "POST", emojiPath(community.id, "moving"), gif(48, 48, 3), "image/gif")).json()) as { emoji: { animated: boolean } };
    expect(moving.emoji.animated).toBe(true);
    expect((await upload(owner, "POST", emojiPath(community.id, "too_big"), png(EMOJI_PX + 1, 8))).status).toBe(400);
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0]);
    expect((await upload(owner, "POST", emojiPath(community.id, "jpeg"), jpeg, "image/jpeg")).status).toBe(415);
    expect((await upload(owner, "POST", emojiPath(community.id, "svg"), new TextEncoder().encode("<svg/>"), "image/svg+xml")).status).toBe(415);
  });

  it(`a community holds at most ${MAX_CUSTOM_EMOJI}`, async () => {
    const { owner, community } = await world();
    const now = Date.now();
    await env.DB.batch(
      Array.from({ length: MAX_CUSTOM_EMOJI }, (_, i) =>
        env.DB.prepare(`INSERT INTO custom_emoji (id, community_id, name, key, content_type, created_by, created_at) VALUES (?, ?, ?, ?, 'image/png', ?, ?)`).bind(
          `cap${community.id}${i}`.slice(0, 64),
          community.id,
          `e${i}`,
          `emoji/${community.id}/x${i}`,
          owner.id,
          now,
        ),
      ),
    );
    const res = await upload(owner, "POST", emojiPath(community.id, "one_more"), png(16, 16));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("limit_reached");
  });

  it(`uploads racing for the last place make ${MAX_CUSTOM_EMOJI}, never more`, async () => {
    const { owner, community } = await world();
    const now = Date.now();
    await env.DB.batch(
      Array.from({ length: MAX_CUSTOM_EMOJI - 1 }, (_, i) =>
        env.DB.prepare(`INSERT INTO custom_emoji (id, community_id, name, key, content_type, created_by, created_at) VALUES (?, ?, ?, ?, 'image/png', ?, ?)`).bind(
          `race${community.id}${i}`.slice(0, 64),
          community.id,
          `r${i}`,
          `emoji/${community.id}/r${i}`,
          owner.id,
          now,
        ),
      ),
    );
    const statuses = await Promise.all(Array.from({ length: 5 }, (_, i) => upload(owner, "POST", emojiPath(community.id, `last_${i}`), png(16, 16)).then((r) => r.status)));
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(4);
    const n = await env.DB.prepare(`SELECT count(*) AS n FROM custom_emoji WHERE community_id = ?`).bind(community.id).first<{ n: number }>();
    expect(n?.n).toBe(MAX_CUSTOM_EMOJI);
  });

  it("changes reach the community's sockets as emoji.updated with the whole list", async () => {
    const { owner, member, community } = await world();
    const hub = await openHub(member, community.id);
    try {
      expect((await upload(owner, "POST", emojiPath(community.id, "wave_hi"), png(16, 16))).status).toBe(201);
      const f = await hub.next("emoji.updated");
      expect(f.emoji.map((e) => e.name)).toEqual(["wave_hi"]);
    } finally {
      hub.close();
    }
  });

  it("a custom reaction is stored under the emoji's current name; a deleted or foreign one is refused", async () => {
    const { owner, member, community, channelId } = await world();
    const made = (await (await upload(owner, "POST", emojiPath(community.id, "old_name"), png(16, 16))).json()) as { emoji: { id: string } };
    await ok(200, owner, "PATCH", `/api/communities/${community.id}/emoji/${made.emoji.id}`, { name: "new_name" });
    const s = await connectRoom(channelId, member);
    try {
      const m = await say(s, "react to me");
      // Sent with a stale name: stored with the current one.
      s.send({ type: "reaction.add", ref: nonce(), messageId: m.id, emoji: `<:old_name:${made.emoji.id}>` });
      const added = await s.next("reaction.added", (f) => f.messageId === m.id);
      expect(added.emoji).toBe(`<:new_name:${made.emoji.id}>`);
      const foreign = await makeCommunity(owner);
      await addMember(foreign, member);
      const elsewhere = (await (await upload(owner, "POST", emojiPath(foreign.id, "elsewhere"), png(16, 16))).json()) as { emoji: { id: string } };
      const ref = nonce();
      s.send({ type: "reaction.add", ref, messageId: m.id, emoji: `<:elsewhere:${elsewhere.emoji.id}>` });
      const refused = await s.next("error", (f) => f.ref === ref);
      expect(refused.code).toBe("not_found");
      // In a thread of the community's channel too (a thread room is a ChannelRoom of its own).
      const made2 = await ok(201, member, "POST", `/api/channels/${channelId}/threads`, { name: "side talk" });
      const t = await connectRoom(made2.thread.id, member);
      try {
        const tm = await say(t, "in the thread");
        t.send({ type: "reaction.add", ref: nonce(), messageId: tm.id, emoji: `<:new_name:${made.emoji.id}>` });
        expect((await t.next("reaction.added", (f) => f.messageId === tm.id)).emoji).toBe(`<:new_name:${made.emoji.id}>`);
      } finally {
        t.close();
      }
      const bad = nonce();
      s.send({ type: "reaction.add", ref: bad, messageId: m.id, emoji: "<:Bad Name:x>" });
      expect((await s.next("error", (f) => f.ref === bad)).code).toBe("validation_failed");
    } finally {
      s.close();
    }
  });
});
