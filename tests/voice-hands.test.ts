/**
 * Raised hands in stage voice channels (docs/voice.md "Raised hands"), over real hub sockets:
 * members in a stage raise their hand, everyone who sees the channel gets the `voice.updated`,
 * hands are ordered by time, the member or a moderator (MUTE_MEMBERS) lowers them, a
 * non-stage channel refuses, leaving the call lowers it, the state survives a restart of the
 * hub (it is in its SQLite), and turning the stage off lowers every hand. People are put into
 * calls by signed LiveKit webhooks, as livekit-server would.
 */
import { env, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { P } from "../workers/shared/permissions";
import { byRaisedAt } from "../workers/shared/voice-hands";
import { voiceIdentity } from "../workers/core/voice-identity";
import { openHub, type HubSocket } from "./community-fixtures";
import { channel, community, hookEvent, member, postHook, role } from "./voice-fixtures";
import { newUser, ok, type User } from "./helpers";

let sid = 0;
async function join(u: User, channelId: string): Promise<string> {
  const s = `PA_hand_${++sid}_${Date.now().toString(36)}`;
  const res = await postHook(hookEvent("participant_joined", channelId, { participant: { sid: s, identity: await voiceIdentity(env.PASSWORD_PEPPER, channelId, u.id) } }));
  expect(res.status).toBe(200);
  return s;
}
async function leave(u: User, channelId: string, s: string): Promise<void> {
  await postHook(hookEvent("participant_left", channelId, { participant: { sid: s, identity: await voiceIdentity(env.PASSWORD_PEPPER, channelId, u.id) } }));
}
async function stage(channelId: string, on = true): Promise<void> {
  await env.DB.prepare(`UPDATE channels SET stage = ? WHERE id = ?`).bind(on ? 1 : 0, channelId).run();
}
function handOf(h: HubSocket, userId: string, raised: boolean) {
  return h.next("voice.updated", (f) => f.userId === userId && !!f.state && (f.state.handRaisedAt !== undefined) === raised, 5000);
}
async function refused(h: HubSocket, frame: Record<string, unknown>, ref: string): Promise<string> {
  h.send({ ...frame, ref });
  const e = await h.next("error", (f) => f.ref === ref, 5000);
  return e.code;
}

async function world() {
  const owner = await newUser();
  const c = await community(owner);
  const mod = await newUser();
  await member(c, mod, { roleIds: [await role(c, P.MUTE_MEMBERS)] });
  const a = await newUser();
  const b = await newUser();
  await member(c, a);
  await member(c, b);
  const st = await channel(c);
  await stage(st);
  const plain = await channel(c);
  return { owner, c, mod, a, b, st, plain };
}

describe("raised hands", () => {
  it("raise → everyone sees it, ordered by time → another member may not lower it → a moderator does", async () => {
    const { c, mod, a, b, st } = await world();
    const [ha, hb, hm] = await Promise.all([openHub(a, c.id), openHub(b, c.id), openHub(mod, c.id)]);
    for (const h of [ha, hb, hm]) await h.next("state.synced");
    await join(a, st);
    await join(b, st);
    await join(mod, st);
    ha.send({ type: "hand.raise" });
    const up = await handOf(hb, a.id, true);
    expect(up.state!.handRaisedAt).toBeGreaterThan(0);
    await handOf(hm, a.id, true);
    hb.send({ type: "hand.raise" });
    const upB = await handOf(ha, b.id, true);
    expect(byRaisedAt([upB.state!, up.state!]).map((s) => s.userId)).toEqual([a.id, b.id]);

    // Raising again changes nothing (the time stays); b may not lower a's hand.
    expect(await refused(hb, { type: "hand.lower", userId: a.id }, "l1")).toBe("forbidden");
    expect(await refused(hb, { type: "hand.lower", userId: 12 }, "l2")).toBe("validation_failed");
    expect(await refused(hb, { type: "hand.lower", userId: mod.id }, "l3")).toBe("not_found"); // no hand up
    hm.send({ type: "hand.lower", userId: a.id });
    await handOf(ha, a.id, false);
    await handOf(hb, a.id, false);
    // Your own hand: always.
    hb.send({ type: "hand.lower" });
    await handOf(ha, b.id, false);
    for (const h of [ha, hb, hm]) h.close();
  });

  it("not in a call, or in a channel that is no stage: refused", async () => {
    const { c, a, b, plain } = await world();
    const ha = await openHub(a, c.id);
    await ha.next("state.synced");
    expect(await refused(ha, { type: "hand.raise" }, "r1")).toBe("not_found");
    await join(a, plain);
    await ha.next("voice.updated", (f) => f.userId === a.id && f.state?.channelId === plain);
    expect(await refused(ha, { type: "hand.raise" }, "r2")).toBe("forbidden");
    void b;
    ha.close();
  });

  it("survives a restart of the hub; leaving the call lowers it; a new call starts with it down", async () => {
    const { c, a, b, st } = await world();
    const ha = await openHub(a, c.id);
    await ha.next("state.synced");
    const s1 = await join(a, st);
    ha.send({ type: "hand.raise" });
    const up = await handOf(ha, a.id, true);
    ha.close();
    // The hub forgets everything in memory (as after hibernation or eviction).
    await evictDurableObject(env.CommunityHub.getByName(c.id), { webSockets: "close" });
    const hb = await openHub(b, c.id);
    const synced = await hb.next("state.synced");
    expect(synced.voiceStates.find((v) => v.userId === a.id)?.handRaisedAt).toBe(up.state!.handRaisedAt);
    await leave(a, st, s1);
    await hb.next("voice.updated", (f) => f.userId === a.id && f.state === null);
    await join(a, st);
    const back = await hb.next("voice.updated", (f) => f.userId === a.id && f.state?.channelId === st);
    expect(back.state!.handRaisedAt).toBeUndefined();
    hb.close();
  });

  it("turning the stage off lowers every hand", async () => {
    const { owner, c, a, st } = await world();
    const ha = await openHub(a, c.id);
    await ha.next("state.synced");
    await join(a, st);
    ha.send({ type: "hand.raise" });
    await handOf(ha, a.id, true);
    const res = await ok(200, owner, "PATCH", `/api/channels/${st}`, { stage: false });
    expect(res.channel.stage).toBe(false);
    await handOf(ha, a.id, false);
    expect((await ok(200, owner, "PATCH", `/api/channels/${st}`, { stage: true })).channel.stage).toBe(true);
    ha.close();
  });
});
