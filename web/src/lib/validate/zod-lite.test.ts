/**
 * zod-lite (the browser's zod) against zod itself, on every schema every shared module exports
 * (workers/shared/*.ts, found by file name, so schemas added later are covered too): both load
 * the same definitions, and on valid samples built from each schema, on those samples broken
 * one field at a time, and on random values, they must accept and refuse the same inputs, give
 * the same output, and report the same first problem (code and path). Plus the frame path:
 * the realtime socket helper refuses malformed frames through zod-lite.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { z as Z } from "zod";

type Mod = Record<string, unknown>;
const files = import.meta.glob<Mod>("../../../../workers/shared/*.ts");
const names = Object.keys(files).filter((f) => !f.endsWith(".test.ts"));

const real: Record<string, Mod> = {};
const lite: Record<string, Mod> = {};

beforeAll(async () => {
  for (const f of names) real[f] = await files[f]!();
  vi.resetModules();
  vi.doMock("zod", async () => await import("./zod-lite"));
  for (const f of names) lite[f] = await files[f]!();
  vi.doUnmock("zod");
});

const isZod = (v: unknown): v is Z.ZodType => typeof v === "object" && v !== null && "_zod" in v && "safeParse" in v;

type Def = { type: string; checks?: { _zod: { def: { check: string; value?: number; minimum?: number; maximum?: number; format?: string; inclusive?: boolean } } }[] } & Record<string, unknown>;
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;

/**
 * Valid-looking samples of a zod schema: `full` fills optional fields, otherwise they stay out;
 * `edge` puts strings' lengths and numbers on their bounds (or just past them: "over").
 */
type Edge = "mid" | "min" | "max" | "under" | "over";
function sample(schema: unknown, full: boolean, depth = 0, edge: Edge = "mid"): unknown {
  const def = defOf(schema);
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  switch (def.type) {
    case "string": {
      if (checks.some((c) => c.format === "email")) return "a.b@example.org";
      let min = 0;
      let max = 12;
      for (const c of checks) {
        if (c.check === "min_length") min = c.minimum ?? 0;
        if (c.check === "max_length") max = c.maximum ?? max;
        if (c.check === "length_equals") min = max = (c as { length?: number }).length ?? 0;
      }
      const digits = checks.some((c) => c.format === "regex");
      const length = { mid: Math.min(Math.max(min, 3), max), min, max, under: min - 1, over: max + 1 }[edge];
      return (digits ? "1" : "x").repeat(Math.max(0, Math.min(length, 10_000)));
    }
    case "number": {
      let v = 1;
      let lo = -Infinity;
      let hi = Infinity;
      for (const c of checks) {
        if (c.check === "greater_than") lo = c.value ?? lo;
        if (c.check === "less_than") hi = c.value ?? hi;
        if (c.check === "greater_than" && (c.value ?? 0) >= v) v = (c.value ?? 0) + 1;
      }
      const int = checks.some((c) => c.check === "number_format");
      const at = { mid: v, min: lo, max: hi, under: lo - (int ? 1 : 0.5), over: hi + (int ? 1 : 0.5) }[edge];
      return Number.isFinite(at) ? at : v;
    }
    case "boolean":
      return full;
    case "null":
      return null;
    case "unknown":
    case "any":
      return { any: [1, "two"] };
    case "literal":
      return (def.values as unknown[])[0];
    case "enum":
      return Object.values(def.entries as Record<string, unknown>)[full ? 0 : Object.keys(def.entries as object).length - 1];
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(def.shape as Record<string, unknown>)) {
        const t = defOf(v).type;
        if ((t === "optional" || t === "default") && !full) continue;
        out[k] = sample(v, full, depth + 1, edge);
      }
      return out;
    }
    case "array":
      return depth > 6 ? [] : [sample(def.element, full, depth + 1, edge)];
    case "record":
      return { k1: sample(def.valueType, full, depth + 1, edge) };
    case "tuple":
      return (def.items as unknown[]).map((i) => sample(i, full, depth + 1));
    case "union": {
      const options = def.options as unknown[];
      return sample(options[full ? 0 : options.length - 1], full, depth + 1, edge);
    }
    case "optional":
    case "default":
    case "catch":
    case "readonly":
      return full ? sample(def.innerType, full, depth + 1, edge) : undefined;
    case "nullable":
      return full ? sample(def.innerType, full, depth + 1, edge) : null;
    case "pipe":
      return sample(def.in, full, depth + 1, edge);
    case "lazy":
      return depth > 6 ? undefined : sample((def.getter as () => unknown)(), full, depth + 1);
    default:
      return undefined;
  }
}

/** The sample broken in each place: a field dropped, given the wrong type, an unknown key added. */
function mutations(value: unknown): unknown[] {
  const out: unknown[] = [undefined, null, "text", 7, [], {}, [value]];
  if (typeof value !== "object" || value === null) return out;
  const entries = Object.entries(value);
  for (const [k, v] of entries) {
    const { [k]: _drop, ...rest } = value as Record<string, unknown>;
    out.push(rest);
    for (const wrong of [null, 12.5, -1, "", "x".repeat(5000), true, {}, []]) if (wrong !== v) out.push({ ...value, [k]: wrong });
    for (const inner of mutations(v).slice(7, 20)) out.push({ ...value, [k]: inner });
  }
  out.push({ ...value, unexpectedKey: 1 });
  return out;
}

function outcome(schema: { safeParse(v: unknown): { success: boolean; data?: unknown; error?: { issues: { code: string; path: PropertyKey[] }[] } } }, input: unknown) {
  let r: ReturnType<typeof schema.safeParse>;
  try {
    r = schema.safeParse(structuredClone(input));
  } catch (e) {
    // A refinement of the schema itself that throws on some input throws in both.
    return { threw: String(e) };
  }
  if (r.success) return { ok: true, data: r.data };
  const first = r.error!.issues[0]!;
  return { ok: false, code: first.code, path: first.path };
}

describe("zod-lite against zod", () => {
  it("finds the shared modules", () => {
    expect(names.length).toBeGreaterThan(10);
    expect(names.some((f) => f.endsWith("/chat.ts"))).toBe(true);
  });

  it("loads every shared module and exports the same names", () => {
    for (const f of names) expect(Object.keys(lite[f]!).sort(), f).toEqual(Object.keys(real[f]!).sort());
    // The second set really is zod-lite's (no zod internals), the first zod's.
    const chat = "../../../../workers/shared/chat.ts";
    expect(lite[chat]!.ServerFrame).toHaveProperty("_parse");
    expect(lite[chat]!.ServerFrame).not.toHaveProperty("_zod");
    expect(isZod(real[chat]!.ServerFrame)).toBe(true);
  });

  it("accepts, refuses and outputs as zod does on every exported schema", () => {
    let schemas = 0;
    let inputs = 0;
    for (const f of names) {
      for (const [name, value] of Object.entries(real[f]!)) {
        if (!isZod(value)) continue;
        schemas++;
        const mine = lite[f]![name] as Parameters<typeof outcome>[0];
        const edges: Edge[] = ["min", "max", "under", "over"];
        const samples = [sample(value, true), sample(value, false), ...edges.map((e) => sample(value, true, 0, e))];
        const cases = [...samples, ...samples.flatMap(mutations)];
        for (const input of cases) {
          inputs++;
          expect(outcome(mine, input), `${f} ${name} on ${JSON.stringify(input)?.slice(0, 300)}`).toEqual(outcome(value, input));
        }
        fc.assert(
          fc.property(fc.anything({ maxDepth: 2 }), (input) => {
            expect(outcome(mine, input), `${f} ${name}`).toEqual(outcome(value, input));
          }),
          { numRuns: 30 },
        );
      }
    }
    expect(schemas).toBeGreaterThan(100);
    expect(inputs).toBeGreaterThan(5000);
  }, 120_000);

  it("some valid samples are accepted (the samples are not all refusals)", () => {
    let accepted = 0;
    for (const f of names)
      for (const value of Object.values(real[f]!))
        if (isZod(value) && value.safeParse(sample(value, true)).success) accepted++;
    expect(accepted).toBeGreaterThan(100);
  });
});

describe("zod-lite covers what the app calls", () => {
  it("has every z.<name> the web app and the shared modules use (types aside)", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const path = await import("node:path");
    const { z: lite } = await import("./zod-lite");
    const root = path.resolve(import.meta.dirname, "../../../..");
    const used = new Set<string>();
    const scan = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) scan(p);
        else if (/\.(ts|svelte)$/.test(e.name) && !/\.test\.ts$/.test(e.name)) {
          // z.ZodSomething is a type (z.ZodLiteral<1> in a cast) unless it is constructed or tested.
          for (const m of readFileSync(p, "utf8").matchAll(/(\b(?:new|instanceof)\s+)?\bz\.([A-Za-z]+)\b/g))
            if (!m[2]!.startsWith("Zod") || m[1]) used.add(m[2]!);
        }
      }
    };
    scan(path.join(root, "web/src"));
    scan(path.join(root, "workers/shared"));
    const TYPES = new Set(["infer", "input", "output", "core"]);
    expect(used.has("object")).toBe(true);
    const missing = [...used].filter((n) => !TYPES.has(n) && !(n in lite));
    expect(missing, "add these to zod-lite.ts").toEqual([]);
  });
});

describe("the socket helper with zod-lite", () => {
  it("refuses malformed frames and passes good ones, stripped as zod would", async () => {
    vi.resetModules();
    vi.doMock("zod", async () => await import("./zod-lite"));
    const { ServerFrame: ChannelServerFrame } = await import("$shared/chat");
    const { parseFrame } = await import("../realtime/socket");
    vi.doUnmock("zod");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const pong = { type: "pong" };
    const good = sample(real["../../../../workers/shared/chat.ts"]!.ServerFrame, true) as { type: string };
    expect(parseFrame("channel-room", ChannelServerFrame, JSON.stringify(good))).toEqual(good);
    for (const bad of ["{", "[]", "null", JSON.stringify({ type: "no.such.frame" }), JSON.stringify({ ...good, type: 7 }), JSON.stringify({ ...pong, type: "message.created" }), JSON.stringify({ type: "message.created", message: { id: 1 } })])
      expect(parseFrame("channel-room", ChannelServerFrame, bad), bad).toBeNull();
    expect(parseFrame("channel-room", ChannelServerFrame, 42)).toBeNull();
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });
});
