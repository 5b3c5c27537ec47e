/**
 * Audit-log details as translatable lines: `{ field: { from, to } }` changes become
 * "Name: old → new", permission sets become the permissions granted and taken away, and the
 * action-specific details (invite limits, ban clean-up, role of a member) read as sentences.
 */
import type { AuditEntry } from "$shared/communities";
import { parsePermissions, permissionNames } from "$shared/permissions";

export interface Line {
  key: string;
  values?: Record<string, string | number>;
}

const FIELDS = new Set(["name", "topic", "systemChannelId", "parentId", "userLimit", "color", "hoist", "mentionable", "nickname", "icon", "ownerId"]);

function isFromTo(v: unknown): v is { from: unknown; to: unknown } {
  return typeof v === "object" && v !== null && "from" in v && "to" in v;
}

function show(v: unknown): string {
  if (v === null || v === undefined || v === "") return "—";
  if (typeof v === "boolean") return v ? "✓" : "✗";
  if (typeof v === "number" && v > 0xff && v <= 0xffffff) return `#${v.toString(16).padStart(6, "0")}`;
  return String(v);
}

/** Permission names added and removed between two decimal sets (as i18n-free identifiers). */
function permDiff(from: unknown, to: unknown): { added: string[]; removed: string[] } {
  const a = parsePermissions(typeof from === "string" ? from : "0");
  const b = parsePermissions(typeof to === "string" ? to : "0");
  return { added: permissionNames(b & ~a), removed: permissionNames(a & ~b) };
}

export function auditDetails(e: AuditEntry, permLabel: (name: string) => string = (n) => n): Line[] {
  const c = e.changes ?? {};
  const out: Line[] = [];
  switch (e.action) {
    case "invite.create": {
      const age = c.maxAgeSeconds;
      if (typeof age !== "number") out.push({ key: "comm.audit.detail.inviteNever" });
      else if (age % 86400 === 0) out.push({ key: "comm.audit.detail.inviteAgeDays", values: { days: age / 86400 } });
      else if (age % 3600 === 0) out.push({ key: "comm.audit.detail.inviteAge", values: { hours: age / 3600 } });
      else out.push({ key: "comm.audit.detail.inviteAgeMinutes", values: { minutes: Math.round(age / 60) } });
      if (typeof c.maxUses === "number") out.push({ key: "comm.audit.detail.inviteUses", values: { count: c.maxUses } });
      return out;
    }
    case "member.ban": {
      const s = c.deleteMessageSeconds;
      if (typeof s === "number" && s > 0) out.push({ key: "comm.audit.detail.banClean", values: { hours: Math.round(s / 3600) } });
      return out;
    }
    case "member.role_add":
    case "member.role_remove":
      if (typeof c.roleName === "string") out.push({ key: "comm.audit.detail.role", values: { name: c.roleName } });
      return out;
    case "channel.reorder":
      if (typeof c.moved === "number") out.push({ key: "comm.audit.detail.moved", values: { count: c.moved } });
      return out;
    case "overwrite.update":
    case "overwrite.delete": {
      for (const field of ["allow", "deny"] as const) {
        const v = c[field];
        if (!isFromTo(v)) continue;
        const d = permDiff(v.from, v.to);
        if (d.added.length) out.push({ key: `comm.audit.detail.${field}Added`, values: { list: d.added.map(permLabel).join(", ") } });
        if (d.removed.length) out.push({ key: `comm.audit.detail.${field}Removed`, values: { list: d.removed.map(permLabel).join(", ") } });
      }
      return out;
    }
    default:
      break;
  }
  for (const [field, v] of Object.entries(c)) {
    if (field === "permissions") {
      if (isFromTo(v)) {
        const d = permDiff(v.from, v.to);
        if (d.added.length) out.push({ key: "comm.audit.detail.granted", values: { list: d.added.map(permLabel).join(", ") } });
        if (d.removed.length) out.push({ key: "comm.audit.detail.revoked", values: { list: d.removed.map(permLabel).join(", ") } });
      }
      continue;
    }
    if (!FIELDS.has(field) || !isFromTo(v)) continue;
    if (field === "icon") {
      out.push({ key: v.to ? "comm.audit.detail.iconSet" : "comm.audit.detail.iconRemoved" });
      continue;
    }
    if (field === "ownerId" || field === "systemChannelId" || field === "parentId") continue;
    out.push({ key: "comm.audit.detail.change", values: { field: `comm.audit.field.${field}`, from: show(v.from), to: show(v.to) } });
  }
  return out;
}
