/**
 * Build step: the message files (src/lib/i18n/*.json, every family by file name, en/ru/ky) are
 * compiled from ICU MessageFormat text into data that src/lib/i18n/runtime.ts formats without
 * a parser. The browser then ships neither intl-messageformat nor its ICU parser (~13 KB
 * gzipped); the parsing happens here, once, with the same parser svelte-i18n used.
 *
 * A compiled file keeps the JSON's nesting, with each message replaced by a Message:
 *   - a string: plain text, shown as it is (ICU quoting already resolved);
 *   - an array of parts: string | 0 (a plural's `#`) | [name] (an argument) |
 *     [name, "p" | "o", offset, { "=1" | "one" | ...: Message }] (plural, selectordinal) |
 *     [name, "s", { value: Message }] (select).
 * A message using anything else (number/date/time formats, tags) fails the build with its key.
 */
import { TYPE, parse, type MessageFormatElement } from "@formatjs/icu-messageformat-parser";
import { readFile } from "node:fs/promises";
import type { Plugin } from "vite";

export type Part = string | 0 | [string] | [string, "p" | "o", number, Record<string, Message>] | [string, "s", Record<string, Message>];
export type Message = string | Part[];

function parts(elements: MessageFormatElement[], key: string): Part[] {
  const out: Part[] = [];
  for (const el of elements) {
    switch (el.type) {
      case TYPE.literal:
        if (typeof out[out.length - 1] === "string") out[out.length - 1] += el.value;
        else out.push(el.value);
        break;
      case TYPE.argument:
        out.push([el.value]);
        break;
      case TYPE.pound:
        out.push(0);
        break;
      case TYPE.plural: {
        const options: Record<string, Message> = {};
        for (const [k, v] of Object.entries(el.options)) options[k] = simplify(parts(v.value, key));
        out.push([el.value, el.pluralType === "ordinal" ? "o" : "p", el.offset, options]);
        break;
      }
      case TYPE.select: {
        const options: Record<string, Message> = {};
        for (const [k, v] of Object.entries(el.options)) options[k] = simplify(parts(v.value, key));
        out.push([el.value, "s", options]);
        break;
      }
      default:
        throw new Error(`i18n: "${key}" uses an ICU element (type ${el.type}) that src/lib/i18n/runtime.ts does not format; add it there and in web/build/i18n.ts`);
    }
  }
  return out;
}

/** One parsed list of parts as a plain string when it is only text. */
function simplify(p: Part[]): Message {
  if (p.length === 0) return "";
  if (p.length === 1 && typeof p[0] === "string") return p[0];
  return p;
}

/** One ICU message compiled (tags are text, as svelte-i18n's `ignoreTag` had them). */
export function compileMessage(source: string, key = "?"): Message {
  return simplify(parts(parse(source, { ignoreTag: true }), key));
}

/**
 * A message file's JSON compiled: the same nesting, each ICU string replaced by its Message
 * (nested objects stay objects; a Message is a string or an array). Nested, not flat: the
 * repeated key prefixes of a flat dictionary cost ~1.4 KB gzipped for the English files.
 */
export type Dictionary = { [key: string]: Message | Dictionary };
export function compileDictionary(json: unknown, prefix = ""): Dictionary {
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new Error(`i18n: "${prefix}" is not an object of messages`);
  const out: Dictionary = {};
  for (const [k, v] of Object.entries(json)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "string") out[k] = compileMessage(v, key);
    else if (v !== null && typeof v === "object" && !Array.isArray(v)) out[k] = compileDictionary(v, key);
    else throw new Error(`i18n: "${key}" is not a string`);
  }
  return out;
}

/** The message files this step compiles: every JSON file in src/lib/i18n. */
export const MESSAGE_FILE = /[\\/]src[\\/]lib[\\/]i18n[\\/][^\\/]+\.json$/;

/**
 * The Vite plugin: an import of a message file (static or `import()`) resolves to a module of
 * its compiled dictionary (a virtual id, so Vite's JSON plugin leaves it alone).
 */
export function compiledMessages(): Plugin {
  const PREFIX = "\0woxly-messages:";
  return {
    name: "woxly:compiled-messages",
    enforce: "pre",
    async resolveId(source, importer, options) {
      if (!source.endsWith(".json") || !importer) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      if (!resolved || !MESSAGE_FILE.test(resolved.id)) return null;
      return `${PREFIX}${resolved.id}.js`;
    },
    async load(id) {
      if (!id.startsWith(PREFIX)) return null;
      const file = id.slice(PREFIX.length, -".js".length);
      this.addWatchFile(file);
      const dict = compileDictionary(JSON.parse(await readFile(file, "utf8")));
      // JSON.parse of a string literal starts faster than an object literal of this size.
      return { code: `export default JSON.parse(${JSON.stringify(JSON.stringify(dict))});`, map: null };
    },
  };
}
