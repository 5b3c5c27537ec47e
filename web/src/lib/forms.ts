/**
 * Form errors as translation keys (not strings), so they re-render in a new language.
 * Client-side checks run the shared zod schemas, and their issues are turned into the same
 * messages as the API's `validation_failed` issues for the same field.
 */
import { tick } from "svelte";
import type { z } from "zod";
import type { ErrorIssue } from "$shared/errors";
import { ApiRequestError } from "./api";

/** A message to show: an i18n key and its ICU values. */
export interface Msg {
  key: string;
  values?: Record<string, string | number>;
}

/** The rule a field follows, which decides how its issues read. */
export type FieldRule = "username" | "displayName" | "newPassword" | "required";

export type FieldErrors<F extends string> = Partial<Record<F, Msg>>;

type IssueLike = Pick<z.core.$ZodIssue, "code" | "path"> & { minimum?: unknown; maximum?: unknown };

/** The message for one issue on a field following `rule`; issues without a code get the rule's text. */
export function fieldMessage(rule: FieldRule, issue?: IssueLike): Msg {
  const code = issue?.code;
  const min = Number(issue?.minimum);
  const max = Number(issue?.maximum);
  switch (rule) {
    case "username":
      return { key: "validation.username" };
    case "displayName":
      if (code === "too_small") return { key: "validation.required" };
      if (code === "too_big" && Number.isFinite(max)) return { key: "validation.tooLong", values: { max } };
      return { key: "validation.displayName" };
    case "newPassword":
      if (code === "too_big" && Number.isFinite(max)) return { key: "validation.tooLong", values: { max } };
      return { key: "validation.tooShort", values: { min: code === "too_small" && Number.isFinite(min) ? min : 8 } };
    case "required":
      if (code === "too_big" && Number.isFinite(max)) return { key: "validation.tooLong", values: { max } };
      return { key: "validation.required" };
  }
}

function fieldOf<F extends string>(path: readonly PropertyKey[], rules: Record<F, FieldRule>): F | null {
  const head = path[0];
  return typeof head === "string" && Object.hasOwn(rules, head) ? (head as F) : null;
}

/** Field errors from a failed `safeParse` of a shared schema; the first issue of a field wins. */
export function errorsFromZod<F extends string>(error: z.ZodError, rules: Record<F, FieldRule>): FieldErrors<F> {
  const out: FieldErrors<F> = {};
  for (const issue of error.issues) {
    const field = fieldOf(issue.path, rules);
    if (field && !out[field]) out[field] = fieldMessage(rules[field], issue);
  }
  return out;
}

/** Field errors from the API's `validation_failed` issues (which carry a path, not a code). */
export function errorsFromIssues<F extends string>(
  issues: readonly ErrorIssue[] | undefined,
  rules: Record<F, FieldRule>,
): FieldErrors<F> {
  const out: FieldErrors<F> = {};
  for (const issue of issues ?? []) {
    const field = fieldOf(issue.path, rules);
    if (field && !out[field]) out[field] = fieldMessage(rules[field]);
  }
  return out;
}

/** A form-level message for any failure: known API codes are translated, the rest are generic. */
export function formMessage(err: unknown): Msg {
  if (!(err instanceof ApiRequestError)) return { key: "errors.unknown" };
  switch (err.code) {
    case "rate_limited": {
      const seconds = err.retryAfter;
      if (seconds === undefined) return { key: "errors.rate_limited" };
      if (seconds < 90) return { key: "errors.rate_limited_seconds", values: { seconds } };
      return { key: "errors.rate_limited_minutes", values: { minutes: Math.ceil(seconds / 60) } };
    }
    case "invalid_credentials":
    case "username_taken":
    case "common_password":
    case "unauthorized":
    case "network_error":
    case "unavailable":
    case "validation_failed":
    case "registration_closed":
    case "invite_required":
    case "account_suspended":
    case "reset_link_invalid":
      return { key: `errors.${err.code}` };
    default:
      return { key: "errors.unknown" };
  }
}

/**
 * After errors render, puts focus on the first invalid field of `form` (in document order),
 * else on `fallback` (an element id), else on the submit button, which lost focus while it
 * was disabled.
 */
export async function focusFirstInvalid(form: HTMLFormElement | undefined, fallback?: string): Promise<void> {
  await tick();
  if (!form) return;
  const target =
    form.querySelector<HTMLElement>('[aria-invalid="true"]') ??
    (fallback ? form.querySelector<HTMLElement>(`#${CSS.escape(fallback)}`) : null) ??
    form.querySelector<HTMLElement>('[type="submit"]');
  target?.focus();
}
