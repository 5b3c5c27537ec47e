/** The manager panel's pure helpers: authors, canned-reply lookup, durations, local time, chart bars. */
import { describe, expect, it } from "vitest";
import type { CannedReply } from "$shared/desk";
import { authorKind, cannedMatches, chartBars, durationParts, localTime } from "./view";

const author = (id: string) => ({ id, username: id, displayName: id });

describe("desk panel helpers", () => {
  it("tells who wrote a ticket message", () => {
    expect(authorKind({ author: null, system: { kind: "manager_joined", userId: "u1" } }, "u1")).toBe("system");
    expect(authorKind({ author: author("assistant"), system: null }, "u1")).toBe("assistant");
    expect(authorKind({ author: author("u1"), system: null }, "u1")).toBe("me");
    expect(authorKind({ author: author("v_abc"), system: null }, "u1")).toBe("visitor");
    expect(authorKind({ author: author("u2"), system: null }, "u1")).toBe("manager");
  });

  it("offers canned replies for a / query: prefix matches first, then others that contain it", () => {
    const replies: CannedReply[] = [
      { id: "1", shortcut: "refund", text: "We refund within 14 days." },
      { id: "2", shortcut: "hello", text: "Hello! How can I help?" },
      { id: "3", shortcut: "prefund", text: "Prefunding is not available." },
    ];
    expect(cannedMatches(replies, "hello")).toBeNull();
    expect(cannedMatches(replies, "/re more")).toBeNull();
    expect(cannedMatches(replies, "/")!.map((r) => r.id)).toEqual(["1", "2", "3"]);
    expect(cannedMatches(replies, "/ref")!.map((r) => r.id)).toEqual(["1", "3"]);
    expect(cannedMatches(replies, "/HEL")!.map((r) => r.id)).toEqual(["2"]);
    expect(cannedMatches(replies, "/zzz")).toEqual([]);
  });

  it("splits durations into hours and minutes", () => {
    expect(durationParts(-5)).toEqual({ hours: 0, minutes: 0 });
    expect(durationParts(59_999)).toEqual({ hours: 0, minutes: 0 });
    expect(durationParts(65 * 60_000)).toEqual({ hours: 1, minutes: 5 });
  });

  it("gives a visitor's local time, or null for an unknown zone", () => {
    const at = Date.UTC(2026, 11, 7, 6, 5);
    expect(localTime("Asia/Bishkek", "en-GB", at)).toBe("12:05");
    expect(localTime("Not/AZone", "en", at)).toBeNull();
    expect(localTime(null, "en", at)).toBeNull();
  });

  it("scales chart bars to the busiest day", () => {
    const bars = chartBars(
      [
        { day: "2026-12-01", tickets: 0 },
        { day: "2026-12-02", tickets: 5 },
        { day: "2026-12-03", tickets: 10 },
      ],
      300,
      100,
    );
    expect(bars.map((b) => b.height)).toEqual([0, 50, 100]);
    expect(bars.map((b) => b.x)).toEqual([0, 100, 200]);
    expect(bars[2]!.y).toBe(0);
    expect(chartBars([], 300, 100)).toEqual([]);
  });
});
