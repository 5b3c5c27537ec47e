/**
 * The token worker: the only code holding LIVEKIT_API_SECRET. It is reached only through
 * the api worker's TOKEN service binding, which sends an already-authorised request: who,
 * which room, which grants. It signs exactly that and returns `{ url, token }`.
 */
import { AccessToken, TrackSource } from "livekit-server-sdk";
import { TokenRequest, type PublishSource, type TokenResponse } from "../../shared/media";

const SOURCES: Record<PublishSource, TrackSource> = {
  camera: TrackSource.CAMERA,
  microphone: TrackSource.MICROPHONE,
  screen_share: TrackSource.SCREEN_SHARE,
  screen_share_audio: TrackSource.SCREEN_SHARE_AUDIO,
};

export default {
  async fetch(request, env): Promise<Response> {
    if (request.method !== "POST" || new URL(request.url).pathname !== "/token") {
      return Response.json({ error: { code: "not_found", message: "No such route." } }, { status: 404 });
    }
    if (!env.LIVEKIT_API_KEY || !env.LIVEKIT_API_SECRET) {
      return Response.json(
        { error: { code: "unavailable", message: "LiveKit is not configured (LIVEKIT_API_KEY / LIVEKIT_API_SECRET)." } },
        { status: 503 },
      );
    }
    const parsed = TokenRequest.safeParse(await request.json().catch(() => undefined));
    if (!parsed.success) {
      return Response.json({ error: { code: "validation_failed", message: parsed.error.message } }, { status: 400 });
    }
    const req = parsed.data;
    const at = new AccessToken(env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET, {
      identity: req.identity,
      name: req.name,
      ttl: req.ttlSeconds,
      metadata: req.metadata,
    });
    at.addGrant({
      room: req.room,
      roomJoin: true,
      canSubscribe: req.grants.canSubscribe,
      canPublish: req.grants.canPublishSources.length > 0,
      canPublishSources: req.grants.canPublishSources.map((s) => SOURCES[s]),
      canPublishData: req.grants.canPublishData,
      canUpdateOwnMetadata: req.grants.canUpdateOwnMetadata,
    });
    const body: TokenResponse = { url: env.LIVEKIT_URL, token: await at.toJwt() };
    return Response.json(body);
  },
} satisfies ExportedHandler<TokenEnv>;
