/**
 * Profiles and custom emoji (docs/profiles-and-emoji.md): zod schemas and inferred types of
 * every HTTP body, parameter and response, the limits they share, and the URL shapes of
 * avatars and emoji images. Imported by the api worker, the ChannelRoom and the web app
 * alike. No cloudflare:* or DOM imports. Times are ms since the epoch; sizes are bytes or px.
 */
import { z } from "zod";
import { Emoji } from "./chat";
import { Id, UserSummary } from "./communities";

// ---------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------

/** An avatar is exactly this many px square: the browser crops and resizes before upload. */
export const AVATAR_PX = 256;
/** Largest avatar upload, bytes. */
export const MAX_AVATAR_BYTES = 512 * 1024;
/** A custom emoji is at most this many px wide and high (the browser scales static ones to fit). */
export const EMOJI_PX = 128;
/** Largest emoji upload, bytes (animated GIFs are sent as they are). */
export const MAX_EMOJI_BYTES = 256 * 1024;
/** Custom emoji one community may have. */
export const MAX_CUSTOM_EMOJI = 50;
/** Longest "about me", UTF-16 code units. */
export const MAX_ABOUT_CHARS = 190;
/** Longest pronouns. */
export const MAX_PRONOUNS_CHARS = 40;
/** Longest custom status text. */
export const MAX_STATUS_CHARS = 128;

/** Media types an avatar may be (proven by magic bytes). */
export const AVATAR_TYPES = ["image/png", "image/jpeg", "image/webp"] as const;
/** Media types a custom emoji may be (proven by magic bytes); GIF and WebP may be animated. */
export const EMOJI_TYPES = ["image/png", "image/gif", "image/webp"] as const;

// ---------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------

/** Custom emoji names: 2–32 of a–z, 0–9 and `_`, unique per community. */
export const EMOJI_NAME_RE = /^[a-z0-9_]{2,32}$/;
export const EmojiName = z.string().regex(EMOJI_NAME_RE, { message: "2–32 characters: a–z, 0–9 and _" });

/** How long a custom status lasts: `today` ends at `endOfDay` (the client's local midnight). */
export const StatusExpiry = z.enum(["30m", "1h", "4h", "today", "never"]);
export type StatusExpiry = z.infer<typeof StatusExpiry>;
/** The length of each fixed expiry, ms. */
export const STATUS_EXPIRY_MS: Record<Exclude<StatusExpiry, "today" | "never">, number> = {
  "30m": 30 * 60_000,
  "1h": 60 * 60_000,
  "4h": 4 * 60 * 60_000,
};

const OptionalText = (max: number) =>
  z
    .string()
    .max(max * 2)
    .trim()
    .max(max)
    .transform((s) => (s === "" ? null : s))
    .nullable();

// ---------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------

export const CustomStatus = z.object({
  text: z.string().nullable(),
  emoji: z.string().nullable(),
  /** null = never. */
  expiresAt: z.number().nullable(),
});
export type CustomStatus = z.infer<typeof CustomStatus>;

/** A user's profile as anyone signed in sees it; `member` when asked for inside a community both share. */
export const Profile = z.object({
  user: UserSummary,
  pronouns: z.string().nullable(),
  aboutMe: z.string().nullable(),
  /** 0xRRGGBB, or null for the default. */
  bannerColor: z.number().nullable(),
  /** null when none is set or it has expired. */
  status: CustomStatus.nullable(),
  member: z.object({ nickname: z.string().nullable(), avatarUrl: z.string().nullable(), communityAvatar: z.boolean() }).nullable(),
});
export type Profile = z.infer<typeof Profile>;
export const ProfileResponse = z.object({ profile: Profile });
export type ProfileResponse = z.infer<typeof ProfileResponse>;

export const CustomEmoji = z.object({
  id: z.string(),
  name: z.string(),
  /** Same-origin path of the image: /api/communities/<communityId>/emoji/<emojiId> (never changes). */
  url: z.string(),
  animated: z.boolean(),
});
export type CustomEmoji = z.infer<typeof CustomEmoji>;
export const CustomEmojiListResponse = z.object({ emoji: z.array(CustomEmoji) });
export type CustomEmojiListResponse = z.infer<typeof CustomEmojiListResponse>;
export const CustomEmojiResponse = z.object({ emoji: CustomEmoji });
export type CustomEmojiResponse = z.infer<typeof CustomEmojiResponse>;

// ---------------------------------------------------------------------------------------
// HTTP bodies, params and queries
// ---------------------------------------------------------------------------------------

/** PATCH /api/me/profile: only the fields given change; null clears one. */
export const UpdateMyProfileBody = z.strictObject({
  pronouns: OptionalText(MAX_PRONOUNS_CHARS).optional(),
  aboutMe: OptionalText(MAX_ABOUT_CHARS).optional(),
  bannerColor: z.number().int().min(0).max(0xffffff).nullable().optional(),
  /** null clears the status. */
  status: z
    .strictObject({
      text: OptionalText(MAX_STATUS_CHARS),
      emoji: Emoji.nullable(),
      expiry: StatusExpiry,
      /** `today` only: the client's next local midnight, ms (within 24 h from now). */
      endOfDay: z.number().int().positive().optional(),
    })
    .refine((s) => s.text !== null || s.emoji !== null, { message: "a status needs text or an emoji", path: ["text"] })
    .refine((s) => (s.expiry === "today") === (s.endOfDay !== undefined), { message: "endOfDay goes with `today` only", path: ["endOfDay"] })
    .nullable()
    .optional(),
});
export type UpdateMyProfileBody = z.infer<typeof UpdateMyProfileBody>;

/** GET /api/users/:userId/profile?communityId= */
export const ProfileQuery = z.strictObject({ communityId: Id.optional() });
export const UserIdParam = z.strictObject({ userId: Id });
/** GET /api/avatars/:userId/:hash */
export const AvatarFileParam = z.strictObject({ userId: Id, hash: z.string().regex(/^[0-9a-f]{64}$/, { message: "not an avatar" }) });

export const EmojiParam = z.strictObject({ id: Id, emojiId: Id });
/** POST /api/uploads/communities/:id/emoji?name= (raw body, MANAGE_EMOJI) */
export const EmojiUploadQuery = z.strictObject({ name: EmojiName });
/** PATCH /api/communities/:id/emoji/:emojiId (MANAGE_EMOJI) */
export const RenameEmojiBody = z.strictObject({ name: EmojiName });

// ---------------------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------------------

/** The path an avatar's R2 key (`avatars/<userId>/<sha256>`) is served at; the hash makes it immutable. */
export function avatarUrl(key: string | null | undefined): string | null {
  return key ? `/api/${key}` : null;
}

/** The path a custom emoji's image is served at (an emoji's image never changes). */
export function emojiUrl(communityId: string, emojiId: string): string {
  return `/api/communities/${communityId}/emoji/${emojiId}`;
}

/** The status as shown at `now`: null when none is set or it has expired. */
export function liveStatus(s: { statusText: string | null; statusEmoji: string | null; statusExpiresAt: number | null }, now: number): CustomStatus | null {
  if (s.statusText === null && s.statusEmoji === null) return null;
  if (s.statusExpiresAt !== null && s.statusExpiresAt <= now) return null;
  return { text: s.statusText, emoji: s.statusEmoji, expiresAt: s.statusExpiresAt };
}

/** When a status chosen at `now` ends, ms (null = never); `endOfDay` must be within 24 h for `today`. */
export function statusExpiresAt(expiry: StatusExpiry, now: number, endOfDay?: number): number | null {
  if (expiry === "never") return null;
  if (expiry === "today") return endOfDay !== undefined && endOfDay > now && endOfDay <= now + 24 * 3600_000 ? endOfDay : null;
  return now + STATUS_EXPIRY_MS[expiry];
}
