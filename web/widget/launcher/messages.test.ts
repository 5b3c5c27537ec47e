/**
 * What widget.js reads from postMessage: only its own panel's window, from the Woxly origin,
 * for its desk, in the PanelToLauncher shape; and which configs let it draw at all.
 */
import { describe, expect, it } from "vitest";
import { LauncherToPanel, PanelToLauncher } from "$shared/desk";
import { launcherConfig, originAllowed, panelMessage, restoreMessage, visibleMessage } from "./messages";

const WOXLY = "https://chat.example.org";
const frame = { name: "the panel's window" };
const other = { name: "another frame" };
const ev = (data: unknown, over: Partial<{ origin: string; source: unknown }> = {}) => ({ origin: WOXLY, source: frame, data, ...over });

describe("panelMessage", () => {
  it("reads ready, close and unread from the panel", () => {
    expect(panelMessage(ev({ woxly: 1, type: "ready", deskId: "d1" }), WOXLY, frame, "d1")).toEqual({ woxly: 1, type: "ready", deskId: "d1" });
    expect(panelMessage(ev({ woxly: 1, type: "close", deskId: "d1" }), WOXLY, frame, "d1")?.type).toBe("close");
    expect(panelMessage(ev({ woxly: 1, type: "unread", deskId: "d1", count: 3 }), WOXLY, frame, "d1")).toEqual({ woxly: 1, type: "unread", deskId: "d1", count: 3 });
    expect(panelMessage(ev({ woxly: 1, type: "remember", deskId: "d1", token: "abc" }), WOXLY, frame, "d1")).toEqual({ woxly: 1, type: "remember", deskId: "d1", token: "abc" });
    expect(panelMessage(ev({ woxly: 1, type: "remember", deskId: "d1", token: null }), WOXLY, frame, "d1")?.type).toBe("remember");
  });

  it("ignores a foreign origin, even with the right window and shape", () => {
    for (const origin of ["https://evil.example", "http://chat.example.org", "https://chat.example.org:8443", "null", ""]) {
      expect(panelMessage(ev({ woxly: 1, type: "close", deskId: "d1" }, { origin }), WOXLY, frame, "d1")).toBeNull();
    }
  });

  it("ignores the right origin from another window (a second Woxly frame, the page itself)", () => {
    expect(panelMessage(ev({ woxly: 1, type: "close", deskId: "d1" }, { source: other }), WOXLY, frame, "d1")).toBeNull();
    expect(panelMessage(ev({ woxly: 1, type: "close", deskId: "d1" }, { source: null }), WOXLY, frame, "d1")).toBeNull();
    // Before the panel exists there is no window to match: nothing is read.
    expect(panelMessage(ev({ woxly: 1, type: "close", deskId: "d1" }, { source: null }), WOXLY, null, "d1")).toBeNull();
  });

  it("ignores wrong shapes and other desks", () => {
    const bad: unknown[] = [
      null,
      "close",
      42,
      { type: "close", deskId: "d1" },
      { woxly: 2, type: "close", deskId: "d1" },
      { woxly: 1, type: "close", deskId: "d2" },
      { woxly: 1, type: "open", deskId: "d1" },
      { woxly: 1, type: "unread", deskId: "d1" },
      { woxly: 1, type: "unread", deskId: "d1", count: -1 },
      { woxly: 1, type: "unread", deskId: "d1", count: 1.5 },
      { woxly: 1, type: "unread", deskId: "d1", count: "3" },
      { woxly: 1, type: "remember", deskId: "d1" },
      { woxly: 1, type: "remember", deskId: "d1", token: 5 },
      { woxly: 1, type: "remember", deskId: "d1", token: "x".repeat(201) },
    ];
    for (const data of bad) expect(panelMessage(ev(data), WOXLY, frame, "d1")).toBeNull();
  });

  it("agrees with the shared schema on everything it accepts", () => {
    const samples: unknown[] = [
      { woxly: 1, type: "ready", deskId: "d1" },
      { woxly: 1, type: "unread", deskId: "d1", count: 0 },
      { woxly: 1, type: "unread", deskId: "d1", count: 7, extra: "<img src=x onerror=alert(1)>" },
      { woxly: 1, type: "remember", deskId: "d1", token: "t0k" },
    ];
    for (const data of samples) {
      const got = panelMessage(ev(data), WOXLY, frame, "d1");
      expect(got).not.toBeNull();
      expect(PanelToLauncher.safeParse(got).success).toBe(true);
      expect(got).not.toHaveProperty("extra");
    }
  });

  it("tells the panel it is shown or hidden, and the kept token, in the shared shape", () => {
    expect(visibleMessage("d1", true)).toEqual({ woxly: 1, type: "visible", deskId: "d1", visible: true });
    expect(LauncherToPanel.safeParse(restoreMessage("d1", "t0k")).success).toBe(true);
    expect(LauncherToPanel.safeParse(restoreMessage("d1", null)).success).toBe(true);
  });
});

describe("launcherConfig and originAllowed", () => {
  const good = { deskId: "d1", name: "Help", greeting: "", colour: "#112233", open: true, managersOnline: 1, allowedOrigins: ["https://shop.example"] };

  it("draws only on an allowed origin", () => {
    const c = launcherConfig(good)!;
    expect(originAllowed(c, "https://shop.example")).toBe(true);
    expect(originAllowed(c, "https://SHOP.example")).toBe(true);
    expect(originAllowed(c, "https://shop.example.evil.test")).toBe(false);
    expect(originAllowed(c, "http://shop.example")).toBe(false);
    expect(originAllowed(launcherConfig({ ...good, allowedOrigins: [] })!, "https://shop.example")).toBe(false);
  });

  it("refuses answers that are not a config, and never takes a colour that is not #rrggbb", () => {
    expect(launcherConfig(null)).toBeNull();
    expect(launcherConfig({ ...good, allowedOrigins: "https://shop.example" })).toBeNull();
    expect(launcherConfig({ ...good, allowedOrigins: [1] })).toBeNull();
    expect(launcherConfig({ ...good, name: 3 })).toBeNull();
    expect(launcherConfig({ ...good, colour: "red; background: url(//evil)" })?.colour).toBe("#5865f2");
  });
});
