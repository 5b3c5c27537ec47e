/**
 * InboxCore: frames are validated with the shared schema — malformed ones are logged and
 * ignored, never applied and never thrown — and calls follow the inbox's ordering rules.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { DmCall } from "$shared/calls";
import { fakeSockets } from "./fake-socket";
import { type DmActivity, InboxCore } from "./inbox";

const call = (channelId: string, callId: string, over: Partial<DmCall> = {}): DmCall => ({
  channelId,
  callId,
  kind: "dm",
  startedBy: { id: "u-2", username: "two", displayName: "Two" },
  startedAt: 1,
  members: ["u-me", "u-2"],
  ringing: ["u-me"],
  joined: ["u-2"],
  declined: [],
  ringUntil: 30_001,
  answered: false,
  ...over,
});

function open() {
  const sockets = fakeSockets();
  const core = new InboxCore("u-me", { socket: sockets.config });
  const s = sockets.last();
  s.open();
  return { core, s };
}

beforeEach(() => {
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("InboxCore", () => {
  it("rejects malformed frames without throwing or changing anything", () => {
    const { core, s } = open();
    s.receive({ type: "ready", calls: [call("dm1", "c1")] });
    const before = core.state;
    const bad: unknown[] = [
      "{",
      "null",
      JSON.stringify([1, 2]),
      { type: "ready", calls: "everything" },
      { type: "ready", calls: [{ channelId: "dm2" }] },
      { type: "call", call: { ...call("dm2", "c2"), ringing: "u-me" } },
      { type: "call.ended", channelId: "dm1" },
      { type: "dm.activity", channelId: "dm1", seq: "7", authorId: null, mentioned: false },
      { type: "surprise" },
      { calls: [] },
    ];
    for (const f of bad) expect(() => s.receive(f)).not.toThrow();
    expect(() => s.receiveBinary()).not.toThrow();
    expect(core.state).toBe(before);
    expect(console.warn).toHaveBeenCalledTimes(bad.length + 1);
    // The socket stays useful.
    s.receive({ type: "call.ended", channelId: "dm1", callId: "c1", missed: false });
    expect(core.state.calls.size).toBe(0);
  });

  it("keeps the newest call per DM and ends only the call that ended", () => {
    const { core, s } = open();
    s.receive({ type: "ready", calls: [call("dm1", "c2")] });
    s.receive({ type: "call", call: call("dm1", "c1", { answered: true }) }); // an older call: ignored
    expect(core.state.calls.get("dm1")?.callId).toBe("c2");
    s.receive({ type: "call.ended", channelId: "dm1", callId: "c1", missed: true });
    expect(core.state.calls.get("dm1")?.callId).toBe("c2");
    s.receive({ type: "call", call: call("dm1", "c2", { ringing: [] }) });
    expect(core.state.calls.get("dm1")?.ringing).toEqual([]);
    core.apply("dm3", call("dm3", "c9"));
    expect([...core.state.calls.keys()]).toEqual(["dm1", "dm3"]);
  });

  it("tells DM listeners about activity, and to refetch after every ready", () => {
    const { core, s } = open();
    const seen: (DmActivity | null)[] = [];
    core.onDmActivity((a) => seen.push(a));
    s.receive({ type: "ready", calls: [] });
    s.receive({ type: "dm.activity", channelId: "dm1", seq: 4, authorId: "u-2", mentioned: false });
    s.receive({ type: "pong" });
    expect(seen).toEqual([null, { channelId: "dm1", seq: 4, authorId: "u-2", mentioned: false }]);
  });

  it("stops for good when the session ends", () => {
    const { s } = open();
    expect(s.drop(4401)).toBe(false);
    expect(s.closedByClient).toBe(true);
    expect(s.options.party).toBe("user-inbox");
  });

  it("tells the page when the server ends the session (4401), not on a close it may reconnect after", () => {
    const { core, s } = open();
    let ended = 0;
    core.onSessionEnded(() => ended++);
    s.drop(1006);
    expect(ended).toBe(0);
    s.drop(4401);
    expect(ended).toBe(1);
  });
});
