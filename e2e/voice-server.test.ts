/**
 * Voice against the running product and a real livekit-server: tokens from the product let
 * a Node participant (@livekit/rtc-node) join; LiveKit's webhooks reach the product and show
 * up as voice states; permission changes, moderation and kicks act on the room through
 * RoomService within 2 s. A missing livekit-server fails the run (global setup), never skips.
 */
import { Room, dispose } from "@livekit/rtc-node";
import { RoomServiceClient, TrackSource, type ParticipantInfo } from "livekit-server-sdk";
import { afterAll, describe, expect, inject, it } from "vitest";
import { type Member, publishTone, voiceCommunity, type VoiceToken } from "./livekit-fixtures";

const base = inject("baseUrl");
const livekitUrl = inject("livekitUrl");
const rooms = new RoomServiceClient(livekitUrl.replace(/^ws/, "http"), "devkey", "secret");

const SPEAK = 1n << 8n;
const CONNECT = 1n << 7n;

/** An owner with a community and its voice channel, and a second member invited in. */
const community = () => voiceCommunity(base, "v", "Voice e2e");

const joined: Room[] = [];

/** Joins with a product token and publishes a microphone that sends a quiet tone. */
async function join(m: Member, channelId: string) {
  const t = await m.ok<VoiceToken>("POST", `/api/channels/${channelId}/voice/token`);
  expect(t.url).toBe(livekitUrl);
  const room = new Room();
  joined.push(room);
  await room.connect(t.url, t.token, { autoSubscribe: false, dynacast: false });
  const stop = await publishTone(room, true);
  return { room, token: t, stop };
}

async function participant(room: string, identity: string): Promise<ParticipantInfo | undefined> {
  return (await rooms.listParticipants(room)).find((p) => p.identity === identity);
}

/** Polls until `check` holds; returns the time it took, ms. */
async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await check()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not within ${ms} ms: ${what}`);
}

const hasMic = (p: ParticipantInfo | undefined) => !!p?.tracks.some((t) => t.source === TrackSource.MICROPHONE);

afterAll(async () => {
  for (const r of joined) await r.disconnect().catch(() => {});
  await dispose();
});

describe("voice with a real livekit-server", () => {
  it("a product token joins the room; LiveKit's webhooks make the member's voice state appear", async () => {
    const { owner, member, communityId, channelId } = await community();
    const { token } = await join(member, channelId);
    await within(5000, "microphone published", async () => hasMic(await participant(channelId, token.identity)));

    // The identity LiveKit sees says nothing about the user.
    expect(token.identity).not.toContain(member.id);
    const p = await participant(channelId, token.identity);
    expect(p?.permission?.canPublishData).toBe(false);
    expect(p?.permission?.canUpdateMetadata).toBe(false);

    // Webhook → api worker → token worker verifies → CommunityHub.
    await within(10_000, "voice state from webhooks", async () => {
      const { states } = await owner.ok<{ states: { userId: string; channelId: string }[] }>("GET", `/api/communities/${communityId}/voice-states`);
      return states.some((s) => s.userId === member.id && s.channelId === channelId);
    });
  });

  it("losing SPEAK in the call: the server stops the microphone within 2 s", async () => {
    const { owner, member, channelId } = await community();
    const { token } = await join(member, channelId);
    await within(5000, "microphone published", async () => hasMic(await participant(channelId, token.identity)));

    await owner.ok("PUT", `/api/channels/${channelId}/overwrites/member/${member.id}`, { allow: "0", deny: SPEAK.toString() });
    const took = await within(2000, "microphone unpublished", async () => !hasMic(await participant(channelId, token.identity)));
    const p = await participant(channelId, token.identity);
    expect(p).toBeDefined(); // still in the call, just not speaking
    expect(p?.permission?.canPublishSources).not.toContain(TrackSource.MICROPHONE);
    console.log(`mic stopped ${took} ms after the permission change`);

    // A fresh token agrees.
    const again = await member.ok<VoiceToken>("POST", `/api/channels/${channelId}/voice/token`);
    expect(again.grants.canPublishSources).not.toContain("microphone");
  });

  it("losing CONNECT removes the participant within 2 s", async () => {
    const { owner, member, channelId } = await community();
    const { token } = await join(member, channelId);
    await within(5000, "joined", async () => !!(await participant(channelId, token.identity)));
    await owner.ok("PUT", `/api/channels/${channelId}/overwrites/member/${member.id}`, { allow: "0", deny: CONNECT.toString() });
    await within(2000, "removed", async () => !(await participant(channelId, token.identity)));
  });

  it("a kicked member is gone from the room within 2 s", async () => {
    const { owner, member, communityId, channelId } = await community();
    const { token } = await join(member, channelId);
    await within(5000, "joined", async () => !!(await participant(channelId, token.identity)));
    const t0 = Date.now();
    await owner.ok("POST", `/api/communities/${communityId}/members/${member.id}/kick`, {});
    await within(2000 - (Date.now() - t0), "kicked out of the room", async () => !(await participant(channelId, token.identity)));
  });

  it("moderators: server mute stops the microphone, disconnect ends the call, both within 2 s", async () => {
    const { owner, member, channelId } = await community();
    const { token } = await join(member, channelId);
    await within(5000, "microphone published", async () => hasMic(await participant(channelId, token.identity)));
    const base = `/api/channels/${channelId}/voice/participants/${member.id}`;

    expect(await owner.ok("POST", `${base}/mute`, { muted: true })).toMatchObject({ serverMute: true, inCall: true });
    await within(2000, "server-muted", async () => !hasMic(await participant(channelId, token.identity)));

    // A member without MUTE_MEMBERS cannot do it back.
    expect((await member.call("POST", `/api/channels/${channelId}/voice/participants/${owner.id}/mute`, { muted: true })).status).toBe(403);

    expect(await owner.ok("POST", `${base}/disconnect`)).toMatchObject({ removed: true });
    await within(2000, "disconnected", async () => !(await participant(channelId, token.identity)));
  });
});
