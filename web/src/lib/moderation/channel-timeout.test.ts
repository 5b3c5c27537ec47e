/**
 * The channel core keeps the viewer's timeout as the room says it (docs/moderation.md): from
 * `ready.me.timeoutUntil`, changed by `permissions.updated` (set, lifted, ended), with the
 * permissions that go with it. A slowmode refusal fails the pending message with its wait.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ChannelCore } from "$lib/realtime/channel";
import { fakeSockets } from "$lib/realtime/fake-socket";

const settle = () => new Promise<void>((r) => setImmediate(r));

function rig() {
  const sockets = fakeSockets();
  const history = vi.fn(async () => ({ messages: [], headSeq: 0, hasBefore: false, hasAfter: false }));
  const core = new ChannelCore("chan1", "me", { socket: sockets.config, history });
  core.start();
  return { core, socket: () => sockets.last() };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("ChannelCore: timeouts and slowmode", () => {
  it("takes the timeout from ready and follows permissions.updated", async () => {
    const r = rig();
    const s = r.socket();
    s.open();
    s.receive({ type: "ready", headSeq: 0, oldestSeq: null, lastReadSeq: 0, me: { userId: "me", perms: "5", timeoutUntil: 1_900_000_000_000 } });
    await settle();
    expect(r.core.state.timeoutUntil).toBe(1_900_000_000_000);
    expect(r.core.state.perms).toBe("5");
    s.receive({ type: "permissions.updated", perms: "31" });
    expect(r.core.state.timeoutUntil).toBeNull();
    expect(r.core.state.perms).toBe("31");
    s.receive({ type: "permissions.updated", perms: "5", timeoutUntil: 1_900_000_060_000 });
    expect(r.core.state.timeoutUntil).toBe(1_900_000_060_000);
    r.core.destroy();
  });

  it("a slowmode refusal fails the pending message with when it may be sent again", async () => {
    const r = rig();
    const s = r.socket();
    s.open();
    s.receive({ type: "ready", headSeq: 0, oldestSeq: null, lastReadSeq: 0, me: { userId: "me", perms: "31" } });
    await settle();
    s.receive({ type: "resumed", fromSeq: 1, toSeq: 0 });
    r.core.send("hello");
    await settle();
    const nonce = String(s.sentOf("message.send").at(-1)?.nonce);
    s.receive({ type: "error", code: "slowmode", message: "Slowmode", ref: nonce, retryAfterMs: 12_000 });
    const p = r.core.state.pending.find((x) => x.nonce === nonce)!;
    expect(p.status).toBe("failed");
    expect(p.error).toBe("slowmode");
    expect(p.retryAt).toBe(Date.now() + 12_000);
    r.core.destroy();
  });
});
