/** Call links under attack: forged, expired and foreign guest cookies, guests on community surfaces, people LiveKit has who may not be there. */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { callLinkRoom } from "../workers/shared/call-links";
import { randomToken } from "../workers/shared/ids";
import { app } from "../workers/api/src/app";
import { ORIGIN, client, newUser } from "./helpers";
import { makeChannel, makeCommunity } from "./chat-fixtures";
import { hookEvent, roomServiceStandIn, sign } from "./voice-fixtures";
import { type Guest, callSocket, chatSocket, guestJoin, identityIn, makeLink, send, tokenOf, upgrade } from "./call-link-fixtures";

/** A signed webhook into the app running with `e` (a RoomService stand-in), background work awaited. */
async function hook(e: Env, ev: Record<string, unknown>) {
  const body = JSON.stringify(ev);
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`${ORIGIN}/api/livekit/webhook`, { method: "POST", headers: { "content-type": "application/webhook+json", authorization: await sign(body) }, body }),
    e,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

function withCookie(cookie: string) {
  const c = client();
  const [k, v] = cookie.split("=");
  c.cookies.set(k!, v!);
  return c;
}

describe("guest cookies", () => {
  it("a forged or expired guest cookie is nobody: 401 on the token, history and sockets", async () => {
    const host = await newUser();
    const l = await makeLink(host);
    const g = await guestJoin(l.code);
    await env.DB.prepare(`UPDATE call_guests SET expires_at = ? WHERE link_id = ?`).bind(Date.now() - 1, l.id).run();
    for (const cookie of [`woxly_guest=${randomToken(256)}`, `woxly_guest=${g.token}`, `__Host-woxly_guest=${g.token}`]) {
      const c = withCookie(cookie);
      expect((await send(c, "POST", `/api/calls/${l.code}/token`)).status).toBe(401);
      expect((await send(c, "GET", `/api/calls/${l.code}/history`)).status).toBe(401);
      expect((await upgrade(`/parties/call-link/${l.id}`, cookie)).status).toBe(401);
      expect((await upgrade(`/parties/channel-room/${l.channelId}`, cookie)).status).toBe(401);
    }
  });

  it("a guest of one link is nobody at another: 404 for its token, history, CallLink and chat", async () => {
    const host = await newUser();
    const a = await makeLink(host);
    const b = await makeLink(host);
    const g = await guestJoin(a.code);
    expect((await tokenOf(g, b.code)).status).toBe(404);
    expect((await send(g.http, "GET", `/api/calls/${b.code}/history`)).status).toBe(404);
    expect((await upgrade(`/parties/call-link/${b.id}`, `woxly_guest=${g.token}`)).status).toBe(404);
    expect((await upgrade(`/parties/channel-room/${b.channelId}`, `woxly_guest=${g.token}`)).status).toBe(404);
    expect((await send(g.http, "GET", `/api/calls/${b.code}`)).body.you).toEqual({ kind: "nobody", name: null, admission: null });
    // And their own link's token names their own room only.
    const t = await tokenOf(g, a.code);
    expect(t.body.room).toBe(callLinkRoom(a.id));
  });

  it("a guest cookie opens no community socket and no community route", async () => {
    const owner = await newUser();
    const c = await makeCommunity(owner);
    const text = await makeChannel(c, "text");
    const voice = await makeChannel(c, "voice");
    const l = await makeLink(owner);
    const g = await guestJoin(l.code);
    for (const path of [`/parties/channel-room/${text}`, `/parties/community-hub/${c.id}`, `/parties/user-inbox/${g.personId}`, `/parties/support-desk/x`]) {
      expect((await upgrade(path, `woxly_guest=${g.token}`)).status, path).toBe(401);
    }
    expect((await send(g.http, "POST", `/api/channels/${voice}/voice/token`)).status).toBe(401);
    expect((await send(g.http, "GET", `/api/communities/${c.id}`)).status).toBe(401);
    expect((await send(g.http, "GET", `/api/calls`)).status).toBe(401);
    expect((await send(g.http, "POST", `/api/calls`, {})).status).toBe(401);
  });

  it("a guest cannot act as the host: no settings, no lobby decisions, no lowering others' hands, no ending", async () => {
    const host = await newUser();
    const l = await makeLink(host, { settings: { lobby: true } });
    const hs = await callSocket(host, l.id);
    const a = await guestJoin(l.code, "A");
    await hs.next("lobby.knocked");
    const { callFrame } = await import("./call-link-fixtures");
    await callFrame(hs, { type: "lobby.admit", personId: a.personId });
    const b: Guest = await guestJoin(l.code, "B");
    const as = await callSocket(a, l.id);
    for (const f of [
      { type: "lobby.admit", personId: b.personId },
      { type: "lobby.refuse", personId: b.personId },
      { type: "hand.lower_for", personId: a.personId },
      { type: "settings.set", settings: { lobby: false } },
    ]) {
      expect(await callFrame(as, f), f.type).toMatchObject({ type: "error", code: "forbidden" });
    }
    expect((await send(a.http, "DELETE", `/api/calls/${l.code}`)).status).toBe(403);
    expect(await env.DB.prepare(`SELECT ended_at FROM call_links WHERE id = ?`).bind(l.id).first("ended_at")).toBeNull();
    // The frame carries no identity: the socket's is used.
    expect(await callFrame(as, { type: "hand.raise", personId: b.personId })).toMatchObject({ type: "error", code: "validation_failed" });
    for (const s of [hs, as]) s.close();
  });
});

describe("LiveKit has someone who may not be there", () => {
  it("someone waiting in the lobby who joins the room (a token from elsewhere) is removed, and the chat says nothing", async () => {
    const host = await newUser();
    const l = await makeLink(host, { settings: { lobby: true } });
    const g = await guestJoin(l.code);
    const hc = await chatSocket(host, l.channelId);
    const room = callLinkRoom(l.id);
    const identity = await identityIn(l.id, g.personId);
    const lk = roomServiceStandIn({}, { findsAll: true });
    expect((await hook(lk.env, hookEvent("participant_joined", room, { participant: { sid: "PA_w", identity } }))).status).toBe(200);
    expect(lk.removes()).toEqual([{ room, identity }]);
    // An identity we never issued for this room (another room's) is removed too.
    const foreign = await identityIn("another", g.personId);
    await hook(lk.env, hookEvent("participant_joined", room, { participant: { sid: "PA_f", identity: foreign } }));
    expect(lk.removes()).toContainEqual({ room, identity: foreign });
    const page = (await send(host.http, "GET", `/api/calls/${l.code}/history?limit=10`)).body;
    expect(page.messages).toEqual([]);
    hc.close();
  });

  it("after the link ends, a participant with an old token is removed on joining", async () => {
    const host = await newUser();
    const l = await makeLink(host);
    const g = await guestJoin(l.code);
    expect((await tokenOf(g, l.code)).status).toBe(200);
    await send(host.http, "DELETE", `/api/calls/${l.code}`);
    const room = callLinkRoom(l.id);
    const identity = await identityIn(l.id, g.personId);
    const lk = roomServiceStandIn({}, { findsAll: true });
    await hook(lk.env, hookEvent("participant_joined", room, { participant: { sid: "PA_late", identity } }));
    expect(lk.removes()).toEqual([{ room, identity }]);
  });
});
