/**
 * The socket helper of every core: close codes read through the shared table (final ones stop
 * reconnecting, the hub's old codes too), frames parsed with the schema (a bad one is logged
 * and ignored), and nothing sent while the socket is down.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { CLOSE } from "$shared/close-codes";
import { fakeSockets } from "./fake-socket";
import { finalClose, type Party, RealtimeSocket } from "./socket";

const Frame = z.discriminatedUnion("type", [z.object({ type: z.literal("ping"), n: z.number() })]);
type Frame = z.infer<typeof Frame>;

function open(party: Party = "channel-room") {
  const sockets = fakeSockets();
  const frames: Frame[] = [];
  const closes: [number, string | null][] = [];
  let opens = 0;
  const socket = new RealtimeSocket<Frame, Frame>(
    party,
    "room1",
    { frames: Frame, onFrame: (f) => frames.push(f), onOpen: () => opens++, onClose: (code, final) => closes.push([code, final]) },
    { ...sockets.config, options: { host: "example.test", minReconnectionDelay: 5 } },
  );
  return { socket, fake: sockets.last(), frames, closes, opens: () => opens };
}

beforeEach(() => {
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("finalClose", () => {
  it("reads the shared close-code table: every Woxly code but TICKET_STALE is final, transport closes are not", () => {
    for (const [name, code] of Object.entries(CLOSE)) expect(finalClose(code)).toBe(name === "TICKET_STALE" ? null : name);
    // Codes that are not Woxly's (the hub's old 4003/4004/1008 among them) let partysocket reconnect.
    for (const code of [1000, 1001, 1006, 1008, 1011, 1012, 4000, 4003, 4004]) expect(finalClose(code)).toBe(null);
  });
});

describe("RealtimeSocket", () => {
  it("builds its partysocket options: party, room, no queue, the caller's overrides", () => {
    const { fake } = open("user-inbox");
    expect(fake.options).toMatchObject({ party: "user-inbox", room: "room1", host: "example.test", maxEnqueuedMessages: 0, minReconnectionDelay: 5 });
    // partysocket itself is told not to come back after a final close.
    const reconnectsAfter = (code: number) => fake.options.shouldReconnectOnClose?.({ code } as CloseEvent);
    expect(reconnectsAfter(CLOSE.SESSION_ENDED)).toBe(false);
    expect(reconnectsAfter(1006)).toBe(true);
  });

  it("stops reconnecting after a final close and reports why", () => {
    const { socket, fake, closes, frames } = open();
    fake.open();
    expect(fake.drop(CLOSE.ACCESS_LOST)).toBe(false);
    expect(fake.closedByClient).toBe(true);
    expect(closes).toEqual([[CLOSE.ACCESS_LOST, "ACCESS_LOST"]]);
    expect(socket.open).toBe(false);
    // Nothing reaches the core after the end, not even a reconnect asked for.
    socket.reconnect();
    expect(fake.reconnects).toBe(0);
    fake.receive({ type: "ping", n: 1 });
    expect(frames).toEqual([]);
  });

  it("lets partysocket reconnect after a transport close", () => {
    const { socket, fake, closes, opens } = open();
    fake.open();
    expect(fake.drop(1006)).toBe(true);
    expect(closes).toEqual([[1006, null]]);
    fake.open();
    expect(opens()).toBe(2);
    expect(socket.send({ type: "ping", n: 2 })).toBe(true);
    expect(fake.sent).toEqual([{ type: "ping", n: 2 }]);
  });

  it("hands on valid frames and logs and ignores the rest", () => {
    const { fake, frames } = open();
    fake.open();
    fake.receive({ type: "ping", n: 1 });
    expect(() => {
      fake.receive("][");
      fake.receive({ type: "ping", n: "one" });
      fake.receive({ type: "pong" });
      fake.receiveBinary();
    }).not.toThrow();
    fake.receive({ type: "ping", n: 2 });
    expect(frames).toEqual([
      { type: "ping", n: 1 },
      { type: "ping", n: 2 },
    ]);
    expect(console.warn).toHaveBeenCalledTimes(4);
    expect(vi.mocked(console.warn).mock.calls.map(([entry]) => (entry as { reason: string }).reason)).toEqual(["invalid_json", "invalid_frame", "invalid_frame", "not_text"]);
  });

  it("sends nothing while down, and nothing after close", () => {
    const { socket, fake } = open();
    expect(socket.send({ type: "ping", n: 1 })).toBe(false);
    fake.open();
    socket.close();
    expect(socket.send({ type: "ping", n: 2 })).toBe(false);
    expect(fake.sent).toEqual([]);
    expect(fake.closedByClient).toBe(true);
  });
});
