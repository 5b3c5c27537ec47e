/**
 * The channel's seq sequencer against a separately written reference: whatever order and
 * however often the socket delivers a gapless stream, each event is applied exactly once, in
 * seq order; a missing seq holds the rest back; past MAX_BUFFERED held events it gives up and
 * asks for a reload.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_BUFFERED, Sequencer, type Sequenced } from "./sequencer";

interface Ev {
  seq: number;
  copy: number;
}

/** The reference: after these arrivals, the stream is applied up to the end of the unbroken run after `base`. */
function expectedApplied(base: number | null, arrived: ReadonlySet<number>): number[] {
  if (base === null) return [];
  const out: number[] = [];
  for (let s = base + 1; arrived.has(s); s++) out.push(s);
  return out;
}

function appliedOf(r: Sequenced<Ev>): Ev[] {
  return r.kind === "apply" ? r.events : [];
}

/** seqs 1..n, each delivered 1–3 times, in any order; `startAfter` arrivals come before the base page. */
const deliveries = fc
  .record({ n: fc.integer({ min: 0, max: 60 }), base: fc.integer({ min: 0, max: 8 }) })
  .chain(({ n, base }) =>
    fc.record({
      n: fc.constant(n),
      base: fc.constant(Math.min(base, n)),
      arrivals: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: n, maxLength: n }).chain((copies) => {
        const all = copies.flatMap((c, i) => Array.from({ length: c }, (_, k) => ({ seq: i + 1, copy: k })));
        return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
      }),
      startAfter: fc.nat(),
    }),
  );

describe("Sequencer", () => {
  it("applies any permutation and duplication of a gapless stream exactly once, in order", () => {
    fc.assert(
      fc.property(deliveries, ({ n, base, arrivals, startAfter }) => {
        const seq = new Sequencer<Ev>();
        const applied: number[] = [];
        const arrived = new Set<number>();
        let position: number | null = null;
        const startAt = Math.min(startAfter, arrivals.length);
        const check = () => {
          // Held events at or below the base page are covered by it, never applied.
          const want = expectedApplied(position, arrived);
          expect(applied).toEqual(want);
          expect(seq.position).toBe(position === null ? null : (want[want.length - 1] ?? position));
        };
        arrivals.forEach((ev, i) => {
          if (i === startAt) {
            position = base;
            applied.push(...appliedOf(seq.startAt(base)).map((e) => e.seq));
            check();
          }
          const before = seq.position;
          const r = seq.accept(ev);
          arrived.add(ev.seq);
          if (before !== null && ev.seq <= before) expect(r.kind).toBe("duplicate");
          applied.push(...appliedOf(r).map((e) => e.seq));
          check();
        });
        if (position === null) {
          position = base;
          applied.push(...appliedOf(seq.startAt(base)).map((e) => e.seq));
        }
        // Everything arrived: the whole stream after the base, once each, in order.
        expect(applied).toEqual(Array.from({ length: n - base }, (_, i) => base + i + 1));
        expect(seq.waiting).toBe(false);
      }),
    );
  });

  it("holds everything after a missing seq and says it is waiting", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 40 }).chain((n) => fc.record({ n: fc.constant(n), missing: fc.integer({ min: 1, max: n - 1 }) })),
        ({ n, missing }) => {
          const seq = new Sequencer<Ev>();
          seq.startAt(0);
          const applied: number[] = [];
          for (let s = n; s >= 1; s--) if (s !== missing) applied.push(...appliedOf(seq.accept({ seq: s, copy: 0 })).map((e) => e.seq));
          expect(applied).toEqual(Array.from({ length: missing - 1 }, (_, i) => i + 1));
          expect(seq.waiting).toBe(true);
          // The gap is filled (the re-hello's replay): the rest follows in order.
          const rest = appliedOf(seq.accept({ seq: missing, copy: 0 })).map((e) => e.seq);
          expect(rest).toEqual(Array.from({ length: n - missing + 1 }, (_, i) => missing + i));
          expect(seq.waiting).toBe(false);
        },
      ),
    );
  });

  it("gives up and resets once more than MAX_BUFFERED events are held", () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_BUFFERED - 3, max: MAX_BUFFERED + 3 }), fc.integer({ min: 0, max: 100 }), (held, position) => {
        const seq = new Sequencer<Ev>();
        seq.startAt(position);
        const kinds: string[] = [];
        // position+1 never comes: every later event is held.
        for (let i = 0; i < held; i++) kinds.push(seq.accept({ seq: position + 2 + i, copy: 0 }).kind);
        if (held <= MAX_BUFFERED) {
          expect(kinds.every((k) => k === "held")).toBe(true);
          expect(seq.position).toBe(position);
        } else {
          expect(kinds.indexOf("overflow")).toBe(MAX_BUFFERED);
          // Reset: no position until the reload says where the stream is.
          expect(seq.position).toBe(null);
        }
      }),
      { numRuns: 20 },
    );
  });

  it("drops what was held at or below the page it starts from", () => {
    const seq = new Sequencer<Ev>();
    for (const s of [3, 5, 4, 7]) expect(seq.accept({ seq: s, copy: 0 }).kind).toBe("held");
    expect(appliedOf(seq.startAt(4)).map((e) => e.seq)).toEqual([5]);
    expect(seq.waiting).toBe(true); // 7 waits for 6
    expect(seq.accept({ seq: 4, copy: 1 }).kind).toBe("duplicate");
  });
});
