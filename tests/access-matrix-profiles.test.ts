/**
 * The access matrix for profiles and custom emoji (docs/profiles-and-emoji.md): every actor ×
 * every operation → the expected outcome, from one expectation function written from the
 * rules (policy.ts canManageEmoji, canSeeCustomEmoji, canUseCustomEmoji, canSetCommunityAvatar,
 * canResetCommunityAvatar, canSeeProfile), not from the code.
 *
 * Actors: in community A its owner, an emoji manager (MANAGE_EMOJI), a nickname moderator
 * (MANAGE_NICKNAMES), a plain member; an outsider who is a member of community B only (and
 * shares a DM with the member); anonymous (no session).
 *
 * Operations: upload, rename and delete one of A's emoji; list A's emoji and fetch its image;
 * react with A's emoji in A's channel, in B's channel and in the DM; send `:name:` as text in
 * A's channel and in the DM (always allowed: it is text, and only A's channels render it as the
 * image — web/src/lib/emoji/custom.test.ts); set their own and another member's community
 * avatar in A; reset the plain member's community avatar in A; fetch an avatar file; read a
 * profile. Outcomes are `http <status>`, `frame ok`, `frame <code>` or `upgrade <status>`.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_EVERYONE, P } from "../workers/shared/permissions";
import { answer, addMember, addRecipient, connectRoom, makeChannel, makeCommunity, makeRole, nonce, say, upgradeRoom, type RoomSocket, type TestCommunity } from "./chat-fixtures";
import { call, client, newUser, type User } from "./helpers";
import { png, upload } from "./profile-fixtures";

const ACTORS = ["owner", "emoji-manager", "nick-mod", "member", "outsider", "anonymous"] as const;
type Actor = (typeof ACTORS)[number];

const OPS = [
  "emoji.upload",
  "emoji.rename",
  "emoji.delete",
  "emoji.list",
  "emoji.file",
  "react.in-community",
  "react.other-community",
  "react.dm",
  "text.in-community",
  "text.dm",
  "avatar.set-own-community",
  "avatar.set-others-community",
  "avatar.reset-members-community",
  "avatar.file",
  "profile.read",
] as const;
type Op = (typeof OPS)[number];

const MEMBERS_OF_A: Actor[] = ["owner", "emoji-manager", "nick-mod", "member"];

/** The rules, from the issue: the reference every outcome is checked against. */
function expected(actor: Actor, op: Op): string {
  if (actor === "anonymous") return op.startsWith("react") || op.startsWith("text") ? "upgrade 401" : "http 401";
  const inA = MEMBERS_OF_A.includes(actor);
  switch (op) {
    case "emoji.upload":
      return !inA ? "http 404" : actor === "owner" || actor === "emoji-manager" ? "http 201" : "http 403";
    case "emoji.rename":
      return !inA ? "http 404" : actor === "owner" || actor === "emoji-manager" ? "http 200" : "http 403";
    case "emoji.delete":
      return !inA ? "http 404" : actor === "owner" || actor === "emoji-manager" ? "http 204" : "http 403";
    case "emoji.list":
    case "emoji.file":
      return inA ? "http 200" : "http 404";
    case "react.in-community":
      // An outsider cannot even open A's channel.
      return inA ? "frame ok" : "upgrade 404";
    case "react.other-community":
      // Only the outsider is in B; A's emoji is not usable there.
      return actor === "outsider" ? "frame not_found" : "upgrade 404";
    case "react.dm":
      return actor === "member" || actor === "outsider" ? "frame not_found" : "upgrade 404";
    case "text.in-community":
      return inA ? "frame ok" : "upgrade 404";
    case "text.dm":
      return actor === "member" || actor === "outsider" ? "frame ok" : "upgrade 404";
    case "avatar.set-own-community":
      return inA ? "http 200" : "http 404";
    case "avatar.set-others-community":
      // Nobody sets another member's community avatar, not even the owner.
      return inA ? "http 403" : "http 404";
    case "avatar.reset-members-community":
      // The member themselves; MANAGE_NICKNAMES above them (owner, nick-mod); not the emoji manager.
      return !inA ? "http 404" : actor === "owner" || actor === "nick-mod" || actor === "member" ? "http 200" : "http 403";
    case "avatar.file":
    case "profile.read":
      return "http 200";
  }
}

interface World {
  users: Record<Exclude<Actor, "anonymous">, User>;
  a: TestCommunity;
  aChannel: string;
  bChannel: string;
  dm: string;
  /** Kept for react/file/list; never renamed or deleted by a case. */
  keeper: { id: string; name: string };
  /** The member's avatar key (for avatar.file). */
  avatarPath: string;
}

let w: World;
let uploads = 0;

async function uploadEmoji(u: User | null, communityId: string, name: string): Promise<Response> {
  if (!u) return fetchAnon(`/api/uploads/communities/${communityId}/emoji?name=${name}`, "POST", png(64, 64, ++uploads));
  return upload(u, "POST", `/api/uploads/communities/${communityId}/emoji?name=${name}`, png(64, 64, ++uploads));
}

async function fetchAnon(path: string, method: string, body?: Uint8Array): Promise<Response> {
  return client().fetch(path, { method, ...(body ? { body, headers: { "content-type": "image/png" } } : {}) });
}

async function status(res: Response): Promise<string> {
  await res.arrayBuffer();
  return `http ${res.status}`;
}

/** A fresh emoji of A for a case that renames or deletes it. */
async function freshEmoji(): Promise<string> {
  const res = await uploadEmoji(w.users.owner, w.a.id, `e_${++uploads}`);
  expect(res.status).toBe(201);
  return ((await res.json()) as { emoji: { id: string } }).emoji.id;
}

/** Opens `channelId` as the actor, or says how the upgrade was refused. */
async function socketOr(actor: Actor, channelId: string): Promise<RoomSocket | string> {
  if (actor === "anonymous") {
    const r = await upgradeRoom(channelId, { token: "no-such-session" });
    return `upgrade ${r.status}`;
  }
  const r = await upgradeRoom(channelId, w.users[actor]);
  return r.socket ?? `upgrade ${r.status}`;
}

async function react(actor: Actor, channelId: string): Promise<string> {
  const s = await socketOr(actor, channelId);
  if (typeof s === "string") return s;
  try {
    // Something to react to, written by the actor themselves.
    const m = await say(s, `target ${nonce()}`);
    const ref = nonce();
    s.send({ type: "reaction.add", ref, messageId: m.id, emoji: `<:${w.keeper.name}:${w.keeper.id}>` });
    const f = await s.nextWhere((f) => (f.type === "reaction.added" && f.messageId === m.id) || (f.type === "error" && f.ref === ref));
    return f.type === "error" ? `frame ${f.code}` : "frame ok";
  } finally {
    s.close();
  }
}

async function text(actor: Actor, channelId: string): Promise<string> {
  const s = await socketOr(actor, channelId);
  if (typeof s === "string") return s;
  try {
    const n = nonce();
    s.send({ type: "message.send", nonce: n, content: `look :${w.keeper.name}:` });
    const f = await answer(s, n);
    if (f.type === "error") return `frame ${f.code}`;
    // Stored and sent back as the text it was: no server-side rewriting.
    expect(f.message.content).toBe(`look :${w.keeper.name}:`);
    return "frame ok";
  } finally {
    s.close();
  }
}

async function run(actor: Actor, op: Op): Promise<string> {
  const u = actor === "anonymous" ? null : w.users[actor];
  const raw = (method: string, path: string, json?: unknown) => call(u, method, path, json).then((r) => `http ${r.status}`);
  switch (op) {
    case "emoji.upload":
      return status(await uploadEmoji(u, w.a.id, `up_${++uploads}`));
    case "emoji.rename":
      return raw("PATCH", `/api/communities/${w.a.id}/emoji/${await freshEmoji()}`, { name: `renamed_${++uploads}` });
    case "emoji.delete":
      return raw("DELETE", `/api/communities/${w.a.id}/emoji/${await freshEmoji()}`);
    case "emoji.list":
      return raw("GET", `/api/communities/${w.a.id}/emoji`);
    case "emoji.file":
      return u ? status(await u.http.fetch(`/api/communities/${w.a.id}/emoji/${w.keeper.id}`)) : status(await fetchAnon(`/api/communities/${w.a.id}/emoji/${w.keeper.id}`, "GET"));
    case "react.in-community":
      return react(actor, w.aChannel);
    case "react.other-community":
      return react(actor, w.bChannel);
    case "react.dm":
      return react(actor, w.dm);
    case "text.in-community":
      return text(actor, w.aChannel);
    case "text.dm":
      return text(actor, w.dm);
    case "avatar.set-own-community": {
      const path = `/api/uploads/communities/${w.a.id}/members/${u?.id ?? "NoSuchUser00000000000000"}/avatar`;
      return status(u ? await upload(u, "PUT", path, png(256, 256, ++uploads)) : await fetchAnon(path, "PUT", png(256, 256)));
    }
    case "avatar.set-others-community": {
      const target = actor === "member" ? w.users["nick-mod"] : w.users.member;
      const path = `/api/uploads/communities/${w.a.id}/members/${target.id}/avatar`;
      return status(u ? await upload(u, "PUT", path, png(256, 256, ++uploads)) : await fetchAnon(path, "PUT", png(256, 256)));
    }
    case "avatar.reset-members-community":
      return raw("DELETE", `/api/communities/${w.a.id}/members/${w.users.member.id}/avatar`);
    case "avatar.file":
      return u ? status(await u.http.fetch(w.avatarPath)) : status(await fetchAnon(w.avatarPath, "GET"));
    case "profile.read":
      return raw("GET", `/api/users/${w.users.member.id}/profile?communityId=${w.a.id}`);
  }
}

beforeAll(async () => {
  const owner = await newUser("owner");
  const manager = await newUser("emoji");
  const nickMod = await newUser("nickmod");
  const member = await newUser("member");
  const outsider = await newUser("outsider");
  const a = await makeCommunity(owner);
  // Both roles sit above @everyone (and so above the plain member's standing).
  const emojiRole = await makeRole(a, DEFAULT_EVERYONE | P.MANAGE_EMOJI, { position: 2 });
  const nickRole = await makeRole(a, DEFAULT_EVERYONE | P.MANAGE_NICKNAMES, { position: 3 });
  await addMember(a, manager, [emojiRole]);
  await addMember(a, nickMod, [nickRole]);
  await addMember(a, member);
  const aChannel = await makeChannel(a);
  const b = await makeCommunity(outsider);
  const bChannel = await makeChannel(b);
  const dm = await makeChannel(null, "dm", "");
  await addRecipient(dm, member);
  await addRecipient(dm, outsider);
  w = {
    users: { owner, "emoji-manager": manager, "nick-mod": nickMod, member, outsider },
    a,
    aChannel,
    bChannel,
    dm,
    keeper: { id: "", name: "party_parrot" },
    avatarPath: "",
  };
  const res = await uploadEmoji(owner, a.id, "party_parrot");
  expect(res.status).toBe(201);
  w.keeper.id = ((await res.json()) as { emoji: { id: string } }).emoji.id;
  const av = await upload(member, "PUT", "/api/uploads/me/avatar", png(256, 256, 7));
  expect(av.status).toBe(200);
  w.avatarPath = ((await av.json()) as { user: { avatarUrl: string } }).user.avatarUrl;
});

describe("access matrix: profiles and custom emoji", () => {
  const cases = ACTORS.flatMap((actor) => OPS.map((op) => ({ actor, op })));

  for (const { actor, op } of cases) {
    it(`${actor} × ${op} → ${expected(actor, op)}`, async () => {
      // The reset case needs something to reset: the member's community avatar, set afresh.
      if (op === "avatar.reset-members-community") {
        const r = await upload(w.users.member, "PUT", `/api/uploads/communities/${w.a.id}/members/${w.users.member.id}/avatar`, png(256, 256, ++uploads));
        expect(r.status).toBe(200);
      }
      expect(await run(actor, op)).toBe(expected(actor, op));
    });
  }

  it("covers every actor and operation", () => {
    expect(cases.length).toBe(ACTORS.length * OPS.length);
    expect(cases.length).toBe(90);
  });

  it("a refused reset leaves the community avatar in place; an allowed one clears it", async () => {
    const path = `/api/uploads/communities/${w.a.id}/members/${w.users.member.id}/avatar`;
    expect((await upload(w.users.member, "PUT", path, png(256, 256, ++uploads))).status).toBe(200);
    const keyOf = async () =>
      (await env.DB.prepare(`SELECT avatar_key AS k FROM members WHERE community_id = ? AND user_id = ?`).bind(w.a.id, w.users.member.id).first<{ k: string | null }>())?.k ?? null;
    expect(await keyOf()).not.toBeNull();
    expect((await call(w.users["emoji-manager"], "DELETE", `/api/communities/${w.a.id}/members/${w.users.member.id}/avatar`)).status).toBe(403);
    expect(await keyOf()).not.toBeNull();
    expect((await call(w.users["nick-mod"], "DELETE", `/api/communities/${w.a.id}/members/${w.users.member.id}/avatar`)).status).toBe(200);
    expect(await keyOf()).toBeNull();
  });
});
