/**
 * Moderation in calls: who may mute, deafen, move and disconnect whom, and exactly which
 * RoomService calls reach the token worker (recorded by a stand-in TOKEN binding; the real
 * LiveKit side is covered by e2e/voice-server.test.ts).
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { MediaGrants } from "../workers/shared/media";
import { P } from "../workers/shared/permissions";
import { app } from "../workers/api/src/app";
import { voiceIdentity } from "../workers/core/voice-identity";
import { closeVoiceRoom, removeFromVoice, syncVoicePermissions } from "../workers/api/src/lib/voice";
import { ORIGIN, newUser, type User } from "./helpers";
import { channel, community, dm, hookEvent, member, overwrite, postHook, role, roomServiceStandIn } from "./voice-fixtures";

async function post(e: Env, u: User, path: string, json?: unknown) {
  const headers = new Headers({ origin: ORIGIN, cookie: [...u.http.cookies].map(([k, v]) => `${k}=${v}`).join("; ") });
  if (json !== undefined) headers.set("content-type", "application/json");
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(ORIGIN + path, { method: "POST", headers, body: json === undefined ? undefined : JSON.stringify(json) }),
    e,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

async function setup() {
  const owner = await newUser();
  const c = await community(owner);
  const ch = await channel(c);
  const mod = await newUser();
  await member(c, mod, { roleIds: [await role(c, P.MUTE_MEMBERS | P.DEAFEN_MEMBERS | P.MOVE_MEMBERS)] });
  const target = await newUser();
  await member(c, target);
  const plain = await newUser();
  await member(c, plain);
  const targetIdentity = await voiceIdentity(env.PASSWORD_PEPPER, ch, target.id);
  return { owner, c, ch, mod, target, plain, targetIdentity };
}

const path = (ch: string, userId: string, action: string) => `/api/channels/${ch}/voice/participants/${userId}/${action}`;

describe("moderation in calls", () => {
  it("server mute takes the microphone away in LiveKit and is remembered for the next token", async () => {
    const s = await setup();
    const t = roomServiceStandIn({ [s.ch]: [{ identity: s.targetIdentity }] });
    const res = await post(t.env, s.mod, path(s.ch, s.target.id, "mute"), { muted: true });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ userId: s.target.id, serverMute: true, serverDeaf: false, inCall: true });
    expect(t.calls).toEqual([
      {
        op: "update",
        room: s.ch,
        identity: s.targetIdentity,
        grants: { canSubscribe: true, canPublishSources: ["camera", "screen_share", "screen_share_audio"], canPublishData: false, canUpdateOwnMetadata: false },
      },
    ]);
    // The next token (a reconnect) has no microphone either.
    const tok = (await (await s.target.http.fetch(`/api/channels/${s.ch}/voice/token`, { method: "POST" })).json()) as { grants: { canPublishSources: string[] } };
    expect(tok.grants.canPublishSources).not.toContain("microphone");

    await post(t.env, s.mod, path(s.ch, s.target.id, "mute"), { muted: false });
    expect(t.calls.at(-1)).toMatchObject({ op: "update", grants: { canPublishSources: ["microphone", "camera", "screen_share", "screen_share_audio"] } });
  });

  it("server deafen stops subscribing and the microphone", async () => {
    const s = await setup();
    const t = roomServiceStandIn({ [s.ch]: [{ identity: s.targetIdentity }] });
    const res = await post(t.env, s.mod, path(s.ch, s.target.id, "deafen"), { deafened: true });
    expect(res.status).toBe(200);
    expect(t.calls).toEqual([
      {
        op: "update",
        room: s.ch,
        identity: s.targetIdentity,
        grants: { canSubscribe: false, canPublishSources: ["camera", "screen_share", "screen_share_audio"], canPublishData: false, canUpdateOwnMetadata: false },
      },
    ]);
  });

  it("disconnect removes the participant from the room", async () => {
    const s = await setup();
    const t = roomServiceStandIn({ [s.ch]: [{ identity: s.targetIdentity }] });
    const res = await post(t.env, s.mod, path(s.ch, s.target.id, "disconnect"));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ userId: s.target.id, removed: true });
    expect(t.calls).toEqual([{ op: "remove", targets: [{ room: s.ch, identity: s.targetIdentity }] }]);
  });

  it("move: needs MOVE_MEMBERS in both channels and the target's CONNECT in the destination; lets them past its limit", async () => {
    const s = await setup();
    const dest = await channel(s.c, { userLimit: 1 });
    const t = roomServiceStandIn({ [s.ch]: [{ identity: s.targetIdentity }] });
    const res = await post(t.env, s.mod, path(s.ch, s.target.id, "move"), { channelId: dest });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ userId: s.target.id, channelId: dest, removed: true });
    expect(t.calls).toEqual([{ op: "remove", targets: [{ room: s.ch, identity: s.targetIdentity }] }]);
    // The destination is full, but the moved member may still come in.
    const occupant = await voiceIdentity(env.PASSWORD_PEPPER, dest, s.plain.id);
    await postHook(hookEvent("participant_joined", dest, { participant: { sid: `PA_occupant_${dest}`, identity: occupant } }));
    const latecomer = await newUser();
    await member(s.c, latecomer);
    expect((await latecomer.http.fetch(`/api/channels/${dest}/voice/token`, { method: "POST" })).status).toBe(403);
    expect((await s.target.http.fetch(`/api/channels/${dest}/voice/token`, { method: "POST" })).status).toBe(200);

    const locked = await channel(s.c);
    await overwrite(locked, "member", s.target.id, 0n, P.CONNECT);
    expect((await post(t.env, s.mod, path(s.ch, s.target.id, "move"), { channelId: locked })).status).toBe(403);
    const noMove = await channel(s.c);
    await overwrite(noMove, "member", s.mod.id, 0n, P.MOVE_MEMBERS);
    expect((await post(t.env, s.mod, path(s.ch, s.target.id, "move"), { channelId: noMove })).status).toBe(403);
    expect((await post(t.env, s.mod, path(s.ch, s.target.id, "move"), { channelId: "nope" })).status).toBe(404);
  });

  it("refuses without the permission (403), for non-members (404), the owner (403), text channels and DMs (400)", async () => {
    const s = await setup();
    const t = roomServiceStandIn();
    expect((await post(t.env, s.plain, path(s.ch, s.target.id, "mute"), { muted: true })).status).toBe(403);
    expect((await post(t.env, s.plain, path(s.ch, s.target.id, "deafen"), { deafened: true })).status).toBe(403);
    expect((await post(t.env, s.plain, path(s.ch, s.target.id, "disconnect"))).status).toBe(403);
    const muter = await newUser();
    await member(s.c, muter, { roleIds: [await role(s.c, P.MUTE_MEMBERS)] });
    expect((await post(t.env, muter, path(s.ch, s.target.id, "deafen"), { deafened: true })).status).toBe(403);
    expect((await post(t.env, muter, path(s.ch, s.target.id, "disconnect"))).status).toBe(403);
    expect((await post(t.env, s.mod, path(s.ch, (await newUser()).id, "mute"), { muted: true })).status).toBe(404);
    expect((await post(t.env, s.mod, path(s.ch, s.owner.id, "mute"), { muted: true })).status).toBe(403);
    const text = await channel(s.c, { kind: "text" });
    expect((await post(t.env, s.mod, path(text, s.target.id, "mute"), { muted: true })).status).toBe(400);
    const d = await dm([s.mod, s.target]);
    expect((await post(t.env, s.mod, path(d, s.target.id, "mute"), { muted: true })).status).toBe(400);
    expect((await post(t.env, s.mod, path(s.ch, s.target.id, "mute"), { muted: "yes" })).status).toBe(400);
    expect(t.calls).toEqual([]);
  });

  it("removeFromVoice (kick, ban) targets every voice channel of the community", async () => {
    const s = await setup();
    const ch2 = await channel(s.c);
    await channel(s.c, { kind: "text" });
    const id2 = await voiceIdentity(env.PASSWORD_PEPPER, ch2, s.target.id);
    const t = roomServiceStandIn({ [ch2]: [{ identity: id2 }] });
    expect(await removeFromVoice(t.env, { communityId: s.c.id }, s.target.id)).toEqual([ch2]);
    expect(t.calls).toHaveLength(1);
    const call = t.calls[0]!;
    expect(call.op).toBe("remove");
    if (call.op === "remove") {
      expect(call.targets.map((x) => x.room).sort()).toEqual([s.ch, ch2].sort());
      expect(call.targets.find((x) => x.room === ch2)?.identity).toBe(id2);
    }
  });

  it("closeVoiceRoom (a deleted voice channel) ends the room and clears its voice states", async () => {
    const s = await setup();
    await postHook(hookEvent("participant_joined", s.ch, { participant: { sid: `PA_close_${s.ch}`, identity: s.targetIdentity } }));
    const states = async () =>
      ((await (await s.owner.http.fetch(`/api/communities/${s.c.id}/voice-states`)).json()) as { states: unknown[] }).states;
    expect(await states()).toHaveLength(1);
    const t = roomServiceStandIn({ [s.ch]: [{ identity: s.targetIdentity }] });
    await closeVoiceRoom(t.env, s.c.id, s.ch);
    expect(t.calls).toEqual([{ op: "close", room: s.ch }]);
    expect(await states()).toHaveLength(0);
  });

  it("syncVoicePermissions: lost CONNECT → removed, lost SPEAK → microphone taken, unchanged → untouched", async () => {
    const s = await setup();
    const speakerIdentity = await voiceIdentity(env.PASSWORD_PEPPER, s.ch, s.plain.id);
    const ownerIdentity = await voiceIdentity(env.PASSWORD_PEPPER, s.ch, s.owner.id);
    const all: MediaGrants = { canSubscribe: true, canPublishSources: ["microphone", "camera", "screen_share", "screen_share_audio"], canPublishData: false, canUpdateOwnMetadata: false };
    const t = roomServiceStandIn({
      [s.ch]: [
        { identity: s.targetIdentity, grants: all },
        { identity: speakerIdentity, grants: all },
        { identity: ownerIdentity, grants: all },
        { identity: "not-ours" },
      ],
    });
    await overwrite(s.ch, "member", s.target.id, 0n, P.CONNECT);
    await overwrite(s.ch, "member", s.plain.id, 0n, P.SPEAK);
    expect(await syncVoicePermissions(t.env, s.c.id)).toEqual({ removed: 1, updated: 1 });
    expect(t.calls.filter((c) => c.op !== "list")).toEqual([
      { op: "update", room: s.ch, identity: speakerIdentity, grants: { ...all, canPublishSources: ["camera", "screen_share", "screen_share_audio"] } },
      { op: "remove", targets: [{ room: s.ch, identity: s.targetIdentity }] },
    ]);
  });
});
