import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { GOOD_PASSWORD, ORIGIN, client, register, type Client } from "./helpers";

/** Opens a WebSocket as `c` and reports when it closes. */
async function open(c: Client, path: string) {
  const cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  const res = await exports.default.fetch(new Request(ORIGIN + path, { headers: { Upgrade: "websocket", origin: ORIGIN, cookie } }));
  const ws = res.webSocket;
  if (!ws) throw new Error(`no socket for ${path}: ${res.status}`);
  const state = { closed: null as null | { code: number } };
  ws.addEventListener("close", (e) => (state.closed = { code: e.code }));
  ws.accept();
  return {
    state,
    async waitClosed(ms = 2000) {
      const until = Date.now() + ms;
      while (!state.closed) {
        if (Date.now() > until) throw new Error(`${path} still open after ${ms} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return state.closed;
    },
  };
}

async function userWithCommunity() {
  const c = client();
  const { username } = await register(c);
  const res = await c.fetch("/api/communities", { method: "POST", json: { name: "Sockets" } });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { community: { id: string }; channels: { id: string; kind: string; name: string }[] };
  const general = body.channels.find((ch) => ch.kind === "text")!;
  return { c, username, communityId: body.community.id, channelId: general.id };
}

describe("ending a session closes its sockets", () => {
  it("log out closes that session's hub and channel sockets, not another session's", async () => {
    const { c, username, communityId, channelId } = await userWithCommunity();
    const other = client();
    expect((await other.fetch("/api/auth/login", { method: "POST", json: { username, password: GOOD_PASSWORD } })).status).toBe(200);

    const hub = await open(c, `/parties/community-hub/${communityId}`);
    const room = await open(c, `/parties/channel-room/${channelId}`);
    const otherRoom = await open(other, `/parties/channel-room/${channelId}`);

    expect((await c.fetch("/api/auth/logout", { method: "POST" })).status).toBe(204);
    await hub.waitClosed();
    await room.waitClosed();
    await new Promise((r) => setTimeout(r, 200));
    expect(otherRoom.state.closed).toBeNull();
  });

  it("log out closes the session's support-desk socket too", async () => {
    const { c, communityId } = await userWithCommunity();
    const res = await c.fetch(`/api/communities/${communityId}/desks`, { method: "POST", json: { name: "Help" } });
    expect(res.status).toBe(201);
    const desk = (await res.json()) as { id: string };
    const socket = await open(c, `/parties/support-desk/${desk.id}`);
    expect((await c.fetch("/api/auth/logout", { method: "POST" })).status).toBe(204);
    expect((await socket.waitClosed()).code).toBe(4401);
  });

  it("log out closes the host's sockets on their call links", async () => {
    const { c } = await userWithCommunity();
    const res = await c.fetch("/api/calls", { method: "POST", json: {} });
    expect(res.status).toBe(201);
    const link = (await res.json()) as { id: string };
    const socket = await open(c, `/parties/call-link/${link.id}`);
    expect((await c.fetch("/api/auth/logout", { method: "POST" })).status).toBe(204);
    expect((await socket.waitClosed()).code).toBe(4401);
  });

  it("log out everywhere and a password change close every socket of the user", async () => {
    const { c, username, communityId, channelId } = await userWithCommunity();
    const other = client();
    await other.fetch("/api/auth/login", { method: "POST", json: { username, password: GOOD_PASSWORD } });
    const hub = await open(other, `/parties/community-hub/${communityId}`);
    const room = await open(other, `/parties/channel-room/${channelId}`);
    expect((await c.fetch("/api/auth/logout-all", { method: "POST" })).status).toBe(204);
    await hub.waitClosed();
    await room.waitClosed();

    const d = client();
    await d.fetch("/api/auth/login", { method: "POST", json: { username, password: GOOD_PASSWORD } });
    const room2 = await open(d, `/parties/channel-room/${channelId}`);
    const change = await d.fetch("/api/me/password", { method: "POST", json: { currentPassword: GOOD_PASSWORD, newPassword: "an entirely new secret 9" } });
    expect(change.status).toBe(200);
    await room2.waitClosed();
    // The browser that changed it is still logged in and may reconnect.
    const room3 = await open(d, `/parties/channel-room/${channelId}`);
    await new Promise((r) => setTimeout(r, 200));
    expect(room3.state.closed).toBeNull();
  });
});
