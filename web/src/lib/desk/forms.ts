/**
 * Field errors of the desk settings forms, as translation keys: client-side checks run the
 * shared zod schemas (workers/shared/desk.ts), and the API's `validation_failed` issues (which
 * carry a path) land on the same fields, so both read alike.
 */
import type { z } from "zod";
import type { ErrorIssue } from "$shared/errors";
import { isApiError } from "$lib/api";
import { formMessage, type Msg } from "$lib/forms";

type IssueLike = { path: readonly PropertyKey[]; code?: string; maximum?: unknown; minimum?: unknown };

/** What a field's issue says, by field (the first segment of its path). */
function messageFor(field: string, issue: IssueLike): Msg {
  const max = Number(issue.maximum);
  const index = typeof issue.path[1] === "number" ? issue.path[1] : null;
  switch (field) {
    case "allowedOrigins":
      if (index === null && issue.code === "too_big") return { key: "desk.errors.tooManyOrigins", values: { max: Number.isFinite(max) ? max : 20 } };
      return index === null ? { key: "desk.errors.origin", values: { line: 1 } } : { key: "desk.errors.origin", values: { line: index + 1 } };
    case "colour":
      return { key: "desk.errors.colour" };
    case "officeHours":
      return { key: "desk.errors.hours" };
    case "capacity":
      return { key: "desk.errors.capacity" };
    case "shortcut":
      return { key: "desk.errors.shortcut" };
    case "question":
      if (issue.code === "too_small") return { key: "validation.tooShort", values: { min: 3 } };
      break;
  }
  if (issue.code === "too_big" && Number.isFinite(max)) return { key: "validation.tooLong", values: { max } };
  if (issue.code === "too_small" || issue.code === undefined) return { key: issue.code === undefined ? "validation.invalid" : "validation.required" };
  return { key: "validation.invalid" };
}

export type DeskFieldErrors = Record<string, Msg>;

/** Field errors from a failed `safeParse`; the first issue of a field wins. */
export function fromZod(error: z.ZodError): DeskFieldErrors {
  const out: DeskFieldErrors = {};
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? "");
    if (field && !out[field]) out[field] = messageFor(field, issue as IssueLike);
  }
  return out;
}

/** Field errors from an API failure's issues (empty when it has none). */
export function fromApi(err: unknown): DeskFieldErrors {
  if (!isApiError(err, "validation_failed")) return {};
  const out: DeskFieldErrors = {};
  for (const issue of err.issues ?? ([] as ErrorIssue[])) {
    const field = String(issue.path[0] ?? "");
    if (field && !out[field]) out[field] = messageFor(field, { path: issue.path });
  }
  return out;
}

/** A form-level message for a failure that is not about one field. */
export function deskFormMessage(err: unknown): Msg {
  if (isApiError(err, "not_found")) return { key: "desk.errors.notFound" };
  if (isApiError(err, "limit_reached")) return { key: "desk.errors.limit" };
  return formMessage(err);
}

/** "https://a.example\nhttp://localhost:5173" → the trimmed, non-empty lines. */
export function originLines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

/** "09:30" → 570 minutes since midnight; null for anything else ("24:00" is the end of the day). */
export function parseTime(value: string): number | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(value.trim());
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && min > 0)) return null;
  return h * 60 + min;
}

/** 570 → "09:30". */
export function formatTime(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}
