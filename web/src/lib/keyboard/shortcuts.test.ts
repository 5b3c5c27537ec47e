import { describe, expect, it } from "vitest";
import { commandFor, filterTargets, isApple, step, type KeyPress, type Target } from "./shortcuts";

const press = (key: string, mods: Partial<KeyPress> = {}): KeyPress => ({ key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, typing: false, ...mods });

describe("commandFor", () => {
  it("maps the documented keys, Ctrl off Apple and ⌘ on it", () => {
    expect(commandFor(press("k", { ctrlKey: true, code: "KeyK" }))).toBe("switcher");
    expect(commandFor(press("k", { metaKey: true, code: "KeyK" }))).toBeNull();
    expect(commandFor(press("k", { metaKey: true, code: "KeyK" }), true)).toBe("switcher");
    expect(commandFor(press("M", { ctrlKey: true, shiftKey: true, code: "KeyM" }))).toBe("toggleMute");
    expect(commandFor(press("D", { ctrlKey: true, shiftKey: true, code: "KeyD" }))).toBe("toggleDeafen");
    expect(commandFor(press("ArrowDown", { altKey: true }))).toBe("nextChannel");
    expect(commandFor(press("ArrowUp", { altKey: true }))).toBe("prevChannel");
    expect(commandFor(press("ArrowDown", { altKey: true, shiftKey: true }))).toBe("nextUnread");
    expect(commandFor(press("ArrowUp", { altKey: true, shiftKey: true }))).toBe("prevUnread");
    expect(commandFor(press("Escape"))).toBe("markRead");
    expect(commandFor(press("?", { shiftKey: true }))).toBe("help");
  });

  it("leaves typing alone: ? in a text field types, plain arrows and letters mean nothing", () => {
    expect(commandFor(press("?", { shiftKey: true, typing: true }))).toBeNull();
    expect(commandFor(press("ArrowDown"))).toBeNull();
    expect(commandFor(press("k"))).toBeNull();
    // A non-Latin layout still has the physical K key.
    expect(commandFor(press("л", { ctrlKey: true, code: "KeyK" }))).toBe("switcher");
  });

  it("tells Apple platforms apart", () => {
    expect(isApple("MacIntel")).toBe(true);
    expect(isApple("Linux x86_64")).toBe(false);
  });
});

const t = (id: string, name: string, unread = false, kind: Target["kind"] = "text"): Target => ({ id, kind, name, href: `/x/${id}`, unread });

describe("step", () => {
  const list = [t("a", "general"), t("b", "random", true), t("c", "memes"), t("d", "news", true)];
  it("moves to the next and previous one, wrapping around", () => {
    expect(step(list, "a", 1)?.id).toBe("b");
    expect(step(list, "a", -1)?.id).toBe("d");
    expect(step(list, "d", 1)?.id).toBe("a");
    expect(step(list, null, 1)?.id).toBe("a");
    expect(step(list, null, -1)?.id).toBe("d");
  });
  it("skips to unread ones only, never the current", () => {
    expect(step(list, "b", 1, true)?.id).toBe("d");
    expect(step(list, "d", 1, true)?.id).toBe("b");
    expect(step(list, "c", -1, true)?.id).toBe("b");
    expect(step([t("a", "x", true)], "a", 1, true)).toBeNull();
    expect(step([], null, 1)).toBeNull();
  });
});

describe("filterTargets", () => {
  const list = [t("1", "general"), t("2", "Dev talk", true), t("3", "dev-ops"), t("4", "Ёлка"), t("5", "random")];
  it("ranks prefix, then substring, then letters in order; unread first in each", () => {
    expect(filterTargets(list, "dev").map((x) => x.id)).toEqual(["2", "3"]);
    expect(filterTargets(list, "#ops").map((x) => x.id)).toEqual(["3"]);
    expect(filterTargets(list, "gnl").map((x) => x.id)).toEqual(["1"]);
    expect(filterTargets(list, "елк").map((x) => x.id)).toEqual(["4"]);
    expect(filterTargets(list, "zzz")).toEqual([]);
  });
  it("lists unread first when empty", () => {
    expect(filterTargets(list, "  ").map((x) => x.id)).toEqual(["2", "1", "3", "4", "5"]);
  });
});
