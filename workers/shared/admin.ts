/**
 * Instance administration (docs/admin.md): the owner and the admins the owner names run the
 * instance from /admin — registration mode, password-reset links, instance-wide bans, storage
 * used, community exports. Zod schemas and inferred types for every body and answer; imported
 * by the api worker and the web app. Times are ms since the epoch, sizes bytes.
 */
import { z } from "zod";
import { Id } from "./communities";
import { Password } from "./protocol";

/**
 * Who may create an account: `open` anyone; `invite` only someone arriving with a live
 * community invite code; `closed` nobody (the owner's account already exists).
 */
export const RegistrationMode = z.enum(["open", "invite", "closed"]);
export type RegistrationMode = z.infer<typeof RegistrationMode>;

/** A user's standing on the instance: the owner (first account), an admin the owner named, or nobody special. */
export const InstanceRole = z.enum(["owner", "admin"]).nullable();
export type InstanceRole = z.infer<typeof InstanceRole>;

/** How long an admin-issued password-reset link works, ms. */
export const RESET_LINK_TTL_MS = 60 * 60_000;

export const InstanceSettings = z.object({ registrationMode: RegistrationMode });
export type InstanceSettings = z.infer<typeof InstanceSettings>;

export const UpdateInstanceSettingsBody = z.strictObject({ registrationMode: RegistrationMode });
export type UpdateInstanceSettingsBody = z.infer<typeof UpdateInstanceSettingsBody>;

/** What the register page needs to know before anyone has an account. */
export const RegistrationInfo = z.object({ registrationMode: RegistrationMode });
export type RegistrationInfo = z.infer<typeof RegistrationInfo>;

export const AdminUser = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  createdAt: z.number(),
  instanceRole: InstanceRole,
  /** When an admin banned the account from the instance, ms; null = not banned. */
  bannedAt: z.number().nullable(),
});
export type AdminUser = z.infer<typeof AdminUser>;

export const AdminUsersQuery = z.strictObject({
  /** Start of a username (case-insensitive); empty = everyone, newest first. */
  q: z.string().trim().max(32).optional(),
});
export const AdminUsersResponse = z.object({ users: z.array(AdminUser), hasMore: z.boolean() });
export type AdminUsersResponse = z.infer<typeof AdminUsersResponse>;

export const AdminOverview = z.object({
  settings: InstanceSettings,
  /** The viewer's own standing: only the owner names admins. */
  viewerRole: z.enum(["owner", "admin"]),
});
export type AdminOverview = z.infer<typeof AdminOverview>;

export const SetInstanceRoleBody = z.strictObject({ role: z.enum(["admin", "member"]) });
export type SetInstanceRoleBody = z.infer<typeof SetInstanceRoleBody>;

export const ResetLinkResponse = z.object({
  /** Path and fragment to hand to the user: `/reset#<token>`; the token never reaches a server log. */
  path: z.string(),
  expiresAt: z.number(),
});
export type ResetLinkResponse = z.infer<typeof ResetLinkResponse>;

/** A reset token as issued: 256 bits in base32, 52 characters. */
export const ResetToken = z.string().regex(/^[0-9a-z]{52}$/, { message: "not a reset token" });

export const CheckResetBody = z.strictObject({ token: ResetToken });
export const CheckResetResponse = z.object({ username: z.string(), expiresAt: z.number() });
export type CheckResetResponse = z.infer<typeof CheckResetResponse>;

export const ResetPasswordBody = z.strictObject({ token: ResetToken, newPassword: Password });
export type ResetPasswordBody = z.infer<typeof ResetPasswordBody>;

export const StorageTable = z.object({ name: z.string(), rows: z.number() });
export const StorageCommunity = z.object({
  id: z.string(),
  name: z.string(),
  members: z.number(),
  /** Files in R2 from the attachments table: count and bytes. */
  files: z.number(),
  fileBytes: z.number(),
});
export type StorageCommunity = z.infer<typeof StorageCommunity>;

export const StorageResponse = z.object({
  d1: z.object({
    /** The database file's size as D1 reports it, bytes; null where the engine does not say. */
    bytes: z.number().nullable(),
    tables: z.array(StorageTable),
  }),
  r2: z.object({
    /** Every file the attachments table knows, bytes (community files, DMs, desks, call chats). */
    totalBytes: z.number(),
    totalFiles: z.number(),
    /** Files outside any community: DMs, support-desk conversations, call links' chats. */
    otherBytes: z.number(),
  }),
  communities: z.array(StorageCommunity),
});
export type StorageResponse = z.infer<typeof StorageResponse>;

/** The archive `GET /api/admin/communities/:id/export` streams (JSON, version 1). */
export interface CommunityExport {
  format: "woxly-community-export";
  version: 1;
  exportedAt: number;
  community: { id: string; name: string; ownerId: string; createdAt: number };
  members: { userId: string; username: string; displayName: string; nickname: string | null; joinedAt: number }[];
  channels: { id: string; name: string; kind: string; parentId: string | null; messages: unknown[] }[];
  files: { id: string; channelId: string; filename: string; contentType: string; size: number; createdAt: number; uploaderId: string }[];
}

export const AdminUserParam = z.strictObject({ userId: Id });
export const AdminCommunityParam = z.strictObject({ id: Id });
