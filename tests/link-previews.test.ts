/**
 * Link previews end to end inside workerd (docs/link-previews.md): a message's links unfurl
 * after its ack into a `message.updated` with the previews (a seq'd event: replayed after a
 * reconnect, in history over HTTP), through the SSRF guard and the room's cache; the image is
 * served by the signed proxy only; the author or a moderator removes a preview and the
 * removal is broadcast, persisted and survives an edit. The outside web is the loopback
 * stand-in (tests/stand-ins/link-pages.ts) with the test allowance on.
 */
import { describe, expect, inject, it } from "vitest";
import type { Message, ServerFrame } from "../workers/shared/chat";
import { previewLinks } from "../workers/shared/link-previews";
import { cleanText, parsePage } from "../workers/core/link-previews";
import { P, DEFAULT_EVERYONE } from "../workers/shared/permissions";
import { PNG } from "./stand-ins/link-pages";
import { addMember, connectRoom, makeRole, nonce, say, world, type RoomSocket } from "./chat-fixtures";
import { call, newUser, ok } from "./helpers";

const pages = inject("linkPagesUrl");

type Updated = Extract<ServerFrame, { type: "message.updated" }>;

/** The next message.updated of `id` that carries (or, with `none`, no longer carries) previews. */
function previewsOf(s: RoomSocket, id: string, none = false): Promise<Updated> {
  return s.next("message.updated", (f) => f.message.id === id && (none ? !f.message.previews?.length : !!f.message.previews?.length), 8000);
}

async function hits(path: string): Promise<number> {
  return ((await (await fetch(`${pages}/__hits?path=${encodeURIComponent(path)}`)).json()) as { hits: number }).hits;
}

describe("which links unfurl, and what a page says (pure)", () => {
  it("takes the first three http(s) links outside code, without <…> and trailing punctuation", () => {
    expect(previewLinks("see https://a.example/x, and (https://b.example/y) `https://code.example` <https://quiet.example> http://c.example/z. https://d.example")).toEqual([
      "https://a.example/x",
      "https://b.example/y",
      "http://c.example/z",
    ]);
    expect(previewLinks("```\nhttps://x.example\n``` [t](https://md.example/p_(1)) https://md.example/p_(1)")).toEqual(["https://md.example/p_(1)"]);
    expect(previewLinks("ftp://x.example javascript:alert(1) no links")).toEqual([]);
  });

  it("reads Open Graph first, then Twitter and HTML tags, as text", () => {
    const m = parsePage(
      `<html><head><title>T &amp; t</title><meta name="description" content="d"><meta name=twitter:image content='/i.png'>
       <!-- <meta property="og:title" content="commented out"> --><script>"<meta property='og:site_name' content='script'>"</script>
       <link rel="alternate" type="application/json+oembed" href="/o.json"></head><body><meta property="og:title" content="in body"></body></html>`,
      "https://site.example/a/b",
    );
    expect(m).toEqual({ title: "T & t", description: "d", siteName: null, image: "https://site.example/i.png", oembed: "https://site.example/o.json" });
    expect(parsePage(`<meta property="og:image" content="javascript:alert(1)"><meta property="og:title" content="x">`, "https://s.example/").image).toBeNull();
    expect(cleanText("a\u202eb <i>c</i>\n\n d &#x1F600; &#0;", 100)).toBe("a b c d 😀");
    expect(cleanText("x".repeat(50), 10)).toBe(`${"x".repeat(9)}…`);
  });
});

describe("unfurling in a room", () => {
  it("acks first, then attaches the preview by message.updated; the image only through the signed proxy", async () => {
    const { owner, member, channelId } = await world();
    const a = await connectRoom(channelId, owner);
    const b = await connectRoom(channelId, member);
    const link = `${pages}/page`;
    const sent = await say(a, `look ${link}`);
    expect(sent.previews ?? []).toEqual([]);
    const up = await previewsOf(b, sent.id);
    expect(up.seq).toBeGreaterThan(sent.seq);
    const [p] = up.message.previews!;
    expect(p).toMatchObject({ url: link, title: 'The "Stand-in" & page', description: "A page served on loopback for the link-preview tests.", siteName: "Stand-in Site" });
    expect(p!.image).toMatch(/^\/api\/link-previews\/image\?u=/);
    expect(p!.image).not.toContain("127.0.0.1:"); // the outside address only inside the signed query
    await previewsOf(a, sent.id); // the sender's socket too

    // The proxy: the signed URL serves the image (with or without a session); anything else is 404.
    const img = await owner.http.fetch(p!.image!);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
    expect(img.headers.get("x-content-type-options")).toBe("nosniff");
    expect(new Uint8Array(await img.arrayBuffer())).toEqual(new Uint8Array(PNG));
    const u = new URL(p!.image!, "http://x").searchParams.get("u")!;
    const s = new URL(p!.image!, "http://x").searchParams.get("s")!;
    expect((await call(null, "GET", p!.image!)).status).toBe(200);
    expect((await call(owner, "GET", `/api/link-previews/image?u=${encodeURIComponent(u)}&s=${s.slice(0, -2)}AA`)).status).toBe(404);
    expect((await call(owner, "GET", `/api/link-previews/image?u=${encodeURIComponent(`${pages}/fake.png`)}&s=${s}`)).status).toBe(404);
    expect((await call(owner, "GET", `/api/link-previews/image?u=${encodeURIComponent(u)}`)).status).toBe(400);

    // History over HTTP and a replay after a reconnect both show it.
    const page = await ok<{ messages: Message[] }>(200, member, "GET", `/api/channels/${channelId}/messages`);
    expect(page.messages.find((m) => m.id === sent.id)?.previews).toEqual(up.message.previews);
    const c = await connectRoom(channelId, member);
    c.send({ type: "hello", lastSeq: sent.seq - 1 });
    const created = await c.next("message.created", (f) => f.message.id === sent.id);
    const replayed = await c.next("message.updated", (f) => f.message.id === sent.id);
    await c.next("resumed");
    expect(replayed.seq).toBe(up.seq);
    expect(replayed.message.previews).toEqual(up.message.previews);
    expect(created.message.previews).toEqual(up.message.previews); // stored frames carry the current previews
    for (const s2 of [a, b, c]) s2.close();
  });

  it("unfurls at most three links, in order, oEmbed where the page has no tags; a cached link is not fetched again", async () => {
    const { owner, channelId } = await world();
    const a = await connectRoom(channelId, owner);
    const links = [`${pages}/plain`, `${pages}/oembed-page`, `${pages}/page-again`, `${pages}/redirect-ok`];
    const sent = await say(a, links.join(" "));
    const up = await previewsOf(a, sent.id);
    expect(up.message.previews!.map((p) => p.url)).toEqual(links.slice(0, 3));
    expect(up.message.previews![0]).toMatchObject({ title: "Only a title", description: "Plain description", siteName: null, image: null });
    expect(up.message.previews![1]).toMatchObject({ title: "Title from oEmbed", siteName: "Embed Provider", description: null });
    expect(up.message.previews![1]!.image).toMatch(/^\/api\/link-previews\/image\?/);
    expect(await hits("/redirect-ok")).toBe(0);

    const before = await hits("/plain");
    const again = await say(a, `again ${pages}/plain`);
    await previewsOf(a, again.id);
    expect(await hits("/plain")).toBe(before);
    a.close();
  });

  it("refused or empty links give no preview; an image at a private address is not offered", async () => {
    const { owner, channelId } = await world();
    const a = await connectRoom(channelId, owner);
    const quiet = await say(a, `http://169.254.169.254/latest/meta-data/ ${pages}/json ${pages}/redirect-private https://private.example.com/ ${pages}/no-tags`);
    const withImage = await say(a, `${pages}/page-with-private-image`);
    const up = await previewsOf(a, withImage.id);
    expect(up.message.previews![0]).toMatchObject({ title: "Private image", image: null });
    const last = await say(a, `${pages}/page`);
    await previewsOf(a, last.id);
    const page = await ok<{ messages: Message[] }>(200, owner, "GET", `/api/channels/${channelId}/messages`);
    expect(page.messages.find((m) => m.id === quiet.id)?.previews).toBeUndefined();
    expect(a.frames.some((f) => f.type === "message.updated" && f.message.id === quiet.id)).toBe(false);
    a.close();
  });

  it("the author removes a preview: broadcast, persisted, not back after an edit; others may not", async () => {
    const { owner, member, community, channelId } = await world();
    const a = await connectRoom(channelId, owner);
    const b = await connectRoom(channelId, member);
    const link = `${pages}/page`;
    const mine = await say(b, `member's ${link}`);
    await previewsOf(a, mine.id);

    // Not the author, no MANAGE_MESSAGES: refused. The owner (every permission) may.
    const stranger = await newUser();
    await addMember(community, stranger);
    const s = await connectRoom(channelId, stranger);
    s.send({ type: "preview.remove", ref: "r1", messageId: mine.id, url: link });
    expect(await s.next("error", (f) => f.ref === "r1")).toMatchObject({ code: "forbidden" });
    b.send({ type: "preview.remove", ref: "r2", messageId: mine.id, url: `${pages}/other` });
    expect(await b.next("error", (f) => f.ref === "r2")).toMatchObject({ code: "not_found" });
    b.send({ type: "preview.remove", ref: "r3", messageId: "nope", url: link });
    expect(await b.next("error", (f) => f.ref === "r3")).toMatchObject({ code: "not_found" });
    b.send({ type: "preview.remove", ref: "r4", messageId: mine.id, url: "javascript:alert(1)" });
    expect(await b.next("error", (f) => f.ref === "r4")).toMatchObject({ code: "validation_failed" });

    b.send({ type: "preview.remove", ref: "r5", messageId: mine.id, url: link });
    const removed = await previewsOf(a, mine.id, true);
    expect(removed.message.previews).toBeUndefined();
    await previewsOf(s, mine.id, true);

    // Edited with the same link: the removal holds. A later message's preview proves the unfurls ran.
    b.send({ type: "message.edit", ref: "e1", id: mine.id, content: `edited ${link}` });
    await a.next("message.updated", (f) => f.message.id === mine.id && f.message.content.startsWith("edited"));
    const later = await say(b, `${pages}/plain`);
    await previewsOf(a, later.id);
    const page = await ok<{ messages: Message[] }>(200, owner, "GET", `/api/channels/${channelId}/messages`);
    expect(page.messages.find((m) => m.id === mine.id)?.previews).toBeUndefined();

    // A replay from before shows no removed preview in any frame.
    const c = await connectRoom(channelId, member);
    c.send({ type: "hello", lastSeq: mine.seq - 1 });
    await c.next("resumed");
    for (const f of c.frames) if ((f.type === "message.created" || f.type === "message.updated") && f.message.id === mine.id) expect(f.message.previews).toBeUndefined();
    for (const x of [a, b, s, c]) x.close();
  });

  it("a moderator (MANAGE_MESSAGES) removes another member's preview", async () => {
    const { owner, member, community, channelId } = await world();
    const modRole = await makeRole(community, DEFAULT_EVERYONE | P.MANAGE_MESSAGES);
    const mod = await newUser();
    await addMember(community, mod, [modRole]);
    const b = await connectRoom(channelId, member);
    const m = await connectRoom(channelId, mod);
    const sent = await say(b, `${pages}/page`);
    await previewsOf(m, sent.id);
    m.send({ type: "preview.remove", ref: "m1", messageId: sent.id, url: `${pages}/page` });
    await previewsOf(b, sent.id, true);
    void owner;
    b.close();
    m.close();
  });

  it("an edit unfurls its new links; editing the links away drops the previews", async () => {
    const { owner, channelId } = await world();
    const a = await connectRoom(channelId, owner);
    const sent = await say(a, `first ${pages}/plain`);
    await previewsOf(a, sent.id);
    a.send({ type: "message.edit", ref: "e1", id: sent.id, content: `now ${pages}/page` });
    const up = await a.next("message.updated", (f) => f.message.id === sent.id && f.message.previews?.[0]?.url === `${pages}/page`, 8000);
    expect(up.message.previews).toHaveLength(1);
    a.send({ type: "message.edit", ref: "e2", id: sent.id, content: "no links now" });
    await a.next("message.updated", (f) => f.message.id === sent.id && f.message.content === "no links now" && !f.message.previews?.length, 8000);
    a.send({ type: "message.send", nonce: nonce(), content: "x" });
    a.close();
  });
});
