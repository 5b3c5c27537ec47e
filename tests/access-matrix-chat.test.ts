/**
 * The generated access matrix for chat: every actor × every kind of channel × every chat
 * operation → the expected outcome, from a list of operations and one expectation function
 * derived from the permission model (tests/access-matrix.test.ts does the same for the
 * communities routes).
 *
 * Actors: in community A the owner, an admin (ADMINISTRATOR), a moderator (MANAGE_MESSAGES),
 * a member, a member without view (not let into the private channels), a revoked member (let
 * into the private channels, connected to them, then their role taken away), a non-member, a
 * banned user and a member of community B only; in community C (so they may DM each other)
 * a DM participant, a participant who is blocked and one who blocked (the two sides of one
 * 1:1 DM), and a non-participant.
 *
 * Channel kinds: A's public and private text channels, the chat of a public and of a private
 * voice channel, a category id (no room: 404 everywhere, like a channel that does not exist),
 * a 1:1 DM (the blocked pair's own DM for them, the participant's for everyone else) and a
 * group DM of the participant and two others (no block among them: the issue gives no rule
 * for blocks in group DMs yet, so the blocked pair is not in it).
 *
 * Operations: over HTTP history, one message, search, pins, the first screen (community text
 * channels only), read state and an attachment
 * upload (the only HTTP write into a channel; messages are sent over the socket); over a real
 * WebSocket upgrade to /parties/channel-room/<id> the upgrade itself, then on a fresh socket
 * per case (so no per-connection frame budget is reached; the revoked member uses one of the
 * sockets it opened before the change, one per case too) message.send, message.edit (own),
 * message.delete (own and another's), a reaction toggle, pin and unpin; and a reconnect with
 * the connect ticket a socket got in its `ready` (no cookie, no D1: 101 for whoever may see the
 * room, and for the revoked member's ticket from before the change `closed 4409`, stale — in
 * every room of the community, since the change made them all re-check); and a new cookie
 * upgrade that asks to resume after seq 0 (`?since=0`): `frame ok` when the room replays
 * (READ_HISTORY; every actor here who sees a room has it — the refusal without it is in
 * chat-delivery.test.ts), `upgrade 404` where the worker's check refuses the upgrade.
 *
 * Outcomes are strings so a refused upgrade is never mistaken for a refused frame:
 * `http <status>`, `upgrade <status>` (101 = connected; frames of a refused upgrade report the
 * refusal), `closed <code>` (the revoked member's socket, opened before the change),
 * `frame ok` or `frame <error code>`.
 *
 * Everything a case mutates is its own (messages made for it in beforeAll, before the block and
 * the revocation, since afterwards the actor may no longer write them) or put back by the case
 * (reaction, pin and unpin toggle a shared message there and back). The number of cases is
 * printed and checked at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerFrame } from "../workers/shared/chat";
import { CLOSE } from "../workers/shared/close-codes";
import { DEFAULT_EVERYONE, DM_PERMISSIONS, P, has } from "../workers/shared/permissions";
import { answer, nonce, sleep, ticketOf, upgradeRoom, upgradeRoomResuming, upgradeRoomWithTicket, type RoomSocket } from "./chat-fixtures";
import { addMember, createCommunity, createRole } from "./community-fixtures";
import { call, newUser, ok, type User } from "./helpers";

const ACTORS = [
  "owner",
  "admin",
  "moderator",
  "member",
  "member-noview",
  "revoked",
  "non-member",
  "banned",
  "other",
  "dm-participant",
  "dm-blocked",
  "dm-blocker",
  "non-participant",
] as const;
type Actor = (typeof ACTORS)[number];

const KINDS = ["public-text", "private-text", "public-voice", "private-voice", "category", "dm", "group-dm"] as const;
type Kind = (typeof KINDS)[number];
const COMMUNITY_ROOMS = ["public-text", "private-text", "public-voice", "private-voice"] as const;
type CommunityRoom = (typeof COMMUNITY_ROOMS)[number];
const isPrivate = (k: Kind) => k === "private-text" || k === "private-voice";

/** The close code of a socket whose member lost access. */
const ACCESS_LOST = CLOSE.ACCESS_LOST;
/** The close code of a socket that came with a connect ticket issued before an access change. */
const TICKET_STALE = CLOSE.TICKET_STALE;
const RECONNECT_BY_TICKET = "reconnect with its connect ticket";
const RESUME_ON_UPGRADE = "resume on the upgrade (since=0)";
/** How long after an access change a connected socket may stay open, ms. */
const REVALIDATE_WITHIN_MS = 2000;
/** How long a frame may go unanswered, ms. */
const ANSWER_MS = 5000;

const MOD_PERMS = P.MANAGE_MESSAGES;
/** What is left of a 1:1 DM once either side blocked the other (issue 11: no send, edit, react or pin). */
const READ_ONLY = P.VIEW_CHANNEL | P.READ_HISTORY;

// ---------------------------------------------------------------------------------------
// The permission model (the reference the expectations come from)
// ---------------------------------------------------------------------------------------

interface Access {
  /** The actor may see the channel's room at all (else everything is 404). */
  visible: boolean;
  perms: bigint;
  /** A DM or group DM rather than a community channel. */
  dm: boolean;
  /** Saw the channel when their socket opened and lost it since: that socket must be closed. */
  lostWhileConnected: boolean;
}

const NONE: Access = { visible: false, perms: 0n, dm: false, lostWhileConnected: false };

/** Community-wide permissions of an actor in community A (null: not a member). */
function communityPerms(actor: Actor): bigint | null {
  switch (actor) {
    case "owner":
    case "admin":
      return -1n;
    case "moderator":
      return DEFAULT_EVERYONE | MOD_PERMS;
    case "member":
    case "member-noview":
    case "revoked":
      return DEFAULT_EVERYONE;
    default:
      return null;
  }
}

/** Who the private channels let in: the owner, ADMINISTRATOR, and holders of the Insiders role. */
const INSIDERS: Actor[] = ["moderator", "member"];

function accessOf(actor: Actor, kind: Kind): Access {
  if (kind === "category") return NONE;
  if (kind === "dm" || kind === "group-dm") {
    const participants: Actor[] = kind === "dm" ? ["dm-participant", "dm-blocked", "dm-blocker"] : ["dm-participant"];
    if (!participants.includes(actor)) return NONE;
    const blocked = kind === "dm" && (actor === "dm-blocked" || actor === "dm-blocker");
    return { visible: true, perms: blocked ? READ_ONLY : DM_PERMISSIONS, dm: true, lostWhileConnected: false };
  }
  const perms = communityPerms(actor);
  if (perms === null) return NONE;
  if (isPrivate(kind) && perms !== -1n && !INSIDERS.includes(actor)) {
    return { ...NONE, lostWhileConnected: actor === "revoked" };
  }
  return { visible: true, perms, dm: false, lostWhileConnected: false };
}

// ---------------------------------------------------------------------------------------
// The world
// ---------------------------------------------------------------------------------------

/** Messages made for one (kind, actor) pair: their own two and someone else's one. */
interface Targets {
  ownForEdit: string;
  ownForDelete: string;
  othersForDelete: string;
}

interface Room {
  channelId: string;
  /** Shared by every case: reacted to and back, pinned and back, unpinned and back. */
  readTarget: string;
  reactTarget: string;
  pinTarget: string;
  unpinTarget: string;
  targets: Map<Actor, Targets>;
}

interface World {
  users: Record<Actor, User>;
  rooms: Map<string, Room>;
  channels: { category: string; dm: string; blockedDm: string; groupDm: string } & Record<CommunityRoom, string>;
  /** The revoked member's sockets, opened before the change: one per (kind, socket operation). */
  preopened: Map<string, Preopened>;
  /** When the revocation was asked for, ms since the epoch. */
  changedAt: number;
}

interface Preopened {
  s: RoomSocket;
  /** When it closed, ms since the epoch. */
  closedAt: number | null;
}

/** Ids that name no message anywhere: what a case uses when no target could be made for it. */
const NO_MESSAGE = "NoSuchMessage000000000000";

function channelOf(w: World, kind: Kind, actor: Actor): string {
  switch (kind) {
    case "category":
      return w.channels.category;
    case "dm":
      return actor === "dm-blocked" || actor === "dm-blocker" ? w.channels.blockedDm : w.channels.dm;
    case "group-dm":
      return w.channels.groupDm;
    default:
      return w.channels[kind];
  }
}

function targetsOf(w: World, kind: Kind, actor: Actor): { room: Room | undefined; t: Targets } {
  const room = w.rooms.get(channelOf(w, kind, actor));
  return { room, t: room?.targets.get(actor) ?? { ownForEdit: NO_MESSAGE, ownForDelete: NO_MESSAGE, othersForDelete: NO_MESSAGE } };
}

/** Opens a socket or fails the set-up. */
async function open(channelId: string, u: User): Promise<RoomSocket> {
  const r = await upgradeRoom(channelId, u);
  if (!r.socket) throw new Error(`set-up: ${u.username}'s upgrade to ${channelId} refused with ${r.status}`);
  return r.socket;
}

/** Sends a message (waiting out a rate limit, which is not what this file tests) and returns its id. */
async function post(s: RoomSocket, content: string): Promise<string> {
  const n = nonce();
  for (let attempt = 0; ; attempt++) {
    s.send({ type: "message.send", nonce: n, content });
    const f: ServerFrame = await answer(s, n);
    if (f.type === "message.ack") return f.message.id;
    if (f.type !== "error" || f.code !== "rate_limited" || attempt >= 5) throw new Error(`set-up: send refused: ${JSON.stringify(f)}`);
    await sleep((f.retryAfterMs ?? 1000) + 20);
  }
}

async function pinViaSocket(s: RoomSocket, messageId: string): Promise<void> {
  const out = await frame(s, { type: "pin.add", messageId }, (f) => f.type === "pin.added" && f.messageId === messageId);
  if (out !== "frame ok") throw new Error(`set-up: pin refused: ${out}`);
}

/**
 * Sends a frame with a fresh ref and waits for what answers it: the event `done` recognises
 * ("frame ok"), an error frame with its ref ("frame <code>", a rate limit is waited out and the
 * frame sent again), the socket closing, or nothing within ANSWER_MS. Only frames that arrive
 * after the send count (a long-lived socket has seen earlier cases' events).
 */
async function frame(s: RoomSocket, body: Record<string, unknown>, done: (f: ServerFrame) => boolean): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const ref = nonce();
    const seen = new Set(s.frames);
    const closedBefore = closedOf(s);
    if (closedBefore) return `closed ${closedBefore.code}`;
    s.send(body.type === "message.send" ? { ...body, nonce: ref } : { ...body, ref });
    let f: ServerFrame;
    try {
      f = await s.nextWhere((x) => !seen.has(x) && (done(x) || (x.type === "error" && x.ref === ref)), ANSWER_MS);
    } catch {
      const closed = closedOf(s);
      return closed ? `closed ${closed.code}` : "frame timeout";
    }
    if (f.type !== "error") return "frame ok";
    if (f.code === "rate_limited" && attempt < 5) {
      rateLimitWaits++;
      await sleep((f.retryAfterMs ?? 1000) + 20);
      continue;
    }
    return `frame ${f.code}`;
  }
}

let rateLimitWaits = 0;

/** A socket's close, read afresh (it changes while a case awaits). */
const closedOf = (s: RoomSocket) => s.closed;

/** What creating a channel or a DM answers, as far as the set-up needs it. */
type Made = { channel: { id: string } };

async function buildWorld(): Promise<World> {
  const users = Object.fromEntries(await Promise.all(ACTORS.map(async (a) => [a, await newUser(a.replace(/-/g, ""))] as const))) as Record<Actor, User>;

  // Community A: roles, the private channels, members, a ban.
  const made = await createCommunity(users.owner);
  const a = made.community.id;
  const adminRole = await createRole(users.owner, a, "Admin", P.ADMINISTRATOR);
  const modRole = await createRole(users.owner, a, "Moderator", MOD_PERMS);
  // No permissions of its own: it only opens the private channels (their overwrites name it).
  const insiders = await createRole(users.owner, a, "Insiders", 0n);
  const publicText = made.channels.find((c) => c.kind === "text")!;
  const publicVoice = made.channels.find((c) => c.kind === "voice")!;
  const category = made.channels.find((c) => c.kind === "category")!;
  const privateChannel = async (kind: "text" | "voice") => {
    // `private`: @everyone is denied VIEW_CHANNEL; then the Insiders role is let in.
    const ch = (await ok<Made>(201, users.owner, "POST", `/api/communities/${a}/channels`, { kind, name: `private-${kind}`, private: true })).channel.id;
    await ok(200, users.owner, "PUT", `/api/channels/${ch}/overwrites/role/${insiders.id}`, { allow: String(P.VIEW_CHANNEL), deny: "0" });
    return ch;
  };
  const privateText = await privateChannel("text");
  const privateVoice = await privateChannel("voice");
  await addMember(a, users.admin, [adminRole.id]);
  await addMember(a, users.moderator, [modRole.id, insiders.id]);
  await addMember(a, users.member, [insiders.id]);
  await addMember(a, users["member-noview"]);
  await addMember(a, users.revoked, [insiders.id]);
  await addMember(a, users.banned);
  await ok(204, users.owner, "PUT", `/api/communities/${a}/bans/${users.banned.id}`, {});
  // Writes the messages others try to delete, in every room of A (so it is an insider).
  const bystander = await newUser("bystander");
  await addMember(a, bystander, [insiders.id]);

  // Community B: the other community's member.
  const b = await createCommunity(await newUser("ownerb"));
  await addMember(b.community.id, users.other);

  // Community C: the DM people. The blocked pair's DM exists before the block.
  const c = await createCommunity(await newUser("ownerc"));
  const partner = await newUser("partner");
  const partner2 = await newUser("partner2");
  for (const u of [users["dm-participant"], users["dm-blocked"], users["dm-blocker"], users["non-participant"], partner, partner2]) await addMember(c.community.id, u);
  const dm = (await ok<Made>(201, users["dm-participant"], "POST", "/api/dms", { userIds: [partner.id] })).channel.id;
  const groupDm = (await ok<Made>(201, users["dm-participant"], "POST", "/api/dms", { userIds: [partner.id, partner2.id] })).channel.id;
  const blockedDm = (await ok<Made>(201, users["dm-blocker"], "POST", "/api/dms", { userIds: [users["dm-blocked"].id] })).channel.id;

  const channels = {
    category: category.id,
    dm,
    blockedDm,
    groupDm,
    "public-text": publicText.id,
    "private-text": privateText,
    "public-voice": publicVoice.id,
    "private-voice": privateVoice,
  };

  // Targets, written before the block and the revocation: each actor who may see a room now
  // writes the two messages it will edit and delete; someone else writes the one it will try
  // to delete; the room's author writes the shared ones and pins one.
  const rooms = new Map<string, Room>();
  const roomSpecs: { channelId: string; author: User; writers: { actor: Actor; other: User }[] }[] = [
    ...COMMUNITY_ROOMS.map((k) => ({
      channelId: channels[k],
      author: users.owner,
      writers: ACTORS.filter((x) => accessOf(x, k).visible || accessOf(x, k).lostWhileConnected).map((actor) => ({ actor, other: bystander })),
    })),
    { channelId: dm, author: partner, writers: [{ actor: "dm-participant", other: partner }] },
    { channelId: groupDm, author: partner, writers: [{ actor: "dm-participant", other: partner2 }] },
    {
      channelId: blockedDm,
      author: users["dm-blocker"],
      writers: [
        { actor: "dm-blocked", other: users["dm-blocker"] },
        { actor: "dm-blocker", other: users["dm-blocked"] },
      ],
    },
  ];
  await Promise.all(
    roomSpecs.map(async (spec) => {
      const authorSock = await open(spec.channelId, spec.author);
      const room: Room = {
        channelId: spec.channelId,
        readTarget: await post(authorSock, "matrix read target"),
        reactTarget: await post(authorSock, "matrix react target"),
        pinTarget: await post(authorSock, "matrix pin target"),
        unpinTarget: await post(authorSock, "matrix unpin target"),
        targets: new Map(),
      };
      await pinViaSocket(authorSock, room.unpinTarget);
      authorSock.close();
      const sockets = new Map<string, RoomSocket>();
      const sockOf = async (u: User) => {
        let s = sockets.get(u.id);
        if (!s) sockets.set(u.id, (s = await open(spec.channelId, u)));
        return s;
      };
      for (const { actor, other } of spec.writers) {
        const mine = await sockOf(users[actor]);
        room.targets.set(actor, {
          ownForEdit: await post(mine, `matrix ${actor} to edit`),
          ownForDelete: await post(mine, `matrix ${actor} to delete`),
          othersForDelete: await post(await sockOf(other), `matrix for ${actor} to delete`),
        });
      }
      for (const s of sockets.values()) s.close();
      rooms.set(spec.channelId, room);
    }),
  );

  // The revoked member connects to every room it may see, once per socket operation.
  const preopened = new Map<string, Preopened>();
  for (const k of COMMUNITY_ROOMS) {
    for (const op of SOCKET_OPS) {
      const p: Preopened = { s: await open(channels[k], users.revoked), closedAt: null };
      p.s.ws.addEventListener("close", () => (p.closedAt = Date.now()));
      preopened.set(`${k}|${op.name}`, p);
    }
  }

  // The changes: a block either way in the pair's DM, and the revoked member loses the role
  // that opened the private channels (both through the API, as a user would).
  await ok(204, users["dm-blocker"], "PUT", `/api/me/blocks/${users["dm-blocked"].id}`);
  const changedAt = Date.now();
  await ok(204, users.owner, "DELETE", `/api/communities/${a}/members/${users.revoked.id}/roles/${insiders.id}`);
  return { users, rooms, channels, preopened, changedAt };
}

// ---------------------------------------------------------------------------------------
// The operations
// ---------------------------------------------------------------------------------------

interface HttpOp {
  name: string;
  /** The permission it takes in the channel. */
  need: bigint;
  success: number;
  /** The kinds of channel it serves (others: 404 once the permission is there); omitted, every kind with a room. */
  kinds?: readonly Kind[];
  request(ctx: { channelId: string; room: Room | undefined }): { method: string; path: string; body?: Uint8Array };
}

const TEXT_FILE = new TextEncoder().encode("matrix attachment");

const HTTP_OPS: HttpOp[] = [
  { name: "GET messages", need: P.READ_HISTORY, success: 200, request: ({ channelId }) => ({ method: "GET", path: `/api/channels/${channelId}/messages` }) },
  {
    name: "GET messages/:messageId",
    need: P.READ_HISTORY,
    success: 200,
    request: ({ channelId, room }) => ({ method: "GET", path: `/api/channels/${channelId}/messages/${room?.readTarget ?? NO_MESSAGE}` }),
  },
  { name: "GET search", need: P.READ_HISTORY, success: 200, request: ({ channelId }) => ({ method: "GET", path: `/api/channels/${channelId}/search?q=matrix` }) },
  { name: "GET pins", need: P.READ_HISTORY, success: 200, request: ({ channelId }) => ({ method: "GET", path: `/api/channels/${channelId}/pins` }) },
  {
    // The server-rendered first screen of a community's text channel (web hooks.server.ts).
    name: "GET first-screen",
    need: P.READ_HISTORY,
    success: 200,
    kinds: ["public-text", "private-text"],
    request: ({ channelId }) => ({ method: "GET", path: `/api/channels/${channelId}/first-screen` }),
  },
  { name: "GET read-state", need: P.VIEW_CHANNEL, success: 200, request: ({ channelId }) => ({ method: "GET", path: `/api/channels/${channelId}/read-state` }) },
  {
    name: "POST upload attachment",
    need: P.ATTACH_FILES,
    success: 201,
    request: ({ channelId }) => ({ method: "POST", path: `/api/uploads/channels/${channelId}/attachments?filename=matrix.txt`, body: TEXT_FILE }),
  },
];

interface SocketOp {
  name: string;
  /** Whether the model allows it to someone who can see the channel. */
  allowed(a: Access): boolean;
  /** Runs it on an open socket; returns the outcome. */
  run(ctx: { s: RoomSocket; user: User; room: Room | undefined; t: Targets }): Promise<string>;
}

/** Pins: MANAGE_MESSAGES in a community; in a DM every participant who may still write (a block makes it read-only). */
const mayPin = (a: Access) => (a.dm ? has(a.perms, P.SEND_MESSAGES) : has(a.perms, P.MANAGE_MESSAGES));

/** Runs `first`; when it is accepted, `back` too (so the shared message is as it was), and reports the pair. */
async function andBack(first: () => Promise<string>, back: () => Promise<string>): Promise<string> {
  const out = await first();
  if (out !== "frame ok") return out;
  const undone = await back();
  return undone === "frame ok" ? out : `${out}, undo ${undone}`;
}

const SOCKET_OPS: SocketOp[] = [
  { name: "upgrade", allowed: () => true, run: async () => "upgrade 101" },
  {
    name: "message.send",
    allowed: (a) => has(a.perms, P.SEND_MESSAGES),
    run: ({ s }) => frame(s, { type: "message.send", content: "matrix send" }, (f) => f.type === "message.ack"),
  },
  {
    name: "message.edit (own)",
    allowed: (a) => has(a.perms, P.SEND_MESSAGES),
    run: ({ s, t }) => frame(s, { type: "message.edit", id: t.ownForEdit, content: `edited ${nonce()}` }, (f) => f.type === "message.updated" && f.message.id === t.ownForEdit),
  },
  {
    name: "message.delete (own)",
    allowed: () => true,
    run: ({ s, t }) => frame(s, { type: "message.delete", id: t.ownForDelete }, (f) => f.type === "message.deleted" && f.id === t.ownForDelete),
  },
  {
    name: "message.delete (other's)",
    allowed: (a) => has(a.perms, P.MANAGE_MESSAGES),
    run: ({ s, t }) => frame(s, { type: "message.delete", id: t.othersForDelete }, (f) => f.type === "message.deleted" && f.id === t.othersForDelete),
  },
  {
    name: "reaction toggle",
    allowed: (a) => has(a.perms, P.ADD_REACTIONS),
    run: ({ s, user, room }) => {
      const messageId = room?.reactTarget ?? NO_MESSAGE;
      const mine = (type: string) => (f: ServerFrame) => f.type === type && "messageId" in f && f.messageId === messageId && "userId" in f && f.userId === user.id;
      return andBack(
        () => frame(s, { type: "reaction.add", messageId, emoji: "👍" }, mine("reaction.added")),
        () => frame(s, { type: "reaction.remove", messageId, emoji: "👍" }, mine("reaction.removed")),
      );
    },
  },
  {
    name: "pin",
    allowed: mayPin,
    run: ({ s, room }) => {
      const messageId = room?.pinTarget ?? NO_MESSAGE;
      return andBack(
        () => frame(s, { type: "pin.add", messageId }, (f) => f.type === "pin.added" && f.messageId === messageId),
        () => frame(s, { type: "pin.remove", messageId }, (f) => f.type === "pin.removed" && f.messageId === messageId),
      );
    },
  },
  // Run by runTicket (below): the ticket from a cookie upgrade (the revoked member: from a socket
  // opened before the change), then an upgrade with it alone.
  { name: RECONNECT_BY_TICKET, allowed: () => true, run: async () => "upgrade 101" },
  // Run by runResume (below): a cookie upgrade with `?since=0`, answered by the replay (READ_HISTORY) or an error frame.
  { name: RESUME_ON_UPGRADE, allowed: (a) => has(a.perms, P.READ_HISTORY), run: async () => "frame ok" },
  {
    name: "unpin",
    allowed: mayPin,
    run: ({ s, room }) => {
      const messageId = room?.unpinTarget ?? NO_MESSAGE;
      return andBack(
        () => frame(s, { type: "pin.remove", messageId }, (f) => f.type === "pin.removed" && f.messageId === messageId),
        () => frame(s, { type: "pin.add", messageId }, (f) => f.type === "pin.added" && f.messageId === messageId),
      );
    },
  },
];

type Op = { http: HttpOp } | { socket: SocketOp };
const OPS: Op[] = [...HTTP_OPS.map((http) => ({ http })), ...SOCKET_OPS.map((socket) => ({ socket }))];
const opName = (op: Op) => ("http" in op ? op.http.name : `ws ${op.socket.name}`);

/** The expectation function: what `actor` should get from `op` on a channel of `kind`. */
function expected(op: Op, kind: Kind, actor: Actor): string {
  const a = accessOf(actor, kind);
  if ("http" in op) {
    if (!a.visible) return "http 404";
    if (!has(a.perms, op.http.need)) return "http 403";
    return op.http.kinds && !op.http.kinds.includes(kind) ? "http 404" : `http ${op.http.success}`;
  }
  if (op.socket.name === RECONNECT_BY_TICKET && actor === "revoked" && (COMMUNITY_ROOMS as readonly Kind[]).includes(kind)) return `closed ${TICKET_STALE}`;
  // A new upgrade (not a socket opened before the change): what the worker's check says now.
  if (a.lostWhileConnected && op.socket.name !== RESUME_ON_UPGRADE) return `closed ${ACCESS_LOST}`;
  if (!a.visible) return "upgrade 404";
  if (op.socket.name === "upgrade" || op.socket.name === RECONNECT_BY_TICKET) return "upgrade 101";
  return op.socket.allowed(a) ? "frame ok" : "frame forbidden";
}

// ---------------------------------------------------------------------------------------

let world: World;
const results: { op: string; kind: Kind; actor: Actor; expected: string; got: string }[] = [];

beforeAll(async () => {
  world = await buildWorld();
}, 120_000);

afterAll(() => {
  for (const p of world?.preopened.values() ?? []) p.s.close();
  const byOutcome = new Map<string, number>();
  for (const r of results) byOutcome.set(r.expected, (byOutcome.get(r.expected) ?? 0) + 1);
  console.log(
    JSON.stringify({
      event: "access_matrix_chat",
      operations: OPS.length,
      kinds: KINDS.length,
      actors: ACTORS.length,
      cases: OPS.length * KINDS.length * ACTORS.length,
      checked: results.length,
      mismatches: results.filter((r) => r.expected !== r.got).length,
      rateLimitWaits,
      expectedByOutcome: Object.fromEntries([...byOutcome].sort()),
    }),
  );
  for (const r of results.filter((x) => x.expected !== x.got)) console.log(JSON.stringify({ event: "access_matrix_chat.mismatch", ...r }));
});

async function runHttp(op: HttpOp, kind: Kind, actor: Actor): Promise<string> {
  const channelId = channelOf(world, kind, actor);
  const req = op.request({ channelId, room: world.rooms.get(channelId) });
  const user = world.users[actor];
  if (req.body) {
    const res = await user.http.fetch(req.path, { method: req.method, body: req.body, headers: { "content-type": "text/plain" } });
    await res.arrayBuffer();
    return `http ${res.status}`;
  }
  return `http ${(await call(user, req.method, req.path)).status}`;
}

/** A reconnect with a connect ticket: got from a cookie upgrade now, or (revoked) from a socket opened before the change. */
async function runTicket(op: SocketOp, kind: Kind, actor: Actor): Promise<string> {
  const channelId = channelOf(world, kind, actor);
  const pre = actor === "revoked" ? world.preopened.get(`${kind}|${op.name}`) : undefined;
  let ticket: string | undefined;
  if (pre) ticket = ticketOf(pre.s);
  else {
    const first = await upgradeRoom(channelId, world.users[actor]);
    if (!first.socket) return `upgrade ${first.status}`;
    ticket = ticketOf(first.socket);
    first.socket.close();
  }
  if (!ticket) return "no ticket in ready";
  const r = await upgradeRoomWithTicket(channelId, ticket);
  r.socket?.close();
  return r.socket ? "upgrade 101" : `closed ${r.status}`;
}

/** A cookie upgrade that asks to resume after seq 0: the replay and `resumed` (or `resync`), or an error frame in their place. */
async function runResume(kind: Kind, actor: Actor): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const r = await upgradeRoomResuming(channelOf(world, kind, actor), world.users[actor], 0);
    if (!r.socket) return `upgrade ${r.status}`;
    const s = r.socket;
    try {
      const f = await s.nextWhere((x) => x.type === "resumed" || x.type === "resync" || (x.type === "error" && x.ref === null), ANSWER_MS);
      if (f.type !== "error") return "frame ok";
      if (f.code === "rate_limited" && attempt < 5) {
        rateLimitWaits++;
        await sleep((f.retryAfterMs ?? 1000) + 20);
        continue;
      }
      return `frame ${f.code}`;
    } catch {
      const closed = closedOf(s);
      return closed ? `closed ${closed.code}` : "frame timeout";
    } finally {
      s.close();
    }
  }
}

async function runSocket(op: SocketOp, kind: Kind, actor: Actor): Promise<string> {
  if (op.name === RECONNECT_BY_TICKET) return runTicket(op, kind, actor);
  if (op.name === RESUME_ON_UPGRADE) return runResume(kind, actor);
  const user = world.users[actor];
  const { room, t } = targetsOf(world, kind, actor);
  const pre = actor === "revoked" ? world.preopened.get(`${kind}|${op.name}`) : undefined;
  if (pre) {
    // Opened before the change: where access went, it must have closed within REVALIDATE_WITHIN_MS.
    while (!pre.s.closed && Date.now() < world.changedAt + REVALIDATE_WITHIN_MS) await sleep(20);
    if (pre.s.closed) {
      const after = (pre.closedAt ?? world.changedAt) - world.changedAt;
      return `closed ${pre.s.closed.code}${after > REVALIDATE_WITHIN_MS ? ` after ${after} ms` : ""}`;
    }
    return op.run({ s: pre.s, user, room, t });
  }
  const r = await upgradeRoom(channelOf(world, kind, actor), user);
  if (!r.socket) return `upgrade ${r.status}`;
  try {
    return await op.run({ s: r.socket, user, room, t });
  } finally {
    r.socket.close();
  }
}

describe("chat access matrix", () => {
  for (const op of OPS) {
    it(opName(op), { timeout: 180_000 }, async () => {
      const mine: typeof results = [];
      for (const kind of KINDS) {
        for (const actor of ACTORS) {
          const got = "http" in op ? await runHttp(op.http, kind, actor) : await runSocket(op.socket, kind, actor);
          mine.push({ op: opName(op), kind, actor, expected: expected(op, kind, actor), got });
        }
      }
      results.push(...mine);
      // Every case runs before this fails, so the list names all of them.
      expect(mine.filter((r) => r.expected !== r.got)).toEqual([]);
    });
  }

  it("checked every generated case (17 operations × 7 channel kinds × 13 actors = 1547)", () => {
    const cases = OPS.length * KINDS.length * ACTORS.length;
    expect(cases).toBe(1547);
    expect(results).toHaveLength(cases);
    expect(results.filter((r) => r.expected !== r.got)).toEqual([]);
    // Every kind of answer is exercised, refusals included.
    expect(new Set(results.map((r) => r.expected))).toEqual(
      new Set(["http 200", "http 201", "http 403", "http 404", "upgrade 101", "upgrade 404", `closed ${ACCESS_LOST}`, `closed ${TICKET_STALE}`, "frame ok", "frame forbidden"]),
    );
  });
});
