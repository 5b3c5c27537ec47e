/**
 * The generated access matrix for threads (docs/threads.md): every actor × every kind of
 * thread × every thread operation → the expected outcome, from one expectation function built
 * on the rule "a thread inherits its parent channel's permissions, with SEND_IN_THREADS in the
 * place of SEND_MESSAGES; starting one takes CREATE_THREADS (and reading the parent)".
 *
 * Actors, all through the API as a user would: the owner, an admin (ADMINISTRATOR), a moderator
 * (MANAGE_MESSAGES), a member, a member denied CREATE_THREADS and one denied SEND_IN_THREADS
 * (member overwrites on both channels), a member who cannot see the private channel (no
 * Insiders role), a kicked member (an insider, connected to every thread, then kicked), a banned
 * user, an outsider (no member anywhere, using the real ids as if guessed) and a member of
 * another community.
 *
 * Kinds: a thread of the public text channel (started from a message), a thread of the private
 * text channel (started in the channel), and an id that is no thread (as guessed).
 *
 * Operations: start a thread in the parent, list the parent's threads, read the thread, join it,
 * rename it (its starter — the owner — or MANAGE_MESSAGES), read its messages over HTTP, upgrade
 * to its room, and send a message there (a fresh socket per case). The kicked member's send
 * uses a socket opened before the kick: it must have been closed (4403).
 *
 * Outcomes are strings: `http <status>`, `upgrade <status>`, `closed <code>`, `frame ok` or
 * `frame <error code>`. The count of cases is printed and checked at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerFrame } from "../workers/shared/chat";
import { CLOSE } from "../workers/shared/close-codes";
import { DEFAULT_EVERYONE, P, has } from "../workers/shared/permissions";
import { answer, nonce, sleep, upgradeRoom, type RoomSocket } from "./chat-fixtures";
import { addMember, createCommunity, createRole } from "./community-fixtures";
import { call, newUser, ok, type User } from "./helpers";

const ACTORS = ["owner", "admin", "moderator", "member", "no-create", "no-send", "member-noview", "kicked", "banned", "outsider", "other"] as const;
type Actor = (typeof ACTORS)[number];
const KINDS = ["public-thread", "private-thread", "guessed-id"] as const;
type Kind = (typeof KINDS)[number];

const ANSWER_MS = 5000;
const ALL = -1n;

/** Community-wide permissions of an actor (null: not a member at the time of the cases). */
function communityPerms(actor: Actor): bigint | null {
  switch (actor) {
    case "owner":
    case "admin":
      return ALL;
    case "moderator":
      return DEFAULT_EVERYONE | P.MANAGE_MESSAGES;
    case "member":
    case "member-noview":
      return DEFAULT_EVERYONE;
    case "no-create":
      return DEFAULT_EVERYONE & ~P.CREATE_THREADS;
    case "no-send":
      return DEFAULT_EVERYONE & ~P.SEND_IN_THREADS;
    default:
      return null;
  }
}
/** Who the private channel lets in besides the owner and ADMINISTRATOR (the Insiders role). */
const INSIDERS: Actor[] = ["moderator", "member", "no-create", "no-send", "kicked"];

/** The actor's permissions in the parent channel, or null when they cannot see it. */
function parentPerms(actor: Actor, kind: Kind): bigint | null {
  if (kind === "guessed-id") return null;
  const perms = communityPerms(actor);
  if (perms === null) return null;
  if (kind === "private-thread" && perms !== ALL && !INSIDERS.includes(actor)) return null;
  return perms;
}

/** The rule under test: a thread's permissions from the parent's. */
function threadPermsOf(parent: bigint): bigint {
  if (parent === ALL) return ALL;
  return (parent & ~P.SEND_MESSAGES) | (has(parent, P.SEND_IN_THREADS) ? P.SEND_MESSAGES : 0n);
}

interface World {
  users: Record<Actor, User>;
  parents: Record<Kind, string>;
  threads: Record<Kind, string>;
  /** The kicked member's sockets to each thread, opened before the kick. */
  preopened: Map<Kind, RoomSocket>;
}

type Made = { channel: { id: string } };

async function buildWorld(): Promise<World> {
  const users = Object.fromEntries(await Promise.all(ACTORS.map(async (a) => [a, await newUser(a.replace(/-/g, ""))] as const))) as Record<Actor, User>;
  const made = await createCommunity(users.owner);
  const c = made.community.id;
  const adminRole = await createRole(users.owner, c, "Admin", P.ADMINISTRATOR);
  const modRole = await createRole(users.owner, c, "Moderator", P.MANAGE_MESSAGES);
  const insiders = await createRole(users.owner, c, "Insiders", 0n);
  const publicText = made.channels.find((x) => x.kind === "text")!.id;
  const privateText = (await ok<Made>(201, users.owner, "POST", `/api/communities/${c}/channels`, { kind: "text", name: "private", private: true })).channel.id;
  await ok(200, users.owner, "PUT", `/api/channels/${privateText}/overwrites/role/${insiders.id}`, { allow: String(P.VIEW_CHANNEL), deny: "0" });
  await addMember(c, users.admin, [adminRole.id]);
  await addMember(c, users.moderator, [modRole.id, insiders.id]);
  for (const a of ["member", "no-create", "no-send", "kicked"] as const) await addMember(c, users[a], [insiders.id]);
  await addMember(c, users["member-noview"]);
  await addMember(c, users.banned);
  for (const ch of [publicText, privateText]) {
    await ok(200, users.owner, "PUT", `/api/channels/${ch}/overwrites/member/${users["no-create"].id}`, { allow: "0", deny: String(P.CREATE_THREADS) });
    await ok(200, users.owner, "PUT", `/api/channels/${ch}/overwrites/member/${users["no-send"].id}`, { allow: "0", deny: String(P.SEND_IN_THREADS) });
  }
  const other = await createCommunity(await newUser("ownerb"));
  await addMember(other.community.id, users.other);

  // The threads: one from a message of the public channel, one started in the private channel.
  const s = await open(publicText, users.owner);
  const starter = await post(s, "matrix starter");
  s.close();
  const publicThread = (await ok<{ thread: { id: string } }>(201, users.owner, "POST", `/api/channels/${publicText}/threads`, { name: "public", messageId: starter })).thread.id;
  const privateThread = (await ok<{ thread: { id: string } }>(201, users.owner, "POST", `/api/channels/${privateText}/threads`, { name: "private" })).thread.id;

  const preopened = new Map<Kind, RoomSocket>();
  preopened.set("public-thread", await open(publicThread, users.kicked));
  preopened.set("private-thread", await open(privateThread, users.kicked));
  await ok(204, users.owner, "PUT", `/api/communities/${c}/bans/${users.banned.id}`, {});
  await ok(204, users.owner, "POST", `/api/communities/${c}/members/${users.kicked.id}/kick`, {});
  return {
    users,
    parents: { "public-thread": publicText, "private-thread": privateText, "guessed-id": "GuessedChannel00000000000" },
    threads: { "public-thread": publicThread, "private-thread": privateThread, "guessed-id": "GuessedThread000000000000" },
    preopened,
  };
}

async function open(channelId: string, u: User): Promise<RoomSocket> {
  const r = await upgradeRoom(channelId, u);
  if (!r.socket) throw new Error(`set-up: ${u.username}'s upgrade to ${channelId} refused with ${r.status}`);
  return r.socket;
}

async function post(s: RoomSocket, content: string): Promise<string> {
  const n = nonce();
  s.send({ type: "message.send", nonce: n, content });
  const f: ServerFrame = await answer(s, n);
  if (f.type !== "message.ack") throw new Error(`set-up: send refused: ${JSON.stringify(f)}`);
  return f.message.id;
}

/** Sends a message on `s` and reports its ack or error (a rate limit is waited out), or the socket's close. */
/** A socket's close, read afresh (it changes while a case awaits; TypeScript would keep an earlier narrowing). */
const closedOf = (s: RoomSocket) => s.closed;

async function send(s: RoomSocket): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const before = closedOf(s);
    if (before) return `closed ${before.code}`;
    const n = nonce();
    s.send({ type: "message.send", nonce: n, content: "matrix send" });
    let f: ServerFrame;
    try {
      f = await s.nextWhere((x) => (x.type === "message.ack" && x.nonce === n) || (x.type === "error" && x.ref === n), ANSWER_MS);
    } catch {
      const closed = closedOf(s);
      return closed ? `closed ${closed.code}` : "frame timeout";
    }
    if (f.type === "message.ack") return "frame ok";
    if (f.type === "error" && f.code === "rate_limited" && attempt < 5) {
      await sleep((f.retryAfterMs ?? 1000) + 20);
      continue;
    }
    return f.type === "error" ? `frame ${f.code}` : "frame ?";
  }
}

interface Op {
  name: string;
  /** The expected outcome given the actor's permissions in the parent (null: cannot see it). */
  expect(parent: bigint | null, actor: Actor, kind: Kind): string;
  run(w: World, kind: Kind, actor: Actor): Promise<string>;
}

const http = async (u: User, method: string, path: string, body?: unknown) => `http ${(await call(u, method, path, body)).status}`;
const seeing = (parent: bigint | null, f: (perms: bigint) => string) => (parent === null ? "http 404" : f(threadPermsOf(parent)));

const OPS: Op[] = [
  {
    name: "POST start a thread in the parent",
    expect: (p) => (p === null ? "http 404" : has(p, P.READ_HISTORY, P.CREATE_THREADS) ? "http 201" : "http 403"),
    run: (w, k, a) => http(w.users[a], "POST", `/api/channels/${w.parents[k]}/threads`, { name: `by ${a}` }),
  },
  {
    name: "GET the parent's threads",
    expect: (p) => (p === null ? "http 404" : has(p, P.READ_HISTORY) ? "http 200" : "http 403"),
    run: (w, k, a) => http(w.users[a], "GET", `/api/channels/${w.parents[k]}/threads`),
  },
  { name: "GET the thread", expect: (p) => seeing(p, () => "http 200"), run: (w, k, a) => http(w.users[a], "GET", `/api/threads/${w.threads[k]}`) },
  { name: "PUT join", expect: (p) => seeing(p, () => "http 200"), run: (w, k, a) => http(w.users[a], "PUT", `/api/threads/${w.threads[k]}/members/me`) },
  {
    name: "PATCH rename",
    expect: (p, actor) => seeing(p, (t) => ((actor === "owner" && has(t, P.SEND_MESSAGES)) || has(t, P.MANAGE_MESSAGES) ? "http 200" : "http 403")),
    run: (w, k, a) => http(w.users[a], "PATCH", `/api/threads/${w.threads[k]}`, { name: `renamed by ${a}` }),
  },
  {
    name: "GET the thread's messages",
    expect: (p) => seeing(p, (t) => (has(t, P.READ_HISTORY) ? "http 200" : "http 403")),
    run: (w, k, a) => http(w.users[a], "GET", `/api/channels/${w.threads[k]}/messages`),
  },
  {
    name: "GET the thread's read state",
    expect: (p) => seeing(p, () => "http 200"),
    run: (w, k, a) => http(w.users[a], "GET", `/api/channels/${w.threads[k]}/read-state`),
  },
  {
    name: "ws upgrade",
    expect: (p) => (p === null ? "upgrade 404" : "upgrade 101"),
    run: async (w, k, a) => {
      const r = await upgradeRoom(w.threads[k], w.users[a]);
      r.socket?.close();
      return `upgrade ${r.status}`;
    },
  },
  {
    name: "ws message.send",
    expect: (p, actor, kind) => (actor === "kicked" && kind !== "guessed-id" ? `closed ${CLOSE.ACCESS_LOST}` : p === null ? "upgrade 404" : has(threadPermsOf(p), P.SEND_MESSAGES) ? "frame ok" : "frame forbidden"),
    run: async (w, k, a) => {
      const pre = a === "kicked" ? w.preopened.get(k) : undefined;
      if (pre) {
        // The kick closes it; waited for rather than raced (the close follows the kick's response).
        if (!closedOf(pre)) await pre.waitClosed(ANSWER_MS).catch(() => undefined);
        return send(pre);
      }
      const r = await upgradeRoom(w.threads[k], w.users[a]);
      if (!r.socket) return `upgrade ${r.status}`;
      try {
        return await send(r.socket);
      } finally {
        r.socket.close();
      }
    },
  },
];

let world: World;
const results: { op: string; kind: Kind; actor: Actor; expected: string; got: string }[] = [];

beforeAll(async () => {
  world = await buildWorld();
}, 120_000);

afterAll(() => {
  for (const s of world?.preopened.values() ?? []) s.close();
  console.log(
    JSON.stringify({
      event: "access_matrix_threads",
      cases: OPS.length * KINDS.length * ACTORS.length,
      checked: results.length,
      mismatches: results.filter((r) => r.expected !== r.got).length,
    }),
  );
  for (const r of results.filter((x) => x.expected !== x.got)) console.log(JSON.stringify({ event: "access_matrix_threads.mismatch", ...r }));
});

describe("access matrix: threads", () => {
  for (const op of OPS) {
    for (const kind of KINDS) {
      it(`${op.name} · ${kind}`, async () => {
        const rows: string[] = [];
        for (const actor of ACTORS) {
          const expected = op.expect(parentPerms(actor, kind), actor, kind);
          const got = await op.run(world, kind, actor);
          results.push({ op: op.name, kind, actor, expected, got });
          rows.push(`${actor}: ${got === expected ? got : `${got} (expected ${expected})`}`);
        }
        expect(rows).toEqual(ACTORS.map((a) => `${a}: ${op.expect(parentPerms(a, kind), a, kind)}`));
      }, 60_000);
    }
  }

  it("covered every case", () => {
    expect(results.length).toBe(OPS.length * KINDS.length * ACTORS.length);
    // The matrix can fail: it holds allowed and refused outcomes of every kind.
    const outcomes = new Set(results.map((r) => r.expected));
    for (const o of ["http 201", "http 403", "http 404", "upgrade 101", "upgrade 404", "frame ok", "frame forbidden", `closed ${CLOSE.ACCESS_LOST}`]) expect(outcomes).toContain(o);
  });
});
