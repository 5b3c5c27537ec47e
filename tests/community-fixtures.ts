/**
 * Fixtures for the communities tests: users with live sessions written straight into D1
 * (registration hashes a password and is slow), JSON calls through the real worker, and a
 * WebSocket client for the CommunityHub.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { sha256Hex } from "../workers/core/crypto";
import { type CreateCommunityResponse, HubServerFrame, type Role } from "../workers/shared/communities";
import { newId, randomToken } from "../workers/shared/ids";
import { ORIGIN, client, type Client } from "./helpers";

export interface User {
  id: string;
  username: string;
  token: string;
  http: Client;
}

let n = 0;

/** A user with a session, made in D1 directly. */
export async function newUser(prefix = "cm"): Promise<User> {
  n++;
  const id = newId();
  const username = `${prefix}_${Date.now().toString(36)}_${n}`;
  const now = Date.now();
  const token = randomToken(256);
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO users (id, username, username_key, display_name, password_hash, created_at, password_changed_at) VALUES (?, ?, ?, ?, 'x', ?, ?)`,
    ).bind(id, username, username.toLowerCase(), username, now, now),
    env.DB.prepare(`INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)`).bind(
      await sha256Hex(token),
      id,
      now,
      now,
      now + 86_400_000,
    ),
  ]);
  const http = client();
  http.cookies.set("woxly_session", token);
  return { id, username, token, http };
}

export interface Reply<T = any> {
  status: number;
  body: T;
}

/** A JSON call as `u` (or anonymous); the body is parsed when there is one. */
export async function call<T = any>(u: User | null, method: string, path: string, json?: unknown): Promise<Reply<T>> {
  const c = u?.http ?? client();
  const res = await c.fetch(path, { method, ...(json === undefined ? {} : { json }) });
  const isJson = (res.headers.get("content-type") ?? "").includes("application/json");
  const text = isJson ? await res.text() : (await res.arrayBuffer(), "");
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Like `call`, but fails the test unless the status is `status`. */
export async function ok<T = any>(status: number, u: User | null, method: string, path: string, json?: unknown): Promise<T> {
  const r = await call<T>(u, method, path, json);
  expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(status);
  return r.body;
}

export async function createCommunity(owner: User, name = `Community ${++n}`): Promise<CreateCommunityResponse> {
  return ok<CreateCommunityResponse>(201, owner, "POST", "/api/communities", { name });
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
  const body = await ok<{ role: Role }>(201, owner, "POST", `/api/communities/${communityId}/roles`, { name, permissions: permissions.toString() });
  return body.role;
}

export async function inviteCode(u: User, communityId: string, body: Record<string, unknown> = {}): Promise<string> {
  return (await ok<{ invite: { code: string } }>(201, u, "POST", `/api/communities/${communityId}/invites`, body)).invite.code;
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
