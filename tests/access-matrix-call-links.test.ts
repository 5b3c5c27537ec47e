/**
 * The call-link access matrix: every route, socket and token of a link × who asks — its host,
 * a member let in, a member never let in, a guest let in, a guest of another link, a guest
 * still waiting when the link was locked, a forged guest cookie, nobody — on a live, locked
 * link; and the same people on an ended link. Each cell is the status the rules promise.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { randomToken } from "../workers/shared/ids";
import { client, newUser, type Client, type User } from "./helpers";
import { type Guest, cookieOf, guestJoin, makeLink, send, tokenOf, upgrade } from "./call-link-fixtures";
import type { CallLink } from "../workers/shared/call-links";
import { ApiError } from "../workers/shared/errors";
import { type CallActor, type CallAdmission, canJoinCallLink } from "../workers/core/policy";

type Op = "preview" | "patch" | "guests" | "token" | "history" | "callSocket" | "chatSocket";
const OPS: Op[] = ["preview", "patch", "guests", "token", "history", "callSocket", "chatSocket"];

interface Actor {
  http: Client;
  cookie: string | null;
}

async function attempt(a: Actor, l: CallLink, op: Op): Promise<number> {
  switch (op) {
    case "preview":
      return (await send(a.http, "GET", `/api/calls/${l.code}`)).status;
    case "patch":
      return (await send(a.http, "PATCH", `/api/calls/${l.code}`, { title: "t" })).status;
    case "guests":
      return (await send(a.http, "POST", `/api/calls/${l.code}/guests`, { name: "Again" })).status;
    case "token":
      return (await send(a.http, "POST", `/api/calls/${l.code}/token`)).status;
    case "history":
      return (await send(a.http, "GET", `/api/calls/${l.code}/history`)).status;
    case "callSocket":
    case "chatSocket": {
      const r = await upgrade(op === "callSocket" ? `/parties/call-link/${l.id}` : `/parties/channel-room/${l.channelId}`, a.cookie);
      r.socket?.close();
      return r.status;
    }
  }
}

const actorOf = (who: User | Guest): Actor => ({ http: who.http, cookie: cookieOf(who) });
const forged = (): Actor => {
  const c = client();
  const token = randomToken(256);
  c.cookies.set("woxly_guest", token);
  return { http: c, cookie: `woxly_guest=${token}` };
};

//                      preview patch guests token history callSocket chatSocket
const LIVE: Record<string, number[]> = {
  host: [200, 200, 403, 200, 200, 101, 101],
  memberIn: [200, 403, 403, 200, 200, 101, 101],
  memberNew: [200, 403, 403, 403, 404, 403, 404],
  guestIn: [200, 403, 403, 200, 200, 101, 101],
  guestOther: [200, 403, 403, 404, 404, 404, 404],
  guestWaiting: [200, 403, 403, 403, 404, 403, 404],
  forged: [200, 403, 403, 401, 401, 401, 401],
  nobody: [200, 403, 403, 401, 401, 401, 401],
};
const ENDED: Record<string, number[]> = {
  host: [200, 409, 404, 404, 200, 404, 101],
  guestIn: [200, 403, 404, 404, 404, 404, 404],
  nobody: [200, 403, 404, 401, 401, 401, 401],
};

describe("call-link access matrix", () => {
  const actors: Record<string, Actor> = {};
  const ended: Record<string, Actor> = {};
  let live: CallLink;
  let over: CallLink;

  beforeAll(async () => {
    const host = await newUser("host");
    live = await makeLink(host);
    const other = await makeLink(await newUser());
    const memberIn = await newUser();
    expect((await tokenOf(memberIn, live.code)).status).toBe(200);
    const guestIn = await guestJoin(live.code, "In");
    await send(host.http, "PATCH", `/api/calls/${live.code}`, { lobby: true });
    const guestWaiting = await guestJoin(live.code, "Waiting");
    await send(host.http, "PATCH", `/api/calls/${live.code}`, { lobby: false, locked: true });
    Object.assign(actors, {
      host: actorOf(host),
      memberIn: actorOf(memberIn),
      memberNew: actorOf(await newUser()),
      guestIn: actorOf(guestIn),
      guestOther: actorOf(await guestJoin(other.code, "Other")),
      guestWaiting: actorOf(guestWaiting),
      forged: forged(),
      nobody: { http: client(), cookie: null },
    });

    over = await makeLink(host);
    const g = await guestJoin(over.code, "Was here");
    expect((await send(host.http, "DELETE", `/api/calls/${over.code}`)).status).toBe(200);
    Object.assign(ended, { host: actorOf(host), guestIn: actorOf(g), nobody: { http: client(), cookie: null } });
  });

  for (const [who, row] of Object.entries(LIVE)) {
    it(`a live, locked link: ${who}`, async () => {
      const got: number[] = [];
      for (const op of OPS) got.push(await attempt(actors[who]!, live, op));
      expect(Object.fromEntries(OPS.map((o, i) => [o, got[i]]))).toEqual(Object.fromEntries(OPS.map((o, i) => [o, row[i]])));
    });
  }

  for (const [who, row] of Object.entries(ENDED)) {
    it(`an ended link: ${who}`, async () => {
      const got: number[] = [];
      for (const op of OPS) got.push(await attempt(ended[who]!, over, op));
      expect(Object.fromEntries(OPS.map((o, i) => [o, got[i]]))).toEqual(Object.fromEntries(OPS.map((o, i) => [o, row[i]])));
    });
  }
});

describe("canJoinCallLink, every combination against a separately written reference", () => {
  type Adm = CallAdmission | null;
  /** The rules as docs/call-links.md states them, written out case by case. */
  function reference(who: "host" | "member" | "guest" | "foreignGuest", s: { locked: boolean; lobby: boolean; requireAccount: boolean; ended: boolean }, adm: Adm): string {
    if (s.ended) return "not_found";
    if (who === "foreignGuest") return "not_found";
    if (who === "guest" && s.requireAccount) return "forbidden";
    if (who === "host") return "admitted";
    if (adm === "refused") return "forbidden";
    if (adm === "admitted") return "admitted";
    if (s.locked) return "forbidden";
    return s.lobby ? "waiting" : "admitted";
  }
  it("agrees on all 4 × 16 × 4 cases", () => {
    const bools = [false, true];
    let n = 0;
    for (const who of ["host", "member", "guest", "foreignGuest"] as const)
      for (const locked of bools)
        for (const lobby of bools)
          for (const requireAccount of bools)
            for (const ended of bools)
              for (const adm of [null, "admitted", "waiting", "refused"] as Adm[]) {
                const link = { id: "L", hostId: "H", locked, lobby, requireAccount, endedAt: ended ? 1 : null };
                const actor: CallActor =
                  who === "host" ? { kind: "member", userId: "H" } : who === "member" ? { kind: "member", userId: "M" } : { kind: "guest", guestId: "G", linkId: who === "guest" ? "L" : "OTHER" };
                let got: string;
                try {
                  got = canJoinCallLink(actor, link, adm);
                } catch (e) {
                  got = e instanceof ApiError ? e.code : String(e);
                }
                expect(got, JSON.stringify({ who, locked, lobby, requireAccount, ended, adm })).toBe(reference(who, { locked, lobby, requireAccount, ended }, adm));
                n++;
              }
    expect(n).toBe(256);
  });
});
