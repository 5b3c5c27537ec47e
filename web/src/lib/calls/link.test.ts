/**
 * CallLinkCore: follows the CallLink socket's snapshots, sends the host's and everyone's
 * actions as the shared frames, tells about knocks and lobby decisions, ignores bad frames.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CallPerson, LobbyEntry } from "$shared/call-links";
import { CLOSE } from "$shared/close-codes";
import { fakeSockets } from "$lib/realtime/fake-socket";
import { CallLinkCore, raisedHands } from "./link";

const person = (id: string, over: Partial<CallPerson> = {}): CallPerson => ({ id, name: id.toUpperCase(), guest: false, host: false, inCall: true, handRaisedAt: null, ...over });
const entry = (id: string): LobbyEntry => ({ id, name: `Guest ${id}`, guest: true, since: 5 });

function snapshot(over: Record<string, unknown> = {}) {
  return {
    type: "call.snapshot",
    settings: { locked: false, lobby: true, requireAccount: false },
    people: [person("u-host", { host: true }), person("g_1", { guest: true })],
    lobby: [entry("g_2")],
    you: { id: "u-host", host: true, admission: "admitted" },
    ended: false,
    ...over,
  };
}

function open(options: ConstructorParameters<typeof CallLinkCore>[1] = {}) {
  const sockets = fakeSockets();
  const core = new CallLinkCore("link-1", { ...options, socket: sockets.config });
  core.start();
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

describe("CallLinkCore", () => {
  it("connects to the call-link party of its link and adopts the snapshot", () => {
    const { core, s } = open();
    expect(s.options.party).toBe("call-link");
    expect(s.options.room).toBe("link-1");
    expect(core.state.status).toBe("connecting");
    s.receive(snapshot());
    expect(core.state.status).toBe("open");
    expect(core.state.people.map((p) => p.id)).toEqual(["u-host", "g_1"]);
    expect(core.state.lobby.map((e) => e.id)).toEqual(["g_2"]);
    expect(core.state.you).toEqual({ id: "u-host", host: true, admission: "admitted" });
    expect(core.me?.host).toBe(true);
  });

  it("sends hands, admissions and settings as the shared frames", () => {
    const { core, s } = open();
    s.receive(snapshot());
    expect(core.raiseHand()).toBe(true);
    expect(core.lowerHand()).toBe(true);
    expect(core.lowerHandFor("g_1")).toBe(true);
    expect(core.admit("g_2")).toBe(true);
    expect(core.state.lobby).toEqual([]);
    expect(core.refuse("g_3")).toBe(true);
    expect(core.setSettings({ locked: true })).toBe(true);
    expect(core.state.settings.locked).toBe(true);
    expect(s.sent.map((f) => f.type)).toEqual(["hand.raise", "hand.lower", "hand.lower_for", "lobby.admit", "lobby.refuse", "settings.set"]);
    expect(s.sentOf("lobby.admit")[0]).toMatchObject({ personId: "g_2" });
    expect(s.sentOf("settings.set")[0]).toMatchObject({ settings: { locked: true } });
    // Every frame carries a distinct ref.
    expect(new Set(s.sent.map((f) => f.ref)).size).toBe(s.sent.length);
  });

  it("sends nothing while the socket is down", () => {
    const { core, s } = open();
    s.drop(1006);
    expect(core.raiseHand()).toBe(false);
    expect(s.sent).toEqual([]);
  });

  it("tells the host about a knock and adds it to the lobby once", () => {
    const knocks: string[] = [];
    const { core, s } = open({ onKnock: (e) => knocks.push(e.id) });
    s.receive(snapshot({ lobby: [] }));
    s.receive({ type: "lobby.knocked", entry: entry("g_9") });
    s.receive({ type: "lobby.knocked", entry: entry("g_9") });
    expect(knocks).toEqual(["g_9", "g_9"]);
    expect(core.state.lobby.map((e) => e.id)).toEqual(["g_9"]);
  });

  it("tells a waiting guest the host's decision", () => {
    const decided: boolean[] = [];
    const { core, s } = open({ onDecided: (a) => decided.push(a) });
    s.receive(snapshot({ you: { id: "g_2", host: false, admission: "waiting" }, lobby: [] }));
    expect(core.state.you?.admission).toBe("waiting");
    s.receive({ type: "lobby.decided", admitted: true });
    expect(decided).toEqual([true]);
    expect(core.state.you?.admission).toBe("admitted");
  });

  it("ignores malformed frames and keeps the last good state", () => {
    const { core, s } = open();
    s.receive(snapshot());
    const before = core.state;
    s.receive({ type: "call.snapshot", people: "nope" });
    s.receive("not json");
    s.receiveBinary();
    expect(core.state).toBe(before);
  });

  it("shows the ended link and a server error", () => {
    const { core, s } = open();
    s.receive(snapshot({ ended: true }));
    expect(core.state.ended).toBe(true);
    s.receive({ type: "error", code: "forbidden", message: "host only", ref: "c1" });
    expect(core.state.error).toBe("forbidden");
  });

  it("says reconnecting on a drop, and closed on a final close", () => {
    const { core, s } = open();
    s.receive(snapshot());
    expect(s.drop(1006)).toBe(true);
    expect(core.state.status).toBe("reconnecting");
    s.open();
    s.receive(snapshot());
    expect(core.state.status).toBe("open");
    expect(s.drop(CLOSE.GONE)).toBe(false);
    expect(core.state).toMatchObject({ status: "closed", closedBy: "GONE" });
    core.destroy();
    expect(core.state.status).toBe("closed");
    expect(s.closedByClient).toBe(true);
  });

  it("lists raised hands, the earliest first", () => {
    expect(raisedHands([person("a", { handRaisedAt: 30 }), person("b"), person("c", { handRaisedAt: 10 })]).map((p) => p.id)).toEqual(["c", "a"]);
  });
});
