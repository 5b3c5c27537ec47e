/**
 * The generated access matrix for moderation (docs/moderation.md), as tests/access-matrix-chat.test.ts
 * does for chat: every actor × every target or path → the expected outcome, from one
 * expectation function per question written from the rules (not from the code):
 *
 *   timeout whom      PUT and DELETE .../members/:target/timeout: MODERATE_MEMBERS, a target
 *                     strictly below (never the owner, never oneself); non-members 404
 *   purge whom        POST .../members/:target/purge-messages: the same with MANAGE_MESSAGES
 *   reports queue     GET .../reports: who gets it (403 / 404) and whose channels' reports it holds
 *   set slowmode      PUT /api/channels/:id/slowmode: MANAGE_CHANNELS in the channel
 *   slowmode bypass   a second message within the slowmode: MANAGE_MESSAGES or MANAGE_CHANNELS pass
 *   timed-out member  every path a timed-out member could write through: HTTP, the room's
 *                     frames, the media token, a call already joined
 *
 * Actors (community positions): the owner (above all), an admin (ADMINISTRATOR, 5), a senior
 * moderator (MODERATE_MEMBERS + MANAGE_MESSAGES, 3), a moderator and a peer (the same role, 2),
 * a channel moderator (MANAGE_MESSAGES in one channel only, 1), a channel manager
 * (MANAGE_CHANNELS, 1), a member, a timed-out member, and a non-member.
 */
import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { P } from "../workers/shared/permissions";
import { voiceIdentity } from "../workers/core/voice-identity";
import { answer, connectRoom, nonce, say, upgradeRoom, type RoomSocket } from "./chat-fixtures";
import { call, newUser, ok, type User } from "./helpers";
import { channel, community, member, overwrite, role, roomServiceStandIn, type TestCommunity } from "./voice-fixtures";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { app } from "../workers/api/src/app";
import { ORIGIN } from "./helpers";

const ACTORS = ["owner", "admin", "senior", "moderator", "peer", "channel-mod", "channel-manager", "member", "timed-out", "non-member"] as const;
type Actor = (typeof ACTORS)[number];
const TARGETS = ["owner", "senior", "peer", "member", "self"] as const;
type Target = (typeof TARGETS)[number];

const MOD = P.MODERATE_MEMBERS | P.MANAGE_MESSAGES;
/** Position of each actor's highest role; the owner is above every role. */
const POSITION: Record<Actor, number> = {
  owner: Number.MAX_SAFE_INTEGER,
  admin: 5,
  senior: 3,
  moderator: 2,
  peer: 2,
  "channel-mod": 1,
  "channel-manager": 1,
  member: 0,
  "timed-out": 0,
  "non-member": -1,
};
/** Community-wide permissions of each actor (-1n: all), null for the non-member. */
function perms(a: Actor): bigint | null {
  switch (a) {
    case "owner":
    case "admin":
      return -1n;
    case "senior":
    case "moderator":
    case "peer":
      return MOD;
    case "channel-manager":
      return P.MANAGE_CHANNELS;
    case "non-member":
      return null;
    default:
      return 0n;
  }
}
const holds = (a: Actor, bit: bigint) => {
  const p = perms(a);
  return p !== null && (p === -1n || (p & bit) === bit);
};

/** The expected status of acting on `target` with `need` (timeout, purge). */
function expectOnMember(actor: Actor, target: Target, need: bigint): number {
  if (actor === "non-member") return 404;
  if (!holds(actor, need)) return 403;
  if (target === "self" || target === "owner") return 403;
  return POSITION[actor] > POSITION[target] ? 200 : 403;
}

interface World {
  c: TestCommunity;
  users: Record<Actor, User>;
  general: string;
  modded: string;
  hidden: string;
  slow: string;
  voice: string;
  reports: { general: string; modded: string; hidden: string };
  ownersMessage: string;
  /** A thread of #general, started by the owner before the timeout. */
  thread: string;
}

let w: World;
const sockets: RoomSocket[] = [];

async function put(u: User, path: string, json: unknown) {
  return call(u, "PUT", path, json);
}

beforeAll(async () => {
  const users = Object.fromEntries(await Promise.all(ACTORS.map(async (a) => [a, await newUser(a.replace("-", ""))]))) as Record<Actor, User>;
  const c = await community(users.owner);
  const admin = await role(c, P.ADMINISTRATOR, 5);
  const senior = await role(c, MOD, 3);
  const mod = await role(c, MOD, 2);
  const channelMod = await role(c, 0n, 1);
  const manager = await role(c, P.MANAGE_CHANNELS, 1);
  await member(c, users.admin, { roleIds: [admin] });
  await member(c, users.senior, { roleIds: [senior] });
  await member(c, users.moderator, { roleIds: [mod] });
  await member(c, users.peer, { roleIds: [mod] });
  await member(c, users["channel-mod"], { roleIds: [channelMod] });
  await member(c, users["channel-manager"], { roleIds: [manager] });
  await member(c, users.member);
  await member(c, users["timed-out"]);
  const general = await channel(c, { kind: "text" });
  const modded = await channel(c, { kind: "text" });
  const hidden = await channel(c, { kind: "text" });
  const slow = await channel(c, { kind: "text" });
  const voice = await channel(c);
  await overwrite(modded, "role", channelMod, P.MANAGE_MESSAGES, 0n);
  await overwrite(hidden, "role", c.everyoneRoleId, 0n, P.VIEW_CHANNEL);
  await ok(200, users.owner, "PUT", `/api/channels/${slow}/slowmode`, { seconds: 3600 });

  // One report in each of three channels, of messages the owner wrote.
  const reports = {} as World["reports"];
  let ownersMessage = "";
  for (const [key, ch] of [["general", general], ["modded", modded], ["hidden", hidden]] as const) {
    const s = await connectRoom(ch, users.owner);
    sockets.push(s);
    const m = await say(s, `reported in ${key}`);
    if (key === "general") ownersMessage = m.id;
    const reporter = key === "hidden" ? users.admin : users.member;
    reports[key] = (await ok(201, reporter, "POST", `/api/channels/${ch}/messages/${m.id}/report`, { reason: key })).report.id;
  }
  const thread = (await ok(201, users.owner, "POST", `/api/channels/${general}/threads`, { name: "a thread" })).thread.id as string;
  await ok(200, users.owner, "PUT", `/api/communities/${c.id}/members/${users["timed-out"].id}/timeout`, { seconds: 604_800 });
  w = { c, users, general, modded, hidden, slow, voice, reports, ownersMessage, thread };
});

afterAll(() => {
  for (const s of sockets) s.close();
});

let cases = 0;

describe("timeout whom", () => {
  for (const actor of ACTORS) {
    for (const target of TARGETS) {
      const want = expectOnMember(actor, target, P.MODERATE_MEMBERS);
      it(`${actor} → ${target}: ${want}`, async () => {
        cases++;
        const t = target === "self" ? w.users[actor] : w.users[target];
        const path = `/api/communities/${w.c.id}/members/${t.id}/timeout`;
        const r = await put(w.users[actor], path, { seconds: 60 });
        expect(r.status, JSON.stringify(r.body)).toBe(want);
        // Lifting follows the same rule (and puts the world back for the next case).
        expect((await call(w.users[actor], "DELETE", path)).status).toBe(want);
      });
    }
  }
});

describe("purge whom", () => {
  for (const actor of ACTORS) {
    for (const target of TARGETS) {
      const want = expectOnMember(actor, target, P.MANAGE_MESSAGES);
      it(`${actor} → ${target}: ${want}`, async () => {
        cases++;
        const t = target === "self" ? w.users[actor] : w.users[target];
        const r = await call(w.users[actor], "POST", `/api/communities/${w.c.id}/members/${t.id}/purge-messages`, { seconds: 3600 });
        expect(r.status, JSON.stringify(r.body)).toBe(want);
      });
    }
  }
});

describe("reports queue", () => {
  /** Which reports the actor's queue holds, or the status refusing it. */
  function expected(actor: Actor): number | (keyof World["reports"])[] {
    if (actor === "non-member") return 404;
    if (actor === "owner" || actor === "admin") return ["general", "modded", "hidden"];
    if (holds(actor, P.MODERATE_MEMBERS)) return ["general", "modded"];
    if (actor === "channel-mod") return ["modded"];
    return 403;
  }
  for (const actor of ACTORS) {
    const want = expected(actor);
    it(`${actor}: ${JSON.stringify(want)}`, async () => {
      cases++;
      const r = await call(w.users[actor], "GET", `/api/communities/${w.c.id}/reports`);
      if (typeof want === "number") {
        expect(r.status).toBe(want);
        return;
      }
      expect(r.status).toBe(200);
      const ids = new Set((r.body.reports as { id: string }[]).map((x) => x.id));
      expect((["general", "modded", "hidden"] as const).filter((k) => ids.has(w.reports[k]))).toEqual(want);
      // Resolving one outside the queue looks like nothing (404).
      for (const k of ["general", "modded", "hidden"] as const) {
        if (want.includes(k)) continue;
        expect((await call(w.users[actor], "POST", `/api/communities/${w.c.id}/reports/${w.reports[k]}/resolve`, { action: "dismiss" })).status).toBe(404);
      }
    });
  }
});

describe("set slowmode", () => {
  for (const actor of ACTORS) {
    const want = actor === "non-member" ? 404 : holds(actor, P.MANAGE_CHANNELS) ? 200 : 403;
    it(`${actor}: ${want}`, async () => {
      cases++;
      expect((await put(w.users[actor], `/api/channels/${w.general}/slowmode`, { seconds: 0 })).status).toBe(want);
    });
  }
});

describe("slowmode bypass", () => {
  function expected(actor: Actor): string {
    if (actor === "non-member") return "upgrade 404";
    if (actor === "timed-out") return "forbidden";
    return holds(actor, P.MANAGE_MESSAGES) || holds(actor, P.MANAGE_CHANNELS) ? "ok" : "slowmode";
  }
  for (const actor of ACTORS) {
    const want = expected(actor);
    it(`${actor}: second message ${want}`, async () => {
      cases++;
      const up = await upgradeRoom(w.slow, w.users[actor]);
      if (!up.socket) {
        expect(`upgrade ${up.status}`).toBe(want);
        return;
      }
      sockets.push(up.socket);
      const outcome = async () => {
        const n = nonce();
        up.socket!.send({ type: "message.send", nonce: n, content: "hello" });
        const f = await answer(up.socket!, n);
        return f.type === "error" ? f.code : "ok";
      };
      const first = await outcome();
      if (want === "forbidden") {
        expect(first).toBe("forbidden");
        return;
      }
      expect(first).toBe("ok");
      expect(await outcome()).toBe(want);
    });
  }
});

describe("timed-out member on each path", () => {
  const u = () => w.users["timed-out"];
  async function frame(f: Record<string, unknown>, channelId = w.general): Promise<string> {
    const s = await connectRoom(channelId, u());
    sockets.push(s);
    const ref = nonce();
    s.send({ ...f, ...(f.type === "message.send" ? { nonce: ref } : { ref }) });
    const got = await s.nextWhere((x) => (x.type === "error" && x.ref === ref) || (x.type === "message.ack" && x.nonce === ref));
    return got.type === "error" ? got.code : "ok";
  }
  const PATHS: [string, () => Promise<string | number>, string | number][] = [
    ["frame message.send", () => frame({ type: "message.send", content: "x" }), "forbidden"],
    ["frame message.edit", () => frame({ type: "message.edit", id: w.ownersMessage, content: "x" }), "forbidden"],
    ["frame reaction.add", () => frame({ type: "reaction.add", messageId: w.ownersMessage, emoji: "👍" }), "forbidden"],
    ["frame typing.start", () => frame({ type: "typing.start" }), "forbidden"],
    ["frame message.send in a thread", () => frame({ type: "message.send", content: "x" }, w.thread), "forbidden"],
    ["HTTP start a thread", async () => (await call(u(), "POST", `/api/channels/${w.general}/threads`, { name: "mine" })).status, 403],
    [
      "HTTP upload",
      async () => (await u().http.fetch(`/api/uploads/channels/${w.general}/attachments?filename=a.txt`, { method: "POST", body: "x", headers: { "content-type": "text/plain" } })).status,
      403,
    ],
    ["HTTP nickname", async () => (await call(u(), "PATCH", `/api/communities/${w.c.id}/members/${u().id}`, { nickname: "quiet" })).status, 403],
    ["HTTP invite", async () => (await call(u(), "POST", `/api/communities/${w.c.id}/invites`, {})).status, 403],
    ["HTTP history (reading stays)", async () => (await call(u(), "GET", `/api/channels/${w.general}/messages`)).status, 200],
    ["voice token", async () => (await call(u(), "POST", `/api/channels/${w.voice}/voice/token`)).status, 403],
    [
      "a call already joined: grants",
      async () => {
        const identity = await voiceIdentity(env.PASSWORD_PEPPER, w.voice, u().id);
        const t = roomServiceStandIn({ [w.voice]: [{ identity }] });
        const headers = new Headers({ origin: ORIGIN, cookie: [...u().http.cookies].map(([k, v]) => `${k}=${v}`).join("; ") });
        const ctx = createExecutionContext();
        const res = await app.fetch(new Request(`${ORIGIN}/api/channels/${w.voice}/voice/refresh`, { method: "POST", headers }), t.env, ctx);
        await waitOnExecutionContext(ctx);
        if (res.status !== 200) return res.status;
        const upd = t.calls.find((x) => x.op === "update");
        return upd && upd.op === "update" ? upd.grants.canPublishSources.join(",") || "none" : "no update";
      },
      "none",
    ],
  ];
  for (const [name, run, want] of PATHS) {
    it(`${name}: ${want}`, async () => {
      cases++;
      expect(await run()).toBe(want);
    });
  }
});

describe("the matrix", () => {
  it("ran every case", () => {
    const expectedCases = ACTORS.length * TARGETS.length * 2 + ACTORS.length * 3 + 12;
    console.log(`access-matrix-moderation: ${cases} cases`);
    expect(cases).toBe(expectedCases);
  });
});
