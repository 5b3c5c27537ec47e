/**
 * The browser's zod: the part of zod's API that the shared schemas (workers/shared) and the
 * web app use, with zod's parsing rules, in ~2 KB gzipped instead of zod classic's ~26 KB
 * (whose chainable API pulls its JSON-Schema generator and every check into each page).
 *
 * The client build resolves `import { z } from "zod"` here (web/vite.config.ts,
 * `zodLiteInBrowser`); the server render, the workers, the Durable Objects and every test but
 * zod-lite.test.ts keep the real zod. So the very same schema definitions — imported, never
 * copied — validate every HTTP answer and every WebSocket frame in the browser: a malformed
 * frame is still refused (`safeParse` → `success: false`, issues with zod's codes and paths).
 * zod-lite.test.ts loads every shared module with this and with zod and checks that both
 * accept, refuse and output the same; a method a schema uses that is missing here fails that
 * test (and the page load), so add it here when a shared schema needs it.
 *
 * Why not a library: `zod/mini` would mean rewriting the shared schemas in its functional API
 * (the workers and objects use them too); no zod-compatible validator of this size exists.
 */

/** One problem found, shaped like zod's issues (code, path, message and the bound, if any). */
export interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: string;
  minimum?: number;
  maximum?: number;
  inclusive?: boolean;
  origin?: string;
  format?: string;
  keys?: string[];
  values?: unknown[];
  /** Internal: a failed check that lets later checks and refinements run (zod's `continue`). */
  continue?: boolean;
}

export class ZodError extends Error {
  readonly issues: Issue[];
  constructor(issues: Issue[]) {
    super(issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    this.name = "ZodError";
    this.issues = issues;
  }
}

type SafeParse = { success: true; data: unknown; error?: undefined } | { success: false; error: ZodError; data?: undefined };
type Parse = (value: unknown, issues: Issue[], path: PropertyKey[]) => unknown;
type Shape = Record<string, Schema>;
type Msg = string | { message?: string; path?: PropertyKey[]; abort?: boolean } | undefined;

const msgOf = (m: Msg, fallback: string): string => (typeof m === "string" ? m : (m?.message ?? fallback));
const aborted = (issues: Issue[], from: number): boolean => {
  for (let i = from; i < issues.length; i++) if (!issues[i]!.continue) return true;
  return false;
};
const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const typeIssue = (expected: string, path: PropertyKey[]): Issue => ({ code: "invalid_type", expected, path, message: `Invalid input: expected ${expected}` });

/** A check run after the type matched; it may replace the value (trim, toLowerCase). */
type Check = (value: never, issues: Issue[], path: PropertyKey[]) => unknown;

export class Schema {
  /** What `optional()`/`default()` say about an absent key (zod's `optin`/`optout`). */
  _optIn: "optional" | "defaulted" | undefined;
  _optOut: "optional" | undefined;
  readonly _parse: Parse;
  readonly _checks: Check[] = [];
  _shape?: Shape;
  _strict?: "strict" | "strip" | "passthrough";
  _values?: unknown[];

  constructor(parse: Parse, optIn?: "optional" | "defaulted", optOut?: "optional") {
    this._parse = parse;
    this._optIn = optIn;
    this._optOut = optOut;
  }

  /** Runs the type, then its checks in the order they were chained (zod 4's order). */
  _run(value: unknown, issues: Issue[], path: PropertyKey[]): unknown {
    const start = issues.length;
    let out = this._parse(value, issues, path);
    for (const check of this._checks) {
      if (aborted(issues, start)) break;
      const next = check(out as never, issues, path);
      if (next !== undefined) out = next;
    }
    return out;
  }

  /** A copy with one more check (schemas are immutable, as in zod). */
  _with(check: Check): this {
    const copy = Object.assign(Object.create(Object.getPrototypeOf(this) as object) as this, this);
    (copy as { _checks: Check[] })._checks = [...this._checks, check];
    return copy;
  }

  safeParse(value: unknown): SafeParse {
    const issues: Issue[] = [];
    const data = this._run(value, issues, []);
    return issues.length ? { success: false, error: new ZodError(issues.map(({ continue: _c, ...i }) => i)) } : { success: true, data };
  }

  parse(value: unknown): unknown {
    const r = this.safeParse(value);
    if (!r.success) throw r.error;
    return r.data;
  }

  // --- bounds (strings: length, arrays: length, numbers: value) --------------------------
  _bound(kind: "min" | "max", n: number, inclusive: boolean, m: Msg): this {
    return this._with((v: unknown, issues, path) => {
      const size = typeof v === "number" ? v : (v as { length: number }).length;
      const origin = typeof v === "number" ? "number" : Array.isArray(v) ? "array" : "string";
      const ok = kind === "min" ? (inclusive ? size >= n : size > n) : inclusive ? size <= n : size < n;
      if (!ok)
        issues.push({
          code: kind === "min" ? "too_small" : "too_big",
          ...(kind === "min" ? { minimum: n } : { maximum: n }),
          inclusive,
          origin,
          path: [...path, ...((typeof m === "object" && m.path) || [])],
          message: msgOf(m, `Too ${kind === "min" ? "small" : "big"}: expected ${kind === "min" ? ">" : "<"}${inclusive ? "=" : ""}${n}`),
          continue: !(typeof m === "object" && m.abort),
        });
      return undefined;
    });
  }
  min(n: number, m?: Msg): this {
    return this._bound("min", n, true, m);
  }
  max(n: number, m?: Msg): this {
    return this._bound("max", n, true, m);
  }
  gte(n: number, m?: Msg): this {
    return this.min(n, m);
  }
  lte(n: number, m?: Msg): this {
    return this.max(n, m);
  }
  gt(n: number, m?: Msg): this {
    return this._bound("min", n, false, m);
  }
  lt(n: number, m?: Msg): this {
    return this._bound("max", n, false, m);
  }
  positive(m?: Msg): this {
    return this.gt(0, m);
  }
  nonnegative(m?: Msg): this {
    return this.min(0, m);
  }
  nonempty(m?: Msg): this {
    return this.min(1, m);
  }
  length(n: number, m?: Msg): this {
    return this.min(n, m).max(n, m);
  }
  int(m?: Msg): this {
    return this._with((v: number, issues, path) => {
      if (!Number.isInteger(v)) issues.push({ ...typeIssue("int", path), format: "safeint", message: msgOf(m, "Invalid input: expected int") });
      else if (!Number.isSafeInteger(v))
        issues.push({
          code: v > 0 ? "too_big" : "too_small",
          ...(v > 0 ? { maximum: Number.MAX_SAFE_INTEGER } : { minimum: Number.MIN_SAFE_INTEGER }),
          inclusive: true,
          origin: "number",
          path,
          message: msgOf(m, "Integers must be within the safe integer range."),
          continue: true,
        });
      return undefined;
    });
  }
  finite(): this {
    return this; // z.number() already refuses Infinity and NaN
  }

  // --- strings --------------------------------------------------------------------------
  regex(re: RegExp, m?: Msg): this {
    return this._format("regex", (s) => {
      re.lastIndex = 0;
      return re.test(s);
    }, m);
  }
  _format(format: string, test: (s: string) => boolean, m?: Msg): this {
    return this._with((v: string, issues, path) => {
      if (!test(v)) issues.push({ code: "invalid_format", format, origin: "string", path: [...path, ...((typeof m === "object" && m.path) || [])], message: msgOf(m, `Invalid ${format}`), continue: true });
      return undefined;
    });
  }
  email(m?: Msg): this {
    // zod 4's default email pattern.
    return this.regex(/^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9-]*\.)+[A-Za-z]{2,}$/, m);
  }
  startsWith(p: string, m?: Msg): this {
    return this._format("starts_with", (s) => s.startsWith(p), m);
  }
  endsWith(p: string, m?: Msg): this {
    return this._format("ends_with", (s) => s.endsWith(p), m);
  }
  includes(p: string, m?: Msg): this {
    return this._format("includes", (s) => s.includes(p), m);
  }
  trim(): this {
    return this._with((v: string) => v.trim());
  }
  toLowerCase(): this {
    return this._with((v: string) => v.toLowerCase());
  }
  toUpperCase(): this {
    return this._with((v: string) => v.toUpperCase());
  }

  // --- refinements and wrappers -----------------------------------------------------------
  refine(test: (v: never) => unknown, m?: Msg): this {
    return this._with((v: never, issues, path) => {
      if (!test(v))
        issues.push({ code: "custom", path: [...path, ...((typeof m === "object" && m.path) || [])], message: msgOf(m, "Invalid input"), continue: !(typeof m === "object" && m.abort) });
      return undefined;
    });
  }
  superRefine(fn: (v: never, ctx: { addIssue(i: Partial<Issue>): void }) => void): this {
    return this._with((v: never, issues, path) => {
      fn(v, { addIssue: (i) => issues.push({ code: "custom", message: "Invalid input", ...i, path: [...path, ...(i.path ?? [])], continue: true }) });
      return undefined;
    });
  }
  optional(): Schema {
    return new Schema((v, issues, path) => (v === undefined ? undefined : this._run(v, issues, path)), this._optIn === "defaulted" ? "defaulted" : "optional", "optional");
  }
  nullable(): Schema {
    const s = new Schema((v, issues, path) => (v === null ? null : this._run(v, issues, path)), this._optIn, this._optOut);
    return s;
  }
  nullish(): Schema {
    return this.nullable().optional();
  }
  default(d: unknown): Schema {
    const value = () => (typeof d === "function" ? (d as () => unknown)() : structuredCloneIfObject(d));
    return new Schema((v, issues, path) => (v === undefined ? value() : this._run(v, issues, path)), "defaulted");
  }
  catch(d: unknown): Schema {
    return new Schema((v, _issues, path) => {
      const mine: Issue[] = [];
      const out = this._run(v, mine, path);
      return mine.length ? (typeof d === "function" ? (d as () => unknown)() : d) : out;
    }, this._optIn === "defaulted" ? "defaulted" : "optional", this._optOut);
  }
  /** The value through `next` once this schema passed it without any issue (zod's pipe). */
  pipe(next: Schema): Schema {
    return new Schema((v, issues, path) => {
      const start = issues.length;
      const out = this._run(v, issues, path);
      return issues.length > start ? out : next._run(out, issues, path);
    }, this._optIn);
  }
  transform(fn: (v: never) => unknown): Schema {
    return this.pipe(new Schema((v) => fn(v as never)));
  }
  or(other: Schema): Schema {
    return union([this, other]);
  }
  array(): Schema {
    return array(this);
  }
  describe(): this {
    return this;
  }
  meta(): this {
    return this;
  }
  brand(): this {
    return this;
  }

  // --- objects --------------------------------------------------------------------------
  get shape(): Shape {
    return this._shape!;
  }
  extend(more: Shape): Schema {
    return object({ ...this._shape, ...more }, this._strict);
  }
  merge(other: Schema): Schema {
    return this.extend(other._shape!);
  }
  partial(): Schema {
    const shape: Shape = {};
    for (const [k, s] of Object.entries(this._shape!)) shape[k] = s.optional();
    return object(shape, this._strict);
  }
  pick(keys: Record<string, true>): Schema {
    return object(Object.fromEntries(Object.entries(this._shape!).filter(([k]) => keys[k])), this._strict);
  }
  omit(keys: Record<string, true>): Schema {
    return object(Object.fromEntries(Object.entries(this._shape!).filter(([k]) => !keys[k])), this._strict);
  }
  strict(): Schema {
    return object(this._shape!, "strict");
  }
  strip(): Schema {
    return object(this._shape!, "strip");
  }
  passthrough(): Schema {
    return object(this._shape!, "passthrough");
  }
  loose(): Schema {
    return this.passthrough();
  }

  // --- enums ----------------------------------------------------------------------------
  get options(): unknown[] {
    return this._values!;
  }
  get enum(): Record<string, unknown> {
    return Object.fromEntries(this._values!.map((v) => [v, v]));
  }
}

function structuredCloneIfObject(d: unknown): unknown {
  return typeof d === "object" && d !== null ? structuredClone(d) : d;
}

const primitive = (expected: string, ok: (v: unknown) => boolean) => () => new Schema((v, issues, path) => {
  if (!ok(v)) issues.push(typeIssue(expected, path));
  return v;
});

const string = primitive("string", (v) => typeof v === "string");
const number = primitive("number", (v) => typeof v === "number" && Number.isFinite(v));
const boolean = primitive("boolean", (v) => typeof v === "boolean");
const nul = primitive("null", (v) => v === null);
const undef = primitive("undefined", (v) => v === undefined);
const never = primitive("never", () => false);
const unknown = () => new Schema((v) => v);

function literal(value: unknown): Schema {
  const values = Array.isArray(value) ? value : [value];
  const s = new Schema((v, issues, path) => {
    if (!values.includes(v)) issues.push({ code: "invalid_value", values, path, message: "Invalid input" });
    return v;
  });
  s._values = values;
  return s;
}

function enumOf(values: readonly unknown[] | Record<string, unknown>): Schema {
  const list = Array.isArray(values) ? values : Object.values(values);
  return literal(list);
}

function object(shape: Shape, mode: "strict" | "strip" | "passthrough" = "strip"): Schema {
  const keys = Object.keys(shape);
  const s = new Schema((v, issues, path) => {
    if (!isPlain(v)) {
      issues.push(typeIssue("object", path));
      return v;
    }
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const field = shape[key]!;
      const present = key in v;
      if (!present && field._optIn === "optional" && field._optOut === "optional") continue;
      const mine: Issue[] = [];
      const value = field._run(v[key], mine, [...path, key]);
      if (mine.length) {
        if (field._optIn !== undefined && field._optOut === "optional" && !present) continue;
        issues.push(...mine);
      }
      if (!present && field._optIn === undefined) {
        if (!mine.length) issues.push({ ...typeIssue("nonoptional", [...path, key]) });
        continue;
      }
      if (value === undefined) {
        if (present || (field._optIn === "defaulted" && field._optOut !== "optional")) out[key] = undefined;
      } else out[key] = value;
    }
    if (mode !== "strip") {
      const unknownKeys: string[] = [];
      for (const key in v) {
        if (Object.hasOwn(shape, key) || !Object.hasOwn(v, key)) continue;
        if (mode === "strict") unknownKeys.push(key);
        else if (key !== "__proto__") out[key] = v[key];
      }
      if (unknownKeys.length) issues.push({ code: "unrecognized_keys", keys: unknownKeys, path, message: `Unrecognized key(s): ${unknownKeys.join(", ")}`, continue: true });
    }
    return out;
  });
  s._shape = shape;
  s._strict = mode;
  return s;
}

function array(element: Schema): Schema {
  return new Schema((v, issues, path) => {
    if (!Array.isArray(v)) {
      issues.push(typeIssue("array", path));
      return v;
    }
    return v.map((item, i) => element._run(item, issues, [...path, i]));
  });
}

function record(key: Schema, value: Schema): Schema {
  return new Schema((v, issues, path) => {
    if (!isPlain(v)) {
      issues.push(typeIssue("record", path));
      return v;
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      if (k === "__proto__") continue;
      const keyIssues: Issue[] = [];
      const outKey = key._run(k, keyIssues, [...path, k]);
      if (keyIssues.length) {
        issues.push({ code: "invalid_key", origin: "record", path: [...path, k], message: "Invalid key in record" });
        continue;
      }
      out[outKey as string] = value._run(v[k], issues, [...path, k]);
    }
    return out;
  });
}

function union(options: Schema[]): Schema {
  const s = new Schema((v, issues, path) => {
    for (const option of options) {
      const mine: Issue[] = [];
      const out = option._run(v, mine, path);
      if (!mine.length) return out;
    }
    issues.push({ code: "invalid_union", path, message: "Invalid input" });
    return v;
  });
  s._values = options;
  return s;
}

/** The values a discriminated union's option answers to (nested unions included). */
function discValues(option: Schema, key: string): unknown[] {
  if (option._shape) return option._shape[key]?._values ?? [];
  return (option._values as Schema[] | undefined)?.flatMap((o) => discValues(o, key)) ?? [];
}

function discriminatedUnion(key: string, options: Schema[]): Schema {
  const byValue = new Map<unknown, Schema>();
  for (const option of options) for (const value of discValues(option, key)) byValue.set(value, option);
  const s = new Schema((v, issues, path) => {
    if (!isPlain(v)) {
      issues.push(typeIssue("object", path));
      return v;
    }
    const option = byValue.get(v[key]);
    if (!option) {
      issues.push({ code: "invalid_union", path: [...path, key], message: "Invalid input", format: "No matching discriminator" });
      return v;
    }
    return option._run(v, issues, path);
  });
  s._values = options;
  return s;
}

function tuple(items: Schema[]): Schema {
  return new Schema((v, issues, path) => {
    if (!Array.isArray(v)) {
      issues.push(typeIssue("tuple", path));
      return v;
    }
    if (v.length !== items.length) issues.push({ code: v.length > items.length ? "too_big" : "too_small", origin: "array", path, message: "Invalid tuple length", ...(v.length > items.length ? { maximum: items.length } : { minimum: items.length }) });
    return items.map((item, i) => item._run(v[i], issues, [...path, i]));
  });
}

function lazy(get: () => Schema): Schema {
  let inner: Schema | undefined;
  return new Schema((v, issues, path) => (inner ??= get())._run(v, issues, path));
}

const coerce = {
  number: () => new Schema((v, issues, path) => {
    const n = Number(v);
    if (!Number.isFinite(n)) issues.push(typeIssue("number", path));
    return n;
  }),
  string: () => new Schema((v) => String(v)),
  boolean: () => new Schema((v) => Boolean(v)),
};

/** `z` as the shared schemas and the app call it. */
export const z = {
  string,
  number,
  boolean,
  null: nul,
  undefined: undef,
  never,
  unknown,
  any: unknown,
  literal,
  enum: enumOf,
  object: (shape: Shape) => object(shape, "strip"),
  strictObject: (shape: Shape) => object(shape, "strict"),
  looseObject: (shape: Shape) => object(shape, "passthrough"),
  array,
  record,
  union,
  discriminatedUnion,
  tuple,
  lazy,
  coerce,
  optional: (s: Schema) => s.optional(),
  nullable: (s: Schema) => s.nullable(),
  ZodError,
};
export default z;
