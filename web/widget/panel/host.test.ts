/** The panel's side of postMessage: the host's origin must be allowed; only the parent window at that origin is read. */
import { describe, expect, it, vi } from "vitest";
import { hostLink, hostOrigin, launcherMessage } from "./host";

const allowed = ["https://shop.example", "http://127.0.0.1:3000"];
const parent = { postMessage: vi.fn() };

describe("hostOrigin", () => {
  it("prefers the browser's ancestor origin over the launcher's claim", () => {
    expect(hostOrigin(["https://shop.example"], "http://127.0.0.1:3000", allowed)).toBe("https://shop.example");
    expect(hostOrigin(null, "http://127.0.0.1:3000", allowed)).toBe("http://127.0.0.1:3000");
  });
  it("is null for an origin the desk does not allow", () => {
    expect(hostOrigin(["https://evil.example"], "https://shop.example", allowed)).toBeNull();
    expect(hostOrigin(null, "https://evil.example", allowed)).toBeNull();
    expect(hostOrigin(null, null, allowed)).toBeNull();
  });
});

describe("launcherMessage", () => {
  const msg = { woxly: 1, type: "visible", deskId: "d1", visible: false };
  it("reads the launcher's messages from the parent at the host origin", () => {
    expect(launcherMessage({ origin: "https://shop.example", source: parent, data: msg }, parent, "https://shop.example", "d1")).toEqual(msg);
    const restore = { woxly: 1, type: "restore", deskId: "d1", token: "t0k" };
    expect(launcherMessage({ origin: "https://shop.example", source: parent, data: restore }, parent, "https://shop.example", "d1")).toEqual(restore);
  });
  it("ignores other origins, other windows, other desks and other shapes", () => {
    expect(launcherMessage({ origin: "https://evil.example", source: parent, data: msg }, parent, "https://shop.example", "d1")).toBeNull();
    expect(launcherMessage({ origin: "https://shop.example", source: {}, data: msg }, parent, "https://shop.example", "d1")).toBeNull();
    expect(launcherMessage({ origin: "https://shop.example", source: parent, data: msg }, parent, null, "d1")).toBeNull();
    expect(launcherMessage({ origin: "https://shop.example", source: parent, data: { ...msg, deskId: "d2" } }, parent, "https://shop.example", "d1")).toBeNull();
    expect(launcherMessage({ origin: "https://shop.example", source: parent, data: { ...msg, visible: "yes" } }, parent, "https://shop.example", "d1")).toBeNull();
  });
});

describe("hostLink", () => {
  it("posts to the exact host origin, and nowhere without one", () => {
    const target = { postMessage: vi.fn() };
    hostLink(target, "https://shop.example").send({ woxly: 1, type: "ready", deskId: "d1" });
    expect(target.postMessage).toHaveBeenCalledWith({ woxly: 1, type: "ready", deskId: "d1" }, "https://shop.example");
    const none = { postMessage: vi.fn() };
    const link = hostLink(none, null);
    link.send({ woxly: 1, type: "close", deskId: "d1" });
    expect(none.postMessage).not.toHaveBeenCalled();
    expect(link.connected).toBe(false);
    expect(hostLink(target, "https://shop.example").connected).toBe(true);
  });
});
