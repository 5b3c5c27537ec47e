/**
 * Security regressions: input that opens hidden rooms or disguises names.
 * - Chat sockets only open rooms of channels that have a chat (text, voice, DMs, tickets):
 *   a category id is refused with 404 like a channel that does not exist.
 * - Names people see (usernames, display names, nicknames, community, channel and role
 *   names) refuse bidi controls, zero-width and other invisible characters with 400
 *   `validation_failed` (impersonation), through one shared rule (visibleName).
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ChannelName, CommunityName, Nickname, RoleName } from "../workers/shared/communities";
import { newId } from "../workers/shared/ids";
import { DisplayName, Username, isVisibleName } from "../workers/shared/protocol";
import { addMember, makeChannel, makeCommunity } from "./chat-fixtures";
import { createCommunity } from "./community-fixtures";
import { GOOD_PASSWORD, ORIGIN, client, uniqueName, call, newUser } from "./helpers";

describe("chat sockets only for channels with a chat", () => {
  function upgrade(channelId: string, token: string) {
    return exports.default.fetch(
      new Request(`${ORIGIN}/parties/channel-room/${channelId}`, { headers: { Upgrade: "websocket", origin: ORIGIN, cookie: `woxly_session=${token}` } }),
    );
  }

  it("refuses a category's id with 404 (no hidden room), even for the owner; text and voice channels still open", async () => {
    const owner = await newUser();
    const member = await newUser();
    const community = await makeCommunity(owner);
    await addMember(community, member);
    const categoryId = newId();
    await env.DB.prepare(`INSERT INTO channels (id, community_id, kind, name, created_at) VALUES (?, ?, 'category', 'Lobby', ?)`)
      .bind(categoryId, community.id, Date.now())
      .run();
    for (const u of [owner, member]) {
      const res = await upgrade(categoryId, u.token);
      expect(res.status).toBe(404);
      expect(res.webSocket).toBeNull();
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
    for (const kind of ["text", "voice"] as const) {
      const res = await upgrade(await makeChannel(community, kind, kind), member.token);
      expect(res.status).toBe(101);
      res.webSocket!.accept();
      res.webSocket!.close(1000, "done");
    }
  });
});

/** One of each kind of hidden character the rule must refuse. */
const HIDDEN: [string, string][] = [
  ["U+202E right-to-left override", "\u202E"],
  ["U+202A left-to-right embedding", "\u202A"],
  ["U+202C pop directional formatting", "\u202C"],
  ["U+2066 left-to-right isolate", "\u2066"],
  ["U+2069 pop directional isolate", "\u2069"],
  ["U+200E left-to-right mark", "\u200E"],
  ["U+200F right-to-left mark", "\u200F"],
  ["U+061C Arabic letter mark", "\u061C"],
  ["U+200B zero width space", "\u200B"],
  ["U+200C zero width non-joiner", "\u200C"],
  ["U+200D zero width joiner between letters", "\u200D"],
  ["U+2060 word joiner", "\u2060"],
  ["U+FEFF zero width no-break space", "\uFEFF"],
  ["U+00AD soft hyphen", "\u00AD"],
  ["U+2064 invisible plus", "\u2064"],
  ["U+E0041 tag latin capital A", "\u{E0041}"],
  ["U+3164 Hangul filler", "\u3164"],
  ["U+2800 braille blank", "\u2800"],
  ["U+034F combining grapheme joiner", "\u034F"],
  ["U+2028 line separator", "\u2028"],
];

describe("names refuse invisible and direction-changing characters", () => {
  it("the shared rule refuses every listed character inside a name, and accepts real names in any script and emoji sequences", () => {
    for (const [what, ch] of HIDDEN) {
      expect(isVisibleName(`ad${ch}min`), what).toBe(false);
      for (const schema of [DisplayName, Nickname, CommunityName, ChannelName, RoleName]) {
        expect(schema.safeParse(`ad${ch}min`).success, what).toBe(false);
      }
      expect(Username.safeParse(`ad${ch}min`).success, what).toBe(false);
    }
    for (const fine of ["Нурлан", "محمد علي", "שלום", "김민준", "Zoë O'Brien", "👩‍💻 Ana", "family 👨‍👩‍👧", "🏳️‍🌈 club", "👩🏽‍💻 dev", "👍🏽 ok"]) {
      expect(isVisibleName(fine), fine).toBe(true);
      expect(DisplayName.safeParse(fine).success, fine).toBe(true);
    }
    // A joiner is only "seen" between two emoji; after a letter or at the end it hides.
    expect(isVisibleName("a\u200D👍")).toBe(false);
    expect(isVisibleName("👍\u200D")).toBe(false);
  });

  async function expectNameRefused(res: { status: number; body: { error: { code: string } } }) {
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
  }

  it("register, profile, nickname, community, channel and role names answer 400 validation_failed", async () => {
    const spoof = "\u202Enimda"; // shows as "admin"
    const reg = await client().fetch("/api/auth/register", {
      method: "POST",
      json: { username: uniqueName("bidi"), displayName: `Admin${"\u200B"}`, password: GOOD_PASSWORD },
    });
    expect(reg.status).toBe(400);
    expect(((await reg.json()) as { error: { code: string } }).error.code).toBe("validation_failed");

    const owner = await newUser("nm");
    const member = await newUser("nm");
    await expectNameRefused(await call(owner, "PATCH", "/api/me", { displayName: spoof }));
    await expectNameRefused(await call(owner, "POST", "/api/communities", { name: `Mods\u2066` }));
    const created = await createCommunity(owner);
    const cid = created.community.id;
    await env.DB.prepare(`INSERT INTO members (community_id, user_id, joined_at) VALUES (?, ?, ?)`).bind(cid, member.id, Date.now()).run();
    await expectNameRefused(await call(owner, "PATCH", `/api/communities/${cid}`, { name: `Offi\u200Dcial` }));
    await expectNameRefused(await call(member, "PATCH", `/api/communities/${cid}/members/${member.id}`, { nickname: `${owner.username}\u200F` }));
    await expectNameRefused(await call(owner, "PATCH", `/api/communities/${cid}/members/${member.id}`, { nickname: "\u3164" }));
    await expectNameRefused(await call(owner, "POST", `/api/communities/${cid}/roles`, { name: `Ad\uFEFFmin` }));
    await expectNameRefused(await call(owner, "POST", `/api/communities/${cid}/channels`, { kind: "text", name: `rules\u202E` }));
    const general = created.channels.find((ch) => ch.kind === "text")!;
    await expectNameRefused(await call(owner, "PATCH", `/api/channels/${general.id}`, { name: `gen\u2060eral` }));

    // Nothing was stored; plain names in other scripts still work.
    const me = await call<{ user: { displayName: string } }>(owner, "GET", "/api/me");
    expect(me.body.user.displayName).toBe(owner.username);
    expect((await call(owner, "PATCH", "/api/me", { displayName: "Нурлан 👩‍💻" })).status).toBe(200);
    expect((await call(member, "PATCH", `/api/communities/${cid}/members/${member.id}`, { nickname: "محمد" })).status).toBe(200);
  });
});
