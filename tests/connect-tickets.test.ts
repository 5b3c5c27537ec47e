/**
 * Connect tickets (workers/shared/realtime.ts CONNECT_TICKET_PARAM, docs/chat-protocol.md
 * "Connect tickets"): a channel room hands a signed ticket to a socket the worker checked in
 * full; a reconnect with it is let through on its signature alone (no D1), and the room
 * refuses it (close TICKET_STALE, not final) once an access change happened after it was
 * issued: a kick, a ban, a role taken away, a logout. Bad tickets answer 401 invalid_ticket.
 * Real worker, real ChannelRoom, real D1.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ServerFrame } from "../workers/shared/chat";
import { CLOSE, closeMeaning } from "../workers/shared/close-codes";
import { P } from "../workers/shared/permissions";
import { CONNECT_TICKET_HEADER, CONNECT_TICKET_PARAM, CONNECT_TICKET_TTL_MS, TICKET_ISSUED_HEADER } from "../workers/shared/realtime";
import { signConnectTicket } from "../workers/api/src/lib/connect-tickets";
import { acceptSocket, connectRoom, say, sleep, type RoomSocket } from "./chat-fixtures";
import { addMember, createCommunity, createRole } from "./community-fixtures";
import { ORIGIN, newUser, ok, type User } from "./helpers";

type Ready = Extract<ServerFrame, { type: "ready" }>;

/** An upgrade into a channel room with a ticket (and, optionally, a cookie and other headers). */
async function upgradeWithTicket(channelId: string, ticket: string, opts: { cookie?: string; origin?: string | null; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { Upgrade: "websocket", ...(opts.headers ?? {}) };
  if (opts.origin !== null) headers.origin = opts.origin ?? ORIGIN;
  if (opts.cookie) headers.cookie = opts.cookie;
  const res = await exports.default.fetch(new Request(`${ORIGIN}/parties/channel-room/${channelId}?${CONNECT_TICKET_PARAM}=${encodeURIComponent(ticket)}`, { headers }));
  if (!res.webSocket) return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } }, socket: null };
  const socket = acceptSocket<ServerFrame>(res.webSocket);
  const first = await socket.nextWhere((f) => f.type === "ready").then(
    () => "ready" as const,
    () => "closed" as const,
  );
  if (first === "closed") return { status: socket.closed!.code, body: null, socket: null };
  return { status: 101, body: null, socket };
}

/** A member's first connection (by cookie), its ready frame and the ticket in it. */
async function firstConnection(channelId: string, u: User): Promise<{ socket: RoomSocket; ready: Ready; ticket: string }> {
  const socket = await connectRoom(channelId, u);
  const ready = socket.frames.find((f) => f.type === "ready") as Ready;
  expect(ready.ticket, "a cookie-checked connection gets a ticket").toBeDefined();
  return { socket, ready, ticket: ready.ticket!.token };
}

async function community() {
  const owner = await newUser("owner");
  const made = await createCommunity(owner);
  const text = made.channels.find((c) => c.kind === "text")!;
  const member = await newUser("member");
  await addMember(made.community.id, member);
  return { owner, member, communityId: made.community.id, channelId: text.id };
}

describe("connect tickets", () => {
  it("a cookie-checked connection gets a ticket; a reconnect with it needs no cookie and gets the same identity and perms", async () => {
    const { member, channelId } = await community();
    const { socket, ready, ticket } = await firstConnection(channelId, member);
    expect(ready.ticket!.ttlMs).toBeGreaterThan(0);
    expect(ready.ticket!.ttlMs).toBeLessThanOrEqual(CONNECT_TICKET_TTL_MS);
    socket.close();
    const again = await upgradeWithTicket(channelId, ticket);
    expect(again.status).toBe(101);
    const r2 = again.socket!.frames.find((f) => f.type === "ready") as Ready;
    expect(r2.me).toEqual(ready.me);
    // A ticket connection is not a full check: it gets no new ticket (no sliding lifetime).
    expect(r2.ticket).toBeUndefined();
    // And it chats like any socket: the delivery contract is the same.
    const m = await say(again.socket!, "over a ticket");
    expect(m.author?.id).toBe(member.id);
    again.socket!.close();
  });

  it("a ticket works without D1: the upgrade is let through while the database would refuse the cookie", async () => {
    const { member, channelId } = await community();
    const { socket, ticket } = await firstConnection(channelId, member);
    socket.close();
    // The session row goes away without the room being told (as if D1 were unreachable):
    // the ticket alone still opens the room, the cookie path no longer does.
    await env.DB.prepare(`DELETE FROM sessions WHERE user_id = ?`).bind(member.id).run();
    expect((await upgradeWithTicket(channelId, ticket)).status).toBe(101);
    const byCookie = await exports.default.fetch(
      new Request(`${ORIGIN}/parties/channel-room/${channelId}`, { headers: { Upgrade: "websocket", origin: ORIGIN, cookie: `woxly_session=${member.token}` } }),
    );
    expect(byCookie.status).toBe(401);
  });

  it("bad tickets answer 401 invalid_ticket with the error body; a wrong Origin is still 403", async () => {
    const { member, channelId } = await community();
    const other = await community();
    const { socket, ticket } = await firstConnection(channelId, member);
    socket.close();
    const [body, sig] = ticket.split(".");
    const flipped = body!.slice(0, -2) + (body!.endsWith("A") ? "BA" : "AA");
    const cases: [string, string][] = [
      ["garbage", "not-a-ticket"],
      ["empty", ""],
      ["forged signature", `${body}.${"A".repeat(sig!.length)}`],
      ["payload changed", `${flipped}.${sig}`],
      ["another room", ticket],
      ["too long", "x".repeat(5000)],
    ];
    for (const [what, t] of cases) {
      const room = what === "another room" ? other.channelId : channelId;
      const r = await upgradeWithTicket(room, t);
      expect(r.status, what).toBe(401);
      expect(r.body?.error.code, what).toBe("invalid_ticket");
      expect(r.body?.error.message, what).toMatch(/ticket/i);
    }
    const expired = await signConnectTicket(env.PASSWORD_PEPPER, channelId, { userId: member.id, username: member.username, displayName: member.displayName, sessionId: "s", communityId: null, perms: "1" }, Date.now() - CONNECT_TICKET_TTL_MS - 1000);
    expect((await upgradeWithTicket(channelId, expired)).body?.error.code).toBe("invalid_ticket");
    const signedElsewhere = await signConnectTicket("another secret", channelId, { userId: member.id, username: member.username, displayName: member.displayName, sessionId: "s", communityId: null, perms: "1" }, Date.now());
    expect((await upgradeWithTicket(channelId, signedElsewhere)).body?.error.code).toBe("invalid_ticket");
    // Only channel rooms take tickets.
    const hub = await exports.default.fetch(
      new Request(`${ORIGIN}/parties/community-hub/x?${CONNECT_TICKET_PARAM}=${encodeURIComponent(ticket)}`, { headers: { Upgrade: "websocket", origin: ORIGIN } }),
    );
    expect(hub.status).toBe(401);
    expect(((await hub.json()) as { error: { code: string } }).error.code).toBe("invalid_ticket");
    const r = await upgradeWithTicket(channelId, ticket, { origin: "https://evil.example" });
    expect(r.status).toBe(403);
    expect(r.body?.error.code).toBe("forbidden_origin");
  });

  it("the worker's ticket headers cannot be sent by a client", async () => {
    const { member, channelId } = await community();
    const { socket, ticket } = await firstConnection(channelId, member);
    // An issue time from the future would outrun any floor: the worker overwrites it with the ticket's own.
    await ok(204, member, "POST", "/api/auth/logout");
    // Logout closes the session's sockets in the background; once this one is closed, the room knows.
    expect((await socket.waitClosed()).code).toBe(CLOSE.SESSION_ENDED);
    const spoof = await upgradeWithTicket(channelId, ticket, { headers: { [TICKET_ISSUED_HEADER]: String(Date.now() + 3_600_000) } });
    expect(spoof.status).toBe(CLOSE.TICKET_STALE);
    // A client-sent "new ticket" header is not echoed back by the room.
    const u = await newUser("spoofer");
    const c = await community();
    await addMember(c.communityId, u);
    const res = await exports.default.fetch(
      new Request(`${ORIGIN}/parties/channel-room/${c.channelId}`, {
        headers: { Upgrade: "websocket", origin: ORIGIN, cookie: `woxly_session=${u.token}`, [CONNECT_TICKET_HEADER]: "chosen-by-client" },
      }),
    );
    const s = acceptSocket<ServerFrame>(res.webSocket!);
    const ready = (await s.next("ready")) as Ready;
    expect(ready.ticket?.token).not.toBe("chosen-by-client");
    s.close();
  });

  it("TICKET_STALE is a close code that is not final (the client connects again without the ticket)", () => {
    expect(closeMeaning(CLOSE.TICKET_STALE)).toEqual({ name: "TICKET_STALE", final: false });
    for (const code of [CLOSE.NO_IDENTITY, CLOSE.SESSION_ENDED, CLOSE.ACCESS_LOST, CLOSE.GONE]) expect(closeMeaning(code)?.final).toBe(true);
  });
});

describe("revocation reaches tickets at once", () => {
  it("kick: the open socket closes 4403, the old ticket is refused (stale) and the cookie path says 404", async () => {
    const { owner, member, communityId, channelId } = await community();
    const { socket, ticket } = await firstConnection(channelId, member);
    await ok(204, owner, "POST", `/api/communities/${communityId}/members/${member.id}/kick`, {});
    expect((await socket.waitClosed()).code).toBe(CLOSE.ACCESS_LOST);
    expect((await upgradeWithTicket(channelId, ticket)).status).toBe(CLOSE.TICKET_STALE);
    const byCookie = await exports.default.fetch(
      new Request(`${ORIGIN}/parties/channel-room/${channelId}`, { headers: { Upgrade: "websocket", origin: ORIGIN, cookie: `woxly_session=${member.token}` } }),
    );
    expect(byCookie.status).toBe(404);
  });

  it("ban: the old ticket is refused even when the member had no socket open in that room", async () => {
    const { owner, member, communityId, channelId } = await community();
    const { socket, ticket } = await firstConnection(channelId, member);
    socket.close();
    await sleep(50);
    await ok(204, owner, "PUT", `/api/communities/${communityId}/bans/${member.id}`, {});
    expect((await upgradeWithTicket(channelId, ticket)).status).toBe(CLOSE.TICKET_STALE);
  });

  it("logout: the session's old ticket is refused; another session's ticket still works", async () => {
    const { member, channelId } = await community();
    const second = await newUser("second-session");
    // A second session of the same user, written like newUser writes sessions.
    const otherToken = second.token;
    await env.DB.prepare(`UPDATE sessions SET user_id = ? WHERE user_id = ?`).bind(member.id, second.id).run();
    const mine = await firstConnection(channelId, member);
    const theirs = await firstConnection(channelId, { ...member, token: otherToken });
    await ok(204, member, "POST", "/api/auth/logout");
    expect((await mine.socket.waitClosed()).code).toBe(CLOSE.SESSION_ENDED);
    expect((await upgradeWithTicket(channelId, mine.ticket)).status).toBe(CLOSE.TICKET_STALE);
    theirs.socket.close();
    const ok2 = await upgradeWithTicket(channelId, theirs.ticket);
    expect(ok2.status).toBe(101);
    ok2.socket!.close();
  });

  it("a role taken away: the room re-checks, and tickets issued before it are refused", async () => {
    const { owner, member, communityId, channelId } = await community();
    const insiders = await createRole(owner, communityId, "insiders", P.MANAGE_MESSAGES);
    await ok(204, owner, "PUT", `/api/communities/${communityId}/members/${member.id}/roles/${insiders.id}`);
    // Tickets issued within the room's clock-skew margin (1 s) after a change count as stale too.
    await sleep(1100);
    const { socket, ready, ticket } = await firstConnection(channelId, member);
    expect(BigInt(ready.me.perms) & P.MANAGE_MESSAGES).toBe(P.MANAGE_MESSAGES);
    socket.close();
    await sleep(50);
    // The ticket carries the perms of its check; after the change it must not grant them again.
    await ok(204, owner, "DELETE", `/api/communities/${communityId}/members/${member.id}/roles/${insiders.id}`);
    expect((await upgradeWithTicket(channelId, ticket)).status).toBe(CLOSE.TICKET_STALE);
  });

  it("a ticket to a room that does not know its channel (new or purged) is refused as stale", async () => {
    const { member, channelId } = await community();
    const { socket, ticket } = await firstConnection(channelId, member);
    socket.close();
    await env.ChannelRoom.getByName(channelId).purge();
    expect((await upgradeWithTicket(channelId, ticket)).status).toBe(CLOSE.TICKET_STALE);
  });
});
