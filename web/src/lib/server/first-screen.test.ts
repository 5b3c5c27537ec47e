/**
 * The first screen's markup (first-screen.ts) and its stylesheet (static/first-screen.css):
 * user text escaped everywhere but the sanitized bodies, no inline style or script (the CSP),
 * nothing the app's selectors match, the app's grouping rule, and the same theme colours as
 * the app (src/app.css).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Message } from "$shared/chat";
import type { FirstScreen } from "$shared/first-screen";
import { firstScreenTitle, renderFirstScreen } from "./first-screen";

const WEB = path.resolve(import.meta.dirname, "../../..");
const EVIL = `<img src=x onerror=alert(1)>"'&`;

function message(n: number, over: Partial<Message> = {}): Message {
  return {
    id: `m${n}`,
    channelId: "ch1",
    seq: n,
    author: { id: "u1", username: "ada", displayName: "Ada" },
    content: `message **${n}**`,
    createdAt: Date.UTC(2026, 11, 7, 12, 0) + n * 60_000,
    editedAt: null,
    replyTo: null,
    attachments: [],
    mentions: { users: [], roles: [], everyone: false, here: false },
    reactions: [],
    pinned: false,
    system: null,
    ...over,
  };
}

const screen: FirstScreen = {
  channel: { id: "ch1", communityId: "c1", communityName: EVIL, name: "general", topic: EVIL },
  messages: [
    message(1, { system: { kind: "member_joined", userId: "u2" }, author: null, content: "" }),
    message(2),
    message(3),
    message(4, { author: { id: "u2", username: "evil", displayName: EVIL }, content: `<script>alert(1)</script> <@u1>`, mentions: { users: ["u1"], roles: [], everyone: false, here: false } }),
    message(5, {
      replyTo: { id: "m4", seq: 4, author: { id: "u2", username: "evil", displayName: EVIL }, content: EVIL },
      attachments: [{ id: "a1", filename: EVIL, contentType: "text/plain", size: 3, width: null, height: null, url: "/attachments/ch1/a1/x" }],
      editedAt: 1,
    }),
    message(6, { replyTo: { id: "m0", seq: null, author: null, content: null } }),
  ],
  hasBefore: false,
  people: { u1: { name: "Ada Nick", avatarUrl: null, color: 0xff0000 }, u2: { name: EVIL, avatarUrl: "/api/avatars/u2/abc", color: null } },
  roles: {},
  me: { id: "u1", locale: "en", roleIds: [] },
};

const t = (id: string, values?: Record<string, string | number>) => `${id}${values ? JSON.stringify(values) : ""}`;

describe("first screen markup", () => {
  const html = renderFirstScreen(screen, "en", t);

  it("escapes every piece of user text outside the sanitized bodies", () => {
    expect(html).not.toContain("<img src=x");
    expect(html).not.toContain("<script");
    expect(html).not.toMatch(/<[^>]*\sonerror=/);
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;");
    expect(firstScreenTitle(screen)).toBe("#general · &lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp; · Woxly");
  });

  it("carries no inline style or script, and nothing the app's selectors match", () => {
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/<script|<style/);
    expect(html).not.toMatch(/<article|class="message|role="log"/);
    expect(html.startsWith('<div id="first-screen" class="fs" data-path="/c/c1/ch1" data-locale="en">')).toBe(true);
  });

  it("renders names, grouping, system lines, replies, files and times as the app does", () => {
    const rows = html.match(/<li class="fs-(msg|system)[^"]*"/g) ?? [];
    expect(rows).toEqual([
      '<li class="fs-system"',
      '<li class="fs-msg"',
      '<li class="fs-msg fs-grouped"',
      '<li class="fs-msg fs-mentioned"',
      '<li class="fs-msg"',
      '<li class="fs-msg"',
    ]);
    expect(html).toContain("chat.system.memberJoined{&quot;name&quot;:&quot;&lt;img");
    expect(html).toContain('<span class="fs-author" data-color="#ff0000">Ada Nick</span>');
    expect(html).toContain("<strong>2</strong>");
    expect(html).toContain('<span class="mention mention-me" data-mention="user" data-id="u1">@Ada Nick</span>');
    expect(html).toContain("chat.reply.deleted");
    expect(html).toContain("chat.message.edited");
    expect(html).toContain('<li class="fs-file">&lt;img');
    expect(html).toContain('<img src="/api/avatars/u2/abc" alt=""');
    expect(html).toContain('<time class="fs-time" datetime="2026-12-07T12:02:00.000Z" data-format="header">12:02 PM UTC</time>');
    expect(html).toContain("chat.list.startTitle");
  });
});

describe("first screen stylesheet", () => {
  /** The custom properties of one `selector { ... }` block. */
  function tokens(css: string, selector: RegExp): Map<string, string> {
    const block = selector.exec(css)?.[1] ?? "";
    return new Map([...block.matchAll(/--([\w-]+):\s*([^;]+);/g)].map((m) => [m[1]!, m[2]!.trim()]));
  }
  const app = readFileSync(path.join(WEB, "src/app.css"), "utf8");
  const fs = readFileSync(path.join(WEB, "static/first-screen.css"), "utf8");
  const NAMES: Record<string, string> = {
    rail: "bg-rail",
    sidebar: "bg-sidebar",
    main: "bg-main",
    panel: "bg-panel",
    hover: "bg-hover",
    active: "bg-active",
    text: "text",
    strong: "text-strong",
    muted: "text-muted",
    border: "border",
    "input-bg": "input-bg",
    "input-border": "input-border",
    accent: "accent",
    link: "link",
  };

  it.each([
    ["dark", /:root\[data-theme="dark"\] \{([^}]*)\}/],
    ["light", /:root\[data-theme="light"\] \{([^}]*)\}/],
  ])("uses the app's %s theme colours", (_name, selector) => {
    const ours = tokens(fs, selector);
    const theirs = tokens(app, selector);
    expect(ours.size).toBe(Object.keys(NAMES).length);
    for (const [fsName, appName] of Object.entries(NAMES)) expect([fsName, ours.get(`fs-${fsName}`)]).toEqual([fsName, theirs.get(appName)]);
  });

  it("follows the system's light scheme when no theme is set (JavaScript off)", () => {
    const light = tokens(fs, /:root\[data-theme="light"\] \{([^}]*)\}/);
    const fallback = tokens(fs, /:root:not\(\[data-theme\]\) \{([^}]*)\}/);
    expect(fallback).toEqual(light);
  });
});
