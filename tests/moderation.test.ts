/**
 * Moderation (docs/moderation.md): timeouts on every path (HTTP, the room's frames, media
 * tokens, a call already joined), their end (lifted, or passed: the room's alarm and the next
 * frame re-read access), slowmode in the room, reports with their evidence and queue, deleting
 * a member's recent messages, and the audit entries of each. Real workerd, D1 and Durable
 * Objects; LiveKit's RoomService is the recording stand-in of voice-fixtures.ts. Time is never
 * waited for: an ended timeout or slowmode is written into the state (D1, the room's SQLite).
 */
import { createExecutionContext, env, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { P } from "../workers/shared/permissions";
import { app } from "../workers/api/src/app";
import { voiceIdentity } from "../workers/core/voice-identity";
import { answer, connectRoom, nonce, roomStub, say, seedMessages, type RoomSocket } from "./chat-fixtures";
import { ORIGIN, call, newUser, ok, type User } from "./helpers";
import { channel, community, member, role, roomServiceStandIn } from "./voice-fixtures";
import { inviteCode } from "./community-fixtures";

async function send(e: Env, u: User, method: string, path: string, json?: unknown) {
  const headers = new Headers({ origin: ORIGIN, cookie: [...u.http.cookies].map(([k, v]) => `${k}=${v}`).join("; ") });
  if (json !== undefined) headers.set("content-type", "application/json");
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(ORIGIN + path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) }), e, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function setup() {
  const owner = await newUser();
  const c = await community(owner);
  const text = await channel(c, { kind: "text" });
  const voice = await channel(c);
  const mod = await newUser();
  await member(c, mod, { roleIds: [await role(c, P.MODERATE_MEMBERS | P.MANAGE_MESSAGES | P.MANAGE_CHANNELS, 2)] });
  const target = await newUser();
  await member(c, target);
  const plain = await newUser();
  await member(c, plain);
  return { owner, c, text, voice, mod, target, plain };
}

async function tryFrame(s: RoomSocket, frame: Record<string, unknown>): Promise<string> {
  const ref = nonce();
  s.send({ ...frame, ...(frame.type === "message.send" ? { nonce: ref } : { ref }) });
  const f = await (frame.type === "message.send" ? answer(s, ref) : s.nextWhere((x) => x.type === "error" && x.ref === ref, 1500).catch(() => null));
  if (!f) return "ok";
  return f.type === "error" ? f.code : "ok";
}

async function audit(communityId: string, action: string) {
  return (await env.DB.prepare(`SELECT * FROM audit_log WHERE community_id = ? AND action = ? ORDER BY created_at`).bind(communityId, action).all()).results as {
    actor_id: string;
    target_id: string;
    changes: string | null;
    reason: string | null;
  }[];
}

describe("timeouts", () => {
  it("take effect at once on open sockets, tokens and a call already joined; lifting gives everything back", async () => {
    const s = await setup();
    const sock = await connectRoom(s.text, s.target);
    const before = await say(sock, "before the timeout");
    const identity = await voiceIdentity(env.PASSWORD_PEPPER, s.voice, s.target.id);
    const t = roomServiceStandIn({ [s.voice]: [{ identity }] });

    const res = await send(t.env, s.mod, "PUT", `/api/communities/${s.c.id}/members/${s.target.id}/timeout`, { seconds: 300, reason: "spam" });
    expect(res.status).toBe(200);
    const { timeoutUntil } = (await res.json()) as { timeoutUntil: number };
    expect(timeoutUntil).toBeGreaterThan(Date.now());

    // The open socket is told, and its frames are refused.
    const upd = await sock.next("permissions.updated");
    expect(upd.timeoutUntil).toBe(timeoutUntil);
    expect(BigInt(upd.perms) & P.SEND_MESSAGES).toBe(0n);
    expect(await tryFrame(sock, { type: "message.send", content: "during" })).toBe("forbidden");
    expect(await tryFrame(sock, { type: "reaction.add", messageId: before.id, emoji: "👍" })).toBe("forbidden");
    expect(await tryFrame(sock, { type: "message.edit", id: before.id, content: "edited" })).toBe("forbidden");
    // A new socket says so in `ready`.
    const fresh = await connectRoom(s.text, s.target);
    const ready = fresh.frames.find((f) => f.type === "ready");
    expect(ready && ready.type === "ready" && ready.me.timeoutUntil).toBe(timeoutUntil);
    // HTTP: uploads refused; voice token refused; the call already joined lost its microphone, camera and screen.
    const up = await s.target.http.fetch(`/api/uploads/channels/${s.text}/attachments?filename=a.txt`, { method: "POST", body: "x", headers: { "content-type": "text/plain" } });
    expect(up.status).toBe(403);
    expect((await call(s.target, "POST", `/api/channels/${s.voice}/voice/token`)).status).toBe(403);
    expect(t.calls.filter((x) => x.op === "update")).toEqual([
      { op: "update", room: s.voice, identity, grants: { canSubscribe: true, canPublishSources: [], canPublishData: false, canUpdateOwnMetadata: false } },
    ]);
    // Others see it in the member list.
    const list = await ok(200, s.plain, "GET", `/api/communities/${s.c.id}/members`);
    expect(list.members.find((m: { user: { id: string } }) => m.user.id === s.target.id).timeoutUntil).toBe(timeoutUntil);
    const entry = (await audit(s.c.id, "member.timeout"))[0]!;
    expect(entry).toMatchObject({ actor_id: s.mod.id, target_id: s.target.id, reason: "spam" });
    expect(JSON.parse(entry.changes!)).toEqual({ until: timeoutUntil, seconds: 300 });

    // Lifting it: the socket gets its permissions back at once, the call its grants.
    const lift = await send(t.env, s.mod, "DELETE", `/api/communities/${s.c.id}/members/${s.target.id}/timeout`);
    expect(lift.status).toBe(200);
    const back = await sock.next("permissions.updated", (f) => f.timeoutUntil === undefined);
    expect(BigInt(back.perms) & P.SEND_MESSAGES).toBe(P.SEND_MESSAGES);
    expect(await tryFrame(sock, { type: "message.send", content: "after" })).toBe("ok");
    expect(t.calls.filter((x) => x.op === "update").at(-1)).toMatchObject({ grants: { canPublishSources: ["microphone", "camera", "screen_share", "screen_share_audio"] } });
    expect(await audit(s.c.id, "member.timeout_lift")).toHaveLength(1);
    expect((await call(s.mod, "DELETE", `/api/communities/${s.c.id}/members/${s.target.id}/timeout`)).status).toBe(404);
    sock.close();
    fresh.close();
  });

  it("ends by itself: the room's alarm gives the socket its permissions back, and so does the next frame", async () => {
    const s = await setup();
    const a = await connectRoom(s.text, s.target);
    await ok(200, s.mod, "PUT", `/api/communities/${s.c.id}/members/${s.target.id}/timeout`, { seconds: 60 });
    await a.next("permissions.updated", (f) => f.timeoutUntil !== undefined);
    // The timeout has passed (written into D1, not waited for).
    await env.DB.prepare(`UPDATE members SET timeout_until = ? WHERE community_id = ? AND user_id = ?`).bind(Date.now() - 1, s.c.id, s.target.id).run();
    expect(await runDurableObjectAlarm(roomStub(s.text))).toBe(true);
    const back = await a.next("permissions.updated", (f) => f.timeoutUntil === undefined);
    expect(BigInt(back.perms) & P.SEND_MESSAGES).toBe(P.SEND_MESSAGES);
    expect(await tryFrame(a, { type: "message.send", content: "free again" })).toBe("ok");

    // Without the alarm: a socket whose stored timeout has passed re-reads access on its next frame.
    await ok(200, s.mod, "PUT", `/api/communities/${s.c.id}/members/${s.target.id}/timeout`, { seconds: 60 });
    await a.next("permissions.updated", (f) => f.timeoutUntil !== undefined);
    await env.DB.prepare(`UPDATE members SET timeout_until = ? WHERE community_id = ? AND user_id = ?`).bind(Date.now() - 1, s.c.id, s.target.id).run();
    // The stored identity still says "timed out until <a time now passed>": make it so.
    await runInDurableObject(roomStub(s.text), async (_i, state) => {
      for (const ws of state.getWebSockets()) {
        const raw = JSON.stringify(ws.deserializeAttachment());
        ws.serializeAttachment(JSON.parse(raw.replace(/"timeoutUntil":\d+/g, `"timeoutUntil":${Date.now() - 1}`)));
      }
    });
    expect(await tryFrame(a, { type: "message.send", content: "next frame" })).toBe("ok");
    // And the voice grants of a call joined during it come back when the member asks.
    const identity = await voiceIdentity(env.PASSWORD_PEPPER, s.voice, s.target.id);
    const t = roomServiceStandIn({ [s.voice]: [{ identity }] });
    const r = await send(t.env, s.target, "POST", `/api/channels/${s.voice}/voice/refresh`);
    expect(r.status).toBe(200);
    expect(t.calls.filter((x) => x.op === "update")).toEqual([
      { op: "update", room: s.voice, identity, grants: { canSubscribe: true, canPublishSources: ["microphone", "camera", "screen_share", "screen_share_audio"], canPublishData: false, canUpdateOwnMetadata: false } },
    ]);
    a.close();
  });

  it("outlives leaving: a member who leaves and joins again by invite is still timed out, unless it was lifted", async () => {
    const s = await setup();
    const { timeoutUntil } = await ok(200, s.mod, "PUT", `/api/communities/${s.c.id}/members/${s.target.id}/timeout`, { seconds: 600 });
    const code = await inviteCode(s.owner, s.c.id);
    const rejoin = async () => {
      await ok(204, s.target, "POST", `/api/communities/${s.c.id}/leave`);
      await ok(201, s.target, "POST", `/api/invites/${code}/redeem`);
      const list = await ok(200, s.plain, "GET", `/api/communities/${s.c.id}/members`);
      return list.members.find((m: { user: { id: string } }) => m.user.id === s.target.id).timeoutUntil as number | null | undefined;
    };
    expect(await rejoin()).toBe(timeoutUntil);
    const sock = await connectRoom(s.text, s.target);
    expect(await tryFrame(sock, { type: "message.send", content: "back and loud" })).toBe("forbidden");
    sock.close();
    // Lifted after the return: leaving and joining again does not bring the old one back.
    await ok(200, s.mod, "DELETE", `/api/communities/${s.c.id}/members/${s.target.id}/timeout`);
    expect((await rejoin()) ?? null).toBeNull();
  });

  it("validates the body (400) and refuses a missing member (404)", async () => {
    const s = await setup();
    for (const body of [{ seconds: 61 }, { seconds: "60" }, {}, { seconds: 60, extra: 1 }]) {
      const r = await call(s.mod, "PUT", `/api/communities/${s.c.id}/members/${s.target.id}/timeout`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe("validation_failed");
    }
    expect((await call(s.mod, "PUT", `/api/communities/${s.c.id}/members/nobody123/timeout`, { seconds: 60 })).status).toBe(404);
  });
});

describe("slowmode", () => {
  it("holds members to one message per interval with a slowmode error giving the wait; moderators pass", async () => {
    const s = await setup();
    expect((await call(s.plain, "PUT", `/api/channels/${s.text}/slowmode`, { seconds: 5 })).status).toBe(403);
    expect((await call(s.mod, "PUT", `/api/channels/${s.text}/slowmode`, { seconds: 7 })).status).toBe(400);
    await ok(200, s.mod, "PUT", `/api/channels/${s.text}/slowmode`, { seconds: 30 });
    const entry = (await audit(s.c.id, "channel.slowmode"))[0]!;
    expect(JSON.parse(entry.changes!)).toEqual({ slowmodeSeconds: { from: 0, to: 30 } });
    const detail = await ok(200, s.plain, "GET", `/api/communities/${s.c.id}`);
    expect(detail.channels.find((ch: { id: string }) => ch.id === s.text).slowmodeSeconds).toBe(30);

    const m = await connectRoom(s.text, s.plain);
    await say(m, "first");
    const n = nonce();
    m.send({ type: "message.send", nonce: n, content: "second" });
    const err = await answer(m, n);
    expect(err.type === "error" && err.code).toBe("slowmode");
    expect(err.type === "error" && err.retryAfterMs! > 0 && err.retryAfterMs! <= 30_000).toBe(true);
    // The moderator (MANAGE_MESSAGES) is not held.
    const mm = await connectRoom(s.text, s.mod);
    await say(mm, "one");
    await say(mm, "two");
    // Once the interval has passed (written into the room's state), the member may send again.
    await runInDurableObject(roomStub(s.text), (_i, state) => {
      state.storage.sql.exec(`UPDATE mod_last_send SET at = ?`, Date.now() - 31_000);
    });
    await say(m, "third");
    // Off again.
    await ok(200, s.mod, "PUT", `/api/channels/${s.text}/slowmode`, { seconds: 0 });
    await say(m, "fourth");
    await say(m, "fifth");
    m.close();
    mm.close();
  });
});

describe("reports", () => {
  it("keeps the evidence, goes to the queue of those who moderate the channel, and resolves with delete, timeout or dismiss", async () => {
    const s = await setup();
    const author = await connectRoom(s.text, s.target);
    const bad = await say(author, "something nasty");
    const other = await say(author, "more");
    const third = await say(author, "and more");
    const r = await call(s.plain, "POST", `/api/channels/${s.text}/messages/${bad.id}/report`, { reason: "abuse" });
    expect(r.status).toBe(201);
    expect(r.body.report.evidence).toMatchObject({ content: "something nasty", author: { id: s.target.id } });
    expect((await call(s.plain, "POST", `/api/channels/${s.text}/messages/${bad.id}/report`, { reason: "again" })).status).toBe(409);
    expect((await call(s.plain, "POST", `/api/channels/${s.text}/messages/${bad.id}/report`, { reason: "" })).status).toBe(400);
    expect((await call(s.plain, "POST", `/api/channels/${s.text}/messages/NoSuchMessage/report`, { reason: "x" })).status).toBe(404);

    // Edited afterwards: the evidence stays as reported.
    author.send({ type: "message.edit", ref: nonce(), id: bad.id, content: "nothing to see" });
    await author.next("message.updated");
    const queue = await ok(200, s.mod, "GET", `/api/communities/${s.c.id}/reports`);
    expect(queue.reports.map((x: { evidence: { content: string } }) => x.evidence.content)).toEqual(["something nasty"]);
    expect((await call(s.plain, "GET", `/api/communities/${s.c.id}/reports`)).status).toBe(403);

    // delete: the message goes, the report is resolved; resolving again is a conflict.
    const rid = queue.reports[0].id;
    const done = await ok(200, s.mod, "POST", `/api/communities/${s.c.id}/reports/${rid}/resolve`, { action: "delete" });
    expect(done.report).toMatchObject({ status: "resolved", resolution: "deleted", evidence: { content: "something nasty" } });
    expect((await call(s.mod, "GET", `/api/channels/${s.text}/messages/${bad.id}`)).status).toBe(404);
    expect((await call(s.mod, "POST", `/api/communities/${s.c.id}/reports/${rid}/resolve`, { action: "dismiss" })).status).toBe(409);
    const resolved = await ok(200, s.mod, "GET", `/api/communities/${s.c.id}/reports?status=resolved`);
    expect(resolved.reports).toHaveLength(1);

    // timeout: its author is timed out.
    const r2 = await ok(201, s.plain, "POST", `/api/channels/${s.text}/messages/${other.id}/report`, { reason: "spam" });
    await ok(200, s.mod, "POST", `/api/communities/${s.c.id}/reports/${r2.report.id}/resolve`, { action: "timeout", seconds: 600 });
    const until = (await env.DB.prepare(`SELECT timeout_until AS u FROM members WHERE community_id = ? AND user_id = ?`).bind(s.c.id, s.target.id).first<{ u: number }>())!.u;
    expect(until).toBeGreaterThan(Date.now());
    // dismiss: nothing else happens.
    const r3 = await ok(201, s.plain, "POST", `/api/channels/${s.text}/messages/${third.id}/report`, { reason: "meh" });
    await ok(200, s.mod, "POST", `/api/communities/${s.c.id}/reports/${r3.report.id}/resolve`, { action: "dismiss" });
    expect((await call(s.mod, "GET", `/api/channels/${s.text}/messages/${third.id}`)).status).toBe(200);
    const resolutions = (await audit(s.c.id, "report.resolve")).map((a) => JSON.parse(a.changes!).resolution);
    expect(resolutions).toEqual(["deleted", "timed_out", "dismissed"]);
    author.close();
  });

  it("is rate-limited per member (429)", async () => {
    const s = await setup();
    await seedMessages(s.text, 11);
    const ids = (await ok(200, s.mod, "GET", `/api/channels/${s.text}/messages?limit=50`)).messages.map((m: { id: string }) => m.id);
    for (let i = 0; i < 10; i++) await ok(201, s.plain, "POST", `/api/channels/${s.text}/messages/${ids[i]}/report`, { reason: "r" });
    const r = await call(s.plain, "POST", `/api/channels/${s.text}/messages/${ids[10]}/report`, { reason: "r" });
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe("rate_limited");
  });
});

describe("deleting a member's recent messages", () => {
  it("deletes what they wrote in the window across the community's channels, with an audit entry", async () => {
    const s = await setup();
    const text2 = await channel(s.c, { kind: "text" });
    const a = await connectRoom(s.text, s.target);
    const b = await connectRoom(text2, s.target);
    await say(a, "one");
    await say(a, "two");
    await say(b, "three");
    const kept = await say(b, "kept? no, in the window too");
    void kept;
    const keep = await connectRoom(text2, s.plain);
    const theirs = await say(keep, "not theirs");
    const r = await ok(200, s.mod, "POST", `/api/communities/${s.c.id}/members/${s.target.id}/purge-messages`, { seconds: 3600 });
    expect(r.deleted).toBe(4);
    const h1 = await ok(200, s.mod, "GET", `/api/channels/${s.text}/messages?limit=50`);
    expect(h1.messages.filter((m: { author: { id: string } | null }) => m.author?.id === s.target.id)).toEqual([]);
    expect((await call(s.mod, "GET", `/api/channels/${text2}/messages/${theirs.id}`)).status).toBe(200);
    expect(JSON.parse((await audit(s.c.id, "member.purge_messages"))[0]!.changes!)).toEqual({ seconds: 3600, deleted: 4 });
    expect((await call(s.mod, "POST", `/api/communities/${s.c.id}/members/${s.owner.id}/purge-messages`, { seconds: 3600 })).status).toBe(403);
    expect((await call(s.mod, "POST", `/api/communities/${s.c.id}/members/${s.target.id}/purge-messages`, { seconds: 5 })).status).toBe(400);
    a.close();
    b.close();
    keep.close();
  });
});
