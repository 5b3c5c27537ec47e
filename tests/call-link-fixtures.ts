/**
 * Fixtures for the call-link tests: links made through the real route by their host, guests
 * through the real guest route (their client keeps the guest cookie), sockets into a link's
 * CallLink object and into its chat's ChannelRoom by cookie, and LiveKit webhooks of its room.
 */
import { exports } from "cloudflare:workers";
import { env } from "cloudflare:test";
import { expect } from "vitest";
import { CallLink, CallLinkPreview, type CallLinkServerFrame, GUEST_COOKIE, callLinkRoom, guestPersonId } from "../workers/shared/call-links";
import type { ServerFrame } from "../workers/shared/chat";
import { sha256Hex } from "../workers/core/crypto";
import { voiceIdentity } from "../workers/core/voice-identity";
import { ORIGIN, api, client, expectJson, type Client, type Reply, type User } from "./helpers";
import { type TestSocket, acceptSocket } from "./chat-fixtures";

export type CallSocket = TestSocket<CallLinkServerFrame>;
export type ChatSocket = TestSocket<ServerFrame>;

/** A new link hosted by `host` (POST /api/calls). */
export async function makeLink(host: User, body: { name?: string; title?: string; settings?: { locked?: boolean; lobby?: boolean; requireAccount?: boolean } } = {}): Promise<CallLink> {
  return expectJson(api(host.http).calls.$post({ json: body }), 201, CallLink);
}

/** A guest: their client (with the guest cookie), id and the preview the join answered. */
export interface Guest {
  http: Client;
  id: string;
  personId: string;
  token: string;
  preview: CallLinkPreview;
}

/** A raw call through any client; the parsed body. */
export async function send<T = any>(c: Client, method: string, path: string, json?: unknown): Promise<Reply<T> & { headers: Headers }> {
  const res = await c.fetch(path, { method, ...(json === undefined ? (method === "GET" ? {} : { json: {} }) : { json }) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

/** Joins `code` as a guest named `name` (from `ip` when given); fails the test unless it is let through. */
export async function guestJoin(code: string, name = "Guest", ip?: string): Promise<Guest> {
  const http = client({ ip });
  const r = await send(http, "POST", `/api/calls/${code}/guests`, { name });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const token = http.cookies.get(GUEST_COOKIE)!;
  expect(token).toBeTruthy();
  const g = await guestRow(token);
  return { http, id: g, personId: guestPersonId(g), token, preview: CallLinkPreview.parse(r.body) };
}

async function guestRow(token: string): Promise<string> {
  const r = await env.DB.prepare(`SELECT id FROM call_guests WHERE token_hash = ?`).bind(await sha256Hex(token)).first<{ id: string }>();
  return r!.id;
}

/** The Cookie header of a member or a guest. */
export function cookieOf(who: User | Guest): string {
  return "username" in who ? `woxly_session=${who.token}` : `${GUEST_COOKIE}=${who.token}`;
}

/** Tries a WebSocket upgrade with `cookie`: the HTTP status when refused, else 101 and the socket. */
export async function upgrade<F extends { type: string }>(path: string, cookie: string | null, origin = ORIGIN): Promise<{ status: number; socket: TestSocket<F> | null }> {
  const headers: Record<string, string> = { Upgrade: "websocket", origin };
  if (cookie) headers.cookie = cookie;
  const res = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { headers }));
  const ws = res.webSocket;
  if (!ws) {
    await res.arrayBuffer();
    return { status: res.status, socket: null };
  }
  return { status: 101, socket: acceptSocket<F>(ws) };
}

/** A socket into the link's CallLink object, after its first `call.snapshot`. */
export async function callSocket(who: User | Guest, linkId: string): Promise<CallSocket> {
  const r = await upgrade<CallLinkServerFrame>(`/parties/call-link/${linkId}`, cookieOf(who));
  if (!r.socket) throw new Error(`call-link upgrade refused: ${r.status}`);
  await r.socket.next("call.snapshot");
  return r.socket;
}

/** A socket into the call's chat, after `ready`. */
export async function chatSocket(who: User | Guest, channelId: string): Promise<ChatSocket> {
  const r = await upgrade<ServerFrame>(`/parties/channel-room/${channelId}`, cookieOf(who));
  if (!r.socket) throw new Error(`chat upgrade refused: ${r.status}`);
  await r.socket.next("ready");
  return r.socket;
}

let refs = 0;
/** Sends a CallLink frame with a fresh ref; its `done` or error. */
export async function callFrame(s: CallSocket, frame: Record<string, unknown>) {
  const ref = `c${++refs}`;
  s.send({ ...frame, ref });
  return s.nextWhere((f) => (f.type === "done" && f.ref === ref) || (f.type === "error" && f.ref === ref));
}

/** POST /api/calls/:code/token as a member or a guest. */
export function tokenOf(who: User | Guest, code: string) {
  return send(who.http, "POST", `/api/calls/${code}/token`);
}

/** The LiveKit identity of a person in a link's room. */
export function identityIn(linkId: string, personId: string): Promise<string> {
  return voiceIdentity(env.PASSWORD_PEPPER, callLinkRoom(linkId), personId);
}
