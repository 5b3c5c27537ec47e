import { describe, expect, it } from "vitest";
import { decodeMentions, encodeMentions, matchRoles, pingableRoles, type MentionRole } from "./mentions";

const members = [
  { id: "u1", username: "alice" },
  { id: "u2", username: "bob.smith" },
];
const role = (id: string, name: string, mentionable = true, isEveryone = false): MentionRole => ({ id, name, color: null, mentionable, isEveryone });
const mods = role("r1", "Moderators");
const senior = role("r2", "Senior Mods", false);
const mod = role("r3", "Mod");
const everyone = role("r0", "@everyone", true, true);

describe("encodeMentions", () => {
  it("encodes members, then roles (longest name first, case-insensitive)", () => {
    expect(encodeMentions("hi @alice and @moderators, @Senior Mods!", members, [mods, senior, mod])).toBe("hi <@u1> and <@&r1>, <@&r2>!");
    expect(encodeMentions("@Mod please", members, [mods, mod])).toBe("<@&r3> please");
  });

  it("leaves a role name that runs on into a longer word, code, addresses and unknown roles as text", () => {
    expect(encodeMentions("@Modern art", members, [mod])).toBe("@Modern art");
    expect(encodeMentions("`@Mod` ```\n@Mod\n``` mail@Mod @Nobody", members, [mod])).toBe("`@Mod` ```\n@Mod\n``` mail@Mod @Nobody");
    expect(encodeMentions("@Mod", members)).toBe("@Mod");
  });

  it("keeps a trailing dot of a member name as text", () => {
    expect(encodeMentions("thanks @alice.", members)).toBe("thanks <@u1>.");
    expect(encodeMentions("cc @bob.smith", members)).toBe("cc <@u2>");
  });
});

describe("decodeMentions", () => {
  it("turns known members and roles back into typed form, unknown ids stay", () => {
    expect(decodeMentions("<@u1> <@&r2> <@&zz> <@zz> `<@&r2>`", members, [senior])).toBe("@alice @Senior Mods <@&zz> <@zz> `<@&r2>`");
  });

  it("round-trips with encodeMentions", () => {
    const typed = "ping @alice and @Senior Mods about @Moderators";
    const wire = encodeMentions(typed, members, [mods, senior]);
    expect(decodeMentions(wire, members, [mods, senior])).toBe(typed);
  });
});

describe("role choice", () => {
  it("offers mentionable roles to everyone, every role (not @everyone) with MENTION_EVERYONE", () => {
    expect(pingableRoles([everyone, mods, senior], false).map((r) => r.id)).toEqual(["r1"]);
    expect(pingableRoles([everyone, mods, senior], true).map((r) => r.id)).toEqual(["r1", "r2"]);
  });

  it("matches by prefix first, then by substring", () => {
    expect(matchRoles([senior, mods, mod], "mod", 8).map((r) => r.id)).toEqual(["r1", "r3", "r2"]);
    expect(matchRoles([senior, mods, mod], "mod", 1).map((r) => r.id)).toEqual(["r1"]);
  });
});
