import { describe, expect, it } from "vitest";
import { EDGE, MIN_TRAVEL, classifySwipe } from "./swipe";

describe("classifySwipe", () => {
  const W = 390;
  it("opens the navigation drawer from the left edge and the member drawer from the right", () => {
    expect(classifySwipe(4, 400, 4 + MIN_TRAVEL, 410, W, null)).toBe("open-nav");
    expect(classifySwipe(W - 4, 400, W - 4 - MIN_TRAVEL, 395, W, null)).toBe("open-members");
  });
  it("ignores swipes away from the edges, short ones, vertical ones and the wrong way", () => {
    expect(classifySwipe(EDGE + 1, 400, 300, 400, W, null)).toBeNull();
    expect(classifySwipe(4, 400, 4 + MIN_TRAVEL - 1, 400, W, null)).toBeNull();
    expect(classifySwipe(4, 100, 120, 400, W, null)).toBeNull();
    expect(classifySwipe(W - 4, 400, W, 400, W, null)).toBeNull();
    expect(classifySwipe(4, 400, 200, 400, W, "nav")).toBeNull();
  });
  it("closes an open drawer by a swipe back towards its edge", () => {
    expect(classifySwipe(300, 400, 100, 400, W, "nav")).toBe("close");
    expect(classifySwipe(100, 400, 300, 400, W, "members")).toBe("close");
    expect(classifySwipe(100, 400, 300, 400, W, "nav")).toBeNull();
  });
});
