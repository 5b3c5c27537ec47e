import { describe, expect, it } from "vitest";
import type { Thread } from "$shared/threads";
import { applyThread, threadOf } from "./threads";

const t = (id: string, at: number, extra: Partial<Thread> = {}): Thread => ({
  id,
  parentId: "p",
  communityId: "c",
  starterMessageId: `m-${id}`,
  name: id,
  ownerId: "u",
  createdAt: 0,
  messageCount: 0,
  lastMessageAt: at,
  lastAuthorId: null,
  memberCount: 1,
  autoArchiveMinutes: 1440,
  archived: false,
  ...extra,
});

describe("applyThread", () => {
  it("adds, orders by activity and keeps the member's joined flag", () => {
    let s = applyThread({ active: [], archived: [] }, t("a", 10), true);
    s = applyThread(s, t("b", 20));
    expect(s.active.map((x) => x.id)).toEqual(["b", "a"]);
    s = applyThread(s, t("a", 30, { messageCount: 3 }));
    expect(s.active.map((x) => [x.id, x.joined, x.messageCount])).toEqual([
      ["a", true, 3],
      ["b", false, 0],
    ]);
  });

  it("moves a thread between active and archived", () => {
    let s = applyThread({ active: [], archived: [] }, t("a", 10));
    s = applyThread(s, t("a", 10, { archived: true }));
    expect([s.active.length, s.archived.map((x) => x.id)]).toEqual([0, ["a"]]);
    s = applyThread(s, t("a", 40));
    expect([s.active.map((x) => x.id), s.archived.length]).toEqual([["a"], 0]);
  });

  it("finds the thread of a starter message", () => {
    const s = applyThread(applyThread({ active: [], archived: [] }, t("a", 1)), t("b", 2, { archived: true }));
    expect(threadOf(s, "m-b")?.id).toBe("b");
    expect(threadOf(s, "m-z")).toBeUndefined();
  });
});

describe("unread", () => {
  it("keeps a joined thread's unread flag until told otherwise; a thread not joined is never unread", () => {
    let s = applyThread({ active: [], archived: [] }, t("a", 1), true, true);
    expect(s.active[0]!.unread).toBe(true);
    s = applyThread(s, t("a", 2));
    expect(s.active[0]!.unread).toBe(true);
    s = applyThread(s, t("a", 3), undefined, false);
    expect(s.active[0]!.unread).toBe(false);
    expect(applyThread({ active: [], archived: [] }, t("b", 1), false, true).active[0]!.unread).toBe(false);
  });
});
