/**
 * The part of svelte-i18n's API that Woxly uses (`_`, `locale`, `init`, `addMessages`,
 * `register`, `waitLocale`), over messages compiled at build time (web/build/i18n.ts). The
 * build resolves `import { _ } from "svelte-i18n"` here (web/vite.config.ts), so every call
 * site keeps svelte-i18n's API and types; what goes away is the ICU parsing at run time:
 * svelte-i18n hands each message to intl-messageformat, whose parser is most of the ~14 KB
 * gzipped that i18n cost the first page, and svelte-i18n cannot take pre-parsed messages.
 *
 * Same behaviour as svelte-i18n 4 where Woxly relies on it: a message is looked up in the
 * asked locale, then its base language, then the fallback locale; a missing one shows its id
 * (or `default`); a plain argument is its value as text, a plural's `#` a number formatted for
 * the locale;
 * `locale.set` waits for the registered loaders of the new locale before switching.
 * runtime.test.ts checks the output against intl-messageformat for every message.
 */
import { derived, writable, type Readable } from "svelte/store";
import type { Dictionary as Nested, Message, Part } from "../../../build/i18n";

/** Messages by their full id ("chat.composer.send"). */
type Dictionary = Record<string, Message>;
type Loader = () => Promise<{ default: Nested } | Nested>;
type Values = Record<string, unknown>;
interface FormatOptions {
  values?: Values;
  locale?: string | null;
  default?: string;
}
type Formatter = (id: string | ({ id: string } & FormatOptions), options?: FormatOptions) => string;

const dictionaries = new Map<string, Dictionary>();
const queues = new Map<string, Loader[]>();
let fallbackLocale = "en";
/** Bumped when messages arrive, so `$_` re-renders with them. */
const revision = writable(0);
const current = writable<string | null | undefined>(undefined);

/** The locales a lookup tries, in order: "ru-KG" → ru-KG, ru, the fallback. */
function chain(loc: string): string[] {
  const out = [loc];
  const base = loc.split("-")[0]!;
  if (base !== loc) out.push(base);
  if (!out.includes(fallbackLocale)) out.push(fallbackLocale);
  return out;
}

/** A compiled file's nesting flattened to ids (a Message is a string or an array, never an object). */
function flatten(nested: Nested, prefix: string, out: Dictionary): Dictionary {
  for (const [k, v] of Object.entries(nested)) {
    const id = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "string" || Array.isArray(v)) out[id] = v;
    else flatten(v, id, out);
  }
  return out;
}

export function addMessages(loc: string, ...dicts: Nested[]): void {
  const dict = dictionaries.get(loc) ?? {};
  for (const d of dicts) flatten(d, "", dict);
  dictionaries.set(loc, dict);
  revision.update((n) => n + 1);
}

export function register(loc: string, loader: Loader): void {
  const queue = queues.get(loc) ?? [];
  queue.push(loader);
  queues.set(loc, queue);
}

const loading = new Map<string, Promise<void>>();
async function flush(loc: string): Promise<void> {
  await Promise.all(
    chain(loc).map((l) => {
      const queue = queues.get(l);
      if (!queue?.length) return loading.get(l);
      queues.delete(l);
      const p = Promise.all(queue.map((load) => load())).then((mods) => {
        addMessages(l, ...mods.map((m) => ("default" in m ? (m.default as Nested) : m)));
      });
      loading.set(l, p);
      return p;
    }),
  );
}

/** Waits until the messages of `loc` (default: the current locale) and its fallbacks are in. */
export function waitLocale(loc?: string): Promise<void> {
  const l = loc ?? getCurrent();
  return l ? flush(l) : Promise.resolve();
}

let currentValue: string | null | undefined;
current.subscribe((v) => {
  currentValue = v;
  // As svelte-i18n does: the page's language follows the UI's.
  if (typeof document !== "undefined" && v != null) document.documentElement.setAttribute("lang", v);
});
const getCurrent = () => currentValue;

/** The current locale; setting it loads its messages first (as svelte-i18n's `locale.set`). */
export const locale = {
  subscribe: current.subscribe,
  update(fn: (v: string | null | undefined) => string | null | undefined): Promise<void> {
    return this.set(fn(currentValue));
  },
  async set(loc: string | null | undefined): Promise<void> {
    if (loc) await flush(loc);
    current.set(loc);
  },
};

export function init(options: { fallbackLocale: string; initialLocale?: string | null }): Promise<void> {
  fallbackLocale = options.fallbackLocale;
  return locale.set(options.initialLocale ?? options.fallbackLocale);
}

const numberFormats = new Map<string, Intl.NumberFormat>();
const pluralRules = new Map<string, Intl.PluralRules>();
const nf = (loc: string) => numberFormats.get(loc) ?? numberFormats.set(loc, new Intl.NumberFormat(loc)).get(loc)!;
const pr = (loc: string, type: "cardinal" | "ordinal") =>
  pluralRules.get(loc + type) ?? pluralRules.set(loc + type, new Intl.PluralRules(loc, { type })).get(loc + type)!;

/** A compiled message with its values; `#` is the number of the innermost plural. */
export function formatCompiled(message: Message, values: Values, loc: string, pound?: number): string {
  if (typeof message === "string") return message;
  let out = "";
  for (const part of message as Part[]) {
    if (typeof part === "string") out += part;
    else if (part === 0) out += pound === undefined ? "#" : nf(loc).format(pound);
    else {
      const name = part[0];
      const value = values[name];
      if (part.length === 1) {
        // As intl-messageformat: a plain argument is its text (numbers unformatted), `#` is formatted.
        out += value === undefined ? `{${name}}` : String(value);
      } else if (part[1] === "s") {
        const options = part[2];
        const branch = options[String(value)] ?? options.other;
        if (branch !== undefined) out += formatCompiled(branch, values, loc, pound);
      } else {
        const [, kind, offset, options] = part;
        const n = Number(value);
        const branch = options[`=${n}`] ?? options[pr(loc, kind === "o" ? "ordinal" : "cardinal").select(n - offset)] ?? options.other;
        if (branch !== undefined) out += formatCompiled(branch, values, loc, n - offset);
      }
    }
  }
  return out;
}

function format(idOrOptions: string | ({ id: string } & FormatOptions), options: FormatOptions = {}): string {
  const opts = typeof idOrOptions === "object" ? idOrOptions : options;
  const id = typeof idOrOptions === "object" ? idOrOptions.id : idOrOptions;
  const loc = opts.locale ?? currentValue;
  if (loc == null) throw new Error("[svelte-i18n] Cannot format a message without first setting the initial locale.");
  let message: Message | undefined;
  for (const l of chain(loc)) {
    message = dictionaries.get(l)?.[id];
    if (message !== undefined && message !== "") break;
  }
  // svelte-i18n treats an empty message as missing too, then falls back to the id.
  if (!message) return opts.default ?? id;
  return formatCompiled(message, opts.values ?? {}, loc);
}

/** `$_("key", { values })`, as svelte-i18n's `_` (also exported as `t` and `format`). */
export const _: Readable<Formatter> = derived([current, revision], () => format as Formatter);
export const t = _;
export { _ as format };

// svelte-i18n's other formatters, for the current locale (Intl with the options given).
type Intl2<O> = (value: never, options?: O & { locale?: string }) => string;
const intl = <O>(make: (loc: string, o?: O) => { format(v: never): string }) =>
  derived(current, (loc) => ((v: never, o?: O & { locale?: string }) => make(o?.locale ?? loc ?? fallbackLocale, o).format(v)) as Intl2<O>);
export const number = intl<Intl.NumberFormatOptions>((l, o) => new Intl.NumberFormat(l, o));
export const date = intl<Intl.DateTimeFormatOptions>((l, o) => new Intl.DateTimeFormat(l, o ?? { dateStyle: "short" }));
export const time = intl<Intl.DateTimeFormatOptions>((l, o) => new Intl.DateTimeFormat(l, o ?? { timeStyle: "short" }));
/** Messages load before a locale switch completes, so there is never a loading state to show. */
export const isLoading: Readable<boolean> = { subscribe: writable(false).subscribe };
