/**
 * Pure helpers of the manager panel (no Svelte, no DOM), unit-tested in Node: who wrote a
 * ticket message, the canned replies a "/" in the composer offers, waiting times, a visitor's
 * local time, and the geometry of the tickets-per-day chart.
 */
import type { Message } from "$shared/chat";
import { ASSISTANT_AUTHOR_ID, type CannedReply, type DeskStats } from "$shared/desk";

export type AuthorKind = "system" | "assistant" | "visitor" | "me" | "manager";

/** Visitors' ids in a ticket room are `v_<visitorId>` (workers/shared/desk.ts `visitorUserId`). */
export function authorKind(m: Pick<Message, "author" | "system">, me: string): AuthorKind {
  if (m.system || !m.author) return "system";
  if (m.author.id === ASSISTANT_AUTHOR_ID) return "assistant";
  if (m.author.id === me) return "me";
  if (m.author.id.startsWith("v_")) return "visitor";
  return "manager";
}

/**
 * The canned replies a composer text asks for: it starts with "/" and has no space yet;
 * shortcuts that start with what follows, then those that contain it. Null: no "/" query.
 */
export function cannedMatches(replies: readonly CannedReply[], text: string, max = 8): CannedReply[] | null {
  const m = /^\/([^\s]*)$/u.exec(text);
  if (!m) return null;
  const q = (m[1] ?? "").toLowerCase();
  const starts = replies.filter((r) => r.shortcut.toLowerCase().startsWith(q));
  const contains = replies.filter((r) => !r.shortcut.toLowerCase().startsWith(q) && (r.shortcut.toLowerCase().includes(q) || r.text.toLowerCase().includes(q)));
  return [...starts, ...contains].slice(0, max);
}

/** "4 min", "1 h 5 min", "< 1 min" as parts for i18n: whole minutes and hours of `ms`. */
export function durationParts(ms: number): { hours: number; minutes: number } {
  const total = Math.max(0, Math.floor(ms / 60_000));
  return { hours: Math.floor(total / 60), minutes: total % 60 };
}

/** The time now in a visitor's IANA zone ("14:05"), or null when the zone is unknown. */
export function localTime(timeZone: string | null, locale: string, now: number): string | null {
  if (!timeZone) return null;
  try {
    return new Intl.DateTimeFormat(locale, { timeZone, hour: "2-digit", minute: "2-digit" }).format(now);
  } catch {
    return null;
  }
}

export interface Bar {
  day: string;
  tickets: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Bars of the tickets-per-day chart in a `width`×`height` box (px), tallest day at full height. */
export function chartBars(perDay: DeskStats["perDay"], width: number, height: number, gap = 2): Bar[] {
  if (perDay.length === 0) return [];
  const max = Math.max(1, ...perDay.map((d) => d.tickets));
  const step = width / perDay.length;
  const w = Math.max(1, step - gap);
  return perDay.map((d, i) => {
    const h = d.tickets === 0 ? 0 : Math.max(2, (d.tickets / max) * height);
    return { day: d.day, tickets: d.tickets, x: i * step, y: height - h, width: w, height: h };
  });
}
