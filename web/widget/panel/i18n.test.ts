/** The panel's dictionaries: the same keys in en, ru and ky, none empty, the same placeholders, and really translated. */
import { describe, expect, it } from "vitest";
import { DICTIONARIES, translator } from "./i18n";
import { LAUNCHER_STRINGS } from "../launcher/strings";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("widget dictionaries", () => {
  for (const [name, dicts] of [
    ["panel", DICTIONARIES],
    ["launcher", LAUNCHER_STRINGS],
  ] as const) {
    it(`${name}: every language has every key, non-empty, with the same placeholders`, () => {
      const en = dicts.en as Record<string, string>;
      for (const lang of ["ru", "ky"] as const) {
        const d = dicts[lang] as Record<string, string>;
        expect(Object.keys(d).sort()).toEqual(Object.keys(en).sort());
        for (const k of Object.keys(en)) {
          expect(d[k]!.trim().length, `${lang}.${k}`).toBeGreaterThan(0);
          expect(placeholders(d[k]!), `${lang}.${k}`).toEqual(placeholders(en[k]!));
        }
      }
    });

    it(`${name}: ru and ky are written in Cyrillic, not left in English`, () => {
      for (const lang of ["ru", "ky"] as const) {
        const d = dicts[lang] as Record<string, string>;
        for (const [k, v] of Object.entries(d)) expect(/[А-Яа-яЁёҢңӨөҮү]/.test(v), `${lang}.${k}`).toBe(true);
      }
    });
  }

  it("fills placeholders", () => {
    expect(translator("ru")("queued", { position: 2 })).toBe("Вы 2-й в очереди");
    expect(translator("en")("typing", { name: "<b>Ann</b>" })).toBe("<b>Ann</b> is typing…");
  });
});
