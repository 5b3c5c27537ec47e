/**
 * A ticket's life (docs/support-desk.md "Tickets", "Calls"): the assistant part, a live
 * conversation that survives a visitor's reconnect with nothing lost or doubled, read receipts,
 * closing with the transcript copied to D1, one rating, and ticket calls whose tokens exist
 * only while the call rings or runs and name only the ticket's room.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { RING_TIMEOUT_MS } from "../workers/shared/calls";
import { describe, expect, it } from "vitest";
import { HistoryPage } from "../workers/shared/chat";
import { P } from "../workers/shared/permissions";
import { AssistantAnswer, DeskStats, RequestHumanAnswer, RequestHumanResponse, TicketCallToken, TicketPage, Transcript, WidgetConfig, WidgetState } from "../workers/shared/desk";
import { call, client, ok } from "./helpers";
import { nonce, say } from "./chat-fixtures";
import { eventually } from "./community-fixtures";
import { claims, hookEvent, postHook } from "./voice-fixtures";
import {
  SITE,
  deskFrame,
  makeDesk,
  managerRoomSocket,
  managerSocket,
  startVisitor,
  visitorDeskSocket,
  visitorRoomSocket,
  vcall,
  vok,
} from "./desk-fixtures";


/** A desk, a visitor who asked the assistant and then a human, and a manager who accepted. */
async function liveTicket() {
  const desk = await makeDesk({ managers: 2, capacity: 3 });
  const m = desk.managers[0]!;
  const v = await startVisitor(desk.id, "Ann");
  const answer = AssistantAnswer.parse(await vok(200, v, "POST", "/api/widget/ask", { question: "Where is my parcel?", language: "en" }));
  expect(answer.ticket.status).toBe("assistant");
  const q = RequestHumanResponse.parse(await vok(200, v, "POST", "/api/widget/request-human", {}));
  expect(q.ticket.status).toBe("queued");
  expect(q.queue?.position).toBe(1);
  const ms = await managerSocket(m, desk.id);
  expect(await deskFrame(ms, { type: "ticket.accept", ticketId: q.ticket.id })).toMatchObject({ type: "done" });
  return { desk, m, v, ms, ticketId: q.ticket.id, channelId: q.ticket.channelId, answer };
}

describe("the widget's config", () => {
  it("answers CORS only to the desk's allowed origins, with Vary: Origin", async () => {
    const desk = await makeDesk();
    const allowed = await client({ origin: SITE }).fetch(`/api/widget/desks/${desk.id}`);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(SITE);
    expect(allowed.headers.get("vary")).toMatch(/origin/i);
    expect(WidgetConfig.parse(await allowed.json())).toMatchObject({ deskId: desk.id, open: true, managersOnline: 0, allowedOrigins: [SITE] });
    const foreign = await client({ origin: "https://evil.example" }).fetch(`/api/widget/desks/${desk.id}`);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    await foreign.arrayBuffer();
    expect((await call(null, "GET", `/api/widget/desks/nosuchdesk`)).status).toBe(404);
  });

  it("office hours in the desk's zone decide `open`", async () => {
    const closedAllWeek = { timeZone: "Asia/Bishkek", days: [[], [], [], [], [], [], []] };
    const desk = await makeDesk({ officeHours: closedAllWeek });
    const cfg = WidgetConfig.parse(await ok(200, null, "GET", `/api/widget/desks/${desk.id}`));
    expect(cfg.open).toBe(false);
    const always = { timeZone: "Asia/Bishkek", days: Array.from({ length: 7 }, () => [{ from: 0, to: 1440 }]) };
    const d2 = await makeDesk({ officeHours: always });
    expect(WidgetConfig.parse(await ok(200, null, "GET", `/api/widget/desks/${d2.id}`)).open).toBe(true);
  });
});

describe("tickets", () => {
  it("the assistant's part is in the room; the manager sees it; a visitor reconnect loses and doubles nothing; read receipts", async () => {
    const { m, v, ms, channelId, answer } = await liveTicket();
    expect(answer.known).toBe(false);
    const me = WidgetState.parse(await vok(200, v, "GET", "/api/widget/me"));
    expect(me.ticket).toMatchObject({ status: "open", assigneeId: m.id });
    const page = HistoryPage.parse(await vok(200, v, "GET", "/api/widget/history"));
    expect(page.messages.map((x) => x.author?.id ?? x.system?.kind)).toEqual([`v_${v.id}`, "assistant", "manager_joined"]);
    // The manager reads the same history through the channel route (policy: manager of the desk).
    const mh = HistoryPage.parse(await ok(200, m, "GET", `/api/channels/${channelId}/messages`));
    expect(mh.messages.length).toBe(3);

    const vs = await visitorRoomSocket(v, channelId);
    const mr = await managerRoomSocket(m, channelId);
    const hi = await say(vs, "Hi, my parcel is late");
    expect(hi.author).toMatchObject({ id: `v_${v.id}`, displayName: "Ann" });
    await mr.next("message.created", (f) => f.message.id === hi.id);
    const reply = await say(mr, "Let me check");
    const seen = await vs.next("message.created", (f) => f.message.id === reply.id);
    // Read receipts: the visitor reads the reply; the manager sees how far.
    vs.send({ type: "read.mark", seq: seen.seq });
    await mr.next("read.receipt", (f) => f.userId === `v_${v.id}` && f.seq === seen.seq);

    // The visitor goes away; the manager writes twice; the visitor comes back with its last seq.
    const lastSeq = seen.seq;
    const pendingNonce = nonce();
    vs.close();
    const r1 = await say(mr, "Found it");
    const r2 = await say(mr, "It arrives tomorrow");
    const back = await visitorRoomSocket(v, channelId);
    back.send({ type: "hello", lastSeq });
    const resumed = await back.next("resumed");
    const replayed = back.frames.filter((f) => f.type === "message.created").map((f) => (f as { message: { id: string } }).message.id);
    expect(replayed).toEqual([r1.id, r2.id]);
    expect(resumed.toSeq).toBe(r2.seq);
    // A resent nonce is answered with the original message, not a second one.
    const once = await say(back, "Thanks!", { nonce: pendingNonce });
    const twice = await say(back, "Thanks!", { nonce: pendingNonce });
    expect(twice.id).toBe(once.id);
    const all = HistoryPage.parse(await vok(200, v, "GET", "/api/widget/history"));
    expect(all.messages.filter((x) => x.content === "Thanks!").length).toBe(1);
    for (const s of [back, mr, ms]) s.close();
  });

  it("a manager who is not the assignee reads but may not write; a visitor may send messages and files", async () => {
    const { desk, v, channelId, ms } = await liveTicket();
    const other = desk.managers[1]!;
    const r = await managerRoomSocket(other, channelId);
    r.send({ type: "message.send", nonce: nonce(), content: "butting in" });
    expect(await r.next("error")).toMatchObject({ code: "forbidden" });
    const vs = await visitorRoomSocket(v, channelId);
    const ready = vs.frames.find((f) => f.type === "ready") as { me: { perms: string } };
    const perms = BigInt(ready.me.perms);
    expect(perms & P.ATTACH_FILES).toBe(P.ATTACH_FILES);
    expect(perms & P.SEND_MESSAGES).toBe(P.SEND_MESSAGES);
    for (const s of [r, vs, ms]) s.close();
  });

  it("closing copies the transcript to D1; the room turns read-only; the visitor rates once", async () => {
    const { desk, m, v, ms, ticketId, channelId } = await liveTicket();
    const vs = await visitorRoomSocket(v, channelId);
    await say(vs, "Please cancel my order");
    const mr = await managerRoomSocket(m, channelId);
    await say(mr, "Cancelled.");
    // Rating before closing is refused.
    expect((await vcall(v, "POST", "/api/widget/rate", { rating: 5 })).status).toBe(409);
    const closed = await ok(200, m, "POST", `/api/desks/${desk.id}/tickets/${ticketId}/close`);
    expect(closed.ticket).toMatchObject({ id: ticketId, status: "closed" });
    expect(closed.ticket.closedAt).toBeGreaterThan(0);
    // The visitor's socket loses SEND_MESSAGES.
    await vs.next("permissions.updated");
    vs.send({ type: "message.send", nonce: nonce(), content: "one more thing" });
    expect(await vs.next("error")).toMatchObject({ code: "forbidden" });

    const t = Transcript.parse(await ok(200, m, "GET", `/api/desks/${desk.id}/tickets/${ticketId}`));
    expect(t.lines.map((l) => [l.author.kind, l.content])).toEqual([
      ["visitor", "Where is my parcel?"],
      ["assistant", t.lines[1]!.content],
      ["system", "A manager has joined"],
      ["visitor", "Please cancel my order"],
      ["manager", "Cancelled."],
      ["system", "Ticket closed"],
    ]);
    expect(t.lines[4]!.author).toMatchObject({ id: m.id, name: m.displayName });
    // Closing again changes nothing and copies nothing twice.
    await ok(200, m, "POST", `/api/desks/${desk.id}/tickets/${ticketId}/close`);
    const n = (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ticket_messages WHERE ticket_id = ?`).bind(ticketId).first()) as { n: number };
    expect(n.n).toBe(6);
    // Search over transcripts finds it.
    const found = TicketPage.parse(await ok(200, m, "GET", `/api/desks/${desk.id}/tickets?q=${encodeURIComponent("cancel my")}`));
    expect(found.tickets.map((x) => x.id)).toEqual([ticketId]);
    const none = TicketPage.parse(await ok(200, m, "GET", `/api/desks/${desk.id}/tickets?q=zebra`));
    expect(none.tickets).toEqual([]);

    // Rate once.
    expect((await vcall(v, "POST", "/api/widget/rate", { rating: 6 })).status).toBe(400);
    const rated = await vok(200, v, "POST", "/api/widget/rate", { rating: 4, comment: "quick" });
    expect(rated.ticket).toMatchObject({ rating: 4, ratingComment: "quick" });
    expect((await vcall(v, "POST", "/api/widget/rate", { rating: 1 })).status).toBe(409);

    const stats = DeskStats.parse(await ok(200, m, "GET", `/api/desks/${desk.id}/stats`));
    expect(stats).toMatchObject({ waitingNow: 0, ratings: 1, averageRating: 4 });
    expect(stats.medianWaitMs).not.toBeNull();
    expect(stats.medianFirstResponseMs).not.toBeNull();
    expect(stats.perDay.length).toBe(30);
    expect(stats.perDay.at(-1)!.tickets).toBe(1);
    for (const s of [vs, mr, ms]) s.close();
  });

  it("transfer to another manager of the desk; not to an outsider", async () => {
    const { desk, m, ms, ticketId, v } = await liveTicket();
    const to = desk.managers[1]!;
    const moved = await ok(200, m, "POST", `/api/desks/${desk.id}/tickets/${ticketId}/transfer`, { toUserId: to.id });
    expect(moved.ticket.assigneeId).toBe(to.id);
    // The old assignee may no longer transfer it (403: they still see it as a manager).
    expect((await call(m, "POST", `/api/desks/${desk.id}/tickets/${ticketId}/transfer`, { toUserId: m.id })).status).toBe(403);
    // Not to someone who is not a manager of the desk.
    expect((await call(to, "POST", `/api/desks/${desk.id}/tickets/${ticketId}/transfer`, { toUserId: v.id })).status).toBe(404);
    ms.close();
  });

  it("the ticket list pages newest first with a cursor and filters by status", async () => {
    const desk = await makeDesk();
    const ids: string[] = [];
    for (const name of ["One", "Two", "Three"]) {
      const v = await startVisitor(desk.id, name);
      ids.push((await vok(200, v, "POST", "/api/widget/ask", { question: `hello from ${name}`, language: "en" })).ticket.id);
    }
    const m = desk.managers[0]!;
    const p1 = TicketPage.parse(await ok(200, m, "GET", `/api/desks/${desk.id}/tickets?limit=2`));
    expect(p1.tickets.map((t) => t.id)).toEqual([ids[2], ids[1]]);
    expect(p1.nextCursor).not.toBeNull();
    const p2 = TicketPage.parse(await ok(200, m, "GET", `/api/desks/${desk.id}/tickets?limit=2&cursor=${encodeURIComponent(p1.nextCursor!)}`));
    expect(p2.tickets.map((t) => t.id)).toEqual([ids[0]]);
    expect(p2.nextCursor).toBeNull();
    expect(TicketPage.parse(await ok(200, m, "GET", `/api/desks/${desk.id}/tickets?status=queued`)).tickets).toEqual([]);
    expect((await call(m, "GET", `/api/desks/${desk.id}/tickets?cursor=nonsense`)).status).toBe(400);
  });

  it("leave a message when nobody is online", async () => {
    const desk = await makeDesk();
    const v = await startVisitor(desk.id, "Late");
    const r = await vok(200, v, "POST", "/api/widget/leave-message", { email: "late@example.org", message: "Call me back please" });
    expect(r.ticket).toMatchObject({ status: "offline", visitor: { email: "late@example.org" } });
    const m = desk.managers[0]!;
    const list = TicketPage.parse(await ok(200, m, "GET", `/api/desks/${desk.id}/tickets?status=offline`));
    expect(list.tickets.map((t) => t.id)).toEqual([r.ticket.id]);
    // With a manager online (and no office hours) the visitor asks for one instead.
    const ms = await managerSocket(m, desk.id);
    const v2 = await startVisitor(desk.id, "Early");
    expect((await vcall(v2, "POST", "/api/widget/leave-message", { email: "e@example.org", message: "hi" })).status).toBe(400);
    ms.close();
  });

  it("request-human with whenAvailable answers with the facts of now: a message while nobody can answer, the queue once a manager is online", async () => {
    const desk = await makeDesk();
    const v = await startVisitor(desk.id, "Early");
    const nobody = RequestHumanAnswer.parse(await vok(200, v, "POST", "/api/widget/request-human", { whenAvailable: true }));
    expect(nobody).toEqual({ leaveMessage: true, open: true, managersOnline: 0 });
    // Nothing was queued.
    expect((await vok(200, v, "GET", "/api/widget/me")).ticket).toBeNull();
    // A manager comes online: the same visitor, no new config read, is queued.
    const ms = await managerSocket(desk.managers[0]!, desk.id);
    const queued = RequestHumanResponse.parse(await vok(200, v, "POST", "/api/widget/request-human", { whenAvailable: true, language: "en" }));
    expect(queued.ticket.status).toBe("queued");
    expect(queued.queue).toMatchObject({ position: 1, managersOnline: 1 });
    // Asked again while queued: the same ticket, even if the manager has gone meanwhile.
    ms.close();
    await eventually(async () => expect((await vok(200, v, "GET", `/api/widget/desks/${desk.id}`)).managersOnline).toBe(0));
    const again = RequestHumanResponse.parse(await vok(200, v, "POST", "/api/widget/request-human", { whenAvailable: true }));
    expect(again.ticket.id).toBe(queued.ticket.id);
    // Outside office hours (no day has hours): a message, whoever is online.
    const closed = await makeDesk({ officeHours: { timeZone: "UTC", days: [[], [], [], [], [], [], []] } });
    const ms2 = await managerSocket(closed.managers[0]!, closed.id);
    const late = await startVisitor(closed.id, "Late");
    expect(RequestHumanAnswer.parse(await vok(200, late, "POST", "/api/widget/request-human", { whenAvailable: true }))).toMatchObject({ leaveMessage: true, open: false });
    // Without whenAvailable the visitor is queued whatever the desk's state (the API's old answer).
    expect(RequestHumanResponse.parse(await vok(200, late, "POST", "/api/widget/request-human", {})).ticket.status).toBe("queued");
    ms2.close();
  });
});

describe("ticket calls", () => {
  it("tokens only while the call rings or runs, only for the visitor and the assignee, for the ticket's room only", async () => {
    const { desk, m, v, ms, ticketId } = await liveTicket();
    const managerToken = `/api/desks/${desk.id}/tickets/${ticketId}/call-token`;
    expect((await vcall(v, "POST", "/api/widget/call-token")).status).toBe(404);
    expect((await call(m, "POST", managerToken)).status).toBe(404);

    const vd = await visitorDeskSocket(v);
    expect(await deskFrame(vd, { type: "call.start", ticketId, video: true })).toMatchObject({ type: "done" });
    const ringing = await ms.next("call.updated");
    expect(ringing.call).toMatchObject({ ticketId, state: "ringing", video: true, startedBy: "visitor" });

    const vt = TicketCallToken.parse(await vok(200, v, "POST", "/api/widget/call-token"));
    expect(vt.room).toBe(`ticket-${ticketId}`);
    const grant = claims(vt.token).video as Record<string, unknown>;
    expect(grant.room).toBe(`ticket-${ticketId}`);
    expect(grant.roomJoin).toBe(true);
    expect(grant.canPublishData).toBe(false);
    expect(grant.canUpdateOwnMetadata).toBe(false);
    expect(new Set(grant.canPublishSources as string[])).toEqual(new Set(["camera", "microphone", "screen_share", "screen_share_audio"]));
    expect(grant.roomAdmin ?? false).toBe(false);
    // The identity is opaque: neither the visitor id nor the name.
    const sub = claims(vt.token).sub;
    expect(sub).not.toContain(v.id);
    expect(sub).not.toContain("Ann");

    // The visitor cannot answer their own call; the manager accepts.
    expect(await deskFrame(vd, { type: "call.answer", ticketId, accept: true })).toMatchObject({ type: "error", code: "forbidden" });
    expect(await deskFrame(ms, { type: "call.answer", ticketId, accept: true })).toMatchObject({ type: "done" });
    await vd.next("call.updated", (f) => f.call.state === "active");
    const mt = TicketCallToken.parse(await ok(200, m, "POST", managerToken));
    expect(claims(mt.token).video.room).toBe(`ticket-${ticketId}`);
    // Another manager of the desk (not the assignee) gets none.
    expect((await call(desk.managers[1]!, "POST", managerToken)).status).toBe(404);

    expect(await deskFrame(ms, { type: "call.end", ticketId })).toMatchObject({ type: "done" });
    await vd.next("call.updated", (f) => f.call.state === "ended");
    expect((await vcall(v, "POST", "/api/widget/call-token")).status).toBe(404);
    expect((await call(m, "POST", managerToken)).status).toBe(404);
    await eventually(async () => {
      const h = HistoryPage.parse(await vok(200, v, "GET", "/api/widget/history"));
      expect(h.messages.map((x) => x.system?.kind).filter(Boolean)).toEqual(["manager_joined", "call_started", "call_ended"]);
    });
    // LiveKit's webhooks for the ticket's room are not a channel's: answered, nothing changes.
    for (const event of ["room_started", "participant_joined", "room_finished"]) {
      const res = await postHook(hookEvent(event, `ticket-${ticketId}`, event === "participant_joined" ? { participant: { sid: "PA_x", identity: sub } } : {}));
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    vd.close();
    ms.close();
  });

  it("an unanswered call stops ringing after RING_TIMEOUT_MS (missed); no token after that", async () => {
    const { desk, v, ms, ticketId } = await liveTicket();
    expect(await deskFrame(ms, { type: "call.start", ticketId, video: false })).toMatchObject({ type: "done" });
    const vd = await visitorDeskSocket(v);
    await vd.next("call.updated", (f) => f.call.state === "ringing");
    const stub = env.SupportDesk.getByName(desk.id);
    // As if it had rung for longer than the timeout.
    await runInDurableObject(stub, (_o, state) => {
      state.storage.sql.exec(`UPDATE calls SET at = ? WHERE ticket_id = ?`, Date.now() - RING_TIMEOUT_MS - 1000, ticketId);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await vd.next("call.updated", (f) => f.call.state === "ended");
    expect((await vcall(v, "POST", "/api/widget/call-token")).status).toBe(404);
    await eventually(async () => {
      const h = HistoryPage.parse(await vok(200, v, "GET", "/api/widget/history"));
      expect(h.messages.at(-1)?.system?.kind).toBe("call_missed");
    });
    vd.close();
    ms.close();
  });
});
