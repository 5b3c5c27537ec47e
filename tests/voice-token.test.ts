/** POST /api/channels/:id/voice/token: exactly the grants the member's permissions allow. */
import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { P } from "../workers/shared/permissions";
import { app } from "../workers/api/src/app";
import { voiceIdentity } from "../workers/core/voice-identity";
import { ORIGIN, client, newUser, type User } from "./helpers";
import { channel, claims, community, dm, hookEvent, member, overwrite, postHook, role } from "./voice-fixtures";

type TokenBody = { url: string; token: string; identity: string; e2ee: boolean; pushToTalkOnly: boolean; ttlSeconds: number };
type Err = { error: { code: string; message: string } };

async function token(u: User, channelId: string) {
  return u.http.fetch(`/api/channels/${channelId}/voice/token`, { method: "POST" });
}

async function tokenOk(u: User, channelId: string): Promise<TokenBody> {
  const res = await token(u, channelId);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as TokenBody;
}

const ALL_SOURCES = ["microphone", "camera", "screen_share", "screen_share_audio"];

function videoGrant(room: string, sources: string[], canSubscribe = true) {
  return {
    room,
    roomJoin: true,
    canSubscribe,
    canPublish: sources.length > 0,
    canPublishSources: sources,
    canPublishData: false,
    canUpdateOwnMetadata: false,
  };
}

describe("voice token", () => {
  it("owner and default member get every source, subscribe, no data, no metadata, TTL <= 600 s", async () => {
    const owner = await newUser();
    const c = await community(owner);
    const m = await newUser();
    await member(c, m, { nickname: "Nick" });
    const ch = await channel(c, { e2ee: true });

    for (const u of [owner, m]) {
      const body = await tokenOk(u, ch);
      expect(body.url).toBe("ws://127.0.0.1:9");
      expect(body.e2ee).toBe(true);
      expect(body.pushToTalkOnly).toBe(false);
      const cl = claims(body.token);
      expect(cl.video).toEqual(videoGrant(ch, ALL_SOURCES));
      expect(cl.sub).toBe(body.identity);
      expect(cl.exp - cl.nbf).toBeLessThanOrEqual(600);
      expect(body.ttlSeconds).toBeLessThanOrEqual(600);
    }
    expect(claims((await tokenOk(m, ch)).token).name).toBe("Nick");
    expect(claims((await tokenOk(owner, ch)).token).name).toBe(owner.username);
  });

  it("each missing permission removes exactly its sources", async () => {
    const owner = await newUser();
    const c = await community(owner);
    const ch = await channel(c);
    const cases: [bigint, string[]][] = [
      [P.SPEAK, ["camera", "screen_share", "screen_share_audio"]],
      [P.VIDEO, ["microphone", "screen_share", "screen_share_audio"]],
      [P.STREAM, ["microphone", "camera"]],
      [P.SPEAK | P.VIDEO | P.STREAM, []],
    ];
    for (const [deny, sources] of cases) {
      const m = await newUser();
      await member(c, m);
      await overwrite(ch, "member", m.id, 0n, deny);
      const cl = claims((await tokenOk(m, ch)).token);
      // canPublish false with no sources: LiveKit would read an empty list as "all sources".
      expect(cl.video).toEqual(videoGrant(ch, sources));
    }
  });

  it("a role can give back what @everyone lacks; USE_VOICE_ACTIVITY off means push-to-talk only", async () => {
    const owner = await newUser();
    const c = await community(owner, P.VIEW_CHANNEL | P.CONNECT);
    const ch = await channel(c);
    const plain = await newUser();
    await member(c, plain);
    const listener = await tokenOk(plain, ch);
    expect(claims(listener.token).video).toEqual(videoGrant(ch, []));
    expect(listener.pushToTalkOnly).toBe(true);

    const speaker = await newUser();
    await member(c, speaker, { roleIds: [await role(c, P.SPEAK | P.USE_VOICE_ACTIVITY)] });
    const s = await tokenOk(speaker, ch);
    expect(claims(s.token).video).toEqual(videoGrant(ch, ["microphone"]));
    expect(s.pushToTalkOnly).toBe(false);
  });

  it("no token without CONNECT (403), without VIEW_CHANNEL or membership (404), for text channels (400), logged out (401)", async () => {
    const owner = await newUser();
    const c = await community(owner);
    const ch = await channel(c);
    const noConnect = await newUser();
    await member(c, noConnect);
    await overwrite(ch, "member", noConnect.id, 0n, P.CONNECT);
    const res = await token(noConnect, ch);
    expect(res.status).toBe(403);
    expect(((await res.json()) as Err).error.code).toBe("forbidden");

    const noView = await newUser();
    await member(c, noView);
    await overwrite(ch, "member", noView.id, 0n, P.VIEW_CHANNEL);
    expect((await token(noView, ch)).status).toBe(404);

    const stranger = await newUser();
    expect((await token(stranger, ch)).status).toBe(404);
    expect((await token(owner, "nosuchchannel")).status).toBe(404);

    const text = await channel(c, { kind: "text" });
    expect((await token(owner, text)).status).toBe(400);

    expect((await client().fetch(`/api/channels/${ch}/voice/token`, { method: "POST" })).status).toBe(401);
  });

  it("DM calls: recipients get a token for the DM's room, others 404", async () => {
    const a = await newUser();
    const b = await newUser();
    const ch = await dm([a, b]);
    const body = await tokenOk(a, ch);
    expect(claims(body.token).video).toEqual(videoGrant(ch, ALL_SOURCES));
    expect((await token(await newUser(), ch)).status).toBe(404);
  });

  it("identities are opaque: no user id inside, different per room, stable in a room", async () => {
    const owner = await newUser();
    const c = await community(owner);
    const ch1 = await channel(c);
    const ch2 = await channel(c);
    const t1 = await tokenOk(owner, ch1);
    const t2 = await tokenOk(owner, ch2);
    expect(t1.identity).not.toContain(owner.id);
    expect(t1.identity).not.toContain(owner.username);
    expect(t1.identity).not.toBe(t2.identity);
    expect((await tokenOk(owner, ch1)).identity).toBe(t1.identity);
    expect(t1.identity.length).toBeLessThanOrEqual(128);
  });

  it("the user limit: full for members, owner and MOVE_MEMBERS may exceed, room frees up after a leave", async () => {
    const owner = await newUser();
    const c = await community(owner);
    const ch = await channel(c, { userLimit: 2 });
    const inCall = [await newUser(), await newUser()];
    for (const [i, u] of inCall.entries()) {
      await member(c, u);
      const identity = await voiceIdentity(env.PASSWORD_PEPPER, ch, u.id);
      const res = await postHook(hookEvent("participant_joined", ch, { participant: { sid: `PA_limit_${ch}_${i}`, identity } }));
      expect(res.status).toBe(200);
    }
    // Already in the call: asking again (a reconnect) is fine.
    await tokenOk(inCall[0]!, ch);

    const late = await newUser();
    await member(c, late);
    const full = await token(late, ch);
    expect(full.status).toBe(403);
    expect(((await full.json()) as Err).error.code).toBe("channel_full");

    await tokenOk(owner, ch);
    const mover = await newUser();
    await member(c, mover, { roleIds: [await role(c, P.MOVE_MEMBERS)] });
    await tokenOk(mover, ch);

    const identity = await voiceIdentity(env.PASSWORD_PEPPER, ch, inCall[1]!.id);
    await postHook(hookEvent("participant_left", ch, { participant: { sid: `PA_limit_${ch}_1`, identity } }));
    await tokenOk(late, ch);
  });

  it("without LiveKit configured the answer is a clear 503", async () => {
    const owner = await newUser();
    const c = await community(owner);
    const ch = await channel(c);
    const unconfigured = {
      ...env,
      TOKEN: {
        fetch: async () => Response.json({ error: { code: "unavailable", message: "LiveKit is not configured" } }, { status: 503 }),
      },
    } as unknown as Env;
    const headers = new Headers({ origin: ORIGIN, cookie: [...owner.http.cookies].map(([k, v]) => `${k}=${v}`).join("; ") });
    const res = await app.fetch(new Request(`${ORIGIN}/api/channels/${ch}/voice/token`, { method: "POST", headers }), unconfigured, createExecutionContext());
    expect(res.status).toBe(503);
    const body = (await res.json()) as Err;
    expect(body.error.code).toBe("unavailable");
    expect(body.error.message).toBe("Voice is not configured on this server.");
  });
});
