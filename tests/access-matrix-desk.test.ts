/**
 * The support desk's access matrix: every ticket route, socket, frame and call token of the
 * desk (docs/support-desk.md) × every kind of caller → the expected status, from one table.
 *
 * Callers: admin (the owner: MANAGE_COMMUNITY), assignee (a manager holding the ticket),
 * manager (holds the desk's manager role, not the ticket), member (of the community, without
 * the role), outsider (no member), kicked (a manager kicked through the real route), visitor A
 * (the ticket's own visitor), visitor B (another visitor of the same desk, with a ticket of
 * their own), none (no credentials). Visitors carry only their Bearer token (no cookie), so
 * every member route answers them 401; members carry no visitor token. What a caller may not
 * see answers 404, as for what does not exist. The number of cases is checked at the end.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type Reply, call, newUser, ok, type User } from "./helpers";
import { addMember } from "./chat-fixtures";
import {
  type Visitor,
  deskFrame,
  makeDesk,
  managerSocket,
  queuedVisitor,
  socketTickets,
  tryManagerSocket,
  upgradeWithTicket,
  vcall,
  visitorDeskSocket,
  type TestDesk,
} from "./desk-fixtures";
import { exports } from "cloudflare:workers";
import { ORIGIN } from "./helpers";

const CALLERS = ["admin", "assignee", "manager", "member", "outsider", "kicked", "visitorA", "visitorB", "none"] as const;
type Caller = (typeof CALLERS)[number];

interface World {
  desk: TestDesk;
  users: Partial<Record<Caller, User>>;
  visitors: { visitorA: Visitor; visitorB: Visitor };
  ticketId: string;
  channelId: string;
  /** A fresh open ticket of visitor A's desk for each destructive case. */
  freshTicket(): Promise<{ ticketId: string }>;
}

let w: World;

beforeAll(async () => {
  const desk = await makeDesk({ managers: 3, capacity: 20 });
  const [assignee, manager, kicked] = desk.managers as [User, User, User];
  const member = await newUser("member");
  await addMember(desk.community, member);
  const outsider = await newUser("outsider");
  const a = await queuedVisitor(desk.id, "Ann");
  const b = await queuedVisitor(desk.id, "Bob");
  const s = await managerSocket(assignee, desk.id);
  expect(await deskFrame(s, { type: "ticket.accept", ticketId: a.ticketId })).toMatchObject({ type: "done" });
  // A ringing call in A's ticket, so call tokens are possible at all.
  const vd = await visitorDeskSocket(a.v);
  expect(await deskFrame(vd, { type: "call.start", ticketId: a.ticketId, video: false })).toMatchObject({ type: "done" });
  vd.close();
  // The kicked manager: kicked through the real route (their desk access goes with it).
  await ok(204, desk.admin, "POST", `/api/communities/${desk.community.id}/members/${kicked.id}/kick`, {});
  const freshTicket = async () => {
    const t = await queuedVisitor(desk.id, "Fresh");
    expect(await deskFrame(s, { type: "ticket.accept", ticketId: t.ticketId })).toMatchObject({ type: "done" });
    return { ticketId: t.ticketId };
  };
  w = {
    desk,
    users: { admin: desk.admin, assignee, manager, member, outsider, kicked },
    visitors: { visitorA: a.v, visitorB: b.v },
    ticketId: a.ticketId,
    channelId: a.channelId,
    freshTicket,
  };
});

/** One request as a caller: members by cookie, visitors by Bearer token, `none` with nothing. */
async function as(caller: Caller, method: string, path: string, json?: unknown): Promise<Reply> {
  if (caller === "visitorA" || caller === "visitorB") return vcall(w.visitors[caller], method, path, json ?? (method === "GET" ? undefined : {}));
  return call(caller === "none" ? null : w.users[caller]!, method, path, json ?? (method === "GET" ? undefined : {}));
}

/** Expected status per caller, from who may: `managers` (every manager and the admin), `assignee` (+ admin), `assigneeOnly`. */
function expected(who: "managers" | "assignee" | "assigneeOnly", caller: Caller, ok: number): number {
  if (caller === "visitorA" || caller === "visitorB" || caller === "none") return 401;
  if (caller === "member" || caller === "outsider" || caller === "kicked") return 404;
  if (who === "managers") return ok;
  if (who === "assignee") return caller === "manager" ? 403 : ok;
  return caller === "assignee" ? ok : 404;
}

type Case = { name: string; who: "managers" | "assignee" | "assigneeOnly"; ok: number; run: (c: Caller) => Promise<Reply> };

const ROUTES: Case[] = [
  { name: "GET tickets", who: "managers", ok: 200, run: (c) => as(c, "GET", `/api/desks/${w.desk.id}/tickets`) },
  { name: "GET ticket transcript", who: "managers", ok: 200, run: (c) => as(c, "GET", `/api/desks/${w.desk.id}/tickets/${w.ticketId}`) },
  { name: "GET stats", who: "managers", ok: 200, run: (c) => as(c, "GET", `/api/desks/${w.desk.id}/stats`) },
  { name: "GET the ticket room's messages", who: "managers", ok: 200, run: (c) => as(c, "GET", `/api/channels/${w.channelId}/messages`) },
  {
    name: "POST close (fresh ticket)",
    who: "managers",
    ok: 200,
    run: async (c) => as(c, "POST", `/api/desks/${w.desk.id}/tickets/${(await w.freshTicket()).ticketId}/close`),
  },
  {
    name: "POST transfer (to the assignee itself)",
    who: "assignee",
    ok: 200,
    run: (c) => as(c, "POST", `/api/desks/${w.desk.id}/tickets/${w.ticketId}/transfer`, { toUserId: w.users.assignee!.id }),
  },
  { name: "POST manager call-token", who: "assigneeOnly", ok: 200, run: (c) => as(c, "POST", `/api/desks/${w.desk.id}/tickets/${w.ticketId}/call-token`) },
];

/** Visitor routes: visitors reach their own ticket only; members and no-auth get 401. */
function visitorExpected(caller: Caller, ok: number): number {
  return caller === "visitorA" || caller === "visitorB" ? ok : 401;
}
const VISITOR_ROUTES: { name: string; status: (c: Caller) => number; run: (c: Caller) => Promise<Reply> }[] = [
  { name: "GET /widget/me", status: (c) => visitorExpected(c, 200), run: (c) => as(c, "GET", "/api/widget/me") },
  { name: "GET /widget/history", status: (c) => visitorExpected(c, 200), run: (c) => as(c, "GET", "/api/widget/history") },
  { name: "POST /widget/sockets", status: (c) => visitorExpected(c, 200), run: (c) => as(c, "POST", "/api/widget/sockets") },
  // Only A's ticket has a call; B's (queued) has none.
  { name: "POST /widget/call-token", status: (c) => (c === "visitorA" ? 200 : c === "visitorB" ? 404 : 401), run: (c) => as(c, "POST", "/api/widget/call-token") },
];

/** Socket upgrades: the desk socket and A's ticket room. */
async function upgradeAs(caller: Caller, party: "support-desk" | "channel-room"): Promise<number> {
  const room = party === "support-desk" ? w.desk.id : w.channelId;
  if (caller === "visitorA" || caller === "visitorB") {
    const t = await socketTickets(w.visitors[caller]);
    // Each visitor uses the ticket the API gave them for that party (B's names B's own room).
    const ticket = party === "support-desk" ? t.desk : t.room!;
    const r = await upgradeWithTicket(party, room, ticket);
    r.socket?.close();
    return r.status;
  }
  if (caller === "none") {
    const res = await exports.default.fetch(new Request(`${ORIGIN}/parties/${party}/${room}`, { headers: { Upgrade: "websocket", origin: ORIGIN } }));
    await res.arrayBuffer();
    return res.status;
  }
  if (party === "support-desk") {
    const r = await tryManagerSocket(w.users[caller]!, room);
    r.socket?.close();
    return r.status;
  }
  const res = await exports.default.fetch(
    new Request(`${ORIGIN}/parties/${party}/${room}`, { headers: { Upgrade: "websocket", origin: ORIGIN, cookie: `woxly_session=${w.users[caller]!.token}` } }),
  );
  if (res.webSocket) {
    res.webSocket.accept();
    res.webSocket.close(1000, "done");
  } else await res.arrayBuffer();
  return res.status;
}
function socketExpected(caller: Caller, party: "support-desk" | "channel-room"): number {
  if (caller === "none") return 401;
  if (caller === "member" || caller === "outsider" || caller === "kicked") return 404;
  if (caller === "visitorB") return party === "support-desk" ? 101 : 404;
  return 101;
}

let checked = 0;

describe("desk access matrix", () => {
  for (const r of ROUTES) {
    for (const c of CALLERS) {
      it(`${r.name} as ${c}`, async () => {
        const res = await r.run(c);
        expect(res.status, JSON.stringify(res.body)).toBe(expected(r.who, c, r.ok));
        if (res.status === 404) expect(res.body.error.code).toBe("not_found");
        checked++;
      });
    }
  }
  for (const r of VISITOR_ROUTES) {
    for (const c of CALLERS) {
      it(`${r.name} as ${c}`, async () => {
        const res = await r.run(c);
        expect(res.status, JSON.stringify(res.body)).toBe(r.status(c));
        checked++;
      });
    }
  }
  for (const party of ["support-desk", "channel-room"] as const) {
    for (const c of CALLERS) {
      it(`socket ${party} as ${c}`, async () => {
        expect(await upgradeAs(c, party)).toBe(socketExpected(c, party));
        checked++;
      });
    }
  }

  it("frames on A's ticket from visitor B, and managers' frames from a visitor, are refused; the socket stays up", async () => {
    const sb = await visitorDeskSocket(w.visitors.visitorB);
    for (const f of [
      { type: "ticket.close", ticketId: w.ticketId },
      { type: "call.start", ticketId: w.ticketId, video: true },
      { type: "call.answer", ticketId: w.ticketId, accept: true },
      { type: "call.end", ticketId: w.ticketId },
    ]) {
      expect(await deskFrame(sb, f)).toMatchObject({ type: "error", code: "not_found" });
      checked++;
    }
    for (const f of [{ type: "ticket.accept", ticketId: w.ticketId }, { type: "ticket.transfer", ticketId: w.ticketId, toUserId: w.users.manager!.id }, { type: "status.set", available: true }]) {
      expect(await deskFrame(sb, f)).toMatchObject({ type: "error", code: "forbidden" });
      checked++;
    }
    expect(sb.closed).toBeNull();
    sb.close();
  });

  it("a manager who does not hold the ticket cannot touch its call; the admin cannot take it from the queue past capacity rules of others", async () => {
    const sm = await managerSocket(w.users.manager!, w.desk.id);
    expect(await deskFrame(sm, { type: "call.end", ticketId: w.ticketId })).toMatchObject({ type: "error", code: "not_found" });
    expect(await deskFrame(sm, { type: "ticket.transfer", ticketId: w.ticketId, toUserId: w.users.manager!.id })).toMatchObject({ type: "error", code: "forbidden" });
    checked += 2;
    sm.close();
  });

  it(`checked every case (${ROUTES.length + VISITOR_ROUTES.length} routes + 2 sockets) × ${CALLERS.length} callers + 9 frames`, () => {
    expect(checked).toBe((ROUTES.length + VISITOR_ROUTES.length + 2) * CALLERS.length + 9);
  });
});
