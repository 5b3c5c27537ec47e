/**
 * Support desk security (docs/support-desk.md "Security"): a visitor reaches only their own
 * ticket, over HTTP and sockets; parallel "talk to a manager" clicks make one ticket; only
 * allowed websites start visitors; visitor requests are rate-limited; socket tickets cannot be
 * forged, replayed late or moved to another room; a manager who loses the role is refused and
 * disconnected at once.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLOSE } from "../workers/shared/close-codes";
import { SOCKET_TICKET_TTL_MS } from "../workers/shared/desk";
import { signSocketTicket } from "../workers/api/src/lib/desk-sockets";
import { VISITOR_REQUEST_LIMIT, VISITOR_START_LIMIT, visitorStartLimit } from "../workers/api/src/routes/widget";
import { call, client, ok } from "./helpers";
import { eventually } from "./community-fixtures";
import {
  SITE,
  deskFrame,
  makeDesk,
  managerSocket,
  queuedVisitor,
  socketTickets,
  startVisitor,
  tryManagerSocket,
  upgradeWithTicket,
  vcall,
  visitorDeskSocket,
  vok,
} from "./desk-fixtures";

describe("visitors reach their own ticket only", () => {
  it("visitor A with B's ticket id or room gets 404, over HTTP and sockets", async () => {
    const desk = await makeDesk();
    const a = await queuedVisitor(desk.id, "Ann");
    const b = await queuedVisitor(desk.id, "Bob");
    // HTTP: a visitor token opens no member route, and B's room is not A's.
    for (const path of [`/api/channels/${b.channelId}/messages`, `/api/desks/${desk.id}/tickets/${b.ticketId}`]) {
      const r = await vcall(a.v, "GET", path);
      expect([401, 404]).toContain(r.status);
    }
    // A's history is A's conversation, whatever B wrote.
    await vok(200, b.v, "POST", "/api/widget/ask", { question: "secret of B", language: "en" });
    const hist = await vok(200, a.v, "GET", "/api/widget/history");
    expect(JSON.stringify(hist)).not.toContain("secret of B");
    // Sockets: A's room ticket does not open B's room (404), nor does it open the desk socket.
    const ta = await socketTickets(a.v);
    expect((await upgradeWithTicket("channel-room", b.channelId, ta.room!)).status).toBe(404);
    expect((await upgradeWithTicket("support-desk", desk.id, ta.room!)).status).toBe(404);
    // Frames naming B's ticket from A's desk socket: not_found, and the socket stays up.
    const sa = await visitorDeskSocket(a.v);
    expect(await deskFrame(sa, { type: "ticket.close", ticketId: b.ticketId })).toMatchObject({ type: "error", code: "not_found" });
    expect(await deskFrame(sa, { type: "call.start", ticketId: b.ticketId, video: false })).toMatchObject({ type: "error", code: "not_found" });
    expect(sa.closed).toBeNull();
    // B's ticket is untouched.
    expect((await vok(200, b.v, "GET", "/api/widget/me")).ticket.status).toBe("queued");
    sa.close();
  });

  it("a visitor of one desk does not open another desk's socket", async () => {
    const d1 = await makeDesk();
    const d2 = await makeDesk();
    const v = await startVisitor(d1.id);
    const t = await socketTickets(v);
    expect((await upgradeWithTicket("support-desk", d2.id, t.desk)).status).toBe(404);
  });
});

describe("one ticket per request", () => {
  it("ten parallel request-human calls make one queued ticket", async () => {
    const desk = await makeDesk();
    const v = await startVisitor(desk.id);
    const replies = await Promise.all(Array.from({ length: 10 }, () => vcall(v, "POST", "/api/widget/request-human", {})));
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
    const ids = new Set(replies.map((r) => r.body.ticket.id));
    expect(ids.size).toBe(1);
    const rows = (await env.DB.prepare(`SELECT id, status FROM tickets WHERE visitor_id = ?`).bind(v.id).all()).results;
    expect(rows).toEqual([{ id: [...ids][0], status: "queued" }]);
    const channels = (await env.DB.prepare(`SELECT COUNT(*) AS n FROM channels c JOIN tickets t ON t.channel_id = c.id WHERE t.visitor_id = ?`).bind(v.id).first()) as { n: number };
    expect(channels.n).toBe(1);
    expect(replies.every((r) => r.body.queue.position === 1)).toBe(true);
  });

  it("parallel first questions make one ticket too", async () => {
    const desk = await makeDesk();
    const v = await startVisitor(desk.id);
    const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => vcall(v, "POST", "/api/widget/ask", { question: `question ${i}`, language: "en" })));
    expect(new Set(replies.map((r) => r.body.ticket.id)).size).toBe(1);
  });
});

describe("allowed websites, rate limits", () => {
  it("refuses a visitor whose context.origin is not an allowed origin", async () => {
    const desk = await makeDesk();
    const r = await client().fetch(`/api/widget/desks/${desk.id}/visitors`, { method: "POST", json: { context: { origin: "https://evil.example" } } });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("forbidden_origin");
    // The iframe's requests carry Woxly's own Origin: a foreign Origin is refused by the CSRF check.
    const foreign = await client({ origin: "https://evil.example" }).fetch(`/api/widget/desks/${desk.id}/visitors`, { method: "POST", json: { context: { origin: SITE } } });
    expect(foreign.status).toBe(403);
    await foreign.arrayBuffer();
  });

  it("new visitors per address and requests per visitor are rate-limited (429 with Retry-After)", async () => {
    const desk = await makeDesk();
    const ip = "10.99.1.1";
    // The deployment's limit is the default (wrangler.toml keeps WIDGET_VISITOR_START_LIMIT at 10).
    const limit = visitorStartLimit(env);
    expect(limit).toEqual(VISITOR_START_LIMIT);
    expect(limit.max).toBe(10);
    for (let i = 0; i < limit.max; i++) await startVisitor(desk.id, "V", ip);
    const over = await client({ ip }).fetch(`/api/widget/desks/${desk.id}/visitors`, { method: "POST", json: { context: { origin: SITE } } });
    expect(over.status).toBe(429);
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
    await over.arrayBuffer();

    const v = await startVisitor(desk.id);
    for (let i = 0; i < VISITOR_REQUEST_LIMIT.max; i++) expect((await vcall(v, "GET", "/api/widget/me")).status).toBe(200);
    const r = await v.http.fetch("/api/widget/me", { headers: { authorization: `Bearer ${v.token}` } });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    await r.arrayBuffer();
  });

  it("the WIDGET_VISITOR_START_LIMIT var sets the new-visitor limit; anything but a positive integer keeps the default", () => {
    expect(visitorStartLimit({ WIDGET_VISITOR_START_LIMIT: "1000" })).toEqual({ max: 1000, windowMs: VISITOR_START_LIMIT.windowMs });
    for (const bad of [undefined, "", "0", "-3", "2.5", "lots"]) expect(visitorStartLimit({ WIDGET_VISITOR_START_LIMIT: bad })).toEqual(VISITOR_START_LIMIT);
  });

  it("a wrong or missing visitor token is 401", async () => {
    expect((await call(null, "GET", "/api/widget/me")).status).toBe(401);
    const r = await client().fetch("/api/widget/me", { headers: { authorization: `Bearer ${"x".repeat(52)}` } });
    expect(r.status).toBe(401);
    await r.arrayBuffer();
  });
});

describe("socket tickets", () => {
  it("a forged, expired, or re-aimed ticket is refused", async () => {
    const desk = await makeDesk();
    const v = await startVisitor(desk.id);
    const good = (await socketTickets(v)).desk;
    // Forged: another signature, or a payload changed under the old signature.
    const [body, sig] = good.split(".") as [string, string];
    const flipped = `${body}.${sig.startsWith("A") ? "B" : "A"}${sig.slice(1)}`;
    expect((await upgradeWithTicket("support-desk", desk.id, flipped)).status).toBe(404);
    const other = JSON.parse(atob(body.replace(/-/g, "+").replace(/_/g, "/")));
    const forgedBody = btoa(JSON.stringify({ ...other, v: "someoneelse" })).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    expect((await upgradeWithTicket("support-desk", desk.id, `${forgedBody}.${sig}`)).status).toBe(404);
    // Signed with another key.
    const wrongKey = await signSocketTicket("not-the-pepper", { p: "support-desk", r: desk.id, v: v.id });
    expect((await upgradeWithTicket("support-desk", desk.id, wrongKey)).status).toBe(404);
    // Expired: issued longer ago than SOCKET_TICKET_TTL_MS.
    const old = await signSocketTicket(env.PASSWORD_PEPPER, { p: "support-desk", r: desk.id, v: v.id }, Date.now() - SOCKET_TICKET_TTL_MS - 1000);
    expect((await upgradeWithTicket("support-desk", desk.id, old)).status).toBe(404);
    // The genuine one works.
    const r = await upgradeWithTicket("support-desk", desk.id, good);
    expect(r.status).toBe(101);
    r.socket!.close();
  });
});

describe("managers", () => {
  it("a manager who loses the role is refused and their socket closed; their tickets go back to the queue", async () => {
    const desk = await makeDesk({ managers: 1 });
    const m = desk.managers[0]!;
    const s = await managerSocket(m, desk.id);
    const q = await queuedVisitor(desk.id, "Ann");
    expect(await deskFrame(s, { type: "ticket.accept", ticketId: q.ticketId })).toMatchObject({ type: "done" });
    // The admin takes the role away through the real route.
    await ok(204, desk.admin, "DELETE", `/api/communities/${desk.community.id}/members/${m.id}/roles/${desk.managerRoleId}`);
    expect((await s.waitClosed()).code).toBe(CLOSE.ACCESS_LOST);
    expect((await tryManagerSocket(m, desk.id)).status).toBe(404);
    expect((await call(m, "GET", `/api/desks/${desk.id}/tickets`)).status).toBe(404);
    await eventually(async () => expect((await vok(200, q.v, "GET", "/api/widget/me")).ticket.status).toBe("queued"));
  });
});
