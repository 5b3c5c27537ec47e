/**
 * The voice HTTP API as the call UI uses it (workers/api/src/routes/voice.ts, docs/voice.md):
 * join tokens, moderation, and the E2EE call key. Answers are parsed with the shared schemas.
 */
import { z } from "zod";
import { CallKeyResponse, VoiceTokenResponse } from "$shared/media";
import { client, read } from "$lib/api";

const participant = client.channels[":id"].voice.participants[":userId"];

/** A LiveKit token for the channel's room, with exactly the member's grants. */
export function voiceToken(channelId: string): Promise<VoiceTokenResponse> {
  return read(client.channels[":id"].voice.token.$post({ param: { id: channelId } }), VoiceTokenResponse);
}

/**
 * The shared media key of an end-to-end encrypted channel, as the client expects the server
 * to hand it out: 32 random bytes (base64url) per channel and key generation. The server
 * keeps it, so the server can read such calls; see "End-to-end encryption" in docs/voice.md
 * (server side: workers/api/src/lib/voice-keys.ts). Without it the call refuses to join
 * (never falls back to an unencrypted or made-up key).
 */
export { CallKeyResponse };

export function callKey(channelId: string): Promise<CallKeyResponse> {
  return read(client.channels[":id"].voice.key.$post({ param: { id: channelId } }), CallKeyResponse);
}

const ModerationResult = z.object({ userId: z.string() }).passthrough();

/** Moderators only (MUTE_MEMBERS / DEAFEN_MEMBERS / MOVE_MEMBERS in the channel). */
export const voiceModeration = {
  mute: (channelId: string, userId: string, muted: boolean) =>
    read(participant.mute.$post({ param: { id: channelId, userId }, json: { muted } }), ModerationResult),
  deafen: (channelId: string, userId: string, deafened: boolean) =>
    read(participant.deafen.$post({ param: { id: channelId, userId }, json: { deafened } }), ModerationResult),
  move: (channelId: string, userId: string, toChannelId: string) =>
    read(participant.move.$post({ param: { id: channelId, userId }, json: { channelId: toChannelId } }), ModerationResult),
  disconnect: (channelId: string, userId: string) =>
    read(participant.disconnect.$post({ param: { id: channelId, userId } }), ModerationResult),
};

/** base64url → bytes. */
export function fromBase64url(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
