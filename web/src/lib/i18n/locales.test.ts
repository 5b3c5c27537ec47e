/**
 * The three languages stay in step: for every message file family (en.json, chat.*, communities.*,
 * voice.*), English, Russian and Kyrgyz have exactly the same keys, every value is a non-empty
 * string, and every message uses the same ICU arguments (`{name}`, plural/select argument names
 * included) in all three — a translation may choose other plural categories, not other arguments.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const dir = import.meta.dirname;
const LOCALES = ["en", "ru", "ky"] as const;

/**
 * Deliberately empty messages: ChannelPane prefixes an error notice with
 * `chat.notice.action.<action>` and an empty string means "no prefix" for these actions.
 * They must be empty in every locale; any other empty value is a missing translation.
 */
const EMPTY_ON_PURPOSE = new Set(["chat.notice.action.hello", "chat.notice.action.read.mark", "chat.notice.action.typing.start"]);
type Loc = (typeof LOCALES)[number];

/** Families by file name: "" for en.json/ru.json/ky.json, "chat." for chat.en.json, … */
function families(): string[] {
  const found = new Set<string>();
  for (const name of readdirSync(dir)) {
    const m = /^(.*?)(en|ru|ky)\.json$/.exec(name);
    if (m) found.add(m[1] ?? "");
  }
  return [...found].sort();
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, value);
  }
  return out;
}

function load(family: string, loc: Loc): Map<string, unknown> | null {
  try {
    const text = readFileSync(path.join(dir, `${family}${loc}.json`), "utf8");
    return flatten(JSON.parse(text), "", new Map());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/**
 * The argument names an ICU MessageFormat message uses, nested plural/select branches included.
 * Follows ICU quoting: `''` is a literal apostrophe, and `'` before `{`, `}` (or `#` in a plural)
 * starts a quoted literal up to the next single `'`.
 */
export function icuArguments(message: string): Set<string> {
  const names = new Set<string>();
  let i = 0;

  const fail = (why: string): never => {
    throw new Error(`${why} at ${i} in ${JSON.stringify(message)}`);
  };
  const skipSpace = () => {
    while (i < message.length && /\s/.test(message.charAt(i))) i++;
  };
  const word = (): string => {
    skipSpace();
    const start = i;
    while (i < message.length && !/[\s,{}]/.test(message.charAt(i))) i++;
    return message.slice(start, i);
  };

  /** Text up to the end of the message, or up to the `}` that closes the current branch. */
  const text = (inPlural: boolean, nested: boolean) => {
    while (i < message.length) {
      const c = message.charAt(i);
      if (c === "'") {
        const next = message.charAt(i + 1);
        if (next === "'") {
          i += 2;
        } else if (next === "{" || next === "}" || (inPlural && next === "#")) {
          const end = message.indexOf("'", i + 1);
          i = end === -1 ? message.length : end + 1;
        } else {
          i++;
        }
      } else if (c === "{") {
        i++;
        argument();
      } else if (c === "}") {
        if (!nested) fail("unbalanced }");
        return;
      } else {
        i++;
      }
    }
    if (nested) fail("unclosed {");
  };

  const argument = () => {
    const name = word();
    if (!name) fail("empty argument");
    names.add(name);
    skipSpace();
    if (message.charAt(i) === "}") {
      i++;
      return;
    }
    if (message.charAt(i) !== ",") fail("expected , or }");
    i++;
    const type = word();
    skipSpace();
    if (type === "plural" || type === "selectordinal" || type === "select") {
      if (message.charAt(i) !== ",") fail(`expected , after ${type}`);
      i++;
      const plural = type !== "select";
      for (;;) {
        skipSpace();
        if (message.charAt(i) === "}") {
          i++;
          return;
        }
        const selector = word();
        if (!selector) fail("expected a selector");
        if (plural && selector.startsWith("offset:")) continue;
        skipSpace();
        if (message.charAt(i) !== "{") fail(`expected { after ${selector}`);
        i++;
        text(plural, true);
        i++; // the branch's closing }
      }
    }
    // number, date, time with an optional style: skip to the closing brace.
    const end = message.indexOf("}", i);
    if (end === -1) fail("unclosed argument");
    i = end + 1;
  };

  text(false, false);
  return names;
}

describe("icuArguments", () => {
  it("finds simple, plural, select and nested arguments and honours quoting", () => {
    expect([...icuArguments("Hi {name}, '{not}' it''s {n, number}")]).toEqual(["name", "n"]);
    expect(
      [...icuArguments("{count, plural, offset:1 =0 {none} one {# by {who}} other {{x, select, a {A} other {B}}}}")].sort(),
    ).toEqual(["count", "who", "x"].sort());
    expect(() => icuArguments("{oops")).toThrow();
  });
});

describe.each(families())("locale files %sXX.json", (family) => {
  const files = Object.fromEntries(LOCALES.map((loc) => [loc, load(family, loc)])) as Record<
    Loc,
    Map<string, unknown> | null
  >;

  it("exist for every locale", () => {
    const missing = LOCALES.filter((loc) => files[loc] === null).map((loc) => `${family}${loc}.json`);
    expect(missing, `missing files: ${missing.join(", ")}`).toEqual([]);
  });

  it("have the same keys in every locale", () => {
    const all = new Set<string>();
    for (const loc of LOCALES) for (const key of files[loc]?.keys() ?? []) all.add(key);
    const report: string[] = [];
    for (const loc of LOCALES) {
      const missing = [...all].filter((key) => !files[loc]?.has(key)).sort();
      if (missing.length) report.push(`${family}${loc}.json lacks ${missing.length}: ${missing.join(", ")}`);
    }
    expect(report, report.join("\n")).toEqual([]);
  });

  it("have no empty or non-string values", () => {
    const report: string[] = [];
    for (const loc of LOCALES) {
      for (const [key, value] of files[loc] ?? []) {
        if (typeof value !== "string") report.push(`${family}${loc}.json ${key}: not a string`);
        else if (EMPTY_ON_PURPOSE.has(key)) {
          if (value !== "") report.push(`${family}${loc}.json ${key}: should stay empty (no prefix)`);
        } else if (!value.trim()) report.push(`${family}${loc}.json ${key}: empty`);
      }
    }
    expect(report, report.join("\n")).toEqual([]);
  });

  it("use the same placeholders in every locale", () => {
    const report: string[] = [];
    for (const key of files.en?.keys() ?? []) {
      const args: Partial<Record<Loc, string>> = {};
      for (const loc of LOCALES) {
        const value = files[loc]?.get(key);
        if (typeof value !== "string") continue;
        try {
          args[loc] = [...icuArguments(value)].sort().join(", ");
        } catch (err) {
          report.push(`${family}${loc}.json ${key}: ${(err as Error).message}`);
        }
      }
      const seen = new Set(Object.values(args));
      if (seen.size > 1) {
        report.push(
          `${key}: ` +
            LOCALES.filter((loc) => loc in args)
              .map((loc) => `${loc} {${args[loc]}}`)
              .join(" / "),
        );
      }
    }
    expect(report, report.join("\n")).toEqual([]);
  });
});
