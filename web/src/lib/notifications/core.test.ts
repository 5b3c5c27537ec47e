import { describe, expect, it } from "vitest";
import type { Unread } from "$shared/communities";
import { MUTED_FOREVER, effectiveLevel, type NotifyLevel } from "$shared/notifications";
import { isUnread } from "$lib/realtime/hub-core";
import { type Incoming, NotificationCore, type Shown, badgeUnread, badgeUnreads, messageHref, newMentions, shouldNotify, titleWithCount } from "./core";

const u = (channelId: string, lastSeq: number, readSeq: number, mentions: number): Unread => ({ channelId, lastSeq, readSeq, mentions });
const mention: Incoming = { kind: "mention", communityId: "c1", channelId: "ch1", seq: 5 };
const dm: Incoming = { kind: "dm", communityId: null, channelId: "d1", seq: 3 };

describe("effectiveLevel", () => {
  const now = 1_000_000;
  it("channel over community over all; a mute of either is nothing until it ends", () => {
    expect(effectiveLevel(undefined, undefined, now)).toBe("all");
    expect(effectiveLevel({ level: "mentions", mutedUntil: null }, undefined, now)).toBe("mentions");
    expect(effectiveLevel({ level: "mentions", mutedUntil: null }, { level: "all", mutedUntil: null }, now)).toBe("all");
    expect(effectiveLevel({ level: "nothing", mutedUntil: null }, { level: null, mutedUntil: null }, now)).toBe("nothing");
    expect(effectiveLevel(undefined, { level: "all", mutedUntil: now + 1 }, now)).toBe("nothing");
    expect(effectiveLevel(undefined, { level: "all", mutedUntil: now }, now)).toBe("all");
    expect(effectiveLevel({ level: null, mutedUntil: MUTED_FOREVER }, { level: "all", mutedUntil: null }, now)).toBe("nothing");
  });
});

describe("shouldNotify", () => {
  it("only while hidden, for mentions and DMs, never at level nothing", () => {
    for (const ev of [mention, dm]) {
      expect(shouldNotify(ev, false, "all")).toBe(false);
      expect(shouldNotify(ev, true, "all")).toBe(true);
      expect(shouldNotify(ev, true, "mentions")).toBe(true);
      expect(shouldNotify(ev, true, "nothing")).toBe(false);
    }
  });
});

describe("badges", () => {
  const unread = u("a", 10, 5, 2);
  it("all shows everything; mentions hides the dot but keeps mentions; nothing hides both", () => {
    expect(badgeUnread(unread, "all")).toBe(unread);
    const m = badgeUnread(unread, "mentions");
    expect(isUnread(m)).toBe(false);
    expect(m.mentions).toBe(2);
    const n = badgeUnread(unread, "nothing");
    expect(isUnread(n)).toBe(false);
    expect(n.mentions).toBe(0);
  });
  it("filters a hub's unreads per channel, keeping the object when nothing changes", () => {
    const all = { a: u("a", 10, 5, 2), b: u("b", 4, 1, 0), c: u("c", 3, 3, 0) };
    expect(badgeUnreads(all, () => "all")).toBe(all);
    const levels: Record<string, NotifyLevel> = { a: "nothing", b: "mentions", c: "nothing" };
    const out = badgeUnreads(all, (id) => levels[id]!);
    expect(out.a).toEqual(u("a", 10, 10, 0));
    expect(out.b).toEqual(u("b", 4, 4, 0));
    expect(out.c).toBe(all.c);
    expect(all.a.mentions).toBe(2); // the input is not changed
  });
});

describe("newMentions", () => {
  it("reports channels whose mentions grew with a new message (a new channel from zero); the first snapshot is not news", () => {
    const prev = { a: u("a", 5, 5, 0), b: u("b", 2, 1, 1) };
    expect(newMentions("c1", undefined, prev)).toEqual([]);
    const next = { a: u("a", 6, 5, 1), b: u("b", 3, 1, 1), z: u("z", 1, 0, 1) };
    expect(newMentions("c1", prev, next)).toEqual([
      { kind: "mention", communityId: "c1", channelId: "a", seq: 6 },
      { kind: "mention", communityId: "c1", channelId: "z", seq: 1 },
    ]);
    // Reading (mentions back to 0) is not news either.
    expect(newMentions("c1", next, { ...next, a: u("a", 6, 6, 0) })).toEqual([]);
  });
});

describe("titleWithCount", () => {
  it("puts (N) in front once, caps at 99+, removes it at 0", () => {
    expect(titleWithCount("#general · Woxly", 3)).toBe("(3) #general · Woxly");
    expect(titleWithCount("(3) #general · Woxly", 4)).toBe("(4) #general · Woxly");
    expect(titleWithCount("(99+) Woxly", 0)).toBe("Woxly");
    expect(titleWithCount("Woxly", 250)).toBe("(99+) Woxly");
  });
});

describe("messageHref", () => {
  it("opens the channel or DM at the message", () => {
    expect(messageHref({ communityId: "c1", channelId: "ch1", seq: 7 })).toBe("/c/c1/ch1?jump=7");
    expect(messageHref({ communityId: null, channelId: "d1", seq: 2 })).toBe("/dm/d1?jump=2");
  });
});

describe("NotificationCore", () => {
  function setup(opts: { hidden?: boolean; level?: NotifyLevel; describe?: (ev: Incoming) => Shown | null } = {}) {
    const shown: Shown[] = [];
    let sounds = 0;
    const state = { hidden: opts.hidden ?? true, level: opts.level ?? ("all" as NotifyLevel) };
    const core = new NotificationCore({
      hidden: () => state.hidden,
      level: () => state.level,
      describe: async (ev) =>
        opts.describe ? opts.describe(ev) : { title: "Ann", body: "hi @bob", communityId: ev.communityId, channelId: ev.channelId, messageId: `m${ev.seq}`, seq: ev.seq },
      show: (n) => shown.push(n),
      sound: () => sounds++,
    });
    return { core, shown, state, sounds: () => sounds };
  }

  it("shows one notification with a sound per message while hidden", async () => {
    const t = setup();
    expect(await t.core.incoming(mention)).toBe(true);
    expect(await t.core.incoming(mention)).toBe(false);
    expect(await t.core.incoming(dm)).toBe(true);
    expect(t.shown.map((s) => [s.channelId, s.messageId])).toEqual([
      ["ch1", "m5"],
      ["d1", "m3"],
    ]);
    expect(t.sounds()).toBe(2);
  });

  it("shows nothing while visible, at level nothing, or when the message cannot be read", async () => {
    const visible = setup({ hidden: false });
    expect(await visible.core.incoming(mention)).toBe(false);
    const nothing = setup({ level: "nothing" });
    expect(await nothing.core.incoming(dm)).toBe(false);
    const gone = setup({ describe: () => null });
    expect(await gone.core.incoming(mention)).toBe(false);
    expect([...visible.shown, ...nothing.shown, ...gone.shown]).toEqual([]);
    expect(visible.sounds() + nothing.sounds() + gone.sounds()).toBe(0);
  });

  it("still notifies at level mentions", async () => {
    const t = setup({ level: "mentions" });
    expect(await t.core.incoming(mention)).toBe(true);
  });
});
