/** POST /api/livekit/webhook: verified before parsing, deduplicated by id, tolerant of disorder. */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { VoiceState } from "../workers/shared/media";
import { P } from "../workers/shared/permissions";
import { voiceIdentity } from "../workers/core/voice-identity";
import { client, newUser, type User } from "./helpers";
import { channel, community, hookEvent, member, overwrite, postHook, sign, type TestCommunity } from "./voice-fixtures";

async function states(u: User, c: TestCommunity): Promise<VoiceState[]> {
  const res = await u.http.fetch(`/api/communities/${c.id}/voice-states`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { states: VoiceState[] }).states;
}

async function setup() {
  const owner = await newUser();
  const c = await community(owner);
  const m = await newUser();
  await member(c, m);
  const ch = await channel(c);
  const identity = await voiceIdentity(env.PASSWORD_PEPPER, ch, m.id);
  return { owner, c, m, ch, identity };
}

let sidN = 0;
const sid = (p: string) => `${p}_${Date.now().toString(36)}_${++sidN}`;

describe("LiveKit webhook", () => {
  it("a signed event from LiveKit (no Origin, its own content type) updates voice states", async () => {
    const { owner, c, m, ch, identity } = await setup();
    const pa = sid("PA");
    const res = await postHook(
      hookEvent("participant_joined", ch, { participant: { sid: pa, identity, tracks: [{ sid: sid("TR"), source: "MICROPHONE" }] } }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, applied: true, duplicate: false });
    const s = await states(owner, c);
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ userId: m.id, channelId: ch, video: false, streaming: false, serverMute: false });
  });

  it("one changed byte in the body → 401, and nothing is applied", async () => {
    const { owner, c, ch, identity } = await setup();
    const ev = hookEvent("participant_joined", ch, { participant: { sid: sid("PA"), identity } });
    const res = await postHook(ev, { tamper: (b) => b.replace('"participant_joined"', '"participant_joinee"') });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
    // The same byte count, one character different.
    const res2 = await postHook(ev, { tamper: (b) => b.slice(0, -2) + (b.at(-2) === "1" ? "2" : "1") + b.slice(-1) });
    expect(res2.status).toBe(401);
    expect(await states(owner, c)).toHaveLength(0);
  });

  it("only this exact path skips the Origin and JSON-only checks", async () => {
    const noOrigin = client({ origin: null });
    const hook = { "content-type": "application/webhook+json" };
    expect((await noOrigin.fetch("/api/livekit/webhookx", { method: "POST", body: "{}", headers: hook })).status).toBe(403);
    expect((await noOrigin.fetch("/api/livekit/webhook/", { method: "POST", body: "{}", headers: hook })).status).toBe(403);
    const withOrigin = client();
    expect((await withOrigin.fetch("/api/auth/login", { method: "POST", body: "{}", headers: hook })).status).toBe(415);
  });

  it("a wrong secret, a missing or garbage Authorization → 401", async () => {
    const { ch, identity } = await setup();
    const ev = hookEvent("participant_joined", ch, { participant: { sid: sid("PA"), identity } });
    const body = JSON.stringify(ev);
    expect((await postHook(body, { auth: await sign(body, "not-the-secret") })).status).toBe(401);
    expect((await postHook(body, { auth: "" })).status).toBe(401);
    expect((await postHook(body, { auth: "Bearer nonsense" })).status).toBe(401);
  });

  it("a replayed event id is processed once", async () => {
    const { owner, c, m, ch, identity } = await setup();
    const pa = sid("PA");
    const joined = hookEvent("participant_joined", ch, { participant: { sid: pa, identity } });
    expect(await (await postHook(joined)).json()).toMatchObject({ duplicate: false });
    expect(await (await postHook(joined)).json()).toMatchObject({ duplicate: true });
    expect(await (await postHook(joined)).json()).toMatchObject({ duplicate: true });
    const stub = env.CommunityHub.get(env.CommunityHub.idFromName(c.id));
    const rows = await runInDurableObject(stub, (_, state) =>
      state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM voice_events WHERE id = ?`, joined.id as string).one().n,
    );
    expect(rows).toBe(1);
    expect((await states(owner, c)).map((s) => s.userId)).toEqual([m.id]);
  });

  it("out of order: a late 'joined' after 'left' does not bring the member back", async () => {
    const { owner, c, ch, identity } = await setup();
    const pa = sid("PA");
    const t = Date.now();
    const joined = hookEvent("participant_joined", ch, { at: t, participant: { sid: pa, identity, joinedAt: t } });
    const left = hookEvent("participant_left", ch, { at: t + 1000, participant: { sid: pa, identity, joinedAt: t } });
    await postHook(left);
    await postHook(joined);
    expect(await states(owner, c)).toHaveLength(0);
  });

  it("lost events: a track event stands in for a lost 'joined'; room_finished clears a lost 'left'", async () => {
    const { owner, c, m, ch, identity } = await setup();
    const pa = sid("PA");
    const cam = sid("TR");
    await postHook(
      hookEvent("track_published", ch, {
        participant: { sid: pa, identity, tracks: [{ sid: cam, source: "CAMERA" }] },
        track: { sid: cam, source: "CAMERA" },
      }),
    );
    expect(await states(owner, c)).toMatchObject([{ userId: m.id, channelId: ch, video: true, streaming: false }]);

    // Unpublished arrives, then a stale snapshot still listing the camera: it stays off.
    await postHook(hookEvent("track_unpublished", ch, { participant: { sid: pa, identity }, track: { sid: cam, source: "CAMERA" } }));
    await postHook(hookEvent("participant_joined", ch, { participant: { sid: pa, identity, tracks: [{ sid: cam, source: "CAMERA" }] } }));
    expect(await states(owner, c)).toMatchObject([{ userId: m.id, video: false }]);

    await postHook(hookEvent("room_finished", ch, { at: Date.now() + 2000 }));
    expect(await states(owner, c)).toHaveLength(0);
  });

  it("events for rooms that are not ours, or identities we did not issue, change nothing", async () => {
    const { owner, c, ch } = await setup();
    const other = await postHook(hookEvent("participant_joined", "not-a-channel", { participant: { sid: sid("PA"), identity: "v1abc" } }));
    expect(other.status).toBe(200);
    expect(await other.json()).toMatchObject({ applied: false });
    const forged = await voiceIdentity(env.PASSWORD_PEPPER, "some-other-room", owner.id);
    await postHook(hookEvent("participant_joined", ch, { participant: { sid: sid("PA"), identity: forged } }));
    await postHook(hookEvent("participant_joined", ch, { participant: { sid: sid("PA"), identity: "someone-else" } }));
    expect(await states(owner, c)).toHaveLength(0);
  });

  it("voice states are for members only, and only for channels they can see", async () => {
    const { c, ch, identity } = await setup();
    await postHook(hookEvent("participant_joined", ch, { participant: { sid: sid("PA"), identity } }));
    const stranger = await newUser();
    expect((await stranger.http.fetch(`/api/communities/${c.id}/voice-states`)).status).toBe(404);
    const blind = await newUser();
    await member(c, blind);
    await overwrite(ch, "member", blind.id, 0n, P.VIEW_CHANNEL);
    expect(await states(blind, c)).toEqual([]);
    expect(await states(c.owner, c)).toHaveLength(1);
  });
});

describe("calls in the channel's chat", () => {
  it("the first participant to join starts the call: one system message, not one per joiner", async () => {
    const { owner, c, ch, identity, m } = await setup();
    const second = await newUser();
    await member(c, second);
    const secondIdentity = await voiceIdentity(env.PASSWORD_PEPPER, ch, second.id);
    const systemMessages = async () => {
      const r = await owner.http.fetch(`/api/channels/${ch}/messages`);
      expect(r.status).toBe(200);
      return ((await r.json()) as { messages: { system: { kind: string; userId: string } | null }[] }).messages.filter((x) => x.system);
    };
    expect((await postHook(hookEvent("participant_joined", ch, { participant: { sid: sid("PA"), identity } }))).status).toBe(200);
    for (let i = 0; i < 100 && (await systemMessages()).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await postHook(hookEvent("participant_joined", ch, { participant: { sid: sid("PA"), identity: secondIdentity } }))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(await systemMessages()).toEqual([expect.objectContaining({ system: { kind: "call_started", userId: m.id } })]);
  });
});
