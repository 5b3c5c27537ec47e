/**
 * The panel's words in en, ru and ky (i18n/*.json, the same keys in each; i18n.test.ts checks
 * them). English is bundled with the panel; the chosen language's file is too (they are small).
 */
import type { DeskLanguage } from "$shared/desk";
import en from "./i18n/en.json";
import ru from "./i18n/ru.json";
import ky from "./i18n/ky.json";

export type MessageKey = keyof typeof en;
export const DICTIONARIES: Record<DeskLanguage, Record<MessageKey, string>> = { en, ru, ky };

/** A translator for `lang`: `{name}` placeholders filled from `values`; English where a key is missing. */
export function translator(lang: DeskLanguage) {
  const dict = DICTIONARIES[lang];
  return (key: MessageKey, values: Record<string, string | number> = {}): string =>
    (dict[key] || en[key]).replace(/\{(\w+)\}/g, (all, k: string) => (k in values ? String(values[k]) : all));
}
export type Translate = ReturnType<typeof translator>;
