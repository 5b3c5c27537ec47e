/** Times and sizes in the chat, in the viewer's locale (Intl). Times are ms since the epoch. */

const cache = new Map<string, Intl.DateTimeFormat>();
function fmt(locale: string, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${JSON.stringify(opts)}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, opts);
    cache.set(key, f);
  }
  return f;
}

/** "14:05" / "2:05 PM". */
export function clockTime(at: number, locale: string): string {
  return fmt(locale, { hour: "numeric", minute: "2-digit" }).format(at);
}

/** Full date and time, for titles. */
export function fullDateTime(at: number, locale: string): string {
  return fmt(locale, { dateStyle: "full", timeStyle: "short" }).format(at);
}

/** The local calendar day of a time, as a sortable key. */
export function dayKey(at: number): string {
  const d = new Date(at);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

function capitalize(s: string, locale: string): string {
  return s ? s[0]!.toLocaleUpperCase(locale) + s.slice(1) : s;
}

/** "Today", "Yesterday" or a long date, for day dividers and message headers. */
export function dayLabel(at: number, locale: string, now: number = Date.now()): string {
  const today = new Date(now);
  today.setHours(0, 0, 0, 0);
  const that = new Date(at);
  that.setHours(0, 0, 0, 0);
  const days = Math.round((that.getTime() - today.getTime()) / 86_400_000);
  if (days === 0 || days === -1) return capitalize(new Intl.RelativeTimeFormat(locale, { numeric: "auto" }).format(days, "day"), locale);
  return fmt(locale, { dateStyle: "long" }).format(at);
}

/** Message header time: "Today at 14:05" style without a translation string per locale. */
export function headerTime(at: number, locale: string, now: number = Date.now()): string {
  const sameDay = dayKey(at) === dayKey(now);
  if (sameDay) return clockTime(at, locale);
  return fmt(locale, { dateStyle: "short", timeStyle: "short" }).format(at);
}

/** "1.2 MB" in the locale's number format. */
export function fileSize(bytes: number, locale: string): string {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"] as const;
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return new Intl.NumberFormat(locale, { style: "unit", unit: units[i], unitDisplay: "short", maximumFractionDigits: v < 10 && i > 0 ? 1 : 0 }).format(v);
}
