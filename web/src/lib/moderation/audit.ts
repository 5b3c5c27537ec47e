/**
 * The audit log's words for moderation actions (docs/moderation.md): their labels and
 * sentences live in the moderation message family, and their details read as lines.
 */
import type { AuditEntry } from "$shared/communities";
import type { Line } from "$lib/communities/audit";
import { durationLabel } from "./time";

export const MODERATION_ACTIONS: readonly string[] = ["member.timeout", "member.timeout_lift", "member.purge_messages", "channel.slowmode", "report.resolve"];

/** The i18n key of an action's label (`action`) or sentence (`say`), whichever family holds it. */
export function auditKey(part: "action" | "say", action: string): string {
  return MODERATION_ACTIONS.includes(action) ? `moderation.audit.${part}.${action}` : `comm.audit.${part}.${action}`;
}

/** Detail lines of a moderation entry (none for other actions); `t` translates (svelte-i18n's `$_`). */
export function moderationAuditDetails(e: AuditEntry, t: (key: string, opts?: { values?: Record<string, string | number> }) => string): Line[] {
  const c = e.changes ?? {};
  const span = (seconds: number) => {
    const d = durationLabel(seconds);
    return t(d.key, { values: d.values });
  };
  switch (e.action) {
    case "member.timeout":
      return typeof c.seconds === "number" ? [{ key: "moderation.audit.detail.for", values: { span: span(c.seconds) } }] : [];
    case "member.purge_messages":
      return typeof c.deleted === "number" && typeof c.seconds === "number"
        ? [{ key: "moderation.audit.detail.purged", values: { count: c.deleted, span: span(c.seconds) } }]
        : [];
    case "channel.slowmode": {
      const v = c.slowmodeSeconds as { from?: unknown; to?: unknown } | undefined;
      if (typeof v?.from !== "number" || typeof v.to !== "number") return [];
      return [{ key: "moderation.audit.detail.slowmode", values: { from: span(v.from), to: span(v.to) } }];
    }
    case "report.resolve":
      return typeof c.resolution === "string" ? [{ key: `moderation.audit.detail.resolution.${c.resolution}` }] : [];
    default:
      return [];
  }
}
