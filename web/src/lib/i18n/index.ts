/**
 * svelte-i18n set-up and the app's locale rules: a saved choice (localStorage), else the
 * browser's languages, else English. English is bundled; the others load on demand and
 * fall back to English key by key.
 */
import { addMessages, init, locale, register, waitLocale } from "svelte-i18n";
import { LOCALES, type Locale } from "$shared/protocol";
import en from "./en.json";
import communitiesEn from "./communities.en.json";
import chatEn from "./chat.en.json";
import voiceEn from "./voice.en.json";
import callsEn from "./calls.en.json";
import adminEn from "./admin.en.json";
import threadsEn from "./threads.en.json";
import profilesEn from "./profiles.en.json";
import moderationEn from "./moderation.en.json";
import composerEn from "./composer.en.json";
import extrasEn from "./extras.en.json";

export const LOCALE_STORAGE_KEY = "woxly.locale";
export const DEFAULT_LOCALE: Locale = "en";

/** Each language named in itself, as the picker shows it whatever the UI language is. */
export const LOCALE_NAMES: Record<Locale, string> = {
  en: "English",
  ru: "Русский",
  ky: "Кыргызча",
};

addMessages("en", en);
register("ru", () => import("./ru.json"));
register("ky", () => import("./ky.json"));
// The communities UI keeps its strings in files of its own (merged into the same dictionaries).
addMessages("en", communitiesEn);
register("ru", () => import("./communities.ru.json"));
register("ky", () => import("./communities.ky.json"));
// The chat (lib/chat) likewise.
addMessages("en", chatEn);
register("ru", () => import("./chat.ru.json"));
register("ky", () => import("./chat.ky.json"));
// The call UI (lib/voice) likewise.
addMessages("en", voiceEn);
register("ru", () => import("./voice.ru.json"));
register("ky", () => import("./voice.ky.json"));
// Call links and the self-test (lib/calls) likewise.
addMessages("en", callsEn);
register("ru", () => import("./calls.ru.json"));
register("ky", () => import("./calls.ky.json"));
// Instance administration, the reset page and the register page's modes (docs/admin.md) likewise.
addMessages("en", adminEn);
register("ru", () => import("./admin.ru.json"));
register("ky", () => import("./admin.ky.json"));
// Issue 15's community features, one family each: threads; profiles and custom emoji;
// moderation tools; the composer; link previews, background effects and raised hands ("extras").
addMessages("en", threadsEn);
register("ru", () => import("./threads.ru.json"));
register("ky", () => import("./threads.ky.json"));
addMessages("en", profilesEn);
register("ru", () => import("./profiles.ru.json"));
register("ky", () => import("./profiles.ky.json"));
addMessages("en", moderationEn);
register("ru", () => import("./moderation.ru.json"));
register("ky", () => import("./moderation.ky.json"));
addMessages("en", composerEn);
register("ru", () => import("./composer.ru.json"));
register("ky", () => import("./composer.ky.json"));
addMessages("en", extrasEn);
register("ru", () => import("./extras.ru.json"));
register("ky", () => import("./extras.ky.json"));

export function isLocale(value: unknown): value is Locale {
  return typeof value === "string" && (LOCALES as readonly string[]).includes(value);
}

/** The locale saved by an explicit choice in this browser, if any. */
export function savedLocale(): Locale | null {
  try {
    const value = localStorage.getItem(LOCALE_STORAGE_KEY);
    return isLocale(value) ? value : null;
  } catch {
    return null;
  }
}

export function saveLocale(value: Locale): void {
  try {
    localStorage.setItem(LOCALE_STORAGE_KEY, value);
  } catch {
    // Storage disabled: the choice lasts for this page only.
  }
}

/** First of the browser's preferred languages that Woxly speaks, matched on the base tag. */
export function browserLocale(languages: readonly string[] = navigator.languages ?? [navigator.language]): Locale {
  for (const tag of languages) {
    const base = tag.toLowerCase().split("-")[0];
    if (isLocale(base)) return base;
  }
  return DEFAULT_LOCALE;
}

let started = false;

/** Starts i18n once, in the browser, and waits until the first locale's messages are in. */
export async function startI18n(): Promise<void> {
  if (!started) {
    started = true;
    await init({ fallbackLocale: DEFAULT_LOCALE, initialLocale: savedLocale() ?? browserLocale() });
  }
  await waitLocale();
}

/** Switches the UI language (and `<html lang>`) and waits for its messages. */
export async function applyLocale(value: Locale): Promise<void> {
  await locale.set(value);
  document.documentElement.lang = value;
}
