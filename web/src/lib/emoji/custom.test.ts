/** Custom emoji in text: shown as the image only where the community's lookup knows the name. */
import { Marked } from "marked";
import { describe, expect, it } from "vitest";
import type { CustomEmoji } from "$shared/profiles";
import { OWN_EMOJI_URL, customEmojiExtension, emojiImg, lookupOf, parseReactionKey, reactionFor, reactionKey, searchCustom, type CustomEmojiLookup } from "./custom";

const PARROT: CustomEmoji = { id: "E1", name: "party_parrot", url: "/api/communities/C1/emoji/E1", animated: true };
const BLOB: CustomEmoji = { id: "E2", name: "blob", url: "/api/communities/C1/emoji/E2", animated: false };

function render(text: string, lookup: CustomEmojiLookup | null): string {
  const md = new Marked({ async: false });
  md.use({ extensions: [customEmojiExtension(() => lookup)] });
  return md.parseInline(text) as string;
}

describe("custom emoji in text", () => {
  const community = lookupOf([PARROT, BLOB]);

  it("renders :name: of the message's community as its image", () => {
    const html = render("hi :party_parrot: and :blob:", community);
    expect(html).toContain(`<img class="custom-emoji" src="/api/communities/C1/emoji/E1" alt=":party_parrot:"`);
    expect(html).toContain(`src="/api/communities/C1/emoji/E2"`);
  });

  it("leaves the text alone in a DM or another community (no lookup, or no such name)", () => {
    expect(render("hi :party_parrot:", null)).toBe("hi :party_parrot:");
    expect(render("hi :party_parrot:", lookupOf([]))).toBe("hi :party_parrot:");
    expect(render("hi :party_parrot:", lookupOf([{ ...BLOB, name: "other" }]))).toBe("hi :party_parrot:");
    expect(render(":unknown: :x:", community)).toBe(":unknown: :x:");
  });

  it("is not applied inside code", () => {
    expect(render("`:blob:`", community)).toBe("<code>:blob:</code>");
  });

  it("never makes an <img> of a URL that is not Woxly's own emoji URL", () => {
    for (const url of ["https://evil.example/x.png", "/api/avatars/u/1", "javascript:alert(1)", "/api/communities/C1/emoji/E1?x=1", "//evil/api/communities/C/emoji/E"]) {
      expect(OWN_EMOJI_URL.test(url)).toBe(false);
      expect(emojiImg({ name: "blob", url })).toBe(":blob:");
    }
    const html = render(":blob:", () => ({ ...BLOB, url: "https://evil.example/pixel.png" }));
    expect(html).not.toContain("<img");
  });

  it("makes and reads reaction strings; `:name:` from the picker becomes one only for a known emoji", () => {
    expect(reactionKey(PARROT)).toBe("<:party_parrot:E1>");
    expect(parseReactionKey("<:party_parrot:E1>")).toEqual({ name: "party_parrot", id: "E1" });
    expect(parseReactionKey("👍")).toBeNull();
    expect(reactionFor(":blob:", community)).toBe("<:blob:E2>");
    expect(reactionFor(":blob:", null)).toBeNull();
    expect(reactionFor(":nope:", community)).toBeNull();
  });

  it("searches by name, prefix matches first, colons ignored", () => {
    expect(searchCustom([BLOB, PARROT, { ...BLOB, id: "E3", name: "parrot_blob" }], ":blo").map((e) => e.name)).toEqual(["blob", "parrot_blob"]);
    expect(searchCustom([BLOB, PARROT], "").length).toBe(2);
  });
});
