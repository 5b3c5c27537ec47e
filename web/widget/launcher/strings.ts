/** The launcher's few words, in each desk language. `{name}` is the desk's name, `{n}` a count. */
import type { DeskLanguage } from "../../../workers/shared/desk";

export interface LauncherStrings {
  open: string;
  close: string;
  frameTitle: string;
  unread: string;
}

export const LAUNCHER_STRINGS: Record<DeskLanguage, LauncherStrings> = {
  en: { open: "Open chat: {name}", close: "Close chat", frameTitle: "{name}: support chat", unread: "{n} unread" },
  ru: { open: "Открыть чат: {name}", close: "Закрыть чат", frameTitle: "{name}: чат поддержки", unread: "Непрочитанных: {n}" },
  ky: { open: "Чатты ачуу: {name}", close: "Чатты жабуу", frameTitle: "{name}: колдоо чаты", unread: "Окулбаган: {n}" },
};

export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (all, k: string) => (k in values ? String(values[k]) : all));
}
