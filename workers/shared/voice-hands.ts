/**
 * Raised hands in stage voice channels (docs/voice.md "Raised hands"): the hub frames that
 * raise and lower them. A raised hand is part of the member's voice state (media.ts
 * `VoiceState.handRaisedAt`), kept in the CommunityHub's SQLite and sent as `voice.updated`.
 * No cloudflare:* or DOM imports.
 */
import { z } from "zod";

const Ref = z.string().min(1).max(64);

/** Client → hub: raise your hand in the stage channel you are in. */
export const HandRaiseFrame = z.strictObject({ type: z.literal("hand.raise"), ref: Ref.optional() });
export type HandRaiseFrame = z.infer<typeof HandRaiseFrame>;

/**
 * Client → hub: lower a raised hand — your own (no `userId`, or your id), or another member's
 * in your stage channel with MUTE_MEMBERS there.
 */
export const HandLowerFrame = z.strictObject({
  type: z.literal("hand.lower"),
  userId: z.string().regex(/^[0-9A-Za-z_-]{1,64}$/).optional(),
  ref: Ref.optional(),
});
export type HandLowerFrame = z.infer<typeof HandLowerFrame>;

/** Raised hands in order: earliest first (ties by user id). */
export function byRaisedAt<T extends { userId: string; handRaisedAt?: number }>(states: T[]): T[] {
  return states
    .filter((s) => s.handRaisedAt !== undefined)
    .sort((a, b) => a.handRaisedAt! - b.handRaisedAt! || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
}
