/**
 * Inputs for the chat's markdown renderer: an XSS corpus (each payload, if it ever ran, would
 * set `window.__xss`, open a dialog or break the CSP) and pathological 2,000-character inputs
 * for its speed. Used by e2e/xss.test.ts and bench/markdown-render.mjs.
 */

const TRIP = "window.__xss=1";

export const XSS_CORPUS: { name: string; content: string }[] = [
  { name: "script tag", content: `<script>${TRIP}</script>` },
  { name: "script tag, mixed case", content: `<ScRiPt>${TRIP}</sCrIpT>` },
  { name: "img onerror", content: `<img src=x onerror="${TRIP}">` },
  { name: "svg onload", content: `<svg onload="${TRIP}"><circle r=1 /></svg>` },
  { name: "svg in markdown paragraph", content: `hello <svg><script>${TRIP}</script></svg> world` },
  { name: "iframe srcdoc", content: `<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>` },
  { name: "javascript link", content: `[click me](javascript:${TRIP})` },
  { name: "javascript link, entity-encoded", content: `[click](&#106;avascript:${TRIP})` },
  { name: "javascript link, tab inside", content: `[click](java\tscript:${TRIP})` },
  { name: "javascript link, upper case", content: `[click](JAVASCRIPT:${TRIP})` },
  { name: "javascript autolink", content: `<javascript:${TRIP}>` },
  { name: "data link", content: `[click](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==)` },
  { name: "vbscript link", content: `[click](vbscript:msgbox(1))` },
  { name: "markdown image onerror", content: `![x" onerror="${TRIP}](https://example.invalid/a.png)` },
  { name: "markdown image javascript", content: `![x](javascript:${TRIP})` },
  { name: "link title breakout", content: `[a](https://example.com "title\\" onmouseover=\\"${TRIP}")` },
  { name: "reference link to javascript", content: `[a][r]\n\n[r]: javascript:${TRIP}` },
  { name: "html entities", content: `&lt;img src=x onerror=${TRIP}&gt; &#60;script&#62;${TRIP}&#60;/script&#62;` },
  { name: "html comment smuggling", content: `<!--><img src=x onerror=${TRIP}>-->` },
  { name: "style tag", content: `<style>body{background:url("javascript:${TRIP}")}</style>` },
  { name: "form and button", content: `<form action="javascript:${TRIP}"><button>go</button></form>` },
  { name: "object and embed", content: `<object data="javascript:${TRIP}"></object><embed src="javascript:${TRIP}">` },
  { name: "meta refresh", content: `<meta http-equiv="refresh" content="0;url=javascript:${TRIP}">` },
  { name: "details ontoggle", content: `<details open ontoggle="${TRIP}">x</details>` },
  { name: "mention with markup id", content: `<@<img src=x onerror=${TRIP}>> and <@"><script>${TRIP}</script>>` },
  { name: "role mention with markup", content: `<@&"onmouseover="${TRIP}> <@&x><svg onload=${TRIP}>` },
  { name: "everyone inside tag", content: `@everyone<img src=x onerror=${TRIP}>@here` },
  { name: "emoji shortcode with markup", content: `:<img src=x onerror=${TRIP}>: :smile<script>${TRIP}</script>:` },
  { name: "spoiler around html", content: `||<img src=x onerror=${TRIP}>|| ||[x](javascript:${TRIP})||` },
  { name: "nested spoiler and code", content: "||`<script>window.__xss=1</script>` and ||**<b onclick=window.__xss=1>b</b>**||||" },
  { name: "code fence with html", content: "```html\n<script>window.__xss=1</script>\n<img src=x onerror=window.__xss=1>\n```" },
  { name: "code fence language breakout", content: '```"><img src=x onerror=window.__xss=1>\ncode\n```' },
  { name: "inline code with html", content: "`<img src=x onerror=window.__xss=1>`" },
  { name: "nested quote with html", content: `> > <img src=x onerror=${TRIP}>\n> [x](javascript:${TRIP})` },
  { name: "list with html", content: `- <svg/onload=${TRIP}>\n- [y](javascript:${TRIP})` },
  { name: "unicode escapes in href", content: `[u](\\u006Aavascript:${TRIP}) [w](&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:${TRIP})` },
  { name: "autolink with quote", content: `https://example.com/"onmouseover="${TRIP}` },
  { name: "math and template tags", content: `<math><mtext><table><mglyph><style><img src=x onerror=${TRIP}>` },
  { name: "noscript parser confusion", content: `<noscript><p title="</noscript><img src=x onerror=${TRIP}>">` },
];

function repeat(unit: string, length = 2000): string {
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** Inputs of 2,000 characters that are slow for naive markdown parsers. */
export const PATHOLOGICAL: { name: string; content: string }[] = [
  { name: "nested emphasis *_", content: repeat("*_") },
  { name: "deep nesting **_~~", content: "**_~~".repeat(200) + "x" + "~~_**".repeat(199) },
  { name: "run of *", content: repeat("*") },
  { name: "run of _", content: repeat("_") },
  { name: "run of ~", content: repeat("~") },
  { name: "run of |", content: repeat("|") },
  { name: "alternating *_~|", content: repeat("*_~|") },
  { name: "many backticks", content: repeat("`") },
  { name: "backtick ladder", content: repeat("` `` ``` ") },
  { name: "unclosed links [", content: repeat("[a](") },
  { name: "brackets [[[", content: repeat("[") + "" },
  { name: "angle brackets <<<", content: repeat("<a") },
  { name: "mention-like runs", content: repeat("<@&") },
  { name: "spoiler runs ||a", content: repeat("||a") },
  { name: "quote nesting >", content: repeat("> ") },
  { name: "list nesting", content: Array.from({ length: 200 }, (_, i) => `${" ".repeat(Math.min(i, 40))}- x`).join("\n").slice(0, 2000) },
  { name: "emphasis words", content: repeat("a*b_c ") },
  { name: "autolink-ish", content: repeat("http://a.b/") },
];
