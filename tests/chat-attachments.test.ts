/**
 * Attachments: raw uploads into R2 with a D1 row, types proven by magic bytes, image sizes
 * from headers, the size cap, serving with nosniff / sandbox CSP / Content-Disposition, and
 * binding uploads to messages (this channel, this uploader, once).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_ATTACHMENT_BYTES, type Attachment } from "../workers/shared/chat";
import { P } from "../workers/shared/permissions";
import { answer, connectRoom, makeChannel, nonce, say, setOverwrite, world } from "./chat-fixtures";
import { client, newUser, type User } from "./helpers";

const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const le16 = (n: number) => [n & 255, (n >> 8) & 255];
const le24 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255];
const text = (s: string) => [...s].map((c) => c.charCodeAt(0));

const PNG = new Uint8Array([0x89, ...text("PNG\r\n\x1a\n"), ...be32(13), ...text("IHDR"), ...be32(640), ...be32(480), 8, 6, 0, 0, 0, 0, 0, 0, 0]);
const JPEG = new Uint8Array([
  0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, ...text("JFIF\0"), 1, 1, 0, 0, 1, 0, 1, 0, 0,
  0xff, 0xdb, 0x00, 0x04, 0, 0, // a short DQT to skip
  0xff, 0xc2, 0x00, 0x11, 0x08, 0x02, 0x1c, 0x03, 0x20, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9,
]);
const GIF = new Uint8Array([...text("GIF89a"), ...le16(32), ...le16(16), 0, 0, 0, 0x3b]);
const WEBP = new Uint8Array([...text("RIFF"), ...le24(30), 0, ...text("WEBP"), ...text("VP8X"), 10, 0, 0, 0, 0, 0, 0, 0, ...le24(1919), ...le24(1079), 0, 0]);
const HTML = new TextEncoder().encode("<html><script>alert(1)</script></html>");

async function upload(u: User, channelId: string, body: BodyInit, filename: string, type = "application/octet-stream") {
  return u.http.fetch(`/api/uploads/channels/${channelId}/attachments?filename=${encodeURIComponent(filename)}`, {
    method: "POST",
    headers: { "content-type": type },
    body,
  });
}

async function uploaded(u: User, channelId: string, body: BodyInit, filename: string, type?: string): Promise<Attachment> {
  const res = await upload(u, channelId, body, filename, type);
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { attachment: Attachment }).attachment;
}

describe("attachments", () => {
  it("stores uploads in R2 and D1 and reads image sizes from PNG, JPEG, GIF and WebP headers", async () => {
    const w = await world();
    const cases = [
      [PNG, "a.png", "image/png", 640, 480],
      [JPEG, "b.jpg", "image/jpeg", 800, 540],
      [GIF, "c.gif", "image/gif", 32, 16],
      [WEBP, "d.webp", "image/webp", 1920, 1080],
    ] as const;
    for (const [bytes, name, type, width, height] of cases) {
      const a = await uploaded(w.member, w.channelId, bytes, name, "application/octet-stream");
      expect(a).toMatchObject({ filename: name, contentType: type, size: bytes.byteLength, width, height });
      expect(a.url).toBe(`/attachments/${w.channelId}/${a.id}/${name}`);
      const row = await env.DB.prepare(`SELECT key, uploader_id, channel_id, content_type FROM attachments WHERE id = ?`).bind(a.id).first<{ key: string; uploader_id: string; channel_id: string; content_type: string }>();
      expect(row).toEqual({ key: `attachments/${w.channelId}/${a.id}`, uploader_id: w.member.id, channel_id: w.channelId, content_type: type });
      const obj = await env.FILES.get(row!.key);
      expect(new Uint8Array(await obj!.arrayBuffer())).toEqual(bytes);
    }
  });

  it("serves images inline only when their bytes prove it; everything else downloads, sandboxed and nosniff", async () => {
    const w = await world();
    const png = await uploaded(w.member, w.channelId, PNG, "pic.png");
    const fake = await uploaded(w.member, w.channelId, HTML, "pic.png", "image/png"); // declared an image, is HTML
    const html = await uploaded(w.member, w.channelId, HTML, "page.html", "text/html");
    const svg = await uploaded(w.member, w.channelId, new TextEncoder().encode("<svg onload=alert(1)></svg>"), "x.svg", "image/svg+xml");
    expect(fake.contentType).toBe("application/octet-stream");
    expect(fake.width).toBeNull();
    expect(html.contentType).toBe("text/html");
    expect(svg.contentType).toBe("application/octet-stream");

    const fetchAs = (u: User, url: string, init?: RequestInit) => u.http.fetch(url, init);
    const inline = await fetchAs(w.owner, png.url);
    expect(inline.status).toBe(200);
    expect(inline.headers.get("content-type")).toBe("image/png");
    expect(inline.headers.get("content-disposition")).toMatch(/^inline; filename="pic.png"/);
    expect(inline.headers.get("x-content-type-options")).toBe("nosniff");
    expect(inline.headers.get("content-security-policy")).toBe("sandbox; default-src 'none'");
    expect(new Uint8Array(await inline.arrayBuffer())).toEqual(PNG);

    for (const a of [fake, html, svg]) {
      const res = await fetchAs(w.owner, a.url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-disposition")).toMatch(/^attachment; /);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("content-security-policy")).toBe("sandbox; default-src 'none'");
      expect(new Uint8Array(await res.arrayBuffer()).byteLength).toBe(a.size);
    }

    const range = await fetchAs(w.owner, png.url, { headers: { range: "bytes=0-3" } });
    expect(range.status).toBe(206);
    expect(range.headers.get("content-range")).toBe(`bytes 0-3/${PNG.byteLength}`);
    expect(new Uint8Array(await range.arrayBuffer())).toEqual(PNG.subarray(0, 4));
  });

  it("serves files only to members who may read the channel", async () => {
    const w = await world();
    const a = await uploaded(w.member, w.channelId, PNG, "p.png");
    const outsider = await newUser();
    expect((await outsider.http.fetch(a.url)).status).toBe(404);
    expect((await client().fetch(a.url)).status).toBe(401);
    const wrongChannel = await makeChannel(w.community, "text", "other");
    expect((await w.member.http.fetch(`/attachments/${wrongChannel}/${a.id}/p.png`)).status).toBe(404);
    await setOverwrite(w.channelId, "member", w.owner.id, 0n, 0n); // harmless overwrite
    await setOverwrite(w.channelId, "role", w.community.everyoneRoleId, 0n, P.READ_HISTORY);
    expect((await w.member.http.fetch(a.url)).status).toBe(404);
    expect((await w.owner.http.fetch(a.url)).status).toBe(200);
    expect((await w.owner.http.fetch(a.url, { method: "POST" })).status).toBe(405);
  });

  it("refuses uploads without ATTACH_FILES, without a name, empty, or over the size cap", async () => {
    const w = await world();
    await setOverwrite(w.channelId, "member", w.member.id, 0n, P.ATTACH_FILES);
    expect((await upload(w.member, w.channelId, PNG, "p.png")).status).toBe(403);
    expect((await upload(w.owner, w.channelId, PNG, "")).status).toBe(400);
    expect((await upload(w.owner, w.channelId, new Uint8Array(0), "empty.bin")).status).toBe(400);
    expect((await upload(await newUser(), w.channelId, PNG, "p.png")).status).toBe(404);

    // One byte over the cap, streamed without a Content-Length.
    const chunk = new Uint8Array(1024 * 1024);
    let left = DEFAULT_MAX_ATTACHMENT_BYTES + 1;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (left <= 0) return c.close();
        const n = Math.min(left, chunk.byteLength);
        c.enqueue(chunk.subarray(0, n));
        left -= n;
      },
    });
    const big = await upload(w.owner, w.channelId, body, "big.bin");
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");

    // Names are cleaned: no path, no control or bidi characters.
    const a = await uploaded(w.owner, w.channelId, HTML, "../../evil\u202Egnp.exe");
    expect(a.filename).toBe("evil_gnp.exe");
  });

  it("binds uploads to a message: same channel and uploader, each file once, and deletes them with it", async () => {
    const w = await world();
    const s = await connectRoom(w.channelId, w.member);
    const o = await connectRoom(w.channelId, w.owner);
    const a = await uploaded(w.member, w.channelId, PNG, "p.png");
    const b = await uploaded(w.member, w.channelId, GIF, "g.gif");
    const m = await say(s, "", { attachmentIds: [a.id, b.id] });
    expect(m.attachments).toEqual([a, b]);
    expect((await o.next("message.created")).message.attachments.map((x) => x.id)).toEqual([a.id, b.id]);

    const refuse = async (sock: typeof s, ids: string[]) => {
      const n = nonce();
      sock.send({ type: "message.send", nonce: n, content: "x", attachmentIds: ids });
      return answer(sock, n);
    };
    expect(await refuse(s, [a.id])).toMatchObject({ type: "error", code: "invalid_attachment" }); // already used
    const ownersFile = await uploaded(w.owner, w.channelId, PNG, "o.png");
    expect(await refuse(s, [ownersFile.id])).toMatchObject({ type: "error", code: "invalid_attachment" }); // not theirs
    const other = await makeChannel(w.community, "text", "other");
    const elsewhere = await uploaded(w.member, other, PNG, "e.png");
    expect(await refuse(s, [elsewhere.id])).toMatchObject({ type: "error", code: "invalid_attachment" }); // other channel
    expect(await refuse(s, Array.from({ length: 11 }, (_, i) => `id${i}`))).toMatchObject({ type: "error", code: "validation_failed" });

    const n = nonce();
    s.send({ type: "message.send", nonce: n, content: "" });
    expect(await answer(s, n)).toMatchObject({ type: "error", code: "validation_failed" });

    // has=attachment finds it.
    const found = await w.owner.http.fetch(`/api/channels/${w.channelId}/search?has=attachment`);
    expect(((await found.json()) as { hits: { message: { id: string } }[] }).hits.map((h) => h.message.id)).toEqual([m.id]);

    s.send({ type: "message.delete", ref: "d", id: m.id });
    await o.next("message.deleted");
    for (let i = 0; i < 50; i++) {
      if (!(await env.FILES.head(`attachments/${w.channelId}/${a.id}`))) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await env.FILES.head(`attachments/${w.channelId}/${a.id}`)).toBeNull();
    expect((await w.owner.http.fetch(a.url)).status).toBe(404);
  });
});
