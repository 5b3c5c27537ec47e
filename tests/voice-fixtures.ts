/**
 * Fixtures for the voice tests: users from `newUser` (helpers), everything else (communities,
 * roles, members, channels, overwrites, DMs) by direct D1 inserts, so these tests do not
 * depend on the communities routes. Also a LiveKit-style webhook signer, and a
 * stand-in for LiveKit's RoomService behind the TOKEN binding.
 */
import { env } from "cloudflare:test";
import { AccessToken } from "livekit-server-sdk";
import { newId } from "../workers/shared/ids";
import type { MediaGrants, RoomRequest } from "../workers/shared/media";
import { DEFAULT_EVERYONE, formatPermissions } from "../workers/shared/permissions";
import { api, client, type User } from "./helpers";


export interface TestCommunity {
  id: string;
  everyoneRoleId: string;
  owner: User;
}

const now = () => Date.now();

export async function community(owner: User, everyone: bigint = DEFAULT_EVERYONE): Promise<TestCommunity> {
  const id = newId();
  const everyoneRoleId = newId();
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO communities (id, name, owner_id, created_at) VALUES (?, ?, ?, ?)`).bind(id, "Voice test", owner.id, now()),
    env.DB.prepare(
      `INSERT INTO roles (id, community_id, name, position, permissions, is_everyone, created_at) VALUES (?, ?, '@everyone', 0, ?, 1, ?)`,
    ).bind(everyoneRoleId, id, formatPermissions(everyone), now()),
    env.DB.prepare(`INSERT INTO members (community_id, user_id, joined_at) VALUES (?, ?, ?)`).bind(id, owner.id, now()),
  ]);
  return { id, everyoneRoleId, owner };
}

export async function member(c: TestCommunity, u: User, opts: { roleIds?: string[]; nickname?: string } = {}): Promise<void> {
  await env.DB.prepare(`INSERT INTO members (community_id, user_id, nickname, joined_at) VALUES (?, ?, ?, ?)`)
    .bind(c.id, u.id, opts.nickname ?? null, now())
    .run();
  for (const r of opts.roleIds ?? []) {
    await env.DB.prepare(`INSERT INTO member_roles (community_id, user_id, role_id) VALUES (?, ?, ?)`).bind(c.id, u.id, r).run();
  }
}

export async function role(c: TestCommunity, perms: bigint, position = 1): Promise<string> {
  const id = newId();
  await env.DB.prepare(`INSERT INTO roles (id, community_id, name, position, permissions, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
    .bind(id, c.id, `role ${position}`, position, formatPermissions(perms), now())
    .run();
  return id;
}

export async function channel(
  c: TestCommunity,
  opts: { kind?: "voice" | "text"; userLimit?: number; e2ee?: boolean } = {},
): Promise<string> {
  const id = newId();
  await env.DB.prepare(
    `INSERT INTO channels (id, community_id, kind, name, position, user_limit, e2ee, created_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?)`,
  )
    .bind(id, c.id, opts.kind ?? "voice", "Lounge", opts.userLimit ?? 0, opts.e2ee ? 1 : 0, now())
    .run();
  return id;
}

export async function overwrite(channelId: string, kind: "role" | "member", targetId: string, allow: bigint, deny: bigint): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO channel_overwrites (channel_id, target_kind, target_id, allow, deny) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (channel_id, target_kind, target_id) DO UPDATE SET allow = excluded.allow, deny = excluded.deny`,
  )
    .bind(channelId, kind, targetId, formatPermissions(allow), formatPermissions(deny))
    .run();
}

export async function dm(users: User[]): Promise<string> {
  const id = newId();
  await env.DB.prepare(`INSERT INTO channels (id, community_id, kind, name, created_at) VALUES (?, NULL, ?, '', ?)`)
    .bind(id, users.length === 2 ? "dm" : "group_dm", now())
    .run();
  for (const u of users) {
    await env.DB.prepare(`INSERT INTO channel_recipients (channel_id, user_id, added_at) VALUES (?, ?, ?)`).bind(id, u.id, now()).run();
  }
  return id;
}

/** The payload of a JWT, unverified (the tests compare claims). */
export function claims(jwt: string): Record<string, unknown> & { video: Record<string, unknown>; sub: string; exp: number; nbf: number; name?: string } {
  const [, payload] = jwt.split(".");
  const b64 = payload!.replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))));
}

// ---------------------------------------------------------------------------------------
// Webhooks as LiveKit sends them: protobuf JSON, signed with a JWT whose sha256 claim is the
// base64 SHA-256 of the body.

let evCounter = 0;

export interface HookParticipant {
  sid: string;
  identity: string;
  /** ms */
  joinedAt?: number;
  tracks?: { sid: string; source: "MICROPHONE" | "CAMERA" | "SCREEN_SHARE" | "SCREEN_SHARE_AUDIO"; muted?: boolean }[];
}

export function hookEvent(
  event: string,
  room: string,
  opts: { id?: string; at?: number; participant?: HookParticipant; track?: { sid: string; source: string; muted?: boolean }; numDropped?: number } = {},
): Record<string, unknown> {
  evCounter++;
  const at = opts.at ?? Date.now();
  const p = opts.participant;
  return {
    event,
    id: opts.id ?? `EV_test_${Date.now().toString(36)}_${evCounter}`,
    createdAt: String(Math.floor(at / 1000)),
    room: { sid: `RM_${room}`, name: room },
    ...(p
      ? {
          participant: {
            sid: p.sid,
            identity: p.identity,
            state: "ACTIVE",
            joinedAt: String(Math.floor((p.joinedAt ?? at) / 1000)),
            joinedAtMs: String(p.joinedAt ?? at),
            tracks: (p.tracks ?? []).map((t) => ({ sid: t.sid, type: t.source.includes("AUDIO") || t.source === "MICROPHONE" ? "AUDIO" : "VIDEO", source: t.source, muted: t.muted ?? false })),
          },
        }
      : {}),
    ...(opts.track ? { track: { sid: opts.track.sid, source: opts.track.source, muted: opts.track.muted ?? false } } : {}),
    ...(opts.numDropped ? { numDropped: opts.numDropped } : {}),
  };
}

export async function sign(body: string, secret = "secret"): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
  const at = new AccessToken("devkey", secret, { ttl: 300 });
  at.sha256 = btoa(String.fromCharCode(...hash));
  return at.toJwt();
}

/** Posts a webhook the way livekit-server does: no Origin, its own content type, a signed hash. */
export async function postHook(ev: Record<string, unknown> | string, opts: { auth?: string; tamper?: (body: string) => string } = {}) {
  const body = typeof ev === "string" ? ev : JSON.stringify(ev);
  const auth = opts.auth ?? (await sign(body));
  const sent = opts.tamper ? opts.tamper(body) : body;
  return api(client({ origin: null })).livekit.webhook.$post(undefined, {
    headers: { "content-type": "application/webhook+json", authorization: auth },
    init: { body: sent },
  });
}

/** A participant the RoomService stand-in lists in a room. */
export type Listed = { identity: string; sid?: string; grants?: MediaGrants | null };

/**
 * An env whose TOKEN binding stands in for LiveKit's RoomService (no LiveKit listens here):
 * every /room call is recorded in `calls` and answered as if LiveKit held the participants in
 * `rooms`; other calls (webhook checks) go to the real token worker. Removes, updates and
 * closes find only those listed; with `findsAll`, they find whoever they name (LiveKit
 * holding participants the test only told the product about through webhooks).
 */
export function roomServiceStandIn(rooms: Record<string, Listed[]> = {}, opts: { findsAll?: boolean } = {}) {
  const calls: RoomRequest[] = [];
  const listed = (room: string) => rooms[room] ?? [];
  const fetcher = {
    async fetch(input: RequestInfo | URL, init?: RequestInit) {
      const req = new Request(input, init);
      if (new URL(req.url).pathname !== "/room") return env.TOKEN.fetch(req);
      const body = (await req.json()) as RoomRequest;
      calls.push(body);
      switch (body.op) {
        case "list":
          return Response.json({
            rooms: Object.fromEntries(
              body.rooms.map((r) => [
                r,
                listed(r).map((p, i) => ({ sid: p.sid ?? `PA_${r}_${i}`, identity: p.identity, joinedAt: Date.now(), tracks: [], grants: p.grants ?? null })),
              ]),
            ),
          });
        case "remove":
          return Response.json({ removed: opts.findsAll ? body.targets : body.targets.filter((t) => listed(t.room).some((p) => p.identity === t.identity)) });
        case "update":
          return Response.json({ found: opts.findsAll || listed(body.room).some((p) => p.identity === body.identity) });
        case "close":
          return Response.json({ found: opts.findsAll || body.room in rooms });
      }
    },
  };
  const e = { ...env, TOKEN: fetcher } as unknown as Env;
  return { calls, env: e, removes: () => calls.flatMap((c) => (c.op === "remove" ? c.targets : [])) };
}
