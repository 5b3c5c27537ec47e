/**
 * Fixtures for the communities tests: communities, roles and invites through the typed client
 * (users come from `newUser` in helpers), members straight in D1, and a WebSocket client for
 * the CommunityHub.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { CreateCommunityResponse, HubServerFrame, InviteResponse, type Role, RoleResponse } from "../workers/shared/communities";
import { ORIGIN, api, expectJson, newUser, type User } from "./helpers";

let n = 0;

export async function createCommunity(owner: User, name = `Community ${++n}`): Promise<CreateCommunityResponse> {
  return expectJson(api(owner.http).communities.$post({ json: { name } }), 201, CreateCommunityResponse);
}

/** Adds a member straight in D1 (the invite flow has its own tests). */
export async function addMember(communityId: string, u: User, roleIds: string[] = []): Promise<void> {
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO members (community_id, user_id, joined_at) VALUES (?, ?, ?)`).bind(communityId, u.id, now),
    ...roleIds.map((r) => env.DB.prepare(`INSERT INTO member_roles (community_id, user_id, role_id) VALUES (?, ?, ?)`).bind(communityId, u.id, r)),
  ]);
}

export async function isMember(communityId: string, userId: string): Promise<boolean> {
  const r = await env.DB.prepare(`SELECT 1 AS x FROM members WHERE community_id = ? AND user_id = ?`).bind(communityId, userId).first();
  return !!r;
}

export async function createRole(owner: User, communityId: string, name: string, permissions: bigint): Promise<Role> {
  const req = api(owner.http).communities[":id"].roles.$post({ param: { id: communityId }, json: { name, permissions: permissions.toString() } });
  return (await expectJson(req, 201, RoleResponse)).role;
}

export async function inviteCode(u: User, communityId: string, body: Record<string, unknown> = {}): Promise<string> {
  const req = api(u.http).communities[":id"].invites.$post({ param: { id: communityId }, json: body });
  return (await expectJson(req, 201, InviteResponse)).invite.code;
}

// ---------------------------------------------------------------------------------------
// CommunityHub sockets
// ---------------------------------------------------------------------------------------

export interface HubSocket {
  ws: WebSocket;
  frames: HubServerFrame[];
  closed: { code: number; reason: string } | null;
  /** The next frame (after those already taken) matching `pred`, within `ms`. */
  next<T extends HubServerFrame["type"]>(type: T, pred?: (f: Extract<HubServerFrame, { type: T }>) => boolean, ms?: number): Promise<Extract<HubServerFrame, { type: T }>>;
  send(frame: unknown): void;
  waitClosed(ms?: number): Promise<{ code: number; reason: string }>;
  close(): void;
}

export async function openHub(u: User, communityId: string): Promise<HubSocket> {
  const res = await exports.default.fetch(
    new Request(`${ORIGIN}/parties/community-hub/${communityId}`, {
      headers: { Upgrade: "websocket", origin: ORIGIN, cookie: `woxly_session=${u.token}` },
    }),
  );
  const ws = res.webSocket;
  if (!ws) throw new Error(`no websocket: ${res.status} ${await res.text()}`);
  ws.accept();
  const frames: HubServerFrame[] = [];
  let taken = 0;
  const waiters = new Set<() => void>();
  const s: HubSocket = {
    ws,
    frames,
    closed: null,
    async next(type, pred, ms = 3000) {
      const deadline = Date.now() + ms;
      for (;;) {
        for (let i = taken; i < frames.length; i++) {
          const f = frames[i]!;
          if (f.type === type && (!pred || pred(f as never))) {
            taken = i + 1;
            // Every frame the tests look at must match the shared schema the web app relies on.
            HubServerFrame.parse(f);
            return f as never;
          }
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${type} frame within ${ms} ms; got ${JSON.stringify(frames.slice(taken).map((f) => f.type))}`);
        await new Promise<void>((resolve) => {
          const w = () => {
            waiters.delete(w);
            resolve();
          };
          waiters.add(w);
          setTimeout(w, Math.min(left, 50));
        });
      }
    },
    send(frame) {
      ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    },
    async waitClosed(ms = 2000) {
      const deadline = Date.now() + ms;
      while (!s.closed) {
        if (Date.now() > deadline) throw new Error(`socket still open after ${ms} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return s.closed;
    },
    close() {
      try {
        ws.close(1000, "bye");
      } catch {
        // already closed
      }
    },
  };
  ws.addEventListener("message", (e) => {
    frames.push(JSON.parse(e.data as string) as HubServerFrame);
    for (const w of [...waiters]) w();
  });
  ws.addEventListener("close", (e) => {
    s.closed = { code: e.code, reason: e.reason };
  });
  return s;
}

/** An owner and a member of a new community, each with a hub socket that has had its snapshot. */
export async function hubPair() {
  const owner = await newUser();
  const member = await newUser();
  const { community } = await createCommunity(owner);
  await addMember(community.id, member);
  const a = await openHub(owner, community.id);
  await a.next("state.synced");
  const b = await openHub(member, community.id);
  await b.next("state.synced");
  return { owner, member, community, a, b };
}

/** Waits until `check` passes or `ms` pass (then fails with the last error). */
export async function eventually(check: () => Promise<void> | void, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
