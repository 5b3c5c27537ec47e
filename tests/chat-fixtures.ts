/**
 * Fixtures for the chat tests: users from `newUser` (helpers); communities, roles, members and
 * channels written straight into D1, and a WebSocket client for ChannelRooms.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { ChannelStore } from "../durable-objects/channel-store";
import type { ServerFrame } from "../workers/shared/chat";
import { newId } from "../workers/shared/ids";
import { DEFAULT_EVERYONE, formatPermissions } from "../workers/shared/permissions";
import { CONNECT_TICKET_PARAM, RESUME_PARAM } from "../workers/shared/realtime";
import { ORIGIN, newUser, type User } from "./helpers";

export interface TestCommunity {
  id: string;
  everyoneRoleId: string;
  ownerId: string;
}

export async function makeCommunity(owner: User, everyonePerms: bigint = DEFAULT_EVERYONE): Promise<TestCommunity> {
  const id = newId();
  const everyoneRoleId = newId();
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO communities (id, name, owner_id, created_at) VALUES (?, ?, ?, ?)`).bind(id, `c ${id}`, owner.id, now),
    env.DB.prepare(`INSERT INTO roles (id, community_id, name, position, permissions, is_everyone, created_at) VALUES (?, ?, '@everyone', 0, ?, 1, ?)`).bind(
      everyoneRoleId,
      id,
      formatPermissions(everyonePerms),
      now,
    ),
    env.DB.prepare(`INSERT INTO members (community_id, user_id, joined_at) VALUES (?, ?, ?)`).bind(id, owner.id, now),
  ]);
  return { id, everyoneRoleId, ownerId: owner.id };
}

export async function addMember(c: TestCommunity, user: User, roleIds: string[] = []): Promise<void> {
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO members (community_id, user_id, joined_at) VALUES (?, ?, ?)`).bind(c.id, user.id, now),
    ...roleIds.map((r) => env.DB.prepare(`INSERT INTO member_roles (community_id, user_id, role_id) VALUES (?, ?, ?)`).bind(c.id, user.id, r)),
  ]);
}

export async function removeMember(c: TestCommunity, user: User): Promise<void> {
  await env.DB.batch([
    env.DB.prepare(`DELETE FROM member_roles WHERE community_id = ? AND user_id = ?`).bind(c.id, user.id),
    env.DB.prepare(`DELETE FROM members WHERE community_id = ? AND user_id = ?`).bind(c.id, user.id),
  ]);
}

export async function makeRole(c: TestCommunity, perms: bigint, opts: { mentionable?: boolean; position?: number } = {}): Promise<string> {
  const id = newId();
  await env.DB.prepare(`INSERT INTO roles (id, community_id, name, position, permissions, mentionable, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
    .bind(id, c.id, `role ${id}`, opts.position ?? 1, formatPermissions(perms), opts.mentionable ? 1 : 0, Date.now())
    .run();
  return id;
}

export async function makeChannel(c: TestCommunity | null, kind: "text" | "voice" | "dm" = "text", name = "general"): Promise<string> {
  const id = newId();
  await env.DB.prepare(`INSERT INTO channels (id, community_id, kind, name, created_at) VALUES (?, ?, ?, ?, ?)`)
    .bind(id, c?.id ?? null, kind, name, Date.now())
    .run();
  return id;
}

export async function addRecipient(channelId: string, user: User): Promise<void> {
  await env.DB.prepare(`INSERT INTO channel_recipients (channel_id, user_id, added_at) VALUES (?, ?, ?)`).bind(channelId, user.id, Date.now()).run();
}

export async function setOverwrite(channelId: string, kind: "role" | "member", targetId: string, allow: bigint, deny: bigint): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO channel_overwrites (channel_id, target_kind, target_id, allow, deny) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (channel_id, target_kind, target_id) DO UPDATE SET allow = excluded.allow, deny = excluded.deny`,
  )
    .bind(channelId, kind, targetId, formatPermissions(allow), formatPermissions(deny))
    .run();
}

/** A community with an owner, a member and one text channel. */
export async function world(everyonePerms?: bigint) {
  const owner = await newUser();
  const member = await newUser();
  const community = await makeCommunity(owner, everyonePerms);
  await addMember(community, member);
  const channelId = await makeChannel(community);
  return { owner, member, community, channelId };
}

/** Two users who share a community, and their 1:1 DM (as POST /api/dms makes it). */
export async function dmPair() {
  const a = await newUser();
  const b = await newUser();
  const c = await makeCommunity(a);
  await addMember(c, b);
  const dm = await makeChannel(null, "dm", "");
  await addRecipient(dm, a);
  await addRecipient(dm, b);
  await env.DB.prepare(`UPDATE channels SET dm_key = ? WHERE id = ?`).bind([a.id, b.id].sort().join(":"), dm).run();
  return { a, b, dm, community: c };
}

// ---------------------------------------------------------------------------------------
// WebSocket client
// ---------------------------------------------------------------------------------------

type Frame = ServerFrame;

/** A test WebSocket into a Durable Object, typed by the frames it receives. */
export interface TestSocket<Frame extends { type: string }> {
  ws: WebSocket;
  /** Every frame received so far, in order. */
  frames: Frame[];
  /** How many `events` frames (coalesced events, unpacked into `frames`) arrived. */
  readonly batches: number;
  closed: { code: number; reason: string } | null;
  send(frame: unknown): void;
  sendRaw(data: string | ArrayBuffer): void;
  /** The next frame (after those already taken by `next`) matching `pred`. */
  next<T extends Frame["type"]>(type: T, pred?: (f: Extract<Frame, { type: T }>) => boolean, timeoutMs?: number): Promise<Extract<Frame, { type: T }>>;
  /** The next frame (after those already taken) for which `pred` holds. */
  nextWhere(pred: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  /** Resolves when the socket closes. */
  waitClosed(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  close(): void;
}

export type RoomSocket = TestSocket<Frame>;

export function connectRoom(channelId: string, user: Pick<User, "token">, opts: { origin?: string } = {}): Promise<RoomSocket> {
  return connectParty<Frame>(`/parties/channel-room/${channelId}`, user, opts);
}

/** Opens a WebSocket through the worker (Origin, session and access checks) and waits for `ready`. */
export async function connectParty<Frame extends { type: string }>(
  path: string,
  user: Pick<User, "token">,
  opts: { origin?: string } = {},
): Promise<TestSocket<Frame>> {
  const res = await exports.default.fetch(
    new Request(`${ORIGIN}${path}`, {
      headers: { Upgrade: "websocket", origin: opts.origin ?? ORIGIN, cookie: `woxly_session=${user.token}` },
    }),
  );
  const ws = res.webSocket;
  if (!ws) throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
  const sock = acceptSocket<Frame>(ws);
  await sock.nextWhere((f) => f.type === "ready");
  return sock;
}

/**
 * Tries a WebSocket upgrade into a ChannelRoom through the worker: the HTTP status when it is
 * refused, the close code when the room closes the socket before `ready` (socket null either
 * way), or 101 with the socket once `ready` has arrived.
 */
export async function upgradeRoom(channelId: string, user: Pick<User, "token">): Promise<{ status: number; socket: RoomSocket | null }> {
  return upgradeWith(`${ORIGIN}/parties/channel-room/${channelId}`, { cookie: `woxly_session=${user.token}` });
}

/** Like upgradeRoom, with a connect ticket (`ready.ticket.token` of an earlier socket) and no cookie. */
export async function upgradeRoomWithTicket(channelId: string, ticket: string): Promise<{ status: number; socket: RoomSocket | null }> {
  return upgradeWith(`${ORIGIN}/parties/channel-room/${channelId}?${CONNECT_TICKET_PARAM}=${encodeURIComponent(ticket)}`, {});
}

/** Like upgradeRoom, asking the room to resume after `since` on the upgrade itself (RESUME_PARAM). */
export async function upgradeRoomResuming(channelId: string, user: Pick<User, "token">, since: number): Promise<{ status: number; socket: RoomSocket | null }> {
  return upgradeWith(`${ORIGIN}/parties/channel-room/${channelId}?${RESUME_PARAM}=${since}`, { cookie: `woxly_session=${user.token}` });
}

/** The connect ticket in a socket's `ready` frame, if it got one. */
export function ticketOf(s: RoomSocket): string | undefined {
  const ready = s.frames.find((f) => f.type === "ready");
  return ready?.type === "ready" ? ready.ticket?.token : undefined;
}

async function upgradeWith(url: string, headers: Record<string, string>): Promise<{ status: number; socket: RoomSocket | null }> {
  const res = await exports.default.fetch(new Request(url, { headers: { Upgrade: "websocket", origin: ORIGIN, ...headers } }));
  const ws = res.webSocket;
  if (!ws) {
    await res.arrayBuffer();
    return { status: res.status, socket: null };
  }
  const sock = acceptSocket<Frame>(ws);
  try {
    await sock.nextWhere((f) => f.type === "ready");
  } catch (e) {
    if (sock.closed) return { status: sock.closed.code, socket: null };
    throw e;
  }
  return { status: 101, socket: sock };
}

/** Accepts an upgraded WebSocket and records its frames (`ready` is the caller's to wait for). */
export function acceptSocket<Frame extends { type: string }>(ws: WebSocket): TestSocket<Frame> {
  ws.accept();
  const frames: Frame[] = [];
  const taken = new Set<number>();
  const waiters = new Set<() => void>();
  let closed: { code: number; reason: string } | null = null;
  let batches = 0;
  ws.addEventListener("message", (e) => {
    const f = JSON.parse(typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer)) as Frame | { type: "events"; events: Frame[] };
    // A busy room coalesces events into one `events` frame; like a client, take them one by one.
    if (f.type === "events" && "events" in f) {
      batches++;
      frames.push(...f.events);
    } else frames.push(f as Frame);
    for (const w of [...waiters]) w();
  });
  ws.addEventListener("close", (e) => {
    closed = { code: e.code, reason: e.reason };
    for (const w of [...waiters]) w();
  });
  const sock: TestSocket<Frame> = {
    ws,
    frames,
    get batches() {
      return batches;
    },
    get closed() {
      return closed;
    },
    send(frame) {
      ws.send(JSON.stringify(frame));
    },
    sendRaw(data) {
      ws.send(data);
    },
    next(type, pred, timeoutMs = 5000) {
      return sock.nextWhere((f) => f.type === type && (!pred || pred(f as never)), timeoutMs) as never;
    },
    nextWhere(pred, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (let i = 0; i < frames.length; i++) {
            const f = frames[i]!;
            if (taken.has(i) || !pred(f)) continue;
            taken.add(i);
            done();
            resolve(f);
            return;
          }
          if (closed) {
            done();
            reject(new Error(`socket closed (${closed.code}) while waiting; got ${JSON.stringify(frames.map((f) => f.type))}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting; got ${JSON.stringify(frames).slice(0, 2000)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    waitClosed(timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (closed) {
            done();
            resolve(closed);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error("timed out waiting for close"));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      try {
        ws.close(1000, "done");
      } catch {
        // already closed
      }
    },
  };
  return sock;
}

let nonceCounter = 0;
export function nonce(): string {
  nonceCounter++;
  return `n-${Date.now().toString(36)}-${nonceCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The ack or the error answering the frame with this ref/nonce. */
export async function answer(s: RoomSocket, ref: string) {
  const f = await s.nextWhere((f) => (f.type === "message.ack" && f.nonce === ref) || (f.type === "error" && f.ref === ref));
  return f as Extract<Frame, { type: "message.ack" | "error" }>;
}

/** Sends a message and waits for its ack (throws on an error frame). */
export async function say(s: RoomSocket, content: string, extra: Record<string, unknown> = {}) {
  const n = (extra.nonce as string | undefined) ?? nonce();
  s.send({ type: "message.send", nonce: n, content, ...extra });
  const f = await answer(s, n);
  if (f.type === "error") throw new Error(`send refused: ${f.code} ${f.message}`);
  return f.message;
}

export function roomStub(channelId: string) {
  return env.ChannelRoom.getByName(channelId);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `n` system messages straight into the room's store (no rate limit, no budget), returns the head seq. */
export function seedMessages(channelId: string, n: number) {
  return runInDurableObject(roomStub(channelId), (_i, state) => {
    const store = new ChannelStore(state.storage.sql, channelId);
    store.migrate();
    for (let i = 0; i < n; i++) {
      store.insertMessage({
        id: `seed${i}x${Math.random().toString(36).slice(2, 10)}`,
        author: { id: "seed-author", username: "seed", displayName: "Seed" },
        content: `seeded ${i}`,
        replyTo: null,
        attachments: [],
        mentions: { users: [], roles: [], everyone: false, here: false },
        system: null,
        createdAt: Date.now() - (n - i) * 1000,
        pings: { users: [], roles: [], everyone: false },
        nonce: null,
      });
    }
    return store.head();
  });
}
