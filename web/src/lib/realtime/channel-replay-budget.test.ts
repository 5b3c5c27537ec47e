/**
 * ChannelCore when the room refuses a `hello` replay with `rate_limited` (the replay budget,
 * durable-objects/frame-budget.ts): it asks again after `retryAfterMs` and then resumes, so
 * the channel never waits forever for a resume that was only postponed.
 */
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import type { HistoryPage } from "$shared/chat";
import { ChannelCore } from "./channel";
import { fakeSockets } from "./fake-socket";

const page = (headSeq: number): HistoryPage => ({ messages: [], headSeq, hasBefore: false, hasAfter: false });
const ready = (headSeq: number) => ({ type: "ready", headSeq, oldestSeq: null, lastReadSeq: 0, me: { userId: "me", perms: "0" } });

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});

it("resends a hello refused as rate_limited after retryAfterMs, then resumes", async () => {
  const sockets = fakeSockets();
  const core = new ChannelCore("chan1", "me", { socket: sockets.config, history: async () => page(7) });
  core.start();
  const s = sockets.last();
  s.open();
  s.receive(ready(7));
  await new Promise<void>((r) => setImmediate(r));
  expect(s.sentOf("hello")).toEqual([{ type: "hello", lastSeq: 7 }]);

  s.receive({ type: "error", code: "rate_limited", message: "later", ref: null, retryAfterMs: 1500 });
  vi.advanceTimersByTime(1499);
  expect(s.sentOf("hello")).toHaveLength(1);
  vi.advanceTimersByTime(1);
  expect(s.sentOf("hello")).toEqual([
    { type: "hello", lastSeq: 7 },
    { type: "hello", lastSeq: 7 },
  ]);
  s.receive({ type: "resumed", fromSeq: 8, toSeq: 7 });
  expect(core.state.connection).toBe("online");
  core.destroy();
});
