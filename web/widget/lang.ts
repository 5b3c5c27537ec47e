/**
 * The widget's language (launcher and panel alike): an explicit choice (`data-lang` on the
 * script tag, `?lang=` on the panel) when it names one of the desk languages, else the first
 * of the browser's languages that does, else English. Pure; imports nothing at run time.
 */
import type { DeskLanguage } from "../../workers/shared/desk";

const KNOWN: readonly DeskLanguage[] = ["en", "ru", "ky"];

/** `ru-RU` → `ru`; null when it is none of en, ru, ky. */
export function deskLanguage(tag: string | null | undefined): DeskLanguage | null {
  if (!tag) return null;
  const base = tag.trim().toLowerCase().split(/[-_]/)[0] ?? "";
  return (KNOWN as readonly string[]).includes(base) ? (base as DeskLanguage) : null;
}

/** The explicit choice if it is valid, else the browser's first known language, else `en`. */
export function chooseLanguage(explicit: string | null | undefined, browser: readonly string[]): DeskLanguage {
  const chosen = deskLanguage(explicit);
  if (chosen) return chosen;
  for (const tag of browser) {
    const l = deskLanguage(tag);
    if (l) return l;
  }
  return "en";
}
