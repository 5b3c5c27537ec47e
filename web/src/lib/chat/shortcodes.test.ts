import { describe, expect, it } from "vitest";
import { SendQueue, convertShortcodes, hasShortcodeCandidate, shortcodeSuggestions } from "./shortcodes";
import { emojiSetIfLoaded } from "$lib/emoji/data";

describe("shortcodes on send", () => {
  it("finds candidates outside code only", () => {
    expect(hasShortcodeCandidate("nice :smile:")).toBe(true);
    expect(hasShortcodeCandidate("time 10:30:00 `:smile:`")).toBe(true);
    expect(hasShortcodeCandidate("`:smile:` and ```\n:+1:\n```")).toBe(false);
    expect(hasShortcodeCandidate("no colons here")).toBe(false);
  });

  it("does not load the emoji set for text without a candidate", async () => {
    expect(await convertShortcodes("plain text", "en")).toBe("plain text");
    expect(emojiSetIfLoaded()).toBeNull();
  });

  it("converts standard shortcodes, leaves unknown (custom) names and code as typed", async () => {
    const out = await convertShortcodes("ok :thumbsup: :+1: :partyparrot: `:smile:` :SMILE:", "en");
    expect(out).toBe("ok 👍 👍 :partyparrot: `:smile:` 😄");
    expect(emojiSetIfLoaded()).not.toBeNull();
  });

  it("leaves a community's custom emoji of a standard name as typed", async () => {
    const out = await convertShortcodes(":smile: :cat: :thumbsup:", "en", (name) => name === "smile" || name === "cat");
    expect(out).toBe(":smile: :cat: 👍");
  });

  it("suggests by prefix once the set is in", () => {
    const list = shortcodeSuggestions("sm", "en", 8, () => {});
    expect(list?.length).toBeGreaterThan(0);
    expect(list!.every((e) => e.shortcodes.some((s) => s.includes("sm")))).toBe(true);
    expect(shortcodeSuggestions("s", "en", 8, () => {})).toEqual([]);
  });
});

describe("SendQueue", () => {
  it("delivers in push order even when an earlier one prepares slower", async () => {
    const q = new SendQueue();
    const got: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const a = q.push(async () => (await slow, "first"), (v) => got.push(v));
    const b = q.push(async () => "second", (v) => got.push(v));
    await Promise.resolve();
    expect(got).toEqual([]);
    release();
    await Promise.all([a, b]);
    expect(got).toEqual(["first", "second"]);
  });

  it("keeps going after a failed delivery", async () => {
    const q = new SendQueue();
    const got: string[] = [];
    await expect(q.push(async () => "x", () => { throw new Error("boom"); })).rejects.toThrow("boom");
    await q.push(async () => "y", (v) => got.push(v));
    expect(got).toEqual(["y"]);
  });
});
