/**
 * Calls in DMs: ringing through each member's UserInbox socket, accept and decline from any
 * tab, the 30 s timeout (the DM room's alarm), LiveKit's webhooks for the DM's room, the
 * missed-call message, and who may ring or listen at all. Real DOs and D1 in workerd; no
 * LiveKit listens here, so "who is in the room" comes from the API and webhooks only.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { voiceIdentity } from "../workers/core/voice-identity";
import type { CallResponse, DmCall, InboxServerFrame } from "../workers/shared/calls";
import type { Message } from "../workers/shared/chat";
import { CLOSE } from "../workers/shared/close-codes";
import { addRecipient, connectParty, connectRoom, dmPair, say, makeChannel, roomStub, type TestSocket } from "./chat-fixtures";
import { hookEvent, postHook } from "./voice-fixtures";
import { newUser, type User } from "./helpers";

type Inbox = TestSocket<InboxServerFrame>;

function inbox(u: User, opts: { origin?: string; of?: string } = {}): Promise<Inbox> {
  return connectParty<InboxServerFrame>(`/parties/user-inbox/${opts.of ?? u.id}`, u, opts);
}

async function post(u: User, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await u.http.fetch(path, {
    method: "POST",
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  return { status: res.status, json: res.status === 204 ? null : await res.json() };
}

async function startCall(u: User, dm: string): Promise<DmCall> {
  const r = await post(u, `/api/dms/${dm}/call`);
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return (r.json as CallResponse).call!;
}

async function systemKinds(u: User, dm: string): Promise<string[]> {
  const res = await u.http.fetch(`/api/channels/${dm}/messages?limit=50`);
  const body = (await res.json()) as { messages: Message[] };
  return body.messages.filter((m) => m.system).map((m) => m.system!.kind);
}

const callFrame = (s: Inbox, pred: (c: DmCall) => boolean) => s.next("call", (f) => pred(f.call)).then((f) => f.call);

describe("calls in DMs", () => {
  it("rings the others in every tab; accepting in one tab stops the ringing in all of them", async () => {
    const { a, b, dm } = await dmPair();
    const tab1 = await inbox(b);
    const tab2 = await inbox(b);
    const caller = await inbox(a);

    const call = await startCall(a, dm);
    expect(call).toMatchObject({ channelId: dm, kind: "dm", startedBy: { id: a.id }, ringing: [b.id], joined: [a.id], answered: false });
    expect(call.ringUntil - call.startedAt).toBe(30_000);
    for (const tab of [tab1, tab2]) expect((await callFrame(tab, (c) => c.ringing.includes(b.id))).callId).toBe(call.callId);
    await callFrame(caller, (c) => c.callId === call.callId);

    // A tab opened while it rings gets the call in its snapshot.
    const late = await inbox(b);
    const ready = late.frames.find((f) => f.type === "ready") as Extract<InboxServerFrame, { type: "ready" }>;
    expect(ready.calls.map((c) => c.callId)).toEqual([call.callId]);

    const answered = await post(b, `/api/dms/${dm}/call/answer`, { accept: true });
    expect(answered.status).toBe(200);
    expect(answered.json.call).toMatchObject({ ringing: [], joined: [a.id, b.id], answered: true });
    for (const tab of [tab1, tab2, late]) await callFrame(tab, (c) => c.answered && c.ringing.length === 0);

    // The caller hangs up: the call goes on with B; when B hangs up it is over, not missed.
    expect((await post(a, `/api/dms/${dm}/call/leave`)).json.call).toMatchObject({ joined: [b.id] });
    expect((await post(b, `/api/dms/${dm}/call/leave`)).json.call).toBeNull();
    const ended = await tab1.next("call.ended");
    expect(ended).toMatchObject({ channelId: dm, callId: call.callId, missed: false });
    expect((await post(a, `/api/dms/${dm}/call`)).status).toBe(200); // a new call can start
    expect(await systemKinds(a, dm)).toEqual(["call_started", "call_started"]);
    const snapshot = await inbox(b);
    expect((snapshot.frames[0] as Extract<InboxServerFrame, { type: "ready" }>).calls).toHaveLength(1);
  });

  it("a decline stops the ringing and leaves one missed-call message", async () => {
    const { a, b, dm } = await dmPair();
    const tab = await inbox(b);
    const call = await startCall(a, dm);
    await callFrame(tab, (c) => c.ringing.includes(b.id));
    const declined = await post(b, `/api/dms/${dm}/call/answer`, { accept: false });
    expect(declined.json.call).toMatchObject({ ringing: [], declined: [b.id], joined: [a.id], answered: false });
    await callFrame(tab, (c) => c.declined.includes(b.id));
    expect(await systemKinds(a, dm)).toEqual(["call_started", "call_missed"]);
    // The caller gives up: the call ends as missed, and the message is not posted twice.
    await post(a, `/api/dms/${dm}/call/leave`);
    expect(await tab.next("call.ended")).toMatchObject({ callId: call.callId, missed: true });
    expect(await systemKinds(a, dm)).toEqual(["call_started", "call_missed"]);
    // An answer to a call that is over: 404.
    expect((await post(b, `/api/dms/${dm}/call/answer`, { accept: true })).status).toBe(404);
  });

  it("stops ringing after 30 s (the room's alarm) and says the call was missed", async () => {
    const { a, b, dm } = await dmPair();
    const tab = await inbox(b);
    const call = await startCall(a, dm);
    await callFrame(tab, (c) => c.ringing.includes(b.id));
    const stub = roomStub(dm);
    // Early alarm: nothing changes, it waits for the ring time.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await systemKinds(a, dm)).toEqual(["call_started"]);
    // Thirty seconds later (the stored ring time moved into the past).
    await runInDurableObject(stub, async (_o, state) => {
      const c = (await state.storage.get<DmCall>("dm_call"))!;
      await state.storage.put("dm_call", { ...c, ringUntil: Date.now() - 1 });
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const after = await callFrame(tab, (c) => c.ringing.length === 0);
    expect(after).toMatchObject({ callId: call.callId, joined: [a.id], answered: false });
    expect(await systemKinds(a, dm)).toEqual(["call_started", "call_missed"]);
    // LiveKit is not reachable here: the call stays until someone says otherwise, checked again later.
    expect(await runInDurableObject(stub, (_o, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now());
  });

  it("follows LiveKit's webhooks for the DM's room: joining answers, the last one out ends it", async () => {
    const { a, b, dm } = await dmPair();
    const tab = await inbox(b);
    await startCall(a, dm);
    await callFrame(tab, (c) => c.ringing.includes(b.id));
    const idA = await voiceIdentity(env.PASSWORD_PEPPER, dm, a.id);
    const idB = await voiceIdentity(env.PASSWORD_PEPPER, dm, b.id);
    expect((await postHook(hookEvent("participant_joined", dm, { participant: { sid: "PA_b", identity: idB } }))).status).toBe(200);
    await callFrame(tab, (c) => c.answered && c.joined.includes(b.id) && !c.ringing.length);
    await postHook(hookEvent("participant_left", dm, { participant: { sid: "PA_a", identity: idA } }));
    await callFrame(tab, (c) => c.joined.length === 1 && c.joined[0] === b.id);
    await postHook(hookEvent("participant_left", dm, { participant: { sid: "PA_b", identity: idB } }));
    expect(await tab.next("call.ended")).toMatchObject({ channelId: dm, missed: false });
    expect(await systemKinds(a, dm)).toEqual(["call_started"]);
  });

  it("rings every other member of a group DM; the call is answered once any of them joins", async () => {
    const a = await newUser();
    const b = await newUser();
    const c = await newUser();
    const dm = await makeChannel(null, "dm", "");
    await env.DB.prepare(`UPDATE channels SET kind = 'group_dm' WHERE id = ?`).bind(dm).run();
    for (const u of [a, b, c]) await addRecipient(dm, u);
    const tabC = await inbox(c);
    const call = await startCall(a, dm);
    expect(call.kind).toBe("group_dm");
    expect([...call.ringing].sort()).toEqual([b.id, c.id].sort());
    await post(b, `/api/dms/${dm}/call/answer`, { accept: true });
    const seen = await callFrame(tabC, (x) => x.answered);
    expect(seen.ringing).toEqual([c.id]); // C is still being rung
  });

  it("only members ring, only the owner listens, Origin is checked, a block ends the call", async () => {
    const { a, b, dm } = await dmPair();
    const stranger = await newUser();
    expect((await post(stranger, `/api/dms/${dm}/call`)).status).toBe(404);
    expect((await stranger.http.fetch(`/api/dms/${dm}/call`)).status).toBe(404);
    expect((await post(a, `/api/dms/${dm}/call/answer`, { accept: "yes" })).status).toBe(400);
    // Someone else's inbox looks like nothing; another origin is refused.
    await expect(inbox(a, { of: b.id })).rejects.toThrow(/404/);
    await expect(inbox(b, { origin: "https://evil.example" })).rejects.toThrow(/403/);
    // A frame the inbox does not understand gets an error frame; the socket keeps working.
    const tab = await inbox(b);
    tab.sendRaw("{nope");
    expect(await tab.next("error")).toMatchObject({ code: "invalid_json", ref: null });
    tab.send({ type: "ping" });
    await tab.next("pong");

    await startCall(a, dm);
    await callFrame(tab, (c) => c.ringing.includes(b.id));
    const blocked = await b.http.fetch(`/api/me/blocks/${a.id}`, { method: "PUT" });
    expect(blocked.status).toBe(204);
    expect(await tab.next("call.ended")).toMatchObject({ channelId: dm, missed: true });
    expect((await post(a, `/api/dms/${dm}/call`)).status).toBe(403);
    expect((await post(b, `/api/dms/${dm}/call`)).status).toBe(403);
  });

  it("a DM message reaches the other members' inboxes at once, not the author's", async () => {
    const { a, b, dm } = await dmPair();
    const tabA = await inbox(a);
    const tabB = await inbox(b);
    const room = await connectRoom(dm, a);
    const sent = await say(room, "hi @there");
    expect(await tabB.next("dm.activity")).toEqual({ type: "dm.activity", channelId: dm, seq: sent.seq, authorId: a.id, mentioned: false });
    tabA.send({ type: "ping" });
    await tabA.next("pong");
    expect(tabA.frames.some((f) => f.type === "dm.activity")).toBe(false);
  });

  it("logging out closes the session's inbox socket", async () => {
    const { b } = await dmPair();
    const tab = await inbox(b);
    expect((await b.http.fetch("/api/auth/logout", { method: "POST" })).status).toBe(204);
    expect((await tab.waitClosed()).code).toBe(CLOSE.SESSION_ENDED);
  });
});
