/**
 * The outbox's pure functions against a reference written as a plain map of nonce → status:
 * whatever the order of sends, acks (also repeated), failures, retries and discards, each
 * nonce is confirmed at most once and a retry sends the same nonce and content again.
 * (channel.test.ts runs the same interleavings through ChannelCore and its socket.)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as outbox from "./outbox";

type Op =
  | { op: "send" }
  | { op: "ack" | "fail" | "retry" | "discard"; pick: number };

const ops = fc.array(
  fc.oneof(
    fc.constant<Op>({ op: "send" }),
    fc.record({ op: fc.constantFrom("ack" as const, "fail" as const, "retry" as const, "discard" as const), pick: fc.nat() }),
  ),
  { maxLength: 60 },
);

describe("outbox", () => {
  it("confirms each nonce at most once and retries with the same nonce", () => {
    fc.assert(
      fc.property(ops, (list) => {
        let box: outbox.Outbox = [];
        const reference = new Map<string, { content: string; status: "sending" | "failed" }>();
        const made: string[] = []; // every nonce ever made, so acks and failures may name gone ones
        const confirmations = new Map<string, number>();
        for (const [i, o] of list.entries()) {
          const nonce = made[("pick" in o ? o.pick : 0) % Math.max(1, made.length)];
          switch (o.op) {
            case "send": {
              const n = `nonce-${i}`;
              made.push(n);
              box = outbox.enqueue(box, { nonce: n, content: `c${i}`, replyTo: null, attachments: [], createdAt: i, status: "sending", error: null, retryAt: null });
              reference.set(n, { content: `c${i}`, status: "sending" });
              break;
            }
            case "ack": {
              if (!nonce) break;
              const r = outbox.confirm(box, nonce);
              box = r.outbox;
              if (r.confirmed) confirmations.set(nonce, (confirmations.get(nonce) ?? 0) + 1);
              expect(r.confirmed !== null).toBe(reference.delete(nonce));
              break;
            }
            case "fail":
              if (!nonce) break;
              box = outbox.fail(box, nonce, "timeout", null);
              if (reference.has(nonce)) reference.get(nonce)!.status = "failed";
              break;
            case "retry": {
              if (!nonce) break;
              const r = outbox.retry(box, nonce);
              box = r.outbox;
              const want = reference.get(nonce);
              if (want) {
                want.status = "sending";
                expect(r.send && { nonce: r.send.nonce, content: r.send.content }).toEqual({ nonce, content: want.content });
              } else expect(r.send).toBe(null);
              break;
            }
            case "discard":
              if (!nonce) break;
              box = outbox.discard(box, nonce);
              reference.delete(nonce);
              break;
          }
          expect(box.map((p) => [p.nonce, p.status])).toEqual([...reference].map(([n, r]) => [n, r.status]));
          expect(outbox.unsent(box).map((p) => p.nonce)).toEqual([...reference].filter(([, r]) => r.status === "sending").map(([n]) => n));
        }
        for (const n of confirmations.values()) expect(n).toBe(1);
      }),
    );
  });
});
