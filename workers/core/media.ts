/**
 * The api side of the token worker (workers/token): the only way Woxly code reaches LiveKit.
 * The token worker alone holds the LiveKit secret; this module asks it for join tokens,
 * RoomService calls (list, remove, update, close) and webhook verification, over the TOKEN
 * service binding. Used by the api's routes and by Durable Objects (a DM call's room check).
 */
import type { z } from "zod";
import { ApiError } from "../shared/errors";
import {
  ListRoomsResponse,
  MediaWebhookEvent,
  TokenResponse,
  type MediaParticipant,
  type RoomRequest,
  type TokenRequest,
} from "../shared/media";
import { log } from "./log";

export const VOICE_NOT_CONFIGURED = "Voice is not configured on this server.";

// ---------------------------------------------------------------------------------------
// Token worker

async function callToken<S extends z.ZodType>(env: Env, path: string, init: RequestInit, schema: S): Promise<z.infer<S>> {
  let res: Response;
  try {
    res = await env.TOKEN.fetch(`https://token${path}`, { method: "POST", ...init });
  } catch (e) {
    log({ event: "voice.token_worker_unreachable", path, error: String(e) });
    throw new ApiError("unavailable", VOICE_NOT_CONFIGURED);
  }
  if (res.status === 503) throw new ApiError("unavailable", VOICE_NOT_CONFIGURED);
  if (res.status === 401) throw new ApiError("unauthorized", "The webhook signature or body hash does not match.");
  if (!res.ok) {
    log({ event: "voice.token_worker_failed", path, status: res.status });
    throw new ApiError("unavailable", "The voice server did not answer. Try again in a moment.");
  }
  return schema.parse(await res.json());
}

export function issueToken(env: Env, req: TokenRequest) {
  return callToken(env, "/token", { body: JSON.stringify(req) }, TokenResponse);
}

export function roomCall<S extends z.ZodType>(env: Env, req: RoomRequest, schema: S) {
  return callToken(env, "/room", { body: JSON.stringify(req) }, schema);
}

/** Verifies a LiveKit webhook in the token worker; throws `unauthorized` (401) when it does not match. */
export function verifyWebhook(env: Env, body: string, authorization: string | undefined) {
  return callToken(env, "/webhook", { body, headers: { authorization: authorization ?? "" } }, MediaWebhookEvent);
}

/** LiveKit's participants of each room. */
export async function listRooms(env: Env, rooms: string[]): Promise<Record<string, MediaParticipant[]>> {
  const out: Record<string, MediaParticipant[]> = {};
  for (let i = 0; i < rooms.length; i += 50) {
    Object.assign(out, (await roomCall(env, { op: "list", rooms: rooms.slice(i, i + 50) }, ListRoomsResponse)).rooms);
  }
  return out;
}
