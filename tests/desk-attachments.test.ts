/**
 * Attachments in a support-desk ticket (docs/support-desk.md "Files"): a visitor uploads with
 * their Bearer token (POST /api/uploads/widget) through the members' upload path (size, magic
 * bytes, rate, pending quota), sends the files in their ticket's room, and opens the room's
 * files with signed links (POST /api/widget/file-links, `?vt=`) served with the same headers as
 * members' files. Anyone else — another visitor, a member outside the desk, a forged or expired
 * link — gets 404. Closed tickets take no uploads, and their transcript names the files.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Attachment } from "../workers/shared/chat";
import { FileLinks, RequestHumanResponse, Transcript, VISITOR_FILE_LINK_TTL_MS, visitorUserId } from "../workers/shared/desk";
import { newId } from "../workers/shared/ids";
import { MAX_PENDING_FILES, UPLOAD_RATE } from "../workers/api/src/lib/pending-uploads";
import { visitorFileLink } from "../workers/api/src/lib/desk-files";
import { nonce, say } from "./chat-fixtures";
import { client, newUser, ok, type User } from "./helpers";
import { type Visitor, deskFrame, makeDesk, managerRoomSocket, managerSocket, startVisitor, visitorRoomSocket, vok } from "./desk-fixtures";

const text = (s: string) => [...s].map((c) => c.charCodeAt(0));
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const PNG = new Uint8Array([0x89, ...text("PNG\r\n\x1a\n"), ...be32(13), ...text("IHDR"), ...be32(4), ...be32(3), 8, 6, 0, 0, 0, 0, 0, 0, 0]);
const TXT = new TextEncoder().encode("order 1234\n");
const FAKE_PNG = new TextEncoder().encode("<html><script>alert(1)</script></html>");

function vupload(v: Visitor, body: Uint8Array, filename: string, type = "application/octet-stream") {
  return v.http.fetch(`/api/uploads/widget?filename=${encodeURIComponent(filename)}`, {
    method: "POST",
    headers: { authorization: `Bearer ${v.token}`, "content-type": type },
    body,
  });
}

async function vuploaded(v: Visitor, body: Uint8Array, filename: string, type?: string): Promise<Attachment> {
  const res = await vupload(v, body, filename, type);
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { attachment: Attachment }).attachment;
}

async function links(v: Visitor, ids: string[]): Promise<FileLinks> {
  return FileLinks.parse(await vok(200, v, "POST", "/api/widget/file-links", { ids }));
}

/** A file fetched with no cookie at all, as the widget's iframe does. */
const anon = (url: string) => client().fetch(url);

async function errorOf(res: Response): Promise<{ status: number; code: string }> {
  return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
}

/** A desk, a visitor whose ticket a manager accepted, both sockets in the ticket's room. */
async function liveTicket(name = "Ann") {
  const desk = await makeDesk({ managers: 1, capacity: 5 });
  const m = desk.managers[0]!;
  const v = await startVisitor(desk.id, name);
  await vok(200, v, "POST", "/api/widget/ask", { question: "Where is my parcel?", language: "en" });
  const q = RequestHumanResponse.parse(await vok(200, v, "POST", "/api/widget/request-human", {}));
  const ms = await managerSocket(m, desk.id);
  expect(await deskFrame(ms, { type: "ticket.accept", ticketId: q.ticket.id })).toMatchObject({ type: "done" });
  return { desk, m, v, ms, ticketId: q.ticket.id, channelId: q.ticket.channelId };
}

describe("visitor attachments", () => {
  it("a visitor uploads an image and a text file and sends them; the manager receives both and can open them", async () => {
    const { m, v, channelId } = await liveTicket();
    const png = await vuploaded(v, PNG, "photo.png");
    const txt = await vuploaded(v, TXT, "order.txt", "text/plain");
    expect(png).toMatchObject({ filename: "photo.png", contentType: "image/png", width: 4, height: 3, url: `/attachments/${channelId}/${png.id}/photo.png` });
    expect(txt).toMatchObject({ filename: "order.txt", contentType: "text/plain", width: null });
    const row = await env.DB.prepare(`SELECT uploader_id, channel_id FROM attachments WHERE id = ?`).bind(png.id).first();
    expect(row).toEqual({ uploader_id: visitorUserId(v.id), channel_id: channelId });

    const mr = await managerRoomSocket(m, channelId);
    const vs = await visitorRoomSocket(v, channelId);
    const sent = await say(vs, "Here is the photo", { attachmentIds: [png.id, txt.id] });
    expect(sent.attachments.map((a) => a.id)).toEqual([png.id, txt.id]);
    const seen = await mr.nextWhere((f) => f.type === "message.created" && f.message.id === sent.id);
    expect(seen.type === "message.created" && seen.message.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ["photo.png", "image/png"],
      ["order.txt", "text/plain"],
    ]);
    // The manager opens them with their session, like any member's file.
    const res = await m.http.fetch(png.url);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(PNG);
  });

  it("the visitor opens their ticket's files (theirs and the manager's) with signed links, served nosniff and sandboxed", async () => {
    const { m, v, channelId } = await liveTicket();
    const png = await vuploaded(v, PNG, "photo.png");
    const txt = await vuploaded(v, TXT, "order.txt", "text/plain");
    const vs = await visitorRoomSocket(v, channelId);
    await say(vs, "", { attachmentIds: [png.id, txt.id] });
    // The manager's file, uploaded and sent with their session.
    const up = await m.http.fetch(`/api/uploads/channels/${channelId}/attachments?filename=label.txt`, { method: "POST", headers: { "content-type": "text/plain" }, body: TXT });
    expect(up.status).toBe(201);
    const label = ((await up.json()) as { attachment: Attachment }).attachment;
    // Not yet sent: no link for the visitor.
    expect((await links(v, [label.id])).links).toEqual({});
    const mr = await managerRoomSocket(m, channelId);
    await say(mr, "Your label", { attachmentIds: [label.id] });

    const before = Date.now();
    const got = await links(v, [png.id, txt.id, label.id, newId()]);
    expect(Object.keys(got.links).sort()).toEqual([png.id, txt.id, label.id].sort());
    expect(got.expiresAt).toBeGreaterThanOrEqual(before + VISITOR_FILE_LINK_TTL_MS);
    expect(got.links[png.id]).toMatch(new RegExp(`^/attachments/${channelId}/${png.id}/photo\\.png\\?vt=`));

    // Without a cookie, only with the link.
    expect((await anon(png.url)).status).toBe(401);
    const img = await anon(got.links[png.id]!);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
    expect(img.headers.get("content-disposition")).toMatch(/^inline/);
    expect(img.headers.get("x-content-type-options")).toBe("nosniff");
    expect(img.headers.get("content-security-policy")).toBe("sandbox; default-src 'none'");
    expect(new Uint8Array(await img.arrayBuffer())).toEqual(PNG);
    const doc = await anon(got.links[label.id]!);
    expect(doc.status).toBe(200);
    expect(doc.headers.get("content-disposition")).toMatch(/^attachment; filename="label.txt"/);
    expect(doc.headers.get("x-content-type-options")).toBe("nosniff");
    expect(doc.headers.get("content-security-policy")).toBe("sandbox; default-src 'none'");
    await doc.arrayBuffer();
  });

  it("another ticket's file, a forged, moved or expired link, and a member outside the desk all get 404", async () => {
    const a = await liveTicket("Ann");
    const b = await liveTicket("Bob");
    const png = await vuploaded(a.v, PNG, "photo.png");
    const other = await vuploaded(a.v, TXT, "other.txt", "text/plain");
    const vs = await visitorRoomSocket(a.v, a.channelId);
    await say(vs, "files", { attachmentIds: [png.id, other.id] });
    const good = (await links(a.v, [png.id])).links[png.id]!;

    // Bob's visitor gets no link to Ann's files, and a link of his own cannot name them.
    expect((await links(b.v, [png.id, other.id])).links).toEqual({});
    const bobs = await visitorFileLink(env.PASSWORD_PEPPER, { channelId: a.channelId, id: png.id, filename: "photo.png" }, b.v.id, Date.now() + 60_000);
    expect((await anon(bobs)).status).toBe(404);
    // Ann's link moved to another file, or to another channel, or with a forged signature.
    expect((await anon(good.replace(png.id, other.id))).status).toBe(404);
    expect((await anon(good.replace(a.channelId, b.channelId))).status).toBe(404);
    const [path, token] = good.split("?vt=") as [string, string];
    const [body, sig] = token.split(".") as [string, string];
    const flipped = `${sig.slice(0, -2)}${sig.endsWith("AA") ? "AB" : "AA"}`;
    expect((await anon(`${path}?vt=${body}.${flipped}`)).status).toBe(404);
    expect((await anon(`${path}?vt=garbage`)).status).toBe(404);
    const forgedBody = btoa(JSON.stringify({ c: a.channelId, a: png.id, v: a.v.id, e: Date.now() + 1e9 })).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    expect((await anon(`${path}?vt=${forgedBody}.${sig}`)).status).toBe(404);
    // Expired.
    const expired = await visitorFileLink(env.PASSWORD_PEPPER, { channelId: a.channelId, id: png.id, filename: "photo.png" }, a.v.id, Date.now() - 1);
    const res = await anon(expired);
    expect(res.status).toBe(404);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    await res.arrayBuffer();
    // A member outside the desk (and a manager of another desk) with a session: 404.
    const outsider: User = await newUser("outsider");
    expect((await outsider.http.fetch(png.url)).status).toBe(404);
    expect((await b.m.http.fetch(png.url)).status).toBe(404);
    expect((await a.m.http.fetch(png.url)).status).toBe(200);
  });

  it("uploads are refused without a visitor token, before a ticket, and once the ticket is closed; the transcript names the files", async () => {
    const res = await client().fetch(`/api/uploads/widget?filename=a.png`, { method: "POST", headers: { "content-type": "image/png" }, body: PNG });
    expect(await errorOf(res)).toEqual({ status: 401, code: "unauthorized" });
    const desk = await makeDesk();
    const fresh = await startVisitor(desk.id, "Cat");
    expect(await errorOf(await vupload(fresh, PNG, "a.png"))).toEqual({ status: 404, code: "not_found" });

    const { desk: d, m, v, ticketId, channelId } = await liveTicket();
    const png = await vuploaded(v, PNG, "receipt.png");
    const vs = await visitorRoomSocket(v, channelId);
    await say(vs, "Receipt attached", { attachmentIds: [png.id] });
    await ok(200, m, "POST", `/api/desks/${d.id}/tickets/${ticketId}/close`);
    expect(await errorOf(await vupload(v, PNG, "late.png"))).toEqual({ status: 409, code: "conflict" });
    const t = Transcript.parse(await ok(200, m, "GET", `/api/desks/${d.id}/tickets/${ticketId}`));
    expect(t.lines.find((l) => l.author.kind === "visitor" && l.content.includes("Receipt attached"))?.content).toBe("Receipt attached\n[file: receipt.png]");
    // The visitor still opens the closed ticket's files.
    const got = await links(v, [png.id]);
    expect((await anon(got.links[png.id]!)).status).toBe(200);
  });

  it("a .png that is not a PNG is stored and served as a download, as for members", async () => {
    const { v } = await liveTicket();
    const fake = await vuploaded(v, FAKE_PNG, "pic.png", "image/png");
    expect(fake).toMatchObject({ contentType: "application/octet-stream", width: null, height: null });
    const vs = await visitorRoomSocket(v, fake.url.split("/")[2]!);
    await say(vs, "", { attachmentIds: [fake.id] });
    const res = await anon((await links(v, [fake.id])).links[fake.id]!);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment/);
    await res.arrayBuffer();
  });

  it(`the members' rate (${UPLOAD_RATE.max} a minute) and pending quota (${MAX_PENDING_FILES} files) apply to visitors`, async () => {
    const a = await liveTicket();
    for (let i = 0; i < UPLOAD_RATE.max; i++) await vuploaded(a.v, TXT, `f${i}.txt`, "text/plain");
    const limited = await vupload(a.v, TXT, "one-more.txt", "text/plain");
    expect(limited.headers.get("retry-after")).toBeTruthy();
    expect(await errorOf(limited)).toEqual({ status: 429, code: "rate_limited" });

    const b = await liveTicket();
    const uploader = visitorUserId(b.v.id);
    await env.DB.batch(
      Array.from({ length: MAX_PENDING_FILES }, () => newId()).map((id) =>
        env.DB.prepare(
          `INSERT INTO attachments (id, channel_id, uploader_id, key, filename, content_type, size, created_at) VALUES (?, ?, ?, ?, 'x.bin', 'application/octet-stream', 10, ?)`,
        ).bind(id, b.channelId, uploader, `attachments/${b.channelId}/${id}`, Date.now()),
      ),
    );
    expect(await errorOf(await vupload(b.v, TXT, "over.txt", "text/plain"))).toEqual({ status: 413, code: "upload_quota_exceeded" });
  });

  it("a visitor cannot send another visitor's upload in their room", async () => {
    const a = await liveTicket("Ann");
    const b = await liveTicket("Bob");
    const png = await vuploaded(a.v, PNG, "photo.png");
    const vs = await visitorRoomSocket(b.v, b.channelId);
    const n = nonce();
    vs.send({ type: "message.send", nonce: n, content: "mine now", attachmentIds: [png.id] });
    expect(await vs.nextWhere((f) => f.type === "error" && f.ref === n)).toMatchObject({ code: "invalid_attachment" });
  });
});
