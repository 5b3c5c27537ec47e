/** The widget's language: data-lang / ?lang= first, then the browser's languages, then English. */
import { describe, expect, it } from "vitest";
import { chooseLanguage, deskLanguage } from "./lang";

describe("chooseLanguage", () => {
  it("takes an explicit desk language, with or without a region", () => {
    expect(chooseLanguage("ru", ["en-US"])).toBe("ru");
    expect(chooseLanguage("ky-KG", ["en-US"])).toBe("ky");
    expect(chooseLanguage(" EN_gb ", ["ru"])).toBe("en");
  });

  it("ignores an explicit language it does not have and falls back to the browser's first known one", () => {
    expect(chooseLanguage("de", ["fr-FR", "ru-RU", "en"])).toBe("ru");
    expect(chooseLanguage(null, ["ky", "ru"])).toBe("ky");
    expect(chooseLanguage("", ["uk", "en-US"])).toBe("en");
  });

  it("is English when nothing matches", () => {
    expect(chooseLanguage(undefined, [])).toBe("en");
    expect(chooseLanguage("zz", ["de", "fr"])).toBe("en");
  });

  it("does not take a language that merely starts like one", () => {
    expect(deskLanguage("rus")).toBeNull();
    expect(deskLanguage("kyrgyz")).toBeNull();
    expect(deskLanguage("en")).toBe("en");
  });
});
