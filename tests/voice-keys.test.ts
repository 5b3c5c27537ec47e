/**
 * POST /api/channels/:id/voice/key: the media key of an end-to-end encrypted voice channel
 * (docs/voice.md "End-to-end encryption"). The server keeps it; a new key index follows a
 * member losing access.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RoomRequest } from "../workers/shared/media";
import { P } from "../workers/shared/permissions";
import { syncVoicePermissions } from "../workers/api/src/lib/voice";
import { voiceIdentity } from "../workers/core/voice-identity";
import { openHub } from "./community-fixtures";
import { client, newUser, type User } from "./helpers";
import { channel, community, dm, member, overwrite } from "./voice-fixtures";

type KeyBody = { key: string; keyIndex: number };

function key(u: User, channelId: string) {
  return u.http.fetch(`/api/channels/${channelId}/voice/key`, { method: "POST" });
}

async function keyOk(u: User, channelId: string): Promise<KeyBody> {
  const res = await key(u, channelId);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get("cache-control")).toBe("no-store");
  return (await res.json()) as KeyBody;
}

function bytes(b64url: string): Uint8Array {
  const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

async function setup() {
  const owner = await newUser();
  const c = await community(owner);
  const ch = await channel(c, { e2ee: true });
  const a = await newUser();
  const b = await newUser();
  await member(c, a);
  await member(c, b);
  return { owner, c, ch, a, b };
}

describe("voice E2EE key", () => {
  it("two members get the same 256-bit key, no-store, stable across calls", async () => {
    const s = await setup();
    const ka = await keyOk(s.a, s.ch);
    const kb = await keyOk(s.b, s.ch);
    expect(ka).toEqual(kb);
    expect(ka.keyIndex).toBe(0);
    expect(bytes(ka.key)).toHaveLength(32);
    expect(await keyOk(s.a, s.ch)).toEqual(ka);
    // Another channel has a key of its own.
    const other = await channel(s.c, { e2ee: true });
    expect((await keyOk(s.a, other)).key).not.toBe(ka.key);
  });

  it("only with CONNECT: 403 without it, 404 when the channel is invisible or foreign, 400 for unencrypted or text channels, 401 logged out", async () => {
    const s = await setup();
    await overwrite(s.ch, "member", s.a.id, 0n, P.CONNECT);
    const res = await key(s.a, s.ch);
    expect(res.status).toBe(403);
    await overwrite(s.ch, "member", s.b.id, 0n, P.VIEW_CHANNEL);
    expect((await key(s.b, s.ch)).status).toBe(404);
    const stranger = await newUser();
    expect((await key(stranger, s.ch)).status).toBe(404);
    expect((await key(s.owner, "nosuchchannel")).status).toBe(404);
    const plain = await channel(s.c);
    expect((await key(s.owner, plain)).status).toBe(400);
    const text = await channel(s.c, { kind: "text", e2ee: true });
    expect((await key(s.owner, text)).status).toBe(400);
    // DM calls are not encrypted (nothing turns e2ee on for a DM).
    const d = await dm([s.a, s.b]);
    expect((await key(s.a, d)).status).toBe(400);
    expect((await client().fetch(`/api/channels/${s.ch}/voice/key`, { method: "POST" })).status).toBe(401);
    // Nothing was handed out to those who were refused.
    const rows = await env.DB.prepare(`SELECT COUNT(*) AS n FROM voice_keys WHERE channel_id = ?`).bind(s.ch).first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("a kick rotates the key: the others get a new index and key, the kicked member gets nothing", async () => {
    const s = await setup();
    const before = await keyOk(s.a, s.ch);
    const hub = await openHub(s.a, s.c.id);
    await hub.next("state.synced");
    const res = await s.owner.http.fetch(`/api/communities/${s.c.id}/members/${s.b.id}/kick`, { method: "POST", json: {} });
    expect(res.status, await res.clone().text()).toBe(204);
    // The clients still in the call are told to fetch the new key.
    expect(await hub.next("voice.key_rotated")).toEqual({ type: "voice.key_rotated", channelId: s.ch });
    hub.close();
    const after = await keyOk(s.a, s.ch);
    expect(after.keyIndex).toBe(before.keyIndex + 1);
    expect(after.key).not.toBe(before.key);
    expect(await keyOk(s.owner, s.ch)).toEqual(after);
    expect((await key(s.b, s.ch)).status).toBe(404);
  });

  it("a channel nobody fetched a key for is not rotated by a kick", async () => {
    const s = await setup();
    await s.owner.http.fetch(`/api/communities/${s.c.id}/members/${s.b.id}/kick`, { method: "POST", json: {} });
    expect((await keyOk(s.a, s.ch)).keyIndex).toBe(0);
  });

  it("losing CONNECT by an overwrite while in the call (syncVoicePermissions) rotates the key", async () => {
    const s = await setup();
    const before = await keyOk(s.a, s.ch);
    const identity = await voiceIdentity(env.PASSWORD_PEPPER, s.ch, s.b.id);
    const calls: RoomRequest[] = [];
    const token = {
      async fetch(input: RequestInfo | URL, init?: RequestInit) {
        const body = (await new Request(input, init).json()) as RoomRequest;
        calls.push(body);
        if (body.op === "list") {
          return Response.json({ rooms: { [s.ch]: [{ sid: "PA_1", identity, joinedAt: Date.now(), tracks: [], grants: null }] } });
        }
        if (body.op === "remove") return Response.json({ removed: body.targets });
        return Response.json({ found: true });
      },
    };
    await overwrite(s.ch, "member", s.b.id, 0n, P.CONNECT);
    const r = await syncVoicePermissions({ ...env, TOKEN: token } as unknown as Env, s.c.id, { channelIds: [s.ch] });
    expect(r.removed).toBe(1);
    const after = await keyOk(s.a, s.ch);
    expect(after.keyIndex).toBe(before.keyIndex + 1);
    expect(after.key).not.toBe(before.key);
  });

  it("PATCH /api/channels/:id turns e2ee on for a voice channel (MANAGE_CHANNELS), not for text channels", async () => {
    const s = await setup();
    const plain = await channel(s.c);
    expect((await key(s.owner, plain)).status).toBe(400);
    const denied = await s.a.http.fetch(`/api/channels/${plain}`, { method: "PATCH", json: { e2ee: true } });
    expect(denied.status).toBe(403);
    const res = await s.owner.http.fetch(`/api/channels/${plain}`, { method: "PATCH", json: { e2ee: true } });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { channel: { e2ee: boolean } }).channel.e2ee).toBe(true);
    await keyOk(s.a, plain);
    const text = await channel(s.c, { kind: "text" });
    expect((await s.owner.http.fetch(`/api/channels/${text}`, { method: "PATCH", json: { e2ee: true } })).status).toBe(400);
  });
});
