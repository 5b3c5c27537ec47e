/** Call links (docs/call-links.md): links, guests, the lobby and the lock, tokens, the CallLink socket, the call's chat, webhooks. */
import { describe, expect, it } from "vitest";
import { CallLink, CallLinkPreview, CallLinkToken, MAX_CALL_PARTICIPANTS, MAX_LINKS_PER_USER, MyCallLinks, callLinkRoom } from "../workers/shared/call-links";
import type { HistoryPage } from "../workers/shared/chat";
import { MEDIA_TOKEN_TTL_SECONDS } from "../workers/shared/media";
import { api, client, expectJson, newUser } from "./helpers";
import { say } from "./chat-fixtures";
import { claims, hookEvent, postHook } from "./voice-fixtures";
import { callFrame, callSocket, chatSocket, guestJoin, identityIn, makeLink, send, tokenOf, upgrade } from "./call-link-fixtures";
import { exports } from "cloudflare:workers";
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";

const ALL = ["camera", "microphone", "screen_share", "screen_share_audio"];

describe("links", () => {
  it("a random code carries 128 bits (26 base32 characters) and differs every time; the host lists their links", async () => {
    const host = await newUser();
    const a = await makeLink(host, { title: "Standup" });
    const b = await makeLink(host);
    for (const l of [a, b]) expect(l.code).toMatch(/^[0-9a-z]{26}$/);
    expect(a.code).not.toBe(b.code);
    expect(a).toMatchObject({ title: "Standup", host: { id: host.id }, settings: { locked: false, lobby: false, requireAccount: false }, endedAt: null });
    const ch = await env.DB.prepare(`SELECT kind, community_id FROM channels WHERE id = ?`).bind(a.channelId).first();
    expect(ch).toEqual({ kind: "call", community_id: null });
    const mine = await expectJson(api(host.http).calls.$get(), 200, MyCallLinks);
    expect(mine.links.map((l) => l.id).sort()).toEqual([a.id, b.id].sort());
    const other = await newUser();
    expect((await expectJson(api(other.http).calls.$get(), 200, MyCallLinks)).links).toEqual([]);
  });

  it("a chosen name is unique (409 conflict), case-folded, and must look like a name", async () => {
    const host = await newUser();
    const name = `team-${Date.now().toString(36)}`;
    await makeLink(host, { name });
    const other = await newUser();
    const again = await send(other.http, "POST", "/api/calls", { name: name.toUpperCase() });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("conflict");
    for (const bad of ["-x-", "a", "has space", "ab-".repeat(14)]) {
      expect((await send(host.http, "POST", "/api/calls", { name: bad })).status).toBe(400);
    }
  });

  it("anyone sees the preview; an unknown code is 404", async () => {
    const host = await newUser();
    const l = await makeLink(host, { title: "Book club", settings: { lobby: true } });
    const anon = client();
    const p = CallLinkPreview.parse((await send(anon, "GET", `/api/calls/${l.code}`)).body);
    expect(p).toEqual({
      code: l.code,
      title: "Book club",
      hostName: host.displayName,
      settings: { locked: false, lobby: true, requireAccount: false },
      participants: 0,
      ended: false,
      you: { kind: "nobody", name: null, admission: null },
    });
    expect((await send(host.http, "GET", `/api/calls/${l.code}`)).body.you).toMatchObject({ kind: "host", admission: "admitted" });
    expect((await send(anon, "GET", `/api/calls/nosuchcallhere`)).status).toBe(404);
  });

  it("only the host changes settings; others get 403 and nothing changes", async () => {
    const host = await newUser();
    const l = await makeLink(host);
    const m = await newUser();
    expect((await send(m.http, "PATCH", `/api/calls/${l.code}`, { locked: true })).status).toBe(403);
    const g = await guestJoin(l.code);
    expect((await send(g.http, "PATCH", `/api/calls/${l.code}`, { locked: true })).status).toBe(403);
    const r = await send(host.http, "PATCH", `/api/calls/${l.code}`, { lobby: true, title: "New" });
    expect(r.status).toBe(200);
    expect(CallLink.parse(r.body)).toMatchObject({ title: "New", settings: { locked: false, lobby: true } });
    expect((await send(host.http, "PATCH", `/api/calls/${l.code}`, { bogus: 1 })).status).toBe(400);
  });

  it(`a member may host at most ${MAX_LINKS_PER_USER} links`, async () => {
    const host = await newUser();
    const now = Date.now();
    const stmts = [];
    for (let i = 0; i < MAX_LINKS_PER_USER; i++) {
      stmts.push(
        env.DB.prepare(`INSERT INTO call_links (id, code, title, host_id, channel_id, created_at) VALUES (?, ?, '', ?, ?, ?)`).bind(
          `cl_${host.id}_${i}`,
          `lim${host.id.toLowerCase()}${i}`.slice(0, 60),
          host.id,
          `ch_${host.id}_${i}`,
          now,
        ),
      );
    }
    await env.DB.batch(stmts);
    const r = await send(host.http, "POST", "/api/calls", {});
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("limit_reached");
  });

  it("ending a link: sockets close, the preview says ended, nobody may join or get a token", async () => {
    const host = await newUser();
    const l = await makeLink(host);
    const g = await guestJoin(l.code);
    const gs = await callSocket(g, l.id);
    const chat = await chatSocket(g, l.channelId);
    const r = await send(host.http, "DELETE", `/api/calls/${l.code}`);
    expect(r.status).toBe(200);
    expect(r.body.endedAt).toBeTypeOf("number");
    expect((await gs.waitClosed()).code).toBe(4404);
    expect((await chat.waitClosed()).code).toBe(4404);
    expect((await send(client(), "GET", `/api/calls/${l.code}`)).body.ended).toBe(true);
    expect((await tokenOf(g, l.code)).status).toBe(404);
    expect((await tokenOf(host, l.code)).status).toBe(404);
    expect((await send(client(), "POST", `/api/calls/${l.code}/guests`, { name: "Late" })).status).toBe(404);
    expect((await upgrade(`/parties/call-link/${l.id}`, `woxly_session=${host.token}`)).status).toBe(404);
    expect((await send(host.http, "PATCH", `/api/calls/${l.code}`, { locked: true })).status).toBe(409);
    // The host may still read the chat; the guest may not.
    expect((await send(host.http, "GET", `/api/calls/${l.code}/history`)).status).toBe(200);
    expect((await send(g.http, "GET", `/api/calls/${l.code}/history`)).status).toBe(404);
  });
});

describe("guests", () => {
  it("joining sets an HttpOnly SameSite=Lax cookie for the whole site; the preview knows the guest", async () => {
    const host = await newUser();
    const l = await makeLink(host);
    const http = client();
    const res = await http.fetch(`/api/calls/${l.code}/guests`, { method: "POST", json: { name: "Ann" } });
    expect(res.status).toBe(201);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("woxly_guest="))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\//);
    const token = cookie.split(";")[0]!.split("=")[1]!;
    expect(token).toMatch(/^[0-9a-z]{52}$/); // 256 bits
    const row = await env.DB.prepare(`SELECT token_hash, expires_at - created_at AS ttl FROM call_guests WHERE link_id = ?`).bind(l.id).first<{ token_hash: string; ttl: number }>();
    expect(row!.token_hash).not.toContain(token);
    expect(row!.ttl).toBe(12 * 3600_000);
    const p = CallLinkPreview.parse(await res.json());
    expect(p.you).toEqual({ kind: "guest", name: "Ann", admission: "admitted" });
  });

  it("over https the cookie is __Host- prefixed and Secure", async () => {
    const host = await newUser();
    const l = await makeLink(host);
    const site = "https://woxly.example";
    const res = await exports.default.fetch(
      new Request(`${site}/api/calls/${l.code}/guests`, {
        method: "POST",
        headers: { origin: site, "content-type": "application/json", "cf-connecting-ip": "10.99.0.1" },
        body: JSON.stringify({ name: "Sec" }),
      }),
    );
    expect(res.status).toBe(201);
    const cookie = res.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(/^__Host-woxly_guest=/);
    expect(cookie).toMatch(/Secure/);
  });

  it("a link that requires accounts refuses guests (403) and lets members in", async () => {
    const host = await newUser();
    const l = await makeLink(host, { settings: { requireAccount: true } });
    const r = await send(client(), "POST", `/api/calls/${l.code}/guests`, { name: "Bob" });
    expect(r.status).toBe(403);
    expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM call_guests WHERE link_id = ?`).bind(l.id).first("n")).toBe(0);
    expect((await tokenOf(await newUser(), l.code)).status).toBe(200);
  });

  it("a locked link refuses a third guest at the guest route, the token route and the socket; those in stay", async () => {
    const host = await newUser();
    const l = await makeLink(host);
    const a = await guestJoin(l.code, "A");
    const b = await guestJoin(l.code, "B");
    // A third guest who came while the lobby was on, and is still waiting when the host locks.
    await send(host.http, "PATCH", `/api/calls/${l.code}`, { lobby: true });
    const c = await guestJoin(l.code, "C");
    expect(c.preview.you.admission).toBe("waiting");
    await send(host.http, "PATCH", `/api/calls/${l.code}`, { locked: true, lobby: false });
    const d = await send(client(), "POST", `/api/calls/${l.code}/guests`, { name: "D" });
    expect(d.status).toBe(403);
    expect((await tokenOf(c, l.code)).status).toBe(403);
    expect((await upgrade(`/parties/call-link/${l.id}`, `woxly_guest=${c.token}`)).status).toBe(403);
    // A member who was never in is new too.
    expect((await tokenOf(await newUser(), l.code)).status).toBe(403);
    for (const g of [a, b]) expect((await tokenOf(g, l.code)).status).toBe(200);
    expect((await tokenOf(host, l.code)).status).toBe(200);
    (await callSocket(a, l.id)).close();
  });

  it("the lobby: a guest waits, the host admits one (a token follows) and refuses another (no token)", async () => {
    const host = await newUser();
    const l = await makeLink(host, { settings: { lobby: true } });
    const hs = await callSocket(host, l.id);
    const a = await guestJoin(l.code, "Ann");
    expect(a.preview.you.admission).toBe("waiting");
    const knock = await hs.next("lobby.knocked");
    expect(knock.entry).toMatchObject({ id: a.personId, name: "Ann", guest: true });
    const as = await callSocket(a, l.id);
    expect(as.frames[0]).toMatchObject({ type: "call.snapshot", you: { id: a.personId, host: false, admission: "waiting" }, lobby: [] });
    expect((await tokenOf(a, l.code)).status).toBe(403);
    const b = await guestJoin(l.code, "Bob");
    await hs.next("lobby.knocked", (f) => f.entry.id === b.personId);
    const bs = await callSocket(b, l.id);

    expect(await callFrame(hs, { type: "lobby.admit", personId: a.personId })).toMatchObject({ type: "done" });
    expect(await as.next("lobby.decided")).toEqual({ type: "lobby.decided", admitted: true });
    expect((await tokenOf(a, l.code)).status).toBe(200);

    expect(await callFrame(hs, { type: "lobby.refuse", personId: b.personId })).toMatchObject({ type: "done" });
    expect(await bs.next("lobby.decided")).toEqual({ type: "lobby.decided", admitted: false });
    expect((await tokenOf(b, l.code)).status).toBe(403);
    expect((await send(b.http, "GET", `/api/calls/${l.code}`)).body.you.admission).toBe("refused");

    const snap = await hs.next("call.snapshot", (f) => f.lobby.length === 0 && f.people.some((p) => p.id === a.personId));
    expect(snap.you).toEqual({ id: host.id, host: true, admission: "admitted" });
    // Only the host decides.
    expect(await callFrame(as, { type: "lobby.admit", personId: b.personId })).toMatchObject({ type: "error", code: "forbidden" });
    for (const s of [hs, as, bs]) s.close();
  });

  it("turning the lobby off lets everyone waiting in", async () => {
    const host = await newUser();
    const l = await makeLink(host, { settings: { lobby: true } });
    const g = await guestJoin(l.code);
    const gs = await callSocket(g, l.id);
    expect((await tokenOf(g, l.code)).status).toBe(403);
    expect((await send(host.http, "PATCH", `/api/calls/${l.code}`, { lobby: false })).status).toBe(200);
    expect(await gs.next("lobby.decided")).toEqual({ type: "lobby.decided", admitted: true });
    expect((await tokenOf(g, l.code)).status).toBe(200);
    gs.close();
  });

  it("with the lobby on, a member (not the host) waits too", async () => {
    const host = await newUser();
    const l = await makeLink(host, { settings: { lobby: true } });
    const hs = await callSocket(host, l.id);
    const m = await newUser();
    const r = await tokenOf(m, l.code);
    expect(r.status).toBe(403);
    expect((await hs.next("lobby.knocked")).entry).toMatchObject({ id: m.id, guest: false });
    await callFrame(hs, { type: "lobby.admit", personId: m.id });
    expect((await tokenOf(m, l.code)).status).toBe(200);
    hs.close();
  });

  it("new guests are rate-limited per IP: 429 with Retry-After", async () => {
    const host = await newUser();
    const l = await makeLink(host);
    const ip = "10.123.45.67";
    for (let i = 0; i < 10; i++) await guestJoin(l.code, `G${i}`, ip);
    const r = await send(client({ ip }), "POST", `/api/calls/${l.code}/guests`, { name: "One too many" });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    await guestJoin(l.code, "Elsewhere");
  });
});

describe("tokens", () => {
  it("are for room call-<linkId> only, short-lived, with camera, microphone, screen and subscribe, no data, no metadata, an opaque identity", async () => {
    const host = await newUser();
    const l = await makeLink(host);
    const g = await guestJoin(l.code, "Ann");
    for (const who of [host, g, await newUser()]) {
      const r = await tokenOf(who, l.code);
      expect(r.status).toBe(200);
      const t = CallLinkToken.parse(r.body);
      expect(t.room).toBe(callLinkRoom(l.id));
      const cl = claims(t.token);
      expect(cl.video).toEqual({
        room: callLinkRoom(l.id),
        roomJoin: true,
        canSubscribe: true,
        canPublish: true,
        canPublishSources: ALL,
        canPublishData: false,
        canUpdateOwnMetadata: false,
      });
      expect(cl.exp - cl.nbf).toBeLessThanOrEqual(MEDIA_TOKEN_TTL_SECONDS);
      expect(cl.sub).toBe(t.identity);
      expect(t.identity).not.toContain("g_");
    }
  });

  it("a guest's cookie is nothing on community routes: no voice token, no community, no me", async () => {
    const host = await newUser();
    const l = await makeLink(host);
    const g = await guestJoin(l.code);
    const ch = await env.DB.prepare(`SELECT id FROM channels WHERE kind = 'voice' LIMIT 1`).first<string>("id");
    expect((await send(g.http, "POST", `/api/channels/${ch ?? l.channelId}/voice/token`)).status).toBe(401);
    expect((await send(g.http, "POST", `/api/channels/${l.channelId}/voice/token`)).status).toBe(401);
    expect((await send(g.http, "GET", `/api/me`)).status).toBe(401);
    expect((await send(g.http, "POST", `/api/communities`, { name: "Mine" })).status).toBe(401);
    expect((await send(g.http, "GET", `/api/channels/${l.channelId}/messages`)).status).toBe(401);
  });
});

describe("the CallLink socket", () => {
  it("hands: raise and lower your own; the host lowers anyone's; settings.set persists to D1", async () => {
    const host = await newUser();
    const l = await makeLink(host);
    const g = await guestJoin(l.code, "Ann");
    const hs = await callSocket(host, l.id);
    const gs = await callSocket(g, l.id);
    expect(await callFrame(gs, { type: "hand.raise" })).toMatchObject({ type: "done" });
    await hs.next("call.snapshot", (f) => f.people.some((p) => p.id === g.personId && p.handRaisedAt !== null));
    expect(await callFrame(gs, { type: "hand.lower_for", personId: g.personId })).toMatchObject({ type: "error", code: "forbidden" });
    expect(await callFrame(hs, { type: "hand.lower_for", personId: g.personId })).toMatchObject({ type: "done" });
    await gs.next("call.snapshot", (f) => f.people.some((p) => p.id === g.personId && p.handRaisedAt === null));
    expect(await callFrame(gs, { type: "settings.set", settings: { locked: true } })).toMatchObject({ type: "error", code: "forbidden" });
    expect(await callFrame(hs, { type: "settings.set", settings: { lobby: true } })).toMatchObject({ type: "done" });
    expect(await env.DB.prepare(`SELECT lobby FROM call_links WHERE id = ?`).bind(l.id).first("lobby")).toBe(1);
    await gs.next("call.snapshot", (f) => f.settings.lobby);
    expect(await callFrame(gs, { type: "nope" })).toMatchObject({ type: "error", code: "unknown_type" });
    for (const s of [hs, gs]) s.close();
  });

  it("survives eviction: the lobby, admissions, hands and settings are in SQLite; hibernated sockets go on as the same person", async () => {
    const host = await newUser();
    const l = await makeLink(host, { settings: { lobby: true } });
    const hs = await callSocket(host, l.id);
    const a = await guestJoin(l.code, "Ann");
    const b = await guestJoin(l.code, "Bob");
    await callFrame(hs, { type: "lobby.admit", personId: a.personId });
    const as = await callSocket(a, l.id);
    await callFrame(as, { type: "hand.raise" });
    await evictDurableObject(env.CallLink.getByName(l.id)); // sockets hibernate, memory goes
    expect(await callFrame(hs, { type: "lobby.refuse", personId: b.personId })).toMatchObject({ type: "done" });
    const snap = await hs.next("call.snapshot", (f) => f.lobby.length === 0);
    expect(snap.settings.lobby).toBe(true);
    expect(snap.people.find((p) => p.id === a.personId)?.handRaisedAt).toBeTypeOf("number");
    expect((await tokenOf(a, l.code)).status).toBe(200);
    expect((await tokenOf(b, l.code)).status).toBe(403);
    expect(await callFrame(as, { type: "lobby.admit", personId: b.personId })).toMatchObject({ type: "error", code: "forbidden" });
    for (const s of [hs, as]) s.close();
  });

  it("refuses another Origin and a missing cookie", async () => {
    const host = await newUser();
    const l = await makeLink(host);
    expect((await upgrade(`/parties/call-link/${l.id}`, `woxly_session=${host.token}`, "https://evil.example")).status).toBe(403);
    expect((await upgrade(`/parties/call-link/${l.id}`, null)).status).toBe(401);
    expect((await upgrade(`/parties/call-link/nosuchlink`, `woxly_session=${host.token}`)).status).toBe(404);
  });
});

describe("the call's chat", () => {
  it("the host, members and admitted guests talk; the history route serves the page", async () => {
    const host = await newUser();
    const l = await makeLink(host);
    const g = await guestJoin(l.code, "Ann");
    const hc = await chatSocket(host, l.channelId);
    const gc = await chatSocket(g, l.channelId);
    const m = await say(gc, "hello from a guest");
    expect(m.author).toMatchObject({ id: g.personId, displayName: "Ann" });
    await hc.next("message.created", (f) => f.message.content === "hello from a guest");
    const page = (await send(g.http, "GET", `/api/calls/${l.code}/history?limit=10`)).body as HistoryPage;
    expect(page.messages.map((x) => x.content)).toContain("hello from a guest");
    expect((await send(client(), "GET", `/api/calls/${l.code}/history`)).status).toBe(401);
    for (const s of [hc, gc]) s.close();
  });

  it("someone waiting in the lobby cannot open or read the chat", async () => {
    const host = await newUser();
    const l = await makeLink(host, { settings: { lobby: true } });
    const g = await guestJoin(l.code);
    expect((await upgrade(`/parties/channel-room/${l.channelId}`, `woxly_guest=${g.token}`)).status).toBe(404);
    expect((await send(g.http, "GET", `/api/calls/${l.code}/history`)).status).toBe(404);
  });
});

describe("a full call", () => {
  it(`refuses a token to a newcomer once ${MAX_CALL_PARTICIPANTS} people are in the room; someone already in may rejoin`, async () => {
    const host = await newUser();
    const l = await makeLink(host);
    const ann = await guestJoin(l.code, "Ann");
    const bob = await guestJoin(l.code, "Bob");
    // The room as LiveKit's webhooks would have left it: Ann and 49 others in the call.
    await runInDurableObject(env.CallLink.get(env.CallLink.idFromName(l.id)), (_i, state) => {
      state.storage.sql.exec(`UPDATE people SET in_call = 1 WHERE id = ?`, ann.personId);
      for (let i = 1; i < MAX_CALL_PARTICIPANTS; i++) {
        state.storage.sql.exec(`INSERT INTO people (id, name, guest, admission, since, in_call) VALUES (?, ?, 1, 'admitted', ?, 1)`, `g_filler${i}`, `P${i}`, Date.now());
      }
    });
    const full = await tokenOf(bob, l.code);
    expect(full.status).toBe(403);
    expect(full.body).toMatchObject({ error: { code: "channel_full" } });
    expect((await tokenOf(ann, l.code)).status).toBe(200);
  });
});

describe("LiveKit webhooks of call-… rooms", () => {
  it("a participant joining posts 'joined' in the chat once; a screen share and leaving are said too", async () => {
    const host = await newUser();
    const l = await makeLink(host);
    const g = await guestJoin(l.code, "Ann");
    expect((await tokenOf(g, l.code)).status).toBe(200);
    const hc = await chatSocket(host, l.channelId);
    const identity = await identityIn(l.id, g.personId);
    const room = callLinkRoom(l.id);
    const joined = hookEvent("participant_joined", room, { participant: { sid: "PA_call_1", identity } });
    expect(await (await postHook(joined)).json()).toMatchObject({ applied: true, duplicate: false });
    expect(await (await postHook(joined)).json()).toMatchObject({ duplicate: true });
    const sys = await hc.next("message.created", (f) => f.message.system?.kind === "call_joined");
    expect(sys.message.system).toEqual({ kind: "call_joined", userId: g.personId, name: "Ann" });
    const preview = CallLinkPreview.parse((await send(client(), "GET", `/api/calls/${l.code}`)).body);
    expect(preview.participants).toBe(1);

    await postHook(hookEvent("track_published", room, { participant: { sid: "PA_call_1", identity }, track: { sid: "TR_s", source: "SCREEN_SHARE" } }));
    await hc.next("message.created", (f) => f.message.system?.kind === "screen_share_started");
    await postHook(hookEvent("participant_left", room, { participant: { sid: "PA_call_1", identity } }));
    await hc.next("message.created", (f) => f.message.system?.kind === "call_left");

    const page = (await send(host.http, "GET", `/api/calls/${l.code}/history?limit=50`)).body as HistoryPage;
    expect(page.messages.filter((x) => x.system?.kind === "call_joined")).toHaveLength(1);
    hc.close();
  });
});

