/**
 * The access matrix for role mentions (docs/composer.md): who pings a role by writing
 * `<@&roleId>` in a community text channel. Every actor × every kind of role id → whether it
 * pings, derived from one expectation function (the policy's canPingRole, written out again
 * here): a role of the channel's own community that is not @everyone pings when it is
 * mentionable or the author holds MENTION_EVERYONE; nothing else pings.
 *
 * Actors (community A): the owner, a member whose role grants MENTION_EVERYONE, a plain member.
 * Role ids: A's mentionable role, A's role that is not mentionable, A's @everyone role, a
 * mentionable and a quiet role of community B (whose members include the listener, holding
 * both), and an id that is no role at all.
 *
 * Each case writes one message in a channel of its own and observes three things: the
 * message's stored `mentions.roles` (what renders as a pill; a mention not kept there renders
 * as text), the listener's mention count in the room's read state, and the `unread.updated`
 * the community's hub sends the listener over a real socket. The listener holds A's two roles
 * and B's two roles. The number of cases is checked at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { P } from "../workers/shared/permissions";
import { addMember, connectRoom, makeChannel, makeCommunity, makeRole, say, type TestCommunity } from "./chat-fixtures";
import { openHub, type HubSocket } from "./community-fixtures";
import { call, newUser, type User } from "./helpers";

const ACTORS = ["owner", "mention-everyone", "member"] as const;
type Actor = (typeof ACTORS)[number];
const TARGETS = ["mentionable", "quiet", "everyone-role", "foreign-mentionable", "foreign-quiet", "no-role"] as const;
type Target = (typeof TARGETS)[number];

/** The rule, written separately from the policy: does `actor` writing `<@&target>` ping? */
function expectPing(actor: Actor, target: Target): boolean {
  const ownCommunity = target === "mentionable" || target === "quiet";
  if (!ownCommunity) return false;
  return target === "mentionable" || actor !== "member";
}

describe("access matrix: role mentions", () => {
  let a: TestCommunity;
  let b: TestCommunity;
  const actors = {} as Record<Actor, User>;
  const roleIds = {} as Record<Target, string>;
  let listener: User;
  let hub: HubSocket;
  const channels = new Map<string, string>();
  let cases = 0;

  beforeAll(async () => {
    actors.owner = await newUser("own");
    actors["mention-everyone"] = await newUser("mev");
    actors.member = await newUser("mem");
    listener = await newUser("lis");
    a = await makeCommunity(actors.owner);
    b = await makeCommunity(await newUser("bown"));
    const herald = await makeRole(a, P.MENTION_EVERYONE, { position: 3 });
    roleIds.mentionable = await makeRole(a, 0n, { mentionable: true, position: 2 });
    roleIds.quiet = await makeRole(a, 0n, { position: 1 });
    roleIds["everyone-role"] = a.everyoneRoleId;
    roleIds["foreign-mentionable"] = await makeRole(b, 0n, { mentionable: true });
    roleIds["foreign-quiet"] = await makeRole(b, 0n);
    roleIds["no-role"] = "NoSuchRole0000000000000000";
    await addMember(a, actors["mention-everyone"], [herald]);
    await addMember(a, actors.member);
    await addMember(a, listener, [roleIds.mentionable, roleIds.quiet]);
    await addMember(b, listener, [roleIds["foreign-mentionable"], roleIds["foreign-quiet"]]);
    // One channel per case, made before the listener's hub loads the community.
    for (const actor of ACTORS) for (const target of TARGETS) channels.set(`${actor}/${target}`, await makeChannel(a, "text", `${actor}-${target}`));
    hub = await openHub(listener, a.id);
    await hub.next("state.synced");
  });

  afterAll(() => {
    hub?.close();
    expect(cases).toBe(ACTORS.length * TARGETS.length);
  });

  for (const actor of ACTORS) {
    for (const target of TARGETS) {
      const ping = expectPing(actor, target);
      it(`${actor} mentions ${target} → ${ping ? "pings" : "no ping"}`, async () => {
        const channelId = channels.get(`${actor}/${target}`)!;
        const s = await connectRoom(channelId, actors[actor]);
        try {
          const message = await say(s, `heads up <@&${roleIds[target]}> please`);
          // The wire form stays as written either way; only a pinging mention is kept.
          expect(message.content).toBe(`heads up <@&${roleIds[target]}> please`);
          expect(message.mentions.roles).toEqual(ping ? [roleIds[target]] : []);
          const seen = await hub.next("unread.updated", (f) => f.unread.channelId === channelId);
          expect(seen.unread.mentions).toBe(ping ? 1 : 0);
          const rs = await call<{ mentionCount: number; unreadCount: number }>(listener, "GET", `/api/channels/${channelId}/read-state`);
          expect(rs.status).toBe(200);
          expect(rs.body).toMatchObject({ unreadCount: 1, mentionCount: ping ? 1 : 0 });
          cases++;
        } finally {
          s.close();
        }
      });
    }
  }

  it("an edit that adds a role mention follows the same rule", async () => {
    const channelId = await makeChannel(a, "text", "edits");
    const s = await connectRoom(channelId, actors.member);
    try {
      const m = await say(s, "nothing yet");
      s.send({ type: "message.edit", ref: "edit-1", id: m.id, content: `now <@&${roleIds.quiet}> and <@&${roleIds.mentionable}>` });
      const updated = await s.next("message.updated", (f) => f.message.id === m.id);
      expect(updated.message.mentions.roles).toEqual([roleIds.mentionable]);
    } finally {
      s.close();
    }
  });
});
