/**
 * Messages compiled at build time (web/build/i18n.ts) and formatted by runtime.ts read exactly
 * as intl-messageformat (what svelte-i18n formatted them with) reads the ICU source: every
 * message of every family in every language, with numbers that reach each plural category and
 * with text values. Plus the svelte-i18n behaviour the app relies on: fallbacks, missing ids,
 * `default`, loaders run before a locale switch.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { IntlMessageFormat } from "intl-messageformat";
import { get } from "svelte/store";
import { describe, expect, it } from "vitest";
import { compileDictionary, compileMessage, compiledMessages, MESSAGE_FILE } from "../../../build/i18n";
import type { Message } from "../../../build/i18n";
import { _, addMessages, date, formatCompiled, init, locale, number, register, waitLocale } from "./runtime";

const dir = import.meta.dirname;
const files = readdirSync(dir).filter((f) => f.endsWith(".json"));

function flatten(value: unknown, prefix: string, out: Map<string, string>): Map<string, string> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  else out.set(prefix, value as string);
  return out;
}

/** The argument names a compiled message uses, nested branches included. */
function argNames(m: Message, out = new Set<string>()): Set<string> {
  if (typeof m === "string") return out;
  for (const part of m) {
    if (typeof part === "string" || part === 0) continue;
    out.add(part[0]);
    if (part[1] === "s") Object.values((part as [string, "s", Record<string, Message>])[2]).forEach((b) => argNames(b, out));
    else if (part.length === 4) Object.values((part as [string, "p", number, Record<string, Message>])[3]).forEach((b) => argNames(b, out));
  }
  return out;
}

const NUMBERS = [0, 1, 2, 3, 4, 5, 11, 12, 21, 22, 25, 101, 111, 1000, 1.5, 12345.5];

describe("compiled messages against intl-messageformat", () => {
  it("every file is a message file the build step compiles", () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
    for (const f of files) expect(MESSAGE_FILE.test(path.join(dir, f)), f).toBe(true);
  });

  it("formats every message of every family and language as intl-messageformat does", () => {
    let checked = 0;
    for (const f of files) {
      const loc = /(en|ru|ky)\.json$/.exec(f)![1]!;
      const source = flatten(JSON.parse(readFileSync(path.join(dir, f), "utf8")), "", new Map());
      const compiled = flatten(compileDictionary(JSON.parse(readFileSync(path.join(dir, f), "utf8"))), "", new Map()) as unknown as Map<string, Message>;
      expect([...compiled.keys()].sort(), f).toEqual([...source.keys()].sort());
      for (const [key, text] of source) {
        const names = [...argNames(compiled.get(key)!)];
        const reference = new IntlMessageFormat(text, loc, undefined, { ignoreTag: true });
        const sets: Record<string, unknown>[] = names.length
          ? [...NUMBERS.map((n) => Object.fromEntries(names.map((a) => [a, n]))), Object.fromEntries(names.map((a) => [a, "Ann <b>"]))]
          : [{}];
        for (const values of sets) {
          // A plural given text is NaN to both ("other"); intl-messageformat may refuse it.
          let expected: unknown;
          try {
            expected = reference.format(values);
          } catch {
            continue;
          }
          expect(formatCompiled(compiled.get(key)!, values, loc), `${f} ${key} ${JSON.stringify(values)}`).toBe(expected);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(2000);
  });

  it("keeps plain text as strings and refuses what the runtime cannot format", () => {
    expect(compileMessage("Hello there")).toBe("Hello there");
    expect(compileMessage("It's {n, plural, one {# day} other {# days}}")).toEqual(["It's ", ["n", "p", 0, { one: [0, " day"], other: [0, " days"] }]]);
    expect(() => compileMessage("{d, date, short}", "some.key")).toThrow(/some\.key/);
    expect(() => compileDictionary({ a: { b: 3 } })).toThrow(/a\.b/);
    expect(compileDictionary({ a: { b: "x {n}", c: "y" } })).toEqual({ a: { b: ["x ", ["n"]], c: "y" } });
  });

  it("the Vite step resolves only message files to their compiled modules", async () => {
    const plugin = compiledMessages() as unknown as {
      resolveId(this: unknown, s: string, i: string | undefined, o: object): Promise<string | null>;
      load(this: unknown, id: string): Promise<{ code: string } | null>;
    };
    const ctx = { resolve: async (s: string, i: string) => ({ id: path.resolve(path.dirname(i), s) }), addWatchFile() {} };
    const id = await plugin.resolveId.call(ctx, "./chat.en.json", path.join(dir, "index.ts"), {});
    expect(id).toMatch(/chat\.en\.json\.js$/);
    expect(await plugin.resolveId.call(ctx, "./package.json", path.join(dir, "..", "..", "..", "x.ts"), {})).toBeNull();
    const mod = await plugin.load.call(ctx, id!);
    const dict = JSON.parse(JSON.parse(/JSON\.parse\((.*)\);$/.exec(mod!.code)![1]!));
    expect(dict).toEqual(compileDictionary(JSON.parse(readFileSync(path.join(dir, "chat.en.json"), "utf8"))));
  });
});

describe("the svelte-i18n API over compiled messages", () => {
  it("looks up, falls back, loads before switching, and shows ids for what is missing", async () => {
    addMessages("en", compileDictionary({ a: { hello: "Hello {name}", n: "{n, plural, one {# file} other {# files}}", only: "English only", empty: "" } }));
    let loaded = 0;
    register("ru", async () => {
      loaded++;
      return { default: compileDictionary({ a: { hello: "Привет, {name}", n: "{n, plural, one {# файл} few {# файла} many {# файлов} other {# файла}}" } }) };
    });
    await init({ fallbackLocale: "en", initialLocale: "en" });
    const t = () => get(_);
    expect(t()("a.hello", { values: { name: "Ann" } })).toBe("Hello Ann");
    expect(t()("a.n", { values: { n: 1000 } })).toBe("1,000 files");
    expect(t()("a.missing")).toBe("a.missing");
    expect(t()("a.missing", { default: "fallback" })).toBe("fallback");
    expect(t()("a.empty")).toBe("a.empty");
    expect(loaded).toBe(0);
    const switching = locale.set("ru");
    expect(get(locale)).toBe("en");
    await switching;
    expect(loaded).toBe(1);
    expect(get(locale)).toBe("ru");
    expect(t()("a.n", { values: { n: 5 } })).toBe("5 файлов");
    expect(t()("a.n", { values: { n: 22 } })).toBe("22 файла");
    expect(t()("a.only")).toBe("English only");
    expect(t()({ id: "a.hello", values: { name: "Ann" }, locale: "en" })).toBe("Hello Ann");
    await waitLocale("ru");
    expect(loaded).toBe(1);
    expect(get(number)(1234.5 as never)).toBe(new Intl.NumberFormat("ru").format(1234.5));
    expect(get(date)(0 as never, { locale: "en", timeZone: "UTC" })).toBe("1/1/1970");
  });
});
