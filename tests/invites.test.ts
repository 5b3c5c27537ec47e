import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DEFAULT_INVITE_AGE_S } from "../workers/shared/communities";
import { P } from "../workers/shared/permissions";
import { addMember, createCommunity, createRole, inviteCode, isMember } from "./community-fixtures";
import { call, newUser, ok } from "./helpers";

async function uses(code: string): Promise<number> {
  return (await env.DB.prepare(`SELECT uses FROM invites WHERE code = ?`).bind(code).first<{ uses: number }>())!.uses;
}

describe("invites", () => {
  it("creates a 7-day unlimited invite with a 128-bit code; anyone can preview it", async () => {
    const owner = await newUser();
    const { community } = await createCommunity(owner, "Preview Club");
    const before = Date.now();
    const { invite } = await ok(201, owner, "POST", `/api/communities/${community.id}/invites`, {});
    expect(invite.code).toMatch(/^[0-9a-z]{26}$/); // 26 base32 characters = 130 bits of room, 128 random
    expect(invite.maxUses).toBeNull();
    expect(invite.expiresAt - before).toBeGreaterThanOrEqual(DEFAULT_INVITE_AGE_S * 1000 - 5);
    expect(invite.expiresAt - before).toBeLessThan(DEFAULT_INVITE_AGE_S * 1000 + 5000);

    const preview = await ok(200, null, "GET", `/api/invites/${invite.code}`);
    expect(preview).toMatchObject({ code: invite.code, community: { id: community.id, name: "Preview Club", iconUrl: null }, memberCount: 1, expired: false });
    expect(typeof preview.onlineCount).toBe("number");
    expect((await call(null, "GET", `/api/invites/${"a".repeat(26)}`)).status).toBe(404);
    expect((await call(null, "GET", `/api/invites/not-a-code`)).status).toBe(400);

    const never = await ok(201, owner, "POST", `/api/communities/${community.id}/invites`, { maxAgeSeconds: null, maxUses: 5 });
    expect(never.invite).toMatchObject({ expiresAt: null, maxUses: 5 });
    for (const bad of [{ maxAgeSeconds: 1799 }, { maxAgeSeconds: 31 * 86400 }, { maxUses: 0 }, { maxUses: 101 }, { maxUses: 1.5 }]) {
      expect((await call(owner, "POST", `/api/communities/${community.id}/invites`, bad)).status, JSON.stringify(bad)).toBe(400);
    }
  });

  it("redeems: joins once; a member redeeming again consumes no use", async () => {
    const owner = await newUser();
    const joiner = await newUser();
    const { community, channels } = await createCommunity(owner);
    const code = await inviteCode(owner, community.id, { maxUses: 2 });
    const first = await ok(201, joiner, "POST", `/api/invites/${code}/redeem`);
    expect(first).toEqual({ communityId: community.id, channelId: channels.find((c) => c.name === "general")!.id, joined: true });
    expect(await uses(code)).toBe(1);
    const again = await ok(200, joiner, "POST", `/api/invites/${code}/redeem`);
    expect(again.joined).toBe(false);
    expect(await uses(code)).toBe(1);
    expect((await call(null, "POST", `/api/invites/${code}/redeem`)).status).toBe(401);
    expect((await ok(200, null, "GET", `/api/invites/${code}`)).memberCount).toBe(2);
    const members = (await ok(200, owner, "GET", `/api/communities/${community.id}/members`)).members;
    expect(members.map((m: { user: { id: string } }) => m.user.id)).toContain(joiner.id);
  });

  it("twenty parallel redemptions of a one-use invite give exactly one member", async () => {
    const owner = await newUser();
    const { community } = await createCommunity(owner);
    const code = await inviteCode(owner, community.id, { maxUses: 1 });
    const users = await Promise.all(Array.from({ length: 20 }, () => newUser("race")));
    const results = await Promise.all(users.map((u) => call(u, "POST", `/api/invites/${code}/redeem`)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 404)).toHaveLength(19);
    const joined = (await Promise.all(users.map((u) => isMember(community.id, u.id)))).filter(Boolean);
    expect(joined).toHaveLength(1);
    expect(await uses(code)).toBe(1);
    const n = await env.DB.prepare(`SELECT count(*) AS n FROM members WHERE community_id = ?`).bind(community.id).first<{ n: number }>();
    expect(n!.n).toBe(2);
    expect((await ok(200, null, "GET", `/api/invites/${code}`)).expired).toBe(true);
  });

  it("parallel redemptions by one user consume one use", async () => {
    const owner = await newUser();
    const { community } = await createCommunity(owner);
    const code = await inviteCode(owner, community.id, { maxUses: 5 });
    const u = await newUser();
    const results = await Promise.all(Array.from({ length: 8 }, () => call(u, "POST", `/api/invites/${code}/redeem`)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.every((r) => r.status === 201 || r.status === 200)).toBe(true);
    expect(await uses(code)).toBe(1);
  });

  it("stops at max uses and at expiry", async () => {
    const owner = await newUser();
    const { community } = await createCommunity(owner);
    const code = await inviteCode(owner, community.id, { maxUses: 2 });
    await ok(201, await newUser(), "POST", `/api/invites/${code}/redeem`);
    await ok(201, await newUser(), "POST", `/api/invites/${code}/redeem`);
    const third = await newUser();
    expect((await call(third, "POST", `/api/invites/${code}/redeem`)).status).toBe(404);
    expect(await isMember(community.id, third.id)).toBe(false);

    const timed = await inviteCode(owner, community.id, { maxAgeSeconds: 1800 });
    await env.DB.prepare(`UPDATE invites SET expires_at = ? WHERE code = ?`).bind(Date.now() - 1, timed).run();
    const preview = await ok(200, null, "GET", `/api/invites/${timed}`);
    expect(preview.expired).toBe(true);
    const r = await call(third, "POST", `/api/invites/${timed}/redeem`);
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("not_found");
    expect(await isMember(community.id, third.id)).toBe(false);
  });

  it("refuses banned users, also in a race with the ban", async () => {
    const owner = await newUser();
    const bad = await newUser();
    const { community } = await createCommunity(owner);
    const code = await inviteCode(owner, community.id);
    await ok(204, owner, "PUT", `/api/communities/${community.id}/bans/${bad.id}`, { reason: "no" });
    const r = await call(bad, "POST", `/api/invites/${code}/redeem`);
    expect(r.status).toBe(403);
    expect(await isMember(community.id, bad.id)).toBe(false);
    expect(await uses(code)).toBe(0);
    // Unbanned, they can come back.
    await ok(204, owner, "DELETE", `/api/communities/${community.id}/bans/${bad.id}`);
    await ok(201, bad, "POST", `/api/invites/${code}/redeem`);

    // Redemptions racing a ban: whichever lands first, the user ends up banned and outside.
    const racer = await newUser();
    const [, ...redeems] = await Promise.all([
      call(owner, "PUT", `/api/communities/${community.id}/bans/${racer.id}`, {}),
      ...Array.from({ length: 5 }, () => call(racer, "POST", `/api/invites/${code}/redeem`)),
    ]);
    expect(redeems.every((r) => [200, 201, 403].includes(r.status))).toBe(true);
    expect(await isMember(community.id, racer.id)).toBe(false);
    expect((await call(racer, "POST", `/api/invites/${code}/redeem`)).status).toBe(403);
  });

  it("revokes: creator with CREATE_INVITE or MANAGE_COMMUNITY; others see 403/404", async () => {
    const owner = await newUser();
    const member = await newUser();
    const other = await newUser();
    const outsider = await newUser();
    const { community } = await createCommunity(owner);
    await addMember(community.id, member);
    await addMember(community.id, other);
    const mine = await inviteCode(member, community.id);
    const theirs = await inviteCode(owner, community.id);

    // Listing: MANAGE_COMMUNITY sees all, CREATE_INVITE only one's own.
    const all = (await ok(200, owner, "GET", `/api/communities/${community.id}/invites`)).invites.map((i: { code: string }) => i.code);
    expect(all.sort()).toEqual([mine, theirs].sort());
    const own = (await ok(200, member, "GET", `/api/communities/${community.id}/invites`)).invites.map((i: { code: string }) => i.code);
    expect(own).toEqual([mine]);
    expect((await call(outsider, "GET", `/api/communities/${community.id}/invites`)).status).toBe(404);

    expect((await call(other, "DELETE", `/api/invites/${mine}`)).status).toBe(403);
    expect((await call(outsider, "DELETE", `/api/invites/${mine}`)).status).toBe(404);
    expect((await call(member, "DELETE", `/api/invites/${theirs}`)).status).toBe(403);
    await ok(204, member, "DELETE", `/api/invites/${mine}`);
    await ok(204, owner, "DELETE", `/api/invites/${theirs}`);
    expect((await call(null, "GET", `/api/invites/${mine}`)).status).toBe(404);
    expect((await call(outsider, "POST", `/api/invites/${theirs}/redeem`)).status).toBe(404);
    expect(await isMember(community.id, outsider.id)).toBe(false);
    expect((await ok(200, owner, "GET", `/api/communities/${community.id}/invites`)).invites).toEqual([]);
    const actions = (await ok(200, owner, "GET", `/api/communities/${community.id}/audit-log`)).entries.map((e: { action: string }) => e.action);
    expect(actions.filter((a: string) => a === "invite.revoke")).toHaveLength(2);
  });

  it("needs CREATE_INVITE to create, and lands in the invite's channel", async () => {
    const owner = await newUser();
    const member = await newUser();
    const { community, roles } = await createCommunity(owner);
    await addMember(community.id, member);
    const everyone = roles[0]!;
    await ok(200, owner, "PATCH", `/api/communities/${community.id}/roles/${everyone.id}`, { permissions: String(P.VIEW_CHANNEL | P.SEND_MESSAGES) });
    expect((await call(member, "POST", `/api/communities/${community.id}/invites`, {})).status).toBe(403);
    const inviter = await createRole(owner, community.id, "Inviter", P.CREATE_INVITE);
    await ok(204, owner, "PUT", `/api/communities/${community.id}/members/${member.id}/roles/${inviter.id}`);
    const lobby = (await ok(201, owner, "POST", `/api/communities/${community.id}/channels`, { kind: "text", name: "lobby" })).channel;
    const code = await inviteCode(member, community.id, { channelId: lobby.id });
    const joiner = await newUser();
    expect((await ok(201, joiner, "POST", `/api/invites/${code}/redeem`)).channelId).toBe(lobby.id);
  });
});
