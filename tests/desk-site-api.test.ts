/**
 * The site owners' API (routes/site-api.ts): a desk API key from a server (no cookie, no
 * Origin) lists its desk's tickets, reads a transcript and closes a ticket; nothing of any
 * other desk; revoked or wrong keys are 401; a session cookie there is refused.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { TicketPage, TicketResponse, Transcript } from "../workers/shared/desk";
import { sha256Hex } from "../workers/core/crypto";
import { client, ok, type Client } from "./helpers";
import { createDesk, createKey, deskWorld, insertTicket, type DeskWorld } from "./desk-admin-fixtures";
import { SITE, startVisitor, vok } from "./desk-fixtures";

/** A server: no cookies, no Origin. */
const server: Client = client({ origin: null });

async function v1(key: string | null, method: string, path: string, headers: Record<string, string> = {}, via: Client = server) {
  const res = await via.fetch(`/api/v1${path}`, { method, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

let w: DeskWorld;
beforeAll(async () => {
  w = await deskWorld();
});

describe("site owners' API", () => {
  it("lists only its own desk's tickets, newest first, with status filter and paging", async () => {
    const a = await createDesk(w);
    const b = await createDesk(w);
    const ka = await createKey(w.owner, a.id);
    const base = Date.now() - 60_000;
    const mine = [];
    for (let i = 0; i < 5; i++) mine.push(await insertTicket(a.id, { createdAt: base + i * 1000, status: i % 2 ? "closed" : "open", name: `V${i}` }));
    const theirs = await insertTicket(b.id, { createdAt: base + 10_000 });

    const all = TicketPage.parse((await v1(ka.key, "GET", "/tickets")).body);
    expect(all.tickets.map((t) => t.id)).toEqual(mine.map((t) => t.ticketId).reverse());
    expect(all.tickets.map((t) => t.id)).not.toContain(theirs.ticketId);
    expect(all.tickets[0]).toMatchObject({ deskId: a.id, visitor: { name: "V4" } });

    const closed = TicketPage.parse((await v1(ka.key, "GET", "/tickets?status=closed")).body);
    expect(closed.tickets.map((t) => t.id)).toEqual([mine[3]!.ticketId, mine[1]!.ticketId]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = TicketPage.parse((await v1(ka.key, "GET", `/tickets?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)).body);
      expect(page.tickets.length).toBeLessThanOrEqual(2);
      seen.push(...page.tickets.map((t) => t.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.tickets.map((t) => t.id));

    for (const q of ["?status=nope", "?limit=0", "?limit=101", "?cursor=garbage"]) {
      const r = await v1(ka.key, "GET", `/tickets${q}`);
      expect([r.status, r.body.error.code], q).toEqual([400, "validation_failed"]);
    }
  });

  it("reads a transcript of its desk; another desk's ticket is 404", async () => {
    const a = await createDesk(w);
    const b = await createDesk(w);
    const ka = await createKey(w.owner, a.id);
    const kb = await createKey(w.owner, b.id);
    const t = await insertTicket(a.id, { status: "closed", lines: ["My order is late", "It ships today", "Thanks!"] });
    const tr = Transcript.parse((await v1(ka.key, "GET", `/tickets/${t.ticketId}`)).body);
    expect(tr.ticket.id).toBe(t.ticketId);
    expect(tr.lines.map((l) => [l.seq, l.author.kind, l.content])).toEqual([
      [1, "visitor", "My order is late"],
      [2, "manager", "It ships today"],
      [3, "visitor", "Thanks!"],
    ]);
    // Search over transcripts.
    const found = TicketPage.parse((await v1(ka.key, "GET", `/tickets?q=${encodeURIComponent("ships today")}`)).body);
    expect(found.tickets.map((x) => x.id)).toEqual([t.ticketId]);
    // The other desk's key sees nothing of it, exactly like an unknown ticket.
    const foreign = await v1(kb.key, "GET", `/tickets/${t.ticketId}`);
    const unknown = await v1(kb.key, "GET", `/tickets/0000000000000000000000000z`);
    expect([foreign.status, foreign.body]).toEqual([unknown.status, unknown.body]);
    expect(foreign.status).toBe(404);
    expect((await v1(kb.key, "POST", `/tickets/${t.ticketId}/close`)).status).toBe(404);
    expect((await v1(kb.key, "GET", `/tickets?q=${encodeURIComponent("ships today")}`)).body.tickets).toEqual([]);
  });

  it("closes a live ticket: the transcript is kept; closing again changes nothing", async () => {
    const d = await createDesk(w, { allowedOrigins: [SITE] });
    const k = await createKey(w.owner, d.id);
    const visitor = await startVisitor(d.id, "Aida");
    const asked = await vok(200, visitor, "POST", "/api/widget/ask", { question: "Where is my parcel?", language: "en" });
    const ticketId: string = asked.ticket.id;
    const closed = TicketResponse.parse((await v1(k.key, "POST", `/tickets/${ticketId}/close`)).body);
    expect(closed.ticket).toMatchObject({ id: ticketId, status: "closed" });
    expect(closed.ticket.closedAt).not.toBeNull();
    const tr = Transcript.parse((await v1(k.key, "GET", `/tickets/${ticketId}`)).body);
    expect(tr.lines.some((l) => l.author.kind === "visitor" && l.content === "Where is my parcel?")).toBe(true);
    const again = TicketResponse.parse((await v1(k.key, "POST", `/tickets/${ticketId}/close`)).body);
    expect(again.ticket.closedAt).toBe(closed.ticket.closedAt);
    const row = await env.DB.prepare(`SELECT status FROM tickets WHERE id = ?`).bind(ticketId).first<{ status: string }>();
    expect(row!.status).toBe("closed");
  });

  it("only a live key of the desk opens it: none, malformed, wrong and revoked keys are 401", async () => {
    const d = await createDesk(w);
    const k = await createKey(w.owner, d.id);
    const t = await insertTicket(d.id);
    expect((await v1(k.key, "GET", `/tickets/${t.ticketId}`)).status).toBe(200);
    const wrong = `wxk_${"a".repeat(52)}`;
    for (const auth of [null, wrong, k.key.toUpperCase(), `${k.key}x`, k.key.slice(0, -1)]) {
      const r = await v1(auth, "GET", "/tickets");
      expect([r.status, r.body.error.code], String(auth)).toEqual([401, "unauthorized"]);
      expect(r.headers.get("www-authenticate")).toContain("Bearer");
    }
    // The scheme is case-insensitive (RFC 9110); the key is not.
    expect((await server.fetch("/api/v1/tickets", { headers: { authorization: `bearer ${k.key}` } })).status).toBe(200);
    for (const header of [`Basic ${btoa("x:y")}`, `Bearer ${k.key.slice(4)}`, `Bearer  ${k.key}`, `Bearer ${k.key},${k.key}`]) {
      const res = await server.fetch("/api/v1/tickets", { headers: { authorization: header } });
      expect(res.status, header).toBe(401);
    }
    await ok(204, w.owner, "DELETE", `/api/desks/${d.id}/keys/${k.id}`);
    for (const [m, p] of [["GET", "/tickets"], ["GET", `/tickets/${t.ticketId}`], ["POST", `/tickets/${t.ticketId}/close`]] as const) {
      expect((await v1(k.key, m, p)).status, `${m} ${p}`).toBe(401);
    }
  });

  it("needs no Origin, refuses a session cookie, and records when a key was last used", async () => {
    const d = await createDesk(w);
    const k = await createKey(w.owner, d.id);
    expect((await v1(k.key, "POST", `/tickets/0000000000000000000000000z/close`)).status).toBe(404);
    // The owner's browser session, with or without the key, never works there.
    const withCookie = await v1(k.key, "GET", "/tickets", {}, w.owner.http);
    expect([withCookie.status, withCookie.body.error.code]).toEqual([403, "forbidden"]);
    const cookieOnly = await v1(null, "GET", "/tickets", {}, w.owner.http);
    expect(cookieOnly.status).toBe(403);
    const httpsCookie = await v1(k.key, "GET", "/tickets", { cookie: `__Host-woxly_session=${w.owner.token}` });
    expect(httpsCookie.status).toBe(403);
    // A foreign Origin does not matter to a key (servers send none; a page's script would not have one).
    expect((await v1(k.key, "GET", "/tickets", { origin: "https://evil.example" })).status).toBe(200);
    const row = await env.DB.prepare(`SELECT last_used_at, key_hash FROM desk_api_keys WHERE id = ?`).bind(k.id).first<{ last_used_at: number | null; key_hash: string }>();
    expect(row!.last_used_at).toBeGreaterThan(Date.now() - 10_000);
    expect(row!.key_hash).toBe(await sha256Hex(k.key));
    const listed = (await ok(200, w.owner, "GET", `/api/desks/${d.id}/keys`)) as { keys: { id: string; lastUsedAt: number | null }[] };
    expect(listed.keys.find((x) => x.id === k.id)!.lastUsedAt).toBe(row!.last_used_at);
    expect(JSON.stringify(listed)).not.toContain(k.key.slice(4));
  });
});
