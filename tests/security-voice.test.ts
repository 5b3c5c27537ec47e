/**
 * Security: a token outlives the access it was issued for. A member who fetched a voice token
 * and was then kicked, banned, stripped of CONNECT (or blocked, in a DM) must not stay in the
 * call when they use it, nor show up in the channel list; nor may an identity we never issued.
 * LiveKit's signed webhooks go through the real token worker (signature check); RoomService
 * calls are recorded by a stand-in, since no LiveKit need listen here (the real one is in
 * e2e/security-voice.test.ts).
 */
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../workers/api/src/app";
import { reconcileChannel } from "../workers/api/src/lib/voice";
import { voiceIdentity } from "../workers/core/voice-identity";
import { admitListed } from "../durable-objects/dm-call";
import { listVoiceStates } from "../durable-objects/voice-store";
import type { MediaGrants, VoiceState, VoiceTokenResponse } from "../workers/shared/media";
import { MEDIA_TOKEN_TTL_SECONDS } from "../workers/shared/media";
import { P } from "../workers/shared/permissions";
import { ORIGIN, newUser, type User } from "./helpers";
import { channel, claims, community, dm, hookEvent, member, overwrite, roomServiceStandIn, sign, type HookParticipant, type Listed, type TestCommunity } from "./voice-fixtures";

/** LiveKit holding whoever the product asks about: every remove, update and close finds them. */
const livekitStandIn = (rooms: Record<string, Listed[]> = {}) => roomServiceStandIn(rooms, { findsAll: true });

/** The app with `e` as its environment, waiting for its background work. */
async function appFetch(e: Env, req: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(req, e, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A LiveKit webhook, signed as livekit-server signs it, into the app running with `e`. */
async function hook(e: Env, ev: Record<string, unknown>) {
  const body = JSON.stringify(ev);
  return appFetch(
    e,
    new Request(ORIGIN + "/api/livekit/webhook", {
      method: "POST",
      body,
      headers: { "content-type": "application/webhook+json", authorization: await sign(body) },
    }),
  );
}

/** A session request by `u` into the app running with `e`. */
async function act(e: Env, u: User, method: string, path: string, json?: unknown) {
  const headers = new Headers({ origin: ORIGIN, cookie: [...u.http.cookies].map(([k, v]) => `${k}=${v}`).join("; ") });
  if (json !== undefined) headers.set("content-type", "application/json");
  return appFetch(e, new Request(ORIGIN + path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) }));
}

async function voiceToken(u: User, channelId: string): Promise<VoiceTokenResponse> {
  const res = await u.http.fetch(`/api/channels/${channelId}/voice/token`, { method: "POST" });
  expect(res.status).toBe(200);
  return (await res.json()) as VoiceTokenResponse;
}

/** What the community's members are shown (the API), and what its hub holds at all. */
async function shown(viewer: User, c: TestCommunity): Promise<VoiceState[]> {
  const res = await viewer.http.fetch(`/api/communities/${c.id}/voice-states`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { states: VoiceState[] }).states;
}
async function inHub(c: TestCommunity): Promise<VoiceState[]> {
  return runInDurableObject(env.CommunityHub.get(env.CommunityHub.idFromName(c.id)), (_, state) => listVoiceStates(state.storage.sql));
}

let n = 0;
const sid = (p: string) => `${p}_${Date.now().toString(36)}_${++n}`;

const ALL: MediaGrants = {
  canSubscribe: true,
  canPublishSources: ["microphone", "camera", "screen_share", "screen_share_audio"],
  canPublishData: false,
  canUpdateOwnMetadata: false,
};

/** A `participant_joined` whose participant carries the permission its token gave (as LiveKit reports it). */
function joinedWith(room: string, p: HookParticipant, g: MediaGrants) {
  const ev = hookEvent("participant_joined", room, { participant: p });
  const names = { microphone: "MICROPHONE", camera: "CAMERA", screen_share: "SCREEN_SHARE", screen_share_audio: "SCREEN_SHARE_AUDIO" } as const;
  const permission = {
    canSubscribe: g.canSubscribe,
    canPublish: g.canPublishSources.length > 0,
    canPublishSources: g.canPublishSources.map((s) => names[s]),
    canPublishData: g.canPublishData,
    canUpdateMetadata: g.canUpdateOwnMetadata,
  };
  return { ...ev, participant: { ...(ev.participant as Record<string, unknown>), permission } };
}

async function setup() {
  const owner = await newUser();
  const c = await community(owner);
  const ch = await channel(c);
  const m = await newUser();
  await member(c, m);
  return { owner, c, ch, m };
}

describe("a voice token issued before losing access", () => {
  it("join tokens live only as long as joining needs", async () => {
    const { ch, m } = await setup();
    const t = await voiceToken(m, ch);
    expect(MEDIA_TOKEN_TTL_SECONDS).toBeLessThanOrEqual(120);
    expect(t.ttlSeconds).toBe(MEDIA_TOKEN_TTL_SECONDS);
    const cl = claims(t.token);
    expect(cl.exp - cl.nbf).toBeLessThanOrEqual(120);
  });

  for (const how of ["kicked", "banned", "lost CONNECT"] as const) {
    it(`${how}: joining with the old token → removed from the room, never a voice state`, async () => {
      const { owner, c, ch, m } = await setup();
      const { identity } = await voiceToken(m, ch);
      const lk = livekitStandIn();
      if (how === "kicked") expect((await act(lk.env, owner, "POST", `/api/communities/${c.id}/members/${m.id}/kick`, {})).status).toBe(204);
      else if (how === "banned") expect((await act(lk.env, owner, "PUT", `/api/communities/${c.id}/bans/${m.id}`, {})).status).toBe(204);
      else await overwrite(ch, "member", m.id, 0n, P.CONNECT);
      lk.calls.length = 0; // the kick's / ban's own clean-up

      const pa = sid("PA");
      const res = await hook(lk.env, hookEvent("participant_joined", ch, { participant: { sid: pa, identity, tracks: [{ sid: sid("TR"), source: "MICROPHONE" }] } }));
      expect(res.status).toBe(200);
      expect(lk.removes()).toEqual([{ room: ch, identity }]);
      expect(await shown(owner, c)).toEqual([]);
      expect(await inHub(c)).toEqual([]);

      // A later event of the same session (it published before the removal landed) shows nothing either.
      const cam = sid("TR");
      await hook(lk.env, hookEvent("track_published", ch, { participant: { sid: pa, identity, tracks: [{ sid: cam, source: "CAMERA" }] }, track: { sid: cam, source: "CAMERA" } }));
      expect(await inHub(c)).toEqual([]);
      expect(lk.removes()).toEqual([{ room: ch, identity }, { room: ch, identity }]);
    });
  }

  it("E2EE: refusing someone who fetched the key before losing CONNECT rotates the key", async () => {
    const owner = await newUser();
    const c = await community(owner);
    const ch = await channel(c, { e2ee: true });
    const m = await newUser();
    await member(c, m);
    const key = async (u: User) => {
      const res = await u.http.fetch(`/api/channels/${ch}/voice/key`, { method: "POST" });
      expect(res.status).toBe(200);
      return (await res.json()) as { key: string; keyIndex: number };
    };
    const held = await key(m);
    const { identity } = await voiceToken(m, ch);
    await overwrite(ch, "member", m.id, 0n, P.CONNECT); // out of the call: nothing rotated yet
    expect(await key(owner)).toEqual(held);
    const lk = livekitStandIn();
    await hook(lk.env, hookEvent("participant_joined", ch, { participant: { sid: sid("PA"), identity } }));
    expect(lk.removes()).toEqual([{ room: ch, identity }]);
    const now = await key(owner);
    expect(now.key).not.toBe(held.key);
    expect(now.keyIndex).toBe(held.keyIndex + 1);
  });

  it("a member with access who joins is admitted: no RoomService call, a voice state", async () => {
    const { owner, c, ch, m } = await setup();
    const { identity, grants } = await voiceToken(m, ch);
    const lk = livekitStandIn();
    expect((await hook(lk.env, joinedWith(ch, { sid: sid("PA"), identity }, grants))).status).toBe(200);
    expect(lk.calls).toEqual([]);
    expect((await shown(owner, c)).map((s) => s.userId)).toEqual([m.id]);
  });

  it("an identity we did not issue for this room is removed, not shown as 'Someone'", async () => {
    const { owner, c, ch } = await setup();
    const lk = livekitStandIn();
    const forged = await voiceIdentity(env.PASSWORD_PEPPER, "some-other-room", owner.id);
    for (const identity of [forged, "someone-else"]) {
      expect((await hook(lk.env, hookEvent("participant_joined", ch, { participant: { sid: sid("PA"), identity } }))).status).toBe(200);
    }
    expect(lk.removes()).toEqual([
      { room: ch, identity: forged },
      { room: ch, identity: "someone-else" },
    ]);
    expect(await shown(owner, c)).toEqual([]);
    expect(await inHub(c)).toEqual([]);
  });

  it("a token with more grants than the member has now (lost SPEAK) → today's grants at join", async () => {
    const { owner, c, ch, m } = await setup();
    const { identity, grants } = await voiceToken(m, ch);
    expect(grants.canPublishSources).toContain("microphone");
    await overwrite(ch, "member", m.id, 0n, P.SPEAK);
    const lk = livekitStandIn();
    expect((await hook(lk.env, joinedWith(ch, { sid: sid("PA"), identity }, grants))).status).toBe(200);
    expect(lk.calls).toEqual([{ op: "update", room: ch, identity, grants: { ...ALL, canPublishSources: ["camera", "screen_share", "screen_share_audio"] } }]);
    expect((await shown(owner, c)).map((s) => s.userId)).toEqual([m.id]); // still in the call, without a microphone
  });

  it("a server-muted member joining with an older token loses the microphone at join", async () => {
    const { owner, c, ch, m } = await setup();
    const { identity, grants } = await voiceToken(m, ch);
    const lk = livekitStandIn();
    expect((await act(lk.env, owner, "POST", `/api/channels/${ch}/voice/participants/${m.id}/mute`, { muted: true })).status).toBe(200);
    lk.calls.length = 0;
    await hook(lk.env, joinedWith(ch, { sid: sid("PA"), identity }, grants));
    expect(lk.calls).toEqual([{ op: "update", room: ch, identity, grants: { ...ALL, canPublishSources: ["camera", "screen_share", "screen_share_audio"] } }]);
  });

  it("DM: blocked after fetching a token → removed, and the call does not count them as joined", async () => {
    const a = await newUser();
    const b = await newUser();
    const room = await dm([a, b]);
    const { identity } = await voiceToken(b, room);
    expect((await a.http.fetch(`/api/dms/${room}/call`, { method: "POST" })).status).toBe(200);
    await env.DB.prepare(`INSERT INTO user_blocks (user_id, blocked_id, created_at) VALUES (?, ?, ?)`).bind(a.id, b.id, Date.now()).run();
    const lk = livekitStandIn();
    expect((await hook(lk.env, hookEvent("participant_joined", room, { participant: { sid: sid("PA"), identity } }))).status).toBe(200);
    expect(lk.removes()).toEqual([{ room, identity }]);
    const call = ((await (await a.http.fetch(`/api/dms/${room}/call`)).json()) as { call: { joined: string[]; answered: boolean } | null }).call;
    expect(call?.joined).toEqual([a.id]);
    expect(call?.answered).toBe(false);
    // An identity nobody was issued in a DM room is removed too.
    await hook(lk.env, hookEvent("participant_joined", room, { participant: { sid: sid("PA"), identity: "stranger" } }));
    expect(lk.removes()).toEqual([{ room, identity }, { room, identity: "stranger" }]);
  });
});

describe("reconcile (a lost webhook)", () => {
  it("drops and removes participants who may no longer CONNECT, at once, whatever the grace", async () => {
    const { owner, c, ch, m } = await setup();
    const stays = await newUser();
    await member(c, stays);
    const mId = await voiceIdentity(env.PASSWORD_PEPPER, ch, m.id);
    const staysId = await voiceIdentity(env.PASSWORD_PEPPER, ch, stays.id);
    const pm = sid("PA");
    const ps = sid("PA");
    const ok = livekitStandIn();
    // Both were in the call with access.
    await hook(ok.env, hookEvent("participant_joined", ch, { participant: { sid: pm, identity: mId } }));
    await hook(ok.env, hookEvent("participant_joined", ch, { participant: { sid: ps, identity: staysId } }));
    expect((await shown(owner, c)).map((s) => s.userId).sort()).toEqual([m.id, stays.id].sort());

    // m loses CONNECT, and the removal / its "left" webhook never arrives: LiveKit still lists m.
    await overwrite(ch, "member", m.id, 0n, P.CONNECT);
    const lk = livekitStandIn({ [ch]: [{ identity: mId, sid: pm }, { identity: staysId, sid: ps }, { identity: "not-ours" }] });
    await reconcileChannel(lk.env, c.id, ch);
    expect((await shown(owner, c)).map((s) => s.userId)).toEqual([stays.id]);
    expect(lk.removes().sort((x, y) => x.identity.localeCompare(y.identity))).toEqual(
      [
        { room: ch, identity: mId },
        { room: ch, identity: "not-ours" },
      ].sort((x, y) => x.identity.localeCompare(y.identity)),
    );
  });

  it("a member shown in the channel but not listed by LiveKit (within the grace) is dropped once kicked", async () => {
    const { owner, c, ch, m } = await setup();
    const mId = await voiceIdentity(env.PASSWORD_PEPPER, ch, m.id);
    const ok = livekitStandIn();
    await hook(ok.env, hookEvent("participant_joined", ch, { participant: { sid: sid("PA"), identity: mId } }));
    await env.DB.prepare(`DELETE FROM members WHERE community_id = ? AND user_id = ?`).bind(c.id, m.id).run();
    const lk = livekitStandIn({ [ch]: [] });
    await reconcileChannel(lk.env, c.id, ch);
    expect(await shown(owner, c)).toEqual([]);
    expect(await inHub(c)).toEqual([]);
  });

  it("a participant listed with more grants than now gets today's grants", async () => {
    const { c, ch, m } = await setup();
    const mId = await voiceIdentity(env.PASSWORD_PEPPER, ch, m.id);
    await overwrite(ch, "member", m.id, 0n, P.SPEAK);
    const lk = livekitStandIn({ [ch]: [{ identity: mId, grants: ALL }] });
    await reconcileChannel(lk.env, c.id, ch);
    expect(lk.calls.filter((x) => x.op !== "list")).toEqual([
      { op: "update", room: ch, identity: mId, grants: { ...ALL, canPublishSources: ["camera", "screen_share", "screen_share_audio"] } },
    ]);
  });
});

describe("a DM room's periodic check (a lost join webhook in a DM)", () => {
  it("removes whoever LiveKit lists but may not be there (an identity never issued; both sides of a block), keeps the rest", async () => {
    const a = await newUser();
    const b = await newUser();
    const room = await dm([a, b]);
    const idA = await voiceIdentity(env.PASSWORD_PEPPER, room, a.id);
    const idB = await voiceIdentity(env.PASSWORD_PEPPER, room, b.id);
    const listed = (ids: string[]) => ids.map((identity, i) => ({ sid: `PA_${i}`, identity, joinedAt: Date.now(), tracks: [], grants: null }));
    // Both may be there: nothing is removed.
    const before = livekitStandIn();
    expect((await admitListed(before.env, room, listed([idA, idB]))).sort()).toEqual([a.id, b.id].sort());
    expect(before.removes()).toEqual([]);
    // An identity nobody was issued is removed; the members stay.
    const stranger = livekitStandIn();
    expect((await admitListed(stranger.env, room, listed([idA, idB, "stranger"]))).sort()).toEqual([a.id, b.id].sort());
    expect(stranger.removes()).toEqual([{ room, identity: "stranger" }]);
    // a blocked b during the call and the webhooks that would have ended it were lost: a block
    // turns a 1:1 DM read-only for both sides (no CONNECT), so the check empties the room.
    await env.DB.prepare(`INSERT INTO user_blocks (user_id, blocked_id, created_at) VALUES (?, ?, ?)`).bind(a.id, b.id, Date.now()).run();
    const after = livekitStandIn();
    expect(await admitListed(after.env, room, listed([idA, idB]))).toEqual([]);
    expect(after.removes()).toEqual([
      { room, identity: idA },
      { room, identity: idB },
    ]);
  });
});
