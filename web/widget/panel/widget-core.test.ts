/**
 * WidgetCore: the visitor token lives in storage per desk and a reload continues the ticket;
 * a token the server forgot starts afresh; the first question makes the visitor; "talk to a
 * manager" with nobody available turns to the leave-a-message form; desk frames move the
 * queue, the ticket and calls; every socket (re)connect asks for a fresh signed ticket.
 * The server is a fake fetch answering the visitor API's shapes; sockets are fakes.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AssistantAnswer, Ticket, WidgetConfig } from "$shared/desk";
import { fakeSockets } from "$lib/realtime/fake-socket";
import { WidgetApi } from "./api";
import { WidgetCore, managersAvailable, screenOf, type PanelState } from "./widget-core";

const config = (over: Partial<WidgetConfig> = {}): WidgetConfig => ({
  deskId: "d1",
  name: "Help",
  greeting: "Hi",
  colour: "#5865f2",
  open: true,
  managersOnline: 1,
  allowedOrigins: ["https://shop.example"],
  ...over,
});

const ticket = (over: Partial<Ticket> = {}): Ticket => ({
  id: "t1",
  deskId: "d1",
  channelId: "c1",
  status: "assistant",
  visitor: { name: "Visitor", email: null, pageUrl: null, language: "en", timeZone: null },
  assigneeId: null,
  createdAt: 1,
  requestedAt: null,
  acceptedAt: null,
  firstResponseAt: null,
  closedAt: null,
  rating: null,
  ratingComment: null,
  ...over,
});

class MemoryStorage {
  readonly map = new Map<string, string>();
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.map.set(k, v);
  }
  removeItem(k: string) {
    this.map.delete(k);
  }
}

type Route = (body: unknown, auth: string | null) => { status?: number; body: unknown };

function server(routes: Record<string, Route>) {
  const calls: { method: string; path: string; body: unknown; auth: string | null }[] = [];
  const fetchImpl = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const path = String(input);
    const method = init.method ?? "GET";
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    const auth = new Headers(init.headers).get("authorization");
    calls.push({ method, path, body, auth });
    const route = routes[`${method} ${path.split("?")[0]}`];
    if (!route) return Response.json({ error: { code: "not_found", message: "no" } }, { status: 404 });
    const r = route(body, auth);
    return Response.json(r.body, { status: r.status ?? 200 });
  }) as typeof fetch;
  return { calls, fetchImpl };
}

function make(routes: Record<string, Route>, storage = new MemoryStorage()) {
  const srv = server(routes);
  const sockets = fakeSockets();
  let core: WidgetCore | null = null;
  const api = new WidgetApi("d1", () => core?.token ?? null, srv.fetchImpl);
  core = new WidgetCore({ api, language: "en", hostOrigin: "https://shop.example", pageUrl: "https://shop.example/cart", storage, socket: sockets.config });
  return { core, srv, sockets, storage };
}

const base = (over: Record<string, Route> = {}): Record<string, Route> => ({
  "GET /api/widget/desks/d1": () => ({ body: config() }),
  "POST /api/widget/desks/d1/visitors": () => ({ status: 201, body: { visitorId: "v1", token: "tok-1" } }),
  "POST /api/widget/sockets": () => ({ body: { desk: `desk-${Math.random()}`, room: `room-${Math.random()}` } }),
  "GET /api/widget/history": () => ({ body: { messages: [], headSeq: 0, hasBefore: false, hasAfter: false } }),
  ...over,
});

beforeEach(() => {
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("WidgetCore", () => {
  it("asks the assistant: the first question makes the visitor, stores its token and opens the sockets", async () => {
    const answer = (t: Ticket): AssistantAnswer => ({ known: true, answer: "Open Settings.", source: { entryId: "k1", question: "How to reset?" }, suggestions: [], provider: "builtin", ticket: t });
    const { core, srv, sockets, storage } = make(base({ "POST /api/widget/ask": () => ({ body: answer(ticket()) }) }));
    await core.start();
    expect(screenOf(core.state)).toBe("assistant");
    await core.ask("  how do I reset my password?  ");
    const started = srv.calls.find((c) => c.path === "/api/widget/desks/d1/visitors")!;
    expect(started.body).toMatchObject({ context: { origin: "https://shop.example", pageUrl: "https://shop.example/cart", language: "en" } });
    expect(storage.getItem("woxly.visitor.d1")).toBe("tok-1");
    const ask = srv.calls.find((c) => c.path === "/api/widget/ask")!;
    expect(ask.auth).toBe("Bearer tok-1");
    expect(ask.body).toEqual({ question: "how do I reset my password?", language: "en" });
    expect(core.state.exchanges[0]!.answer?.answer).toBe("Open Settings.");
    expect(core.state.ticket?.id).toBe("t1");
    // The desk socket and the ticket's room socket, each with its own ticket per connect.
    expect(sockets.made.map((s) => s.options.party)).toEqual(["support-desk", "channel-room"]);
    expect(sockets.made[1]!.options.room).toBe("c1");
    expect(core.channel?.meId).toBe("v_v1");
    const query = sockets.made[1]!.options.query as () => Promise<Record<string, string>>;
    const a = await query();
    const b = await query();
    expect(a.ticket).toMatch(/^room-/);
    expect(b.ticket).not.toBe(a.ticket);
    core.destroy();
  });

  it("continues the same ticket after a reload (the token in storage), and forgets a token the server does not know", async () => {
    const storage = new MemoryStorage();
    storage.setItem("woxly.visitor.d1", "tok-1");
    const me = () => ({ body: { visitorId: "v1", deskId: "d1", name: "Visitor", ticket: ticket({ status: "queued" }), queue: { ticketId: "t1", position: 2, managersOnline: 1, estimatedWaitMs: 120_000 } } });
    const first = make(base({ "GET /api/widget/me": me }), storage);
    await first.core.start();
    expect(screenOf(first.core.state)).toBe("queued");
    expect(first.core.state.queue?.position).toBe(2);
    expect(first.srv.calls.find((c) => c.path === "/api/widget/me")!.auth).toBe("Bearer tok-1");
    first.core.destroy();

    const gone = make(base({ "GET /api/widget/me": () => ({ status: 401, body: { error: { code: "unauthorized", message: "no" } } }) }), storage);
    await gone.core.start();
    expect(storage.getItem("woxly.visitor.d1")).toBeNull();
    expect(screenOf(gone.core.state)).toBe("assistant");
  });

  it("turns to the leave-a-message form when the server says nobody can answer now, and sends it", async () => {
    const { core, srv } = make(
      base({
        // The config read at start said someone was online; by the click nobody is.
        "GET /api/widget/desks/d1": () => ({ body: config({ managersOnline: 1 }) }),
        "POST /api/widget/request-human": () => ({ body: { leaveMessage: true, open: true, managersOnline: 0 } }),
        "POST /api/widget/leave-message": () => ({ body: { ok: true } }),
        "GET /api/widget/me": () => ({ body: { visitorId: "v1", deskId: "d1", name: "Visitor", ticket: ticket({ status: "offline" }), queue: null } }),
      }),
    );
    await core.start();
    await core.requestHuman();
    expect(srv.calls.find((c) => c.path === "/api/widget/request-human")!.body).toEqual({ language: "en", whenAvailable: true });
    expect(screenOf(core.state)).toBe("offline-form");
    expect(core.state.config?.managersOnline).toBe(0);
    expect(await core.leaveMessage("ann@example.org", "Call me back")).toBe(true);
    expect(srv.calls.find((c) => c.path === "/api/widget/leave-message")!.body).toEqual({ email: "ann@example.org", message: "Call me back" });
    expect(screenOf(core.state)).toBe("offline-sent");
  });

  it("queues the visitor when a manager came online after the panel loaded (no reload)", async () => {
    const queued = ticket({ status: "queued" });
    const queue = { ticketId: "t1", position: 1, managersOnline: 1, estimatedWaitMs: null };
    const { core } = make(
      base({
        "GET /api/widget/desks/d1": () => ({ body: config({ managersOnline: 0 }) }),
        "POST /api/widget/request-human": () => ({ body: { ticket: queued, queue } }),
        "GET /api/widget/me": () => ({ body: { visitorId: "v1", deskId: "d1", name: "Visitor", ticket: queued, queue } }),
      }),
    );
    await core.start();
    await core.requestHuman();
    expect(screenOf(core.state)).toBe("queued");
    expect(core.state.queue?.position).toBe(1);
    expect(core.state.config?.managersOnline).toBe(1);
    core.destroy();
  });

  it("follows the desk socket: queue position, a manager joining, a call ringing and ending", async () => {
    const storage = new MemoryStorage();
    storage.setItem("woxly.visitor.d1", "tok-1");
    const { core, sockets } = make(base({ "GET /api/widget/me": () => ({ body: { visitorId: "v1", deskId: "d1", name: "V", ticket: ticket({ status: "queued" }), queue: null } }) }), storage);
    await core.start();
    const desk = sockets.made.find((s) => s.options.party === "support-desk")!;
    desk.open();
    desk.receive({ type: "queue.position", queue: { ticketId: "t1", position: 1, managersOnline: 2, estimatedWaitMs: null } });
    expect(core.state.queue?.position).toBe(1);
    desk.receive({ type: "queue.position", queue: { ticketId: "other", position: 9, managersOnline: 2, estimatedWaitMs: null } });
    expect(core.state.queue?.position).toBe(1);
    // A malformed frame is ignored, not thrown.
    desk.receive({ type: "queue.position", queue: { position: "first" } });
    expect(core.state.queue?.position).toBe(1);
    desk.receive({ type: "ticket.updated", ticket: ticket({ status: "open", assigneeId: "u1", acceptedAt: 5 }) });
    expect(screenOf(core.state)).toBe("chat");
    desk.receive({ type: "call.updated", call: { ticketId: "t1", state: "ringing", video: true, startedBy: "manager", at: 6 } });
    expect(core.state.call?.state).toBe("ringing");
    core.answerCall(true);
    expect(desk.sentOf("call.answer")).toEqual([{ type: "call.answer", ticketId: "t1", accept: true }]);
    desk.receive({ type: "call.updated", call: { ticketId: "t1", state: "ended", video: true, startedBy: "manager", at: 7 } });
    expect(core.state.call).toBeNull();
    core.destroy();
  });

  it("answers the screen for each state", () => {
    const s = (over: Partial<PanelState>): PanelState => ({
      phase: "ready", config: config(), visitorId: null, ticket: null, queue: null, call: null, exchanges: [], busy: false, error: null, leavingMessage: false, rated: false, ...over,
    });
    expect(screenOf(s({ phase: "loading" }))).toBe("loading");
    expect(screenOf(s({ config: null }))).toBe("unavailable");
    expect(screenOf(s({}))).toBe("assistant");
    expect(screenOf(s({ ticket: ticket({ status: "closed" }) }))).toBe("closed");
    expect(screenOf(s({ ticket: ticket({ status: "queued" }), leavingMessage: true }))).toBe("offline-form");
    expect(managersAvailable(config({ open: false }))).toBe(false);
    expect(managersAvailable(config({ managersOnline: 0 }))).toBe(false);
    expect(managersAvailable(config())).toBe(true);
  });
});
