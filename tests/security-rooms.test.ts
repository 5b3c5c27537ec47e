/**
 * Security regression: voice channels' chat rooms follow access changes (issue 11, item 2).
 * A voice channel has a ChannelRoom beside its call; losing VIEW_CHANNEL there (role edit,
 * overwrite, member-role removal, ownership transfer) must close its chat sockets, a ban's
 * clean-up must reach it, and deleting the community must purge it and end the call.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { getServerByName } from "partyserver";
import { describe, expect, it } from "vitest";
import { app } from "../workers/api/src/app";
import type { Channel, CreateCommunityResponse } from "../workers/shared/communities";
import { CLOSE } from "../workers/shared/close-codes";
import type { RoomRequest } from "../workers/shared/media";
import { P } from "../workers/shared/permissions";
import { connectRoom, say, type RoomSocket } from "./chat-fixtures";
import { addMember, createCommunity, createRole } from "./community-fixtures";
import { ORIGIN, call, newUser, ok, type User } from "./helpers";

const C = "/api/communities";
/** The bound on "at once". */
const WITHIN_MS = 2000;
const { ACCESS_LOST, GONE } = CLOSE;

const room = (channelId: string) => getServerByName(env.ChannelRoom, channelId);

async function voiceChannel(owner: User, communityId: string, opts: { private?: boolean } = {}): Promise<string> {
  const r = await ok<{ channel: Channel }>(201, owner, "POST", `${C}/${communityId}/channels`, { kind: "voice", name: "Lounge", private: opts.private ?? false });
  return r.channel.id;
}

/** The member's chat socket in the voice channel was closed for lost access, and nothing lets them back in. */
async function expectLockedOut(u: User, channelId: string, sock: RoomSocket): Promise<void> {
  expect((await sock.waitClosed(WITHIN_MS)).code).toBe(ACCESS_LOST);
  expect((await call(u, "GET", `/api/channels/${channelId}/messages`)).status).toBe(404);
  await expect(connectRoom(channelId, u)).rejects.toThrow(/404/);
}

/** A member who reads and writes a private voice channel's chat, let in by `grant`. */
async function privateVoiceWorld() {
  const owner = await newUser("vr");
  const member = await newUser("vr");
  const made = await createCommunity(owner);
  const id = made.community.id;
  await addMember(id, member);
  const voice = await voiceChannel(owner, id, { private: true });
  expect((await call(member, "GET", `/api/channels/${voice}/messages`)).status).toBe(404);
  return { owner, member, made, id, voice };
}

async function connectAndTalk(u: User, channelId: string): Promise<RoomSocket> {
  const sock = await connectRoom(channelId, u);
  await say(sock, "in the voice chat");
  expect((await call(u, "GET", `/api/channels/${channelId}/messages`)).status).toBe(200);
  return sock;
}

/** A TOKEN binding that records RoomService calls instead of reaching LiveKit. */
function recordingToken() {
  const calls: RoomRequest[] = [];
  const fetcher = {
    async fetch(input: RequestInfo | URL, init?: RequestInit) {
      const body = (await new Request(input, init).json()) as RoomRequest;
      calls.push(body);
      switch (body.op) {
        case "list":
          return Response.json({ rooms: Object.fromEntries(body.rooms.map((r) => [r, []])) });
        case "remove":
          return Response.json({ removed: [] });
        case "update":
          return Response.json({ found: false });
        case "close":
          return Response.json({ found: true });
      }
    },
  };
  return { calls, env: { ...env, TOKEN: fetcher } as unknown as Env };
}

/** A JSON request as `u` straight into the app with `e` as its environment. */
async function callWith(e: Env, u: User, method: string, path: string, json?: unknown): Promise<number> {
  const headers = new Headers({ origin: ORIGIN, cookie: `woxly_session=${u.token}` });
  if (json !== undefined) headers.set("content-type", "application/json");
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(ORIGIN + path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) }), e, ctx);
  await waitOnExecutionContext(ctx);
  await res.arrayBuffer();
  return res.status;
}

describe("voice channels' chat follows access changes", () => {
  it("losing VIEW_CHANNEL through a role's permissions closes the voice chat socket (and HTTP says 404)", async () => {
    const w = await privateVoiceWorld();
    // ADMINISTRATOR sees past the private channel's @everyone deny.
    const admins = await createRole(w.owner, w.id, "Admins", P.ADMINISTRATOR);
    await ok(204, w.owner, "PUT", `${C}/${w.id}/members/${w.member.id}/roles/${admins.id}`);
    const sock = await connectAndTalk(w.member, w.voice);
    await ok(200, w.owner, "PATCH", `${C}/${w.id}/roles/${admins.id}`, { permissions: "0" });
    await expectLockedOut(w.member, w.voice, sock);
  });

  it("losing VIEW_CHANNEL through an overwrite closes the voice chat socket", async () => {
    const w = await privateVoiceWorld();
    const ow = `/api/channels/${w.voice}/overwrites/member/${w.member.id}`;
    await ok(200, w.owner, "PUT", ow, { allow: String(P.VIEW_CHANNEL), deny: "0" });
    const sock = await connectAndTalk(w.member, w.voice);
    await ok(204, w.owner, "DELETE", ow);
    await expectLockedOut(w.member, w.voice, sock);
  });

  it("losing VIEW_CHANNEL through a member-role removal closes the voice chat socket", async () => {
    const w = await privateVoiceWorld();
    const crew = await createRole(w.owner, w.id, "Crew", 0n);
    await ok(200, w.owner, "PUT", `/api/channels/${w.voice}/overwrites/role/${crew.id}`, { allow: String(P.VIEW_CHANNEL), deny: "0" });
    await ok(204, w.owner, "PUT", `${C}/${w.id}/members/${w.member.id}/roles/${crew.id}`);
    const sock = await connectAndTalk(w.member, w.voice);
    await ok(204, w.owner, "DELETE", `${C}/${w.id}/members/${w.member.id}/roles/${crew.id}`);
    await expectLockedOut(w.member, w.voice, sock);
  });

  it("an ownership transfer re-checks voice chats: the old owner loses what only ownership gave", async () => {
    const owner = await newUser("vr");
    const heir = await newUser("vr");
    const made = await createCommunity(owner);
    const id = made.community.id;
    await addMember(id, heir);
    const voice = await voiceChannel(owner, id);
    const everyone = made.roles[0]!;
    await ok(200, owner, "PUT", `/api/channels/${voice}/overwrites/role/${everyone.id}`, { allow: "0", deny: String(P.VIEW_CHANNEL) });
    const sock = await connectAndTalk(owner, voice);
    await ok(200, owner, "POST", `${C}/${id}/transfer`, { userId: heir.id });
    await expectLockedOut(owner, voice, sock);
    await connectAndTalk(heir, voice);
  });

  it("a ban with message clean-up deletes the banned user's messages in voice chat too", async () => {
    const owner = await newUser("vr");
    const member = await newUser("vr");
    const made: CreateCommunityResponse = await createCommunity(owner);
    const id = made.community.id;
    await addMember(id, member);
    const voice = made.channels.find((c) => c.kind === "voice")!.id;
    const text = made.channels.find((c) => c.kind === "text")!.id;
    const mine = await connectRoom(voice, member);
    await say(mine, "spam one");
    await say(mine, "spam two");
    await say(await connectRoom(text, member), "spam in text");
    await say(await connectRoom(voice, owner), "the owner stays");
    await ok(204, owner, "PUT", `${C}/${id}/bans/${member.id}`, { deleteMessageSeconds: 3600 });
    for (const ch of [voice, text]) {
      const left = (await (await room(ch)).history({ limit: 100 })).messages.filter((m) => !m.system);
      expect(left.filter((m) => m.author?.id === member.id), ch === voice ? "voice chat" : "text channel").toEqual([]);
    }
    const voiceLeft = (await (await room(voice)).history({ limit: 100 })).messages.filter((m) => !m.system);
    expect(voiceLeft.map((m) => m.content)).toEqual(["the owner stays"]);
  });

  it("deleting a community purges its voice chats and closes its running calls", async () => {
    const owner = await newUser("vr");
    const made = await createCommunity(owner);
    const id = made.community.id;
    const general = made.channels.find((c) => c.kind === "voice")!.id;
    const second = await voiceChannel(owner, id, { private: true });
    const sockets: RoomSocket[] = [];
    for (const ch of [general, second]) {
      const s = await connectRoom(ch, owner);
      await say(s, `secret talk in ${ch}`);
      sockets.push(s);
    }
    const t = recordingToken();
    expect(await callWith(t.env, owner, "DELETE", `${C}/${id}`, { confirmName: made.community.name })).toBe(204);
    for (const s of sockets) expect((await s.waitClosed(WITHIN_MS)).code).toBe(GONE);
    for (const ch of [general, second]) {
      const page = await (await room(ch)).history({ limit: 100 });
      expect(page.messages, ch).toEqual([]);
    }
    const closed = t.calls.filter((c) => c.op === "close").map((c) => (c.op === "close" ? c.room : ""));
    expect(closed.sort()).toEqual([general, second].sort());
  });
});
