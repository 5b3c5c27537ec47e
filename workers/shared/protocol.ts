/**
 * The shared protocol: zod schemas and inferred types for every HTTP body and WebSocket
 * frame. Imported by the api worker, the Durable Objects and the web app alike; no type is
 * copied anywhere else. No cloudflare:* or DOM imports here.
 */
import { z } from "zod";

/**
 * Characters that are never shown but change what a name looks like, so that one name can
 * pass for another: control and format characters (\p{Cf}: the bidi embeddings, overrides
 * and isolates U+202A–U+202E and U+2066–U+2069, the marks U+200E/U+200F and U+061C, the
 * zero-width U+200B–U+200D, U+2060 and U+FEFF, soft hyphen, tags, ...), line and paragraph
 * separators, lone surrogates, and blank letters used for "invisible" names (combining
 * grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian selectors, braille blank).
 */
const INVISIBLE_RE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u2800\u3164\uFFA0]/u;
/** A zero-width joiner between two emoji (👩‍💻, 👨‍👩‍👧) draws one emoji and is not hidden. */
const EMOJI_ZWJ_RE = /(\p{Extended_Pictographic}\uFE0F?[\u{1F3FB}-\u{1F3FF}]?)\u200D(?=\p{Extended_Pictographic})/gu;

/** Whether a name has no invisible or direction-changing characters (see INVISIBLE_RE). */
export function isVisibleName(s: string): boolean {
  return !INVISIBLE_RE.test(s.replace(EMOJI_ZWJ_RE, "$1"));
}

/**
 * The one rule for every name people see (usernames, display names, nicknames, community,
 * channel and role names): refuses names with invisible or direction-changing characters,
 * which let one name impersonate another. A failure is a 400 `validation_failed`.
 */
export function visibleName<T extends z.ZodType<string>>(schema: T) {
  return schema.refine(isVisibleName, { message: "no invisible or text-direction characters" });
}

/** Usernames: 2–32 chars of letters, digits, `_ . -`; unique case-insensitively. */
export const USERNAME_RE = /^[\p{L}\p{N}_.-]{2,32}$/u;
export const Username = visibleName(
  z
    .string()
    .trim()
    .regex(USERNAME_RE, { message: "2–32 letters, digits, _ . or -" }),
);

/** Display names: 1–32 chars after trimming, nothing invisible (control, format, bidi characters). */
export const DisplayName = visibleName(z.string().trim().min(1).max(32));

/** Passwords: 8–128 chars, no composition rules (common ones are refused by the server). */
export const Password = z.string().min(8).max(128);

export const RegisterBody = z.strictObject({
  username: Username,
  displayName: DisplayName.optional(),
  password: Password,
  /** A community invite code: required when the instance registers by invite only (docs/admin.md). */
  invite: z.string().regex(/^[0-9a-z]{20,64}$/).optional(),
});
export type RegisterBody = z.infer<typeof RegisterBody>;

export const LoginBody = z.strictObject({
  username: z.string().trim().min(1).max(64),
  password: z.string().min(1).max(128),
});
export type LoginBody = z.infer<typeof LoginBody>;

export const ChangePasswordBody = z.strictObject({
  currentPassword: z.string().min(1).max(128),
  newPassword: Password,
});
export type ChangePasswordBody = z.infer<typeof ChangePasswordBody>;

export const UpdateProfileBody = z.strictObject({
  displayName: DisplayName.optional(),
  locale: z.enum(["en", "ru", "ky"]).optional(),
});
export type UpdateProfileBody = z.infer<typeof UpdateProfileBody>;

/** A user as the API shows them to themselves. Times are ms since the epoch. */
export const Me = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  locale: z.enum(["en", "ru", "ky"]).nullable(),
  createdAt: z.number(),
  /** "owner" (the first account) or "admin" on this instance: they see /admin. */
  instanceRole: z.enum(["owner", "admin"]).nullable(),
  /** Same-origin path of the user's avatar, or null (docs/profiles-and-emoji.md). */
  avatarUrl: z.string().nullable().optional(),
});
export type Me = z.infer<typeof Me>;

export const MeResponse = z.object({ user: Me });
export type MeResponse = z.infer<typeof MeResponse>;

export const SessionInfo = z.object({
  id: z.string(),
  current: z.boolean(),
  createdAt: z.number(),
  lastSeenAt: z.number(),
  userAgent: z.string().nullable(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

/** Every error the API returns has this shape, with a 4xx status for client mistakes. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    issues: z
      .array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() }))
      .optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export const HealthResponse = z.object({ ok: z.literal(true), version: z.string() });
export type HealthResponse = z.infer<typeof HealthResponse>;

export const LOCALES = ["en", "ru", "ky"] as const;
export type Locale = (typeof LOCALES)[number];
