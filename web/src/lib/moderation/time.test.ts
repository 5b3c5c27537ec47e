import { describe, expect, it } from "vitest";
import { countdown, durationLabel } from "./time";

describe("countdown", () => {
  it("shows minutes and seconds, hours and days, rounding up and never below zero", () => {
    expect(countdown(299_001)).toBe("5:00");
    expect(countdown(299_000)).toBe("4:59");
    expect(countdown(9_000)).toBe("0:09");
    expect(countdown(3_600_000)).toBe("1:00:00");
    expect(countdown(604_800_000 - 1000)).toBe("6d 23:59:59");
    expect(countdown(-5)).toBe("0:00");
  });
});

describe("durationLabel", () => {
  it("picks the largest whole unit", () => {
    expect(durationLabel(0).key).toBe("moderation.duration.off");
    expect(durationLabel(5)).toEqual({ key: "moderation.duration.seconds", values: { count: 5 } });
    expect(durationLabel(300)).toEqual({ key: "moderation.duration.minutes", values: { count: 5 } });
    expect(durationLabel(21_600)).toEqual({ key: "moderation.duration.hours", values: { count: 6 } });
    expect(durationLabel(86_400)).toEqual({ key: "moderation.duration.days", values: { count: 1 } });
    expect(durationLabel(604_800)).toEqual({ key: "moderation.duration.weeks", values: { count: 1 } });
  });
});
