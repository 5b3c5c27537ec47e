/**
 * The access matrix of desk administration and the site owners' API: every route of
 * routes/desks.ts × every kind of caller, and every route of routes/site-api.ts × every kind
 * of credential → the expected status, from a route list and one expectation function each.
 *
 * Callers (relation to community A, whose desk is worked on): admin (MANAGE_COMMUNITY role),
 * manager (holds the desk's manager role), member (neither), outsider (admin of community B
 * only), kicked admin (was A's admin, kicked), anonymous. Ids are A's; "mixed" rows use A's
 * desk with a sub-resource (entry, reply, key) of B's desk, the IDOR probe: 404 for everyone.
 *
 * Credentials of the site API: none, a well-formed unknown key, a revoked key, the key of
 * another desk, the desk's own key, and a session cookie (refused whatever it carries).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { P } from "../workers/shared/permissions";
import { addMember, createRole } from "./community-fixtures";
import { call, client, newUser, ok, type User } from "./helpers";
import { createDesk, createKey, deskWorld, insertTicket, type DeskWorld } from "./desk-admin-fixtures";

const CALLERS = ["admin", "manager", "member", "outsider", "kicked admin", "anonymous"] as const;
type Caller = (typeof CALLERS)[number];
type Need = "admin" | "manager" | "member";

interface Ids {
  deskId: string;
  entryId: string;
  replyId: string;
  keyId: string;
}

interface Row {
  name: string;
  need: Need;
  /** Success status. */
  okStatus: number;
  /** Builds the request against fresh ids (each case gets its own desk, so deletes do not leak). */
  req: (ids: Ids, foreign: Ids, communityId: string) => { method: string; path: string; body?: unknown };
  /** Sub-resource of another desk: not found for everyone who gets that far. */
  mixed?: boolean;
  /** The desk itself is community B's: invisible to every caller but B's admin (the outsider). */
  foreignDesk?: boolean;
}

const ROWS: Row[] = [
  { name: "create desk", need: "admin", okStatus: 201, req: (_i, _f, c) => ({ method: "POST", path: `/api/communities/${c}/desks`, body: { name: "New" } }) },
  { name: "list desks", need: "member", okStatus: 200, req: (_i, _f, c) => ({ method: "GET", path: `/api/communities/${c}/desks` }) },
  { name: "read desk", need: "manager", okStatus: 200, req: (i) => ({ method: "GET", path: `/api/desks/${i.deskId}` }) },
  { name: "edit desk", need: "admin", okStatus: 200, req: (i) => ({ method: "PATCH", path: `/api/desks/${i.deskId}`, body: { name: "Edited" } }) },
  { name: "delete desk", need: "admin", okStatus: 204, req: (i) => ({ method: "DELETE", path: `/api/desks/${i.deskId}` }) },
  { name: "managers", need: "manager", okStatus: 200, req: (i) => ({ method: "GET", path: `/api/desks/${i.deskId}/managers` }) },
  { name: "list kb", need: "manager", okStatus: 200, req: (i) => ({ method: "GET", path: `/api/desks/${i.deskId}/kb` }) },
  { name: "add kb", need: "manager", okStatus: 201, req: (i) => ({ method: "POST", path: `/api/desks/${i.deskId}/kb`, body: { language: "en", question: "Why?", answer: "Because." } }) },
  { name: "edit kb", need: "manager", okStatus: 200, req: (i) => ({ method: "PUT", path: `/api/desks/${i.deskId}/kb/${i.entryId}`, body: { language: "en", question: "Why not?", answer: "No." } }) },
  { name: "delete kb", need: "manager", okStatus: 204, req: (i) => ({ method: "DELETE", path: `/api/desks/${i.deskId}/kb/${i.entryId}` }) },
  { name: "edit kb (B's entry)", need: "manager", okStatus: 404, mixed: true, req: (i, f) => ({ method: "PUT", path: `/api/desks/${i.deskId}/kb/${f.entryId}`, body: { language: "en", question: "Why not?", answer: "No." } }) },
  { name: "delete kb (B's entry)", need: "manager", okStatus: 404, mixed: true, req: (i, f) => ({ method: "DELETE", path: `/api/desks/${i.deskId}/kb/${f.entryId}` }) },
  { name: "list canned", need: "manager", okStatus: 200, req: (i) => ({ method: "GET", path: `/api/desks/${i.deskId}/canned` }) },
  { name: "add canned", need: "manager", okStatus: 201, req: (i) => ({ method: "POST", path: `/api/desks/${i.deskId}/canned`, body: { shortcut: "new", text: "New" } }) },
  { name: "delete canned", need: "manager", okStatus: 204, req: (i) => ({ method: "DELETE", path: `/api/desks/${i.deskId}/canned/${i.replyId}` }) },
  { name: "delete canned (B's reply)", need: "manager", okStatus: 404, mixed: true, req: (i, f) => ({ method: "DELETE", path: `/api/desks/${i.deskId}/canned/${f.replyId}` }) },
  { name: "list keys", need: "admin", okStatus: 200, req: (i) => ({ method: "GET", path: `/api/desks/${i.deskId}/keys` }) },
  { name: "create key", need: "admin", okStatus: 201, req: (i) => ({ method: "POST", path: `/api/desks/${i.deskId}/keys`, body: { name: "k" } }) },
  { name: "revoke key", need: "admin", okStatus: 204, req: (i) => ({ method: "DELETE", path: `/api/desks/${i.deskId}/keys/${i.keyId}` }) },
  { name: "revoke key (B's key)", need: "admin", okStatus: 404, mixed: true, req: (i, f) => ({ method: "DELETE", path: `/api/desks/${i.deskId}/keys/${f.keyId}` }) },
  { name: "read B's desk", need: "admin", okStatus: 404, mixed: true, foreignDesk: true, req: (_i, f) => ({ method: "GET", path: `/api/desks/${f.deskId}` }) },
];

/** The expected status of `caller` on `row`. */
function expected(row: Row, caller: Caller): number {
  if (caller === "anonymous") return 401;
  // The outsider administers community B: B's desk is theirs, A's is invisible.
  if (row.foreignDesk) return caller === "outsider" ? 200 : 404;
  if (caller === "outsider" || caller === "kicked admin") return 404;
  // Desks a caller cannot work are invisible (404); on a desk they can see, a manager who is not an admin is forbidden (403).
  const level = { admin: 3, manager: 2, member: 1 }[caller];
  const needed = { admin: 3, manager: 2, member: 1 }[row.need];
  if (level >= needed) return row.okStatus;
  if (row.name === "create desk") return 403; // a member of the community asking for what they may not do
  if (caller === "manager") return 403;
  return 404;
}

interface World {
  w: DeskWorld;
  kicked: User;
  callers: Record<Caller, User | null>;
  foreign: Ids;
}

let world: World;

async function freshIds(w: DeskWorld): Promise<Ids> {
  const desk = await createDesk(w);
  const entry = await ok(201, w.owner, "POST", `/api/desks/${desk.id}/kb`, { language: "en", question: "How?", answer: "Like this." });
  const reply = await ok(201, w.owner, "POST", `/api/desks/${desk.id}/canned`, { shortcut: "hi", text: "Hello" });
  const key = await createKey(w.owner, desk.id);
  return { deskId: desk.id, entryId: entry.id, replyId: reply.id, keyId: key.id };
}

beforeAll(async () => {
  const w = await deskWorld();
  const b = await deskWorld();
  // The outsider administers community B only.
  const outsiderRole = await createRole(b.owner, b.communityId, "Admins 2", P.MANAGE_COMMUNITY);
  await addMember(b.communityId, w.outsider, [outsiderRole.id]);
  const kicked = await newUser("kicked");
  await addMember(w.communityId, kicked, [w.adminRoleId]);
  await ok(204, w.owner, "POST", `/api/communities/${w.communityId}/members/${kicked.id}/kick`, {});
  world = {
    w,
    kicked,
    callers: { admin: w.admin, manager: w.manager, member: w.member, outsider: w.outsider, "kicked admin": kicked, anonymous: null },
    foreign: await freshIds(b),
  };
});

describe("desk administration × callers", () => {
  let cases = 0;
  for (const row of ROWS) {
    it(row.name, async () => {
      for (const caller of CALLERS) {
        const ids = await freshIds(world.w);
        const { method, path, body } = row.req(ids, world.foreign, world.w.communityId);
        const r = await call(world.callers[caller], method, path, body ?? (method === "GET" || method === "DELETE" ? undefined : {}));
        expect(r.status, `${row.name} as ${caller}: ${JSON.stringify(r.body)}`).toBe(expected(row, caller));
        cases++;
      }
    });
  }
  it("covered every route × caller", () => {
    expect(cases).toBe(ROWS.length * CALLERS.length);
  });
});

describe("site owners' API × credentials", () => {
  const CREDS = ["none", "unknown key", "revoked key", "other desk's key", "own key", "session cookie"] as const;
  type Cred = (typeof CREDS)[number];
  const ROUTES = [
    { name: "list", method: "GET", path: () => "/api/v1/tickets" },
    { name: "transcript", method: "GET", path: (t: string) => `/api/v1/tickets/${t}` },
    { name: "close", method: "POST", path: (t: string) => `/api/v1/tickets/${t}/close` },
  ] as const;

  function expectedApi(route: (typeof ROUTES)[number]["name"], cred: Cred): number {
    switch (cred) {
      case "none":
      case "unknown key":
      case "revoked key":
        return 401;
      case "session cookie":
        return 403;
      case "other desk's key":
        return route === "list" ? 200 : 404;
      case "own key":
        return 200;
    }
  }

  it("every route × credential", async () => {
    const { w } = world;
    let cases = 0;
    for (const route of ROUTES) {
      for (const cred of CREDS) {
        const desk = await createDesk(w);
        const other = await createDesk(w);
        const own = await createKey(w.owner, desk.id);
        const otherKey = await createKey(w.owner, other.id);
        const revoked = await createKey(w.owner, desk.id);
        await ok(204, w.owner, "DELETE", `/api/desks/${desk.id}/keys/${revoked.id}`);
        const t = await insertTicket(desk.id, { status: "closed", lines: ["hi"] });
        const key = { none: null, "unknown key": `wxk_${"b".repeat(52)}`, "revoked key": revoked.key, "other desk's key": otherKey.key, "own key": own.key, "session cookie": own.key }[cred];
        const via = cred === "session cookie" ? w.admin.http : client({ origin: null });
        const res = await via.fetch(route.path(t.ticketId), { method: route.method, headers: key ? { authorization: `Bearer ${key}` } : {} });
        const text = await res.text();
        expect(res.status, `${route.name} with ${cred}: ${text}`).toBe(expectedApi(route.name, cred));
        if (route.name === "list" && cred === "other desk's key") expect(JSON.parse(text).tickets).toEqual([]);
        cases++;
      }
    }
    expect(cases).toBe(ROUTES.length * CREDS.length);
  });
});
