/**
 * Voice states in the CommunityHub reach only members who can see the channel: the snapshot,
 * each `voice.updated`, a move into a private channel (the member vanishes, nothing says
 * where), a channel that becomes visible (its talkers appear), and move requests only to the
 * moved member. Real hub sockets, real webhooks, real D1.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { voiceIdentity } from "../workers/core/voice-identity";
import { P, formatPermissions } from "../workers/shared/permissions";
import { addMember, createCommunity, openHub } from "./community-fixtures";
import { hookEvent, postHook } from "./voice-fixtures";
import { call, newUser, ok, type User } from "./helpers";

let sidN = 0;

async function join(channelId: string, u: User) {
  const identity = await voiceIdentity(env.PASSWORD_PEPPER, channelId, u.id);
  const res = await postHook(hookEvent("participant_joined", channelId, { participant: { sid: `PA_vis_${++sidN}`, identity } }));
  expect(res.status).toBe(200);
}

async function hide(owner: User, channelId: string, from: User) {
  await ok(200, owner, "PUT", `/api/channels/${channelId}/overwrites/member/${from.id}`, { allow: "0", deny: formatPermissions(P.VIEW_CHANNEL) });
}

describe("voice states and channel visibility", () => {
  it("a member who cannot see a voice channel never learns who is in it", async () => {
    const owner = await newUser();
    const talker = await newUser();
    const outsider = await newUser();
    const { community, channels } = await createCommunity(owner);
    for (const u of [talker, outsider]) await addMember(community.id, u);
    const open = channels.find((c) => c.kind === "voice")!.id;
    const secret = (await ok(201, owner, "POST", `/api/communities/${community.id}/channels`, { kind: "voice", name: "Secret" })).channel.id as string;
    await hide(owner, secret, outsider);

    const watcher = await openHub(outsider, community.id);
    const insider = await openHub(owner, community.id);
    await watcher.next("state.synced");
    await insider.next("state.synced");

    // In the open channel: everyone sees it.
    await join(open, talker);
    expect((await watcher.next("voice.updated", (f) => f.userId === talker.id)).state?.channelId).toBe(open);
    await insider.next("voice.updated", (f) => f.userId === talker.id && f.state?.channelId === open);

    // Into the secret channel: the insider sees where; the outsider only that they left.
    await join(secret, talker);
    expect((await insider.next("voice.updated", (f) => f.userId === talker.id)).state?.channelId).toBe(secret);
    expect((await watcher.next("voice.updated", (f) => f.userId === talker.id)).state).toBeNull();
    expect(JSON.stringify(watcher.frames)).not.toContain(secret);

    // A fresh snapshot leaves them out too; the insider's includes them.
    const late = await openHub(outsider, community.id);
    expect((await late.next("state.synced")).voiceStates.map((v) => v.userId)).not.toContain(talker.id);
    const lateInsider = await openHub(owner, community.id);
    expect((await lateInsider.next("state.synced")).voiceStates.map((v) => v.channelId)).toContain(secret);

    // The channel is opened to them: it appears, with who is talking in it.
    await ok(204, owner, "DELETE", `/api/channels/${secret}/overwrites/member/${outsider.id}`);
    await watcher.next("channel.created", (f) => f.channel.id === secret);
    expect((await watcher.next("voice.updated", (f) => f.userId === talker.id)).state?.channelId).toBe(secret);
  });

  it("a move request goes to the moved member only", async () => {
    const owner = await newUser();
    const moved = await newUser();
    const other = await newUser();
    const { community, channels } = await createCommunity(owner);
    for (const u of [moved, other]) await addMember(community.id, u);
    const from = channels.find((c) => c.kind === "voice")!.id;
    const to = (await ok(201, owner, "POST", `/api/communities/${community.id}/channels`, { kind: "voice", name: "Elsewhere" })).channel.id as string;
    const movedHub = await openHub(moved, community.id);
    const otherHub = await openHub(other, community.id);
    await movedHub.next("state.synced");
    await otherHub.next("state.synced");
    await join(from, moved);
    await otherHub.next("voice.updated", (f) => f.userId === moved.id);
    // No LiveKit listens here: the hub is told first (the frame below), then taking them out of
    // the old room fails with 503 — the part of the move this test is not about.
    const res = await call(owner, "POST", `/api/channels/${from}/voice/participants/${moved.id}/move`, { channelId: to });
    expect(res.status).toBe(503);
    expect(await movedHub.next("voice.move_requested")).toMatchObject({ userId: moved.id, fromChannelId: from, toChannelId: to });
    await new Promise((r) => setTimeout(r, 200));
    expect(otherHub.frames.some((f) => f.type === "voice.move_requested")).toBe(false);
  });
});
