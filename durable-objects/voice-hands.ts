/**
 * Raised hands of a CommunityHub (docs/voice.md "Raised hands"): `hand.raise` and
 * `hand.lower` frames, checked by the policy (canRaiseHand, canLowerHand) and stored with the
 * voice states (voice-store.ts setHand: the `voice_hands` table, tied to the LiveKit session),
 * so they survive hibernation and go out as `voice.updated` like every voice change.
 */
import { eq } from "drizzle-orm";
import { ApiError } from "../workers/shared/errors";
import type { HandLowerFrame } from "../workers/shared/voice-hands";
import type { VoiceOpResult } from "../workers/shared/media";
import { canLowerHand, canRaiseHand } from "../workers/core/policy";
import { channels } from "../workers/core/schema";
import type { Db } from "../workers/core/db";
import { setHand, voiceStateOf } from "./voice-store";
import { FrameError } from "./kit";

/** A policy refusal as the frame error it answers. */
function asFrameError(e: unknown): never {
  if (e instanceof ApiError) throw new FrameError(e.code === "not_found" ? "not_found" : "forbidden", e.message);
  throw e;
}

/** `hand.raise`: the sender's own hand, in the stage channel they are in. */
export async function raiseHand(sql: SqlStorage, db: Db, communityId: string, userId: string): Promise<VoiceOpResult> {
  const state = voiceStateOf(sql, userId);
  if (!state) throw new FrameError("not_found", "You are not in a voice channel.");
  const row = (await db.select({ kind: channels.kind, stage: channels.stage, communityId: channels.communityId }).from(channels).where(eq(channels.id, state.channelId)).limit(1))[0];
  try {
    canRaiseHand(row && row.communityId === communityId ? row : undefined);
  } catch (e) {
    asFrameError(e);
  }
  // Re-checked after the await: the member may have left or moved meanwhile.
  if (voiceStateOf(sql, userId)?.channelId !== state.channelId) throw new FrameError("not_found", "You are not in that voice channel any more.");
  return setHand(sql, userId, Date.now());
}

/** `hand.lower`: the sender's own hand, or (MUTE_MEMBERS) another member's in the same call. */
export async function lowerHand(sql: SqlStorage, db: Db, actorId: string, frame: HandLowerFrame): Promise<VoiceOpResult> {
  const targetId = frame.userId ?? actorId;
  const target = voiceStateOf(sql, targetId);
  if (!target || target.handRaisedAt === undefined) throw new FrameError("not_found", "No raised hand.");
  try {
    await canLowerHand(db, actorId, targetId, target.channelId);
  } catch (e) {
    asFrameError(e);
  }
  return setHand(sql, targetId, null);
}
