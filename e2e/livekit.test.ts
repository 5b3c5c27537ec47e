/** The media tests of later issues need a real livekit-server; the harness must have one. */
import { describe, expect, inject, it } from "vitest";

describe("local LiveKit", () => {
  it("a livekit-server answers on loopback", async () => {
    const url = inject("livekitUrl");
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(url.replace(/^ws/, "http"));
    expect(res.status).toBe(200);
  });
});
