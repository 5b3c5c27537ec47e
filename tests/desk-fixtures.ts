/**
 * Fixtures for the support desk tests: a community with a desk, its managers (holders of the
 * desk's manager role) and an admin (the owner), all written straight into D1; visitors started
 * through the real visitor route; sockets into the SupportDesk (managers by cookie, visitors by
 * signed socket ticket) and into a ticket's ChannelRoom.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { ServerFrame } from "../workers/shared/chat";
import { type DeskServerFrame, SocketTickets, VisitorSession } from "../workers/shared/desk";
import { newId } from "../workers/shared/ids";
import { ORIGIN, client, newUser, type Client, type Reply, type User } from "./helpers";
import { type TestCommunity, type TestSocket, acceptSocket, addMember, makeCommunity, makeRole } from "./chat-fixtures";

/** The embedding website of the test desks. */
export const SITE = "https://shop.example.org";

export interface TestDesk {
  id: string;
  community: TestCommunity;
  managerRoleId: string;
  /** The owner: MANAGE_COMMUNITY, so an admin of the desk. */
  admin: User;
  managers: User[];
}

export async function makeDesk(opts: { managers?: number; capacity?: number; autoAssign?: boolean; officeHours?: unknown } = {}): Promise<TestDesk> {
  const admin = await newUser("admin");
  const community = await makeCommunity(admin);
  const managerRoleId = await makeRole(community, 0n);
  const managers: User[] = [];
  for (let i = 0; i < (opts.managers ?? 2); i++) {
    const m = await newUser("manager");
    await addMember(community, m, [managerRoleId]);
    managers.push(m);
  }
  const id = newId();
  await env.DB.prepare(
    `INSERT INTO desks (id, community_id, name, greeting, colour, office_hours, allowed_origins, manager_role_id, capacity, auto_assign, created_at)
     VALUES (?, ?, 'Help', 'Hi!', '#5865f2', ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      id,
      community.id,
      opts.officeHours === undefined ? null : JSON.stringify(opts.officeHours),
      JSON.stringify([SITE]),
      managerRoleId,
      opts.capacity ?? 3,
      opts.autoAssign ? 1 : 0,
      Date.now(),
    )
    .run();
  return { id, community, managerRoleId, admin, managers };
}

export interface Visitor {
  id: string;
  token: string;
  deskId: string;
  http: Client;
}

/** Starts a visitor through POST /api/widget/desks/:deskId/visitors (from the widget's iframe, on Woxly's origin). */
export async function startVisitor(deskId: string, name = "Ann", ip?: string): Promise<Visitor> {
  const http = client({ ip });
  const res = await http.fetch(`/api/widget/desks/${deskId}/visitors`, { method: "POST", json: { name, context: { origin: SITE, pageUrl: `${SITE}/cart`, language: "en" } } });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  const s = VisitorSession.parse(JSON.parse(text));
  return { id: s.visitorId, token: s.token, deskId, http };
}

/** A visitor request (Bearer token) with an optional JSON body; the parsed reply. */
export async function vcall<T = any>(v: Visitor, method: string, path: string, json?: unknown): Promise<Reply<T>> {
  const res = await v.http.fetch(path, { method, headers: { authorization: `Bearer ${v.token}` }, ...(json === undefined ? (method === "GET" ? {} : { json: {} }) : { json }) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export async function vok<T = any>(status: number, v: Visitor, method: string, path: string, json?: unknown): Promise<T> {
  const r = await vcall<T>(v, method, path, json);
  expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(status);
  return r.body;
}

export type DeskSocket = TestSocket<DeskServerFrame>;
export type RoomSocket = TestSocket<ServerFrame>;

async function upgrade<F extends { type: string }>(path: string, headers: Record<string, string>): Promise<{ status: number; socket: TestSocket<F> | null }> {
  const res = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { headers: { Upgrade: "websocket", origin: ORIGIN, ...headers } }));
  const ws = res.webSocket;
  if (!ws) {
    await res.arrayBuffer();
    return { status: res.status, socket: null };
  }
  return { status: 101, socket: acceptSocket<F>(ws) };
}

/** A manager's (or anyone's) desk socket by cookie; `first` is the frame to wait for (desk.snapshot). */
export async function managerSocket(u: User, deskId: string): Promise<DeskSocket> {
  const r = await upgrade<DeskServerFrame>(`/parties/support-desk/${deskId}`, { cookie: `woxly_session=${u.token}` });
  if (!r.socket) throw new Error(`desk upgrade refused: ${r.status}`);
  await r.socket.next("desk.snapshot");
  return r.socket;
}

export function tryManagerSocket(u: User, deskId: string) {
  return upgrade<DeskServerFrame>(`/parties/support-desk/${deskId}`, { cookie: `woxly_session=${u.token}` });
}

/** The visitor's socket tickets (POST /api/widget/sockets). */
export async function socketTickets(v: Visitor): Promise<SocketTickets> {
  return SocketTickets.parse(await vok(200, v, "POST", "/api/widget/sockets"));
}

/** The visitor's desk socket (queue position, ticket changes, calls). */
export async function visitorDeskSocket(v: Visitor): Promise<DeskSocket> {
  const t = await socketTickets(v);
  const r = await upgrade<DeskServerFrame>(`/parties/support-desk/${v.deskId}?ticket=${encodeURIComponent(t.desk)}`, {});
  if (!r.socket) throw new Error(`visitor desk upgrade refused: ${r.status}`);
  return r.socket;
}

/** Upgrades with a given socket ticket (the security tests forge and replay them). */
export function upgradeWithTicket<F extends { type: string }>(party: "support-desk" | "channel-room", room: string, ticket: string) {
  return upgrade<F>(`/parties/${party}/${room}?ticket=${encodeURIComponent(ticket)}`, {});
}

/** The visitor's socket into their ticket's room, after `ready`. */
export async function visitorRoomSocket(v: Visitor, channelId: string): Promise<RoomSocket> {
  const t = await socketTickets(v);
  if (!t.room) throw new Error("no room ticket");
  const r = await upgrade<ServerFrame>(`/parties/channel-room/${channelId}?ticket=${encodeURIComponent(t.room)}`, {});
  if (!r.socket) throw new Error(`visitor room upgrade refused: ${r.status}`);
  await r.socket.next("ready");
  return r.socket;
}

/** A member's socket into a ticket's room (cookie), after `ready`. */
export async function managerRoomSocket(u: User, channelId: string): Promise<RoomSocket> {
  const r = await upgrade<ServerFrame>(`/parties/channel-room/${channelId}`, { cookie: `woxly_session=${u.token}` });
  if (!r.socket) throw new Error(`room upgrade refused: ${r.status}`);
  await r.socket.next("ready");
  return r.socket;
}

/** A visitor who asked for a human: their ticket (queued). */
export async function queuedVisitor(deskId: string, name: string) {
  const v = await startVisitor(deskId, name);
  const r = await vok(200, v, "POST", "/api/widget/request-human", {});
  return { v, ticketId: r.ticket.id as string, channelId: r.ticket.channelId as string };
}

let refs = 0;
/** Sends a desk frame with a fresh ref and waits for its `done` or error. */
export async function deskFrame(s: DeskSocket, frame: Record<string, unknown>) {
  const ref = `r${++refs}`;
  s.send({ ...frame, ref });
  return s.nextWhere((f) => (f.type === "done" && f.ref === ref) || (f.type === "error" && f.ref === ref));
}
