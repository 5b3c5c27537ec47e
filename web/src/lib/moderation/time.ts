/** Durations as moderation shows them (docs/moderation.md). */

/** A countdown, from ms left: "0:09", "4:59", "1:00:00"; days as "6d 23:59:59". Never negative. */
export function countdown(msLeft: number): string {
  const total = Math.max(0, Math.ceil(msLeft / 1000));
  const days = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  if (days > 0) return `${days}d ${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${ss}`;
  if (h > 0) return `${h}:${String(m).padStart(2, "0")}:${ss}`;
  return `${m}:${ss}`;
}

/** An i18n key under `moderation.duration` and its values for a choice of seconds (60 → "1 minute"). */
export function durationLabel(seconds: number): { key: string; values: { count: number } } {
  if (seconds === 0) return { key: "moderation.duration.off", values: { count: 0 } };
  if (seconds % 604_800 === 0) return { key: "moderation.duration.weeks", values: { count: seconds / 604_800 } };
  if (seconds % 86_400 === 0) return { key: "moderation.duration.days", values: { count: seconds / 86_400 } };
  if (seconds % 3600 === 0) return { key: "moderation.duration.hours", values: { count: seconds / 3600 } };
  if (seconds % 60 === 0) return { key: "moderation.duration.minutes", values: { count: seconds / 60 } };
  return { key: "moderation.duration.seconds", values: { count: seconds } };
}
