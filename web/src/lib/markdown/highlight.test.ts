/**
 * highlight.ts loads highlight.js on demand: names and aliases are known before anything is
 * loaded, a block is plain (escaped) until its language is in, then highlighted, and listeners
 * hear when that happens. (That the browser fetches nothing without a code block is
 * e2e/first-load.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { highlightCode, highlightVersion, languageName, loadLanguage, onHighlighterLoad } from "./highlight";

describe("highlight on demand", () => {
  it("knows names and aliases before loading anything, and nothing else", () => {
    expect(languageName("python")).toBe("python");
    expect(languageName("PY")).toBe("python");
    expect(languageName("tsx")).toBe("typescript");
    expect(languageName("c++")).toBe("cpp");
    expect(languageName("html")).toBe("xml");
    expect(languageName("brainfuck")).toBeNull();
    expect(languageName("constructor")).toBeNull();
    expect(languageName("__proto__")).toBeNull();
    expect(languageName("a b")).toBeNull();
    expect(languageName("")).toBeNull();
  });

  it("answers escaped text until the language is loaded, then highlighted HTML", async () => {
    const code = "def f(x):\n    return x < 1 and '<b>'";
    const first = highlightCode(code, "py");
    expect(first.language).toBeNull();
    expect(first.html).toBe("def f(x):\n    return x &lt; 1 and &#39;&lt;b&gt;&#39;");

    const before = highlightVersion();
    let heard = 0;
    const stop = onHighlighterLoad(() => heard++);
    await loadLanguage("python"); // the load the first call started
    stop();
    expect(highlightVersion()).toBeGreaterThan(before);
    expect(heard).toBe(1);

    const second = highlightCode(code, "py");
    expect(second.language).toBe("py");
    expect(second.html).toContain('<span class="hljs-keyword">def</span>');
    expect(second.html).not.toContain("<b>");
    // Another language is still plain until it loads.
    expect(highlightCode("fn main() {}", "rust").language).toBeNull();
  });

  it("leaves unknown languages and over-long blocks plain without loading anything", () => {
    const v = highlightVersion();
    expect(highlightCode("<x>", "nope")).toEqual({ html: "&lt;x&gt;", language: null });
    expect(highlightCode("x".repeat(20_001), "python").language).toBeNull();
    expect(highlightVersion()).toBe(v);
  });
});
