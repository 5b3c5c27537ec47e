/**
 * The access matrix of issue 15's extras: every actor × every operation → the expected
 * outcome, from one expectation function written from the rules (workers/core/policy.ts
 * canRemovePreview; docs/link-previews.md):
 *
 * - the preview image proxy: the signed URL is the grant — anyone holding it gets the image
 *   (with or without a session); a wrong or missing-for-that-URL signature is 404, no
 *   signature is 400 (validation);
 * - removing a link preview (`preview.remove`): the message's author (own: the author's own
 *   message; another's: a message by a member who is not an actor), or MANAGE_MESSAGES in
 *   the channel (moderator, admin, owner); another member is refused (`forbidden`); who cannot
 *   see the channel cannot open its socket (404), in a public and in a private channel.
 *
 * - raised hands (`hand.raise`, `hand.lower` on the community hub): in a stage call anyone
 *   raises and lowers their own; another's only with MUTE_MEMBERS (moderator, admin, owner);
 *   in a call that is no stage `forbidden`; in no call `not_found`; non-members cannot open
 *   the hub (404). See the second describe block.
 *
 * Outcomes are strings: `http <status>`, `upgrade <status>`, `frame ok`, `frame <error code>`.
 * Every removal case removes the preview of a message of its own (made in beforeAll).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DEFAULT_EVERYONE, P } from "../workers/shared/permissions";
import type { ServerFrame } from "../workers/shared/chat";
import { addMember, connectRoom, makeChannel, makeCommunity, makeRole, say, setOverwrite, upgradeRoom, type RoomSocket, type TestCommunity } from "./chat-fixtures";
import { call, newUser, type User } from "./helpers";

const pages = inject("linkPagesUrl");

const ACTORS = ["owner", "admin", "moderator", "author", "member", "member-noview", "non-member", "anonymous"] as const;
type Actor = (typeof ACTORS)[number];
const KINDS = ["public-text", "private-text"] as const;
type Kind = (typeof KINDS)[number];
const OPERATIONS = ["image signed", "image tampered", "image unsigned", "image signed for another url", "remove own preview", "remove another's preview"] as const;
type Operation = (typeof OPERATIONS)[number];

/** Community permissions of an actor (null: not a member or not logged in). */
function perms(actor: Actor): bigint | null {
  switch (actor) {
    case "owner":
    case "admin":
      return -1n;
    case "moderator":
      return DEFAULT_EVERYONE | P.MANAGE_MESSAGES;
    case "author":
    case "member":
    case "member-noview":
      return DEFAULT_EVERYONE;
    default:
      return null;
  }
}
/** The private channel lets in the owner, admins, and the Insiders role (moderator, author, member). */
const sees = (actor: Actor, kind: Kind) => perms(actor) !== null && (kind === "public-text" || actor !== "member-noview");

function expected(actor: Actor, kind: Kind, op: Operation): string {
  switch (op) {
    case "image signed":
      return "http 200";
    case "image tampered":
    case "image signed for another url":
      return "http 404";
    case "image unsigned":
      return "http 400";
    case "remove own preview":
    case "remove another's preview": {
      if (actor === "anonymous") return "upgrade 401";
      if (!sees(actor, kind)) return "upgrade 404";
      if (op === "remove own preview") return actor === "author" ? "frame ok" : "n/a";
      return (perms(actor)! & P.MANAGE_MESSAGES) !== 0n || perms(actor) === -1n ? "frame ok" : "frame forbidden";
    }
  }
}

interface World {
  users: Record<Exclude<Actor, "anonymous">, User>;
  channels: Record<Kind, string>;
  /** Per channel: one message with a preview per removal case, by the author. */
  targets: Map<string, string>;
  image: string;
}
let w: World;
const sockets: RoomSocket[] = [];

async function messageWithPreview(author: RoomSocket, text: string): Promise<string> {
  const m = await say(author, `${text} ${pages}/page`);
  await author.next("message.updated", (f) => f.message.id === m.id && !!f.message.previews?.length, 8000);
  return m.id;
}

beforeAll(async () => {
  const users = {} as World["users"];
  for (const a of ACTORS) if (a !== "anonymous") users[a] = await newUser(a.replace(/[^a-z]/g, ""));
  const c: TestCommunity = await makeCommunity(users.owner);
  const adminRole = await makeRole(c, P.ADMINISTRATOR);
  const modRole = await makeRole(c, DEFAULT_EVERYONE | P.MANAGE_MESSAGES);
  const insiders = await makeRole(c, 0n);
  await addMember(c, users.admin, [adminRole]);
  await addMember(c, users.moderator, [modRole, insiders]);
  await addMember(c, users.author, [insiders]);
  await addMember(c, users.member, [insiders]);
  await addMember(c, users["member-noview"]);
  // Writes the messages of "another's preview" (not an actor: nobody's own).
  const poster = await newUser("poster");
  await addMember(c, poster, [insiders]);
  const channels = { "public-text": await makeChannel(c), "private-text": await makeChannel(c, "text", "private") };
  await setOverwrite(channels["private-text"], "role", c.everyoneRoleId, 0n, P.VIEW_CHANNEL);
  await setOverwrite(channels["private-text"], "role", insiders, P.VIEW_CHANNEL, 0n);
  const targets = new Map<string, string>();
  let image = "";
  for (const kind of KINDS) {
    const s = await connectRoom(channels[kind], users.author);
    const other = await connectRoom(channels[kind], poster);
    sockets.push(s, other);
    for (const actor of ACTORS) for (const op of ["remove own preview", "remove another's preview"] as const) {
      const by = op === "remove own preview" ? s : other;
      if (expected(actor, kind, op).startsWith("frame")) targets.set(`${kind}|${actor}|${op}`, await messageWithPreview(by, `${actor} ${op}`));
    }
    if (!image) {
      const id = await messageWithPreview(s, "image");
      const f = s.frames.find((x): x is Extract<ServerFrame, { type: "message.updated" }> => x.type === "message.updated" && x.message.id === id && !!x.message.previews?.length);
      image = f!.message.previews![0]!.image!;
    }
  }
  w = { users, channels, targets, image };
}, 120_000);

afterAll(() => {
  for (const s of sockets) s.close();
});

async function run(actor: Actor, kind: Kind, op: Operation): Promise<string> {
  const u = actor === "anonymous" ? null : w.users[actor];
  const q = new URL(w.image, "http://x").searchParams;
  switch (op) {
    case "image signed":
      return `http ${(await call(u, "GET", w.image)).status}`;
    case "image tampered":
      return `http ${(await call(u, "GET", `/api/link-previews/image?u=${encodeURIComponent(q.get("u")!)}&s=${q.get("s")!.slice(0, -3)}AAA`)).status}`;
    case "image unsigned":
      return `http ${(await call(u, "GET", `/api/link-previews/image?u=${encodeURIComponent(q.get("u")!)}`)).status}`;
    case "image signed for another url":
      return `http ${(await call(u, "GET", `/api/link-previews/image?u=${encodeURIComponent(`${pages}/image.png?other`)}&s=${q.get("s")!}`)).status}`;
    case "remove own preview":
    case "remove another's preview": {
      if (expected(actor, kind, op) === "n/a") return "n/a";
      const token = u?.token ?? "no-session";
      const r = await upgradeRoom(w.channels[kind], { token });
      if (!r.socket) return `upgrade ${r.status}`;
      const s = r.socket;
      const messageId = w.targets.get(`${kind}|${actor}|${op}`) ?? "NoSuchMessage000000000000";
      s.send({ type: "preview.remove", ref: "x1", messageId, url: `${pages}/page` });
      const f = await s.nextWhere((f) => (f.type === "error" && f.ref === "x1") || (f.type === "message.updated" && f.message.id === messageId && !f.message.previews?.length));
      s.close();
      return f.type === "error" ? `frame ${f.code}` : "frame ok";
    }
  }
}

describe("access matrix: link previews", () => {
  let cases = 0;
  for (const kind of KINDS) {
    for (const actor of ACTORS) {
      for (const op of OPERATIONS) {
        it(`${actor} · ${kind} · ${op} → ${expected(actor, kind, op)}`, async () => {
          cases++;
          expect(await run(actor, kind, op)).toBe(expected(actor, kind, op));
        });
      }
    }
  }
  it("ran every case", () => {
    expect(cases).toBe(KINDS.length * ACTORS.length * OPERATIONS.length);
  });
});

// ---------------------------------------------------------------------------------------
// Raised hands (docs/voice.md "Raised hands"; policy canRaiseHand, canLowerHand)
// ---------------------------------------------------------------------------------------

/**
 * Actors in one community with a stage voice channel and a plain one: everyone but the
 * non-member is in the stage call (put there by signed webhooks), except "elsewhere", who is in
 * the plain voice channel, and "outside", in no call. Operations: raise your hand; lower your
 * own; lower the raised hand of a member in the stage (the "speaker", not an actor).
 * Outcomes: `upgrade <status>` (the hub socket refused), `frame ok` (the voice.updated came),
 * `frame <error code>`.
 */
const HAND_ACTORS = ["owner", "admin", "moderator", "member", "elsewhere", "outside", "non-member"] as const;
type HandActor = (typeof HAND_ACTORS)[number];
const HAND_OPS = ["raise own hand", "lower own hand", "lower another's hand"] as const;
type HandOp = (typeof HAND_OPS)[number];

function handExpected(actor: HandActor, op: HandOp): string {
  if (actor === "non-member") return "upgrade 404";
  // Another's hand: MUTE_MEMBERS in the stage, wherever the actor is.
  if (op === "lower another's hand") return actor === "owner" || actor === "admin" || actor === "moderator" ? "frame ok" : "frame forbidden";
  if (actor === "outside") return "frame not_found"; // in no call: no hand to raise or lower
  if (actor === "elsewhere") return op === "raise own hand" ? "frame forbidden" : "frame not_found"; // no stage: the hand never went up
  return "frame ok";
}

describe("access matrix: raised hands", () => {
  let h: { users: Record<HandActor | "speaker", User>; communityId: string; stage: string };

  beforeAll(async () => {
    const { env } = await import("cloudflare:test");
    const { voiceIdentity } = await import("../workers/core/voice-identity");
    const { hookEvent, postHook } = await import("./voice-fixtures");
    const users = {} as Record<HandActor | "speaker", User>;
    for (const a of [...HAND_ACTORS, "speaker"] as const) users[a] = await newUser(a.replace(/[^a-z]/g, ""));
    const c = await makeCommunity(users.owner);
    await addMember(c, users.admin, [await makeRole(c, P.ADMINISTRATOR)]);
    await addMember(c, users.moderator, [await makeRole(c, DEFAULT_EVERYONE | P.MUTE_MEMBERS)]);
    for (const a of ["member", "elsewhere", "outside", "speaker"] as const) await addMember(c, users[a]);
    const stage = await makeChannel(c, "voice", "Stage");
    await env.DB.prepare(`UPDATE channels SET stage = 1 WHERE id = ?`).bind(stage).run();
    const plain = await makeChannel(c, "voice", "Lounge");
    let n = 0;
    for (const a of ["owner", "admin", "moderator", "member", "speaker", "elsewhere"] as const) {
      const room = a === "elsewhere" ? plain : stage;
      const res = await postHook(hookEvent("participant_joined", room, { participant: { sid: `PA_mx_${++n}_${Date.now()}`, identity: await voiceIdentity(env.PASSWORD_PEPPER, room, users[a].id) } }));
      expect(res.status).toBe(200);
    }
    h = { users, communityId: c.id, stage };
  }, 60_000);

  async function handRun(actor: HandActor, op: HandOp): Promise<string> {
    const { openHub } = await import("./community-fixtures");
    const u = h.users[actor];
    let hub;
    try {
      hub = await openHub(u, h.communityId);
    } catch (e) {
      return `upgrade ${/no websocket: (\d+)/.exec(String(e))?.[1] ?? "?"}`;
    }
    await hub.next("state.synced");
    const target = op === "lower another's hand" ? h.users.speaker.id : u.id;
    if (op !== "raise own hand") {
      // The hand to lower is up first (the speaker's by the speaker; one's own by oneself, where one can).
      const raiser = op === "lower another's hand" ? await openHub(h.users.speaker, h.communityId) : hub;
      if (raiser !== hub) await raiser.next("state.synced");
      raiser.send({ type: "hand.raise", ref: "up" });
      await raiser.next("voice.updated", (f) => f.userId === target && f.state?.handRaisedAt !== undefined).catch(() => raiser.next("error", (f) => f.ref === "up", 100).catch(() => null));
      if (raiser !== hub) raiser.close();
    }
    hub.send(op === "raise own hand" ? { type: "hand.raise", ref: "x" } : { type: "hand.lower", ref: "x", ...(op === "lower another's hand" ? { userId: target } : {}) });
    const wantRaised = op === "raise own hand";
    const got = await Promise.race([
      hub.next("error", (f) => f.ref === "x", 5000).then((f) => `frame ${f.code}`),
      hub.next("voice.updated", (f) => f.userId === target && !!f.state && (f.state.handRaisedAt !== undefined) === wantRaised, 5000).then(() => "frame ok"),
    ]);
    // Put things back: the actor's own hand down, so the next case starts clean.
    hub.send({ type: "hand.lower", ref: "reset" });
    hub.close();
    return got;
  }

  let cases = 0;
  for (const actor of HAND_ACTORS) {
    for (const op of HAND_OPS) {
      it(`${actor} · ${op} → ${handExpected(actor, op)}`, async () => {
        cases++;
        expect(await handRun(actor, op)).toBe(handExpected(actor, op));
      });
    }
  }
  it("ran every case", () => {
    expect(cases).toBe(HAND_ACTORS.length * HAND_OPS.length);
  });
});
