/** The custom status's expiry choices as the profile form shows them. Times are ms since the epoch. */
import type { CustomStatus, StatusExpiry } from "$shared/profiles";

/** The next local midnight after `now` (the end of "today"). */
export function endOfToday(now: number): number {
  const d = new Date(now);
  d.setHours(24, 0, 0, 0);
  return d.getTime();
}

/** Which choice a stored status is shown under: `never` when it has no end, else the form's default, `today`. */
export function statusChoice(status: CustomStatus | null): StatusExpiry {
  return status && status.expiresAt !== null ? "today" : "never";
}
