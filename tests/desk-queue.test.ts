/**
 * The SupportDesk queue (docs/support-desk.md "Queue"): FIFO positions that visitors see live,
 * atomic accepting, capacity, the wait estimate from recent waits, round-robin
 * auto-assignment, and a manager's disconnect handing unanswered tickets back.
 */
import { env, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DeskServerFrame, QueuePosition } from "../workers/shared/desk";
import { eventually } from "./community-fixtures";
import { say } from "./chat-fixtures";
import {
  deskFrame,
  makeDesk,
  managerRoomSocket,
  managerSocket,
  queuedVisitor,
  visitorDeskSocket,
  vok,
} from "./desk-fixtures";

async function ticketRow(id: string) {
  return (await env.DB.prepare(`SELECT status, assignee_id, requested_at, accepted_at FROM tickets WHERE id = ?`).bind(id).first()) as {
    status: string;
    assignee_id: string | null;
    requested_at: number | null;
    accepted_at: number | null;
  };
}

describe("the queue", () => {
  it("three visitors, two managers with capacity 1: positions 1/2/3 live, FIFO accepts, capacity", async () => {
    const desk = await makeDesk({ managers: 2, capacity: 1 });
    const [m1, m2] = desk.managers as [(typeof desk.managers)[0], (typeof desk.managers)[0]];
    const a = await queuedVisitor(desk.id, "Ann");
    const b = await queuedVisitor(desk.id, "Bob");
    const c = await queuedVisitor(desk.id, "Cid");
    // Each visitor sees their place on connect.
    const sa = await visitorDeskSocket(a.v);
    const sb = await visitorDeskSocket(b.v);
    const sc = await visitorDeskSocket(c.v);
    expect((await sa.next("queue.position")).queue.position).toBe(1);
    expect((await sb.next("queue.position")).queue.position).toBe(2);
    const first = await sc.next("queue.position");
    QueuePosition.parse(first.queue);
    expect(first.queue).toMatchObject({ position: 3, managersOnline: 0, estimatedWaitMs: null });
    // GET /me says the same.
    expect((await vok(200, c.v, "GET", "/api/widget/me")).queue.position).toBe(3);

    // A manager comes online: the visitors learn it; the snapshot lists the queue in request order.
    const s1 = await managerSocket(m1, desk.id);
    const snap = s1.frames.find((f) => f.type === "desk.snapshot") as Extract<DeskServerFrame, { type: "desk.snapshot" }>;
    DeskServerFrame.parse(snap);
    expect(snap.queue.map((e) => e.ticketId)).toEqual([a.ticketId, b.ticketId, c.ticketId]);
    expect(snap.queue[0]).toMatchObject({ visitorName: "Ann", channelId: a.channelId });
    await sc.next("queue.position", (f) => f.queue.managersOnline === 1);

    // m1 takes the head; B and C move up, live.
    expect(await deskFrame(s1, { type: "ticket.accept", ticketId: a.ticketId })).toMatchObject({ type: "done" });
    await sb.next("queue.position", (f) => f.queue.position === 1);
    await sc.next("queue.position", (f) => f.queue.position === 2);
    expect((await sa.next("ticket.updated", (f) => f.ticket.status === "open")).ticket).toMatchObject({ id: a.ticketId, status: "open", assigneeId: m1.id });
    expect(await ticketRow(a.ticketId)).toMatchObject({ status: "open", assignee_id: m1.id });
    // "A manager has joined" in the ticket's room.
    const hist = await vok(200, a.v, "GET", "/api/widget/history");
    expect(hist.messages.at(-1).system).toEqual({ kind: "manager_joined", userId: m1.id });

    // Capacity 1: m1 may not take another.
    expect(await deskFrame(s1, { type: "ticket.accept", ticketId: b.ticketId })).toMatchObject({ type: "error", code: "at_capacity" });
    // The queue is unchanged and m2 takes the next in order.
    const s2 = await managerSocket(m2, desk.id);
    expect(await deskFrame(s2, { type: "ticket.accept", ticketId: b.ticketId })).toMatchObject({ type: "done" });
    await sc.next("queue.position", (f) => f.queue.position === 1);
    expect((await s1.next("queue.updated", (f) => f.queue.length === 1)).queue[0]!.ticketId).toBe(c.ticketId);
    for (const s of [sa, sb, sc, s1, s2]) s.close();
  });

  it("two managers accepting the same ticket at once: one wins, the other gets not_found", async () => {
    const desk = await makeDesk({ managers: 2, capacity: 3 });
    const [m1, m2] = desk.managers as [(typeof desk.managers)[0], (typeof desk.managers)[0]];
    const a = await queuedVisitor(desk.id, "Ann");
    const s1 = await managerSocket(m1, desk.id);
    const s2 = await managerSocket(m2, desk.id);
    const [r1, r2] = await Promise.all([deskFrame(s1, { type: "ticket.accept", ticketId: a.ticketId }), deskFrame(s2, { type: "ticket.accept", ticketId: a.ticketId })]);
    const results = [r1, r2].map((r) => (r.type === "error" ? r.code : r.type)).sort();
    expect(results).toEqual(["done", "not_found"]);
    const winner = r1.type === "done" ? m1 : m2;
    expect((await ticketRow(a.ticketId)).assignee_id).toBe(winner.id);
    s1.close();
    s2.close();
  });

  it("the estimate is the median of recent waits × position ÷ managers online", async () => {
    const desk = await makeDesk({ managers: 1, capacity: 10 });
    const m = desk.managers[0]!;
    const s = await managerSocket(m, desk.id);
    // Three tickets accepted after different waits.
    for (const wait of [30, 60, 90]) {
      const q = await queuedVisitor(desk.id, `W${wait}`);
      await new Promise((r) => setTimeout(r, wait));
      expect(await deskFrame(s, { type: "ticket.accept", ticketId: q.ticketId })).toMatchObject({ type: "done" });
    }
    const rows = (await env.DB.prepare(`SELECT accepted_at - requested_at AS w FROM tickets WHERE desk_id = ? AND accepted_at IS NOT NULL ORDER BY w`).bind(desk.id).all()).results as { w: number }[];
    const median = rows[1]!.w;
    const x = await queuedVisitor(desk.id, "X");
    const y = await queuedVisitor(desk.id, "Y");
    const sy = await visitorDeskSocket(y.v);
    const pos = (await sy.next("queue.position")).queue;
    expect(pos.position).toBe(2);
    expect(pos.managersOnline).toBe(1);
    expect(pos.estimatedWaitMs).toBe(Math.round(median * 2));
    // A longer wait shifts the median: X waited longer than any before.
    await new Promise((r) => setTimeout(r, 200));
    expect(await deskFrame(s, { type: "ticket.accept", ticketId: x.ticketId })).toMatchObject({ type: "done" });
    const after = (await sy.next("queue.position", (f) => f.queue.position === 1)).queue;
    const rows2 = (await env.DB.prepare(`SELECT accepted_at - requested_at AS w FROM tickets WHERE desk_id = ? AND accepted_at IS NOT NULL ORDER BY w`).bind(desk.id).all()).results as { w: number }[];
    const median2 = (rows2[1]!.w + rows2[2]!.w) / 2;
    expect(after.estimatedWaitMs).toBe(Math.round(median2 * 1));
    s.close();
    sy.close();
  });

  it("auto-assignment: round-robin to online managers under capacity; a closed ticket frees a place", async () => {
    const desk = await makeDesk({ managers: 2, capacity: 1, autoAssign: true });
    const [m1, m2] = desk.managers as [(typeof desk.managers)[0], (typeof desk.managers)[0]];
    const s1 = await managerSocket(m1, desk.id);
    const s2 = await managerSocket(m2, desk.id);
    const a = await queuedVisitor(desk.id, "Ann");
    const b = await queuedVisitor(desk.id, "Bob");
    const c = await queuedVisitor(desk.id, "Cid");
    await eventually(async () => expect((await ticketRow(b.ticketId)).status).toBe("open"));
    const ra = await ticketRow(a.ticketId);
    const rb = await ticketRow(b.ticketId);
    expect(ra.status).toBe("open");
    // One each: round-robin, and capacity 1 keeps the third waiting.
    expect(new Set([ra.assignee_id, rb.assignee_id])).toEqual(new Set([m1.id, m2.id]));
    expect((await ticketRow(c.ticketId)).status).toBe("queued");
    expect((await vok(200, c.v, "GET", "/api/widget/me")).queue.position).toBe(1);
    // A's manager closes A: C goes to them.
    const aManager = ra.assignee_id === m1.id ? s1 : s2;
    expect(await deskFrame(aManager, { type: "ticket.close", ticketId: a.ticketId })).toMatchObject({ type: "done" });
    await eventually(async () => expect(await ticketRow(c.ticketId)).toMatchObject({ status: "open", assignee_id: ra.assignee_id }));
    // Away managers get nothing new.
    expect(await deskFrame(s1, { type: "status.set", available: false })).toMatchObject({ type: "done" });
    expect(await deskFrame(s2, { type: "status.set", available: false })).toMatchObject({ type: "done" });
    s1.close();
    s2.close();
  });

  it("a manager's disconnect returns their auto-assigned, unanswered tickets to the head of the queue; answered ones stay", async () => {
    const desk = await makeDesk({ managers: 1, capacity: 2, autoAssign: true });
    const m = desk.managers[0]!;
    const s = await managerSocket(m, desk.id);
    const a = await queuedVisitor(desk.id, "Ann");
    const b = await queuedVisitor(desk.id, "Bob");
    await eventually(async () => expect((await ticketRow(b.ticketId)).status).toBe("open"));
    // m answers A in its room; B stays unanswered.
    const room = await managerRoomSocket(m, a.channelId);
    await say(room, "Hello Ann, how can I help?");
    await eventually(async () => {
      const r = (await env.DB.prepare(`SELECT first_response_at FROM tickets WHERE id = ?`).bind(a.ticketId).first()) as { first_response_at: number | null };
      expect(r.first_response_at).not.toBeNull();
    });
    const c = await queuedVisitor(desk.id, "Cid");
    await new Promise((r) => setTimeout(r, 50));
    expect((await ticketRow(c.ticketId)).status).toBe("queued");
    room.close();
    s.close();
    await eventually(async () => expect((await ticketRow(b.ticketId)).status).toBe("queued"), 4000);
    expect(await ticketRow(b.ticketId)).toMatchObject({ assignee_id: null });
    expect(await ticketRow(a.ticketId)).toMatchObject({ status: "open", assignee_id: m.id });
    // B is back at the head, before C who asked later.
    expect((await vok(200, b.v, "GET", "/api/widget/me")).queue.position).toBe(1);
    expect((await vok(200, c.v, "GET", "/api/widget/me")).queue.position).toBe(2);
  });

  it("the queue lives in SQLite: after eviction, positions, accepting and hibernated sockets still work", async () => {
    const desk = await makeDesk({ managers: 1, capacity: 5 });
    const m = desk.managers[0]!;
    const a = await queuedVisitor(desk.id, "Ann");
    const b = await queuedVisitor(desk.id, "Bob");
    const s = await managerSocket(m, desk.id);
    const sb = await visitorDeskSocket(b.v);
    await sb.next("queue.position");
    await evictDurableObject(env.SupportDesk.getByName(desk.id)); // sockets hibernate, memory goes
    expect((await vok(200, b.v, "GET", "/api/widget/me")).queue.position).toBe(2);
    expect(await deskFrame(s, { type: "ticket.accept", ticketId: a.ticketId })).toMatchObject({ type: "done" });
    await sb.next("queue.position", (f) => f.queue.position === 1 && f.queue.managersOnline === 1);
    // Parallel requests after the eviction still give the one ticket.
    const again = await Promise.all([1, 2, 3].map(() => vok(200, b.v, "POST", "/api/widget/request-human", {})));
    expect(new Set(again.map((r) => r.ticket.id))).toEqual(new Set([b.ticketId]));
    s.close();
    sb.close();
  });
});
