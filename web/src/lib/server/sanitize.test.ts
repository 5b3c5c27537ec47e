/**
 * The server's markdown render (render-core + sanitize-html) against the browser's (the same
 * core + DOMPurify, run here in jsdom): for the XSS corpus, the pathological inputs and
 * everyday markdown, both must give the same DOM (attributes compared as sets), and the
 * server's HTML must carry no element or attribute outside the allowlist.
 */
import { JSDOM } from "jsdom";
import { beforeAll, describe, expect, it } from "vitest";
import { PATHOLOGICAL, XSS_CORPUS } from "../../../../e2e/markdown-corpus";
import type { CustomEmoji } from "$shared/profiles";
import { lookupOf } from "../emoji/custom";
import { ALLOWED_TAGS, type MentionNames } from "../markdown/render-core";
import { renderMarkdownOnServer, sanitizeOnServer } from "./sanitize";

const dom = new JSDOM("<!doctype html><body></body>");
let browserRender: (content: string, names?: MentionNames, roles?: readonly string[]) => string;
let browserSanitize: (html: string) => string;

beforeAll(async () => {
  // render.ts makes its DOMPurify from the global window (the browser's).
  (globalThis as { window?: unknown }).window = dom.window;
  const m = await import("../markdown/render");
  browserRender = m.renderMarkdown;
  browserSanitize = m.sanitize;
});

/** The DOM a string of HTML gives, serialised with each element's attributes sorted. */
function canonical(html: string): string {
  const t = dom.window.document.createElement("template");
  t.innerHTML = html;
  const walk = (n: Node): string => {
    if (n.nodeType === 3) return JSON.stringify(n.textContent);
    if (n.nodeType !== 1) return "";
    const e = n as Element;
    const attrs = [...e.attributes].map((a) => `${a.name}=${JSON.stringify(a.value)}`).sort();
    return `<${e.localName} ${attrs.join(" ")}>${[...e.childNodes].map(walk).join("")}</${e.localName}>`;
  };
  return [...t.content.childNodes].map(walk).join("");
}

const names: MentionNames = {
  user: (id) => (id === "u1" ? "Ada <b>" : null),
  role: (id) => (id === "r1" ? "Mods" : null),
  meId: "u1",
  holdsRole: (id) => id === "r1",
  unknownUser: "unknown-user",
  unknownRole: "unknown-role",
  key: "test",
  emoji: lookupOf([{ id: "e1", name: "party", url: "/api/communities/c1/emoji/e1" } as CustomEmoji]),
};

const EVERYDAY = [
  "plain **bold** _it_ ~~gone~~ `code`",
  "a link https://example.org/a?b=1&c=2 and [named](https://example.com \"t\") and <mailto:a@b.c>",
  "> a quote\n> two\n\n- one\n- two\n\n3. three\n4. four",
  "||spoiler **inside**|| and <@u1> <@zz> <@&r1> <@&r2> @everyone @here",
  "```js\nconst a = '<b>';\n```\nafter",
  ":party: and :nope: 😀",
  "line\nbreak & < > \" '",
];

describe("server sanitizer", () => {
  const cases = [...XSS_CORPUS, ...PATHOLOGICAL, ...EVERYDAY.map((content, i) => ({ name: `everyday ${i}`, content }))];

  it.each(cases)("renders $name as the browser does", ({ content }) => {
    expect(canonical(renderMarkdownOnServer(content, names, ["r1"]))).toBe(canonical(browserRender(content, names, ["r1"])));
  });

  it("keeps nothing outside the allowlist in the XSS corpus", () => {
    for (const { content } of XSS_CORPUS) {
      const html = renderMarkdownOnServer(content, names);
      const t = dom.window.document.createElement("template");
      t.innerHTML = html;
      for (const el of t.content.querySelectorAll("*")) {
        expect(ALLOWED_TAGS).toContain(el.localName);
        for (const a of el.attributes) {
          expect(a.name).not.toMatch(/^on/i);
          if (a.name === "href") expect(a.value).toMatch(/^(https?:\/\/|mailto:)/i);
          if (a.name === "src") expect(a.value).toMatch(/^\/api\/communities\//);
        }
      }
    }
  });

  it.each([
    ["<img src=x onerror=alert(1)>", "img without own src"],
    ['<a href="javascript:alert(1)" onclick="x">a</a>', "javascript link"],
    ['<span class="spoiler evil" role="button" tabindex="0" style="x">s</span>', "spoiler"],
    ['<span class="mention" role="button" data-mention="bogus" data-id="a b">m</span>', "mention"],
    ['<img class="custom-emoji" src="/api/communities/c/emoji/e" alt=":x:" draggable="false" onload="x">', "own emoji"],
    ['<img class="custom-emoji" src="https://evil.example/e.png">', "remote emoji"],
    ['<p>x<script>alert(1)</script><style>p{}</style><iframe src="https://e"></iframe></p>', "script and style"],
    ['<ol start="3" onclick="x"><li>a</li></ol><pre><code class="hljs language-js bad">c</code></pre>', "lists and code"],
  ])("sanitizes raw %s (%s) as DOMPurify does", (html) => {
    expect(canonical(sanitizeOnServer(html))).toBe(canonical(browserSanitize(html)));
  });
});

describe("what the renderer writes on purpose survives both sanitizers", () => {
  // A spoiler is a button a keyboard can reach, an ordered list keeps its start, an emoji is not dragged.
  const cases: [string, RegExp][] = [
    ["||hidden||", /<span [^>]*class="spoiler"[^>]*>/],
    ["3. three\n4. four", /<ol start="3">/],
    [":party:", /<img [^>]*draggable="false"/],
  ];
  for (const [content, shape] of cases) {
    it(`${JSON.stringify(content)} keeps its attributes`, () => {
      for (const html of [renderMarkdownOnServer(content, names), browserRender(content, names)]) {
        expect(html).toMatch(shape);
        if (content.startsWith("||")) {
          expect(html).toContain('tabindex="0"');
          expect(html).toContain('role="button"');
        }
      }
    });
  }

  it("and only those values: a spoiler's tabindex other than 0, or a start that is not a number, is dropped", () => {
    for (const clean of [sanitizeOnServer, browserSanitize]) {
      expect(clean('<span class="spoiler" role="link" tabindex="5">x</span>')).not.toMatch(/tabindex|role/);
      expect(clean('<ol start="javascript:1"><li>x</li></ol>')).not.toContain("start");
      expect(clean('<span tabindex="0">x</span>')).not.toContain("tabindex");
    }
  });
});
