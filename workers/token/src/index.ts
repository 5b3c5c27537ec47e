/**
 * The token worker: the only code holding LIVEKIT_API_SECRET. It is reached only through
 * the api worker's TOKEN service binding, which sends already-authorised requests:
 *   POST /token    who, which room, which grants → `{ url, token }`
 *   POST /room     RoomService calls (list, remove, update permissions) for moderation
 *   POST /webhook  LiveKit's raw webhook body + Authorization → the verified event, or 401
 * Without LIVEKIT_API_KEY / LIVEKIT_API_SECRET every route answers 503 `unavailable`.
 */
import {
  AccessToken,
  RoomServiceClient,
  TrackSource,
  WebhookReceiver,
  type ParticipantInfo,
  type TrackInfo,
} from "livekit-server-sdk";
import {
  RoomRequest,
  TokenRequest,
  type CloseResponse,
  type ListRoomsResponse,
  type MediaGrants,
  type MediaParticipant,
  type MediaTrack,
  type MediaWebhookEvent,
  type PublishSource,
  type RemoveResponse,
  type TokenResponse,
  type UpdateResponse,
} from "../../shared/media";

const SOURCES: Record<PublishSource, TrackSource> = {
  camera: TrackSource.CAMERA,
  microphone: TrackSource.MICROPHONE,
  screen_share: TrackSource.SCREEN_SHARE,
  screen_share_audio: TrackSource.SCREEN_SHARE_AUDIO,
};

function sourceName(s: TrackSource): MediaTrack["source"] {
  for (const [name, v] of Object.entries(SOURCES)) if (v === s) return name as PublishSource;
  return "unknown";
}

function fail(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

/** LiveKit's permission object for our grants. An empty source list must mean "nothing", not LiveKit's "all". */
function livekitPermission(g: MediaGrants) {
  return {
    canSubscribe: g.canSubscribe,
    canPublish: g.canPublishSources.length > 0,
    canPublishSources: g.canPublishSources.map((s) => SOURCES[s]),
    canPublishData: g.canPublishData,
    canUpdateMetadata: g.canUpdateOwnMetadata,
  };
}

function track(t: TrackInfo): MediaTrack {
  return { sid: t.sid, source: sourceName(t.source), muted: t.muted };
}

function participant(p: ParticipantInfo): MediaParticipant {
  const ms = Number(p.joinedAtMs ?? 0n) || Number(p.joinedAt ?? 0n) * 1000;
  const perm = p.permission;
  const grants: MediaGrants | null = perm
    ? {
        canSubscribe: perm.canSubscribe,
        // LiveKit reads canPublish with an empty list as "every source".
        canPublishSources: !perm.canPublish
          ? []
          : perm.canPublishSources.length === 0
            ? (Object.keys(SOURCES) as PublishSource[])
            : perm.canPublishSources.map(sourceName).filter((s): s is PublishSource => s !== "unknown"),
        canPublishData: perm.canPublishData,
        canUpdateOwnMetadata: perm.canUpdateMetadata,
      }
    : null;
  return { sid: p.sid, identity: p.identity, joinedAt: ms, tracks: p.tracks.map(track), grants };
}

/** RoomService errors carry an HTTP-like status; 404 means "no such participant or room". */
function isNotFound(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { status?: number }).status === 404;
}

async function issueToken(request: Request, env: TokenEnv): Promise<Response> {
  const parsed = TokenRequest.safeParse(await request.json().catch(() => undefined));
  if (!parsed.success) return fail(400, "validation_failed", parsed.error.message);
  const req = parsed.data;
  const at = new AccessToken(env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET, {
    identity: req.identity,
    name: req.name,
    ttl: req.ttlSeconds,
    metadata: req.metadata,
  });
  const perm = livekitPermission(req.grants);
  at.addGrant({
    room: req.room,
    roomJoin: true,
    canSubscribe: perm.canSubscribe,
    canPublish: perm.canPublish,
    canPublishSources: perm.canPublishSources,
    canPublishData: perm.canPublishData,
    canUpdateOwnMetadata: perm.canUpdateMetadata,
  });
  const body: TokenResponse = { url: env.LIVEKIT_URL, token: await at.toJwt() };
  return Response.json(body);
}

async function roomCall(request: Request, env: TokenEnv): Promise<Response> {
  const parsed = RoomRequest.safeParse(await request.json().catch(() => undefined));
  if (!parsed.success) return fail(400, "validation_failed", parsed.error.message);
  const req = parsed.data;
  // Failover only concerns LiveKit Cloud's regions, and its look-ups must not run here.
  const rs = new RoomServiceClient(env.LIVEKIT_URL, env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET, { failover: false, requestTimeout: 5 });
  try {
    switch (req.op) {
      case "list": {
        const out: ListRoomsResponse = { rooms: {} };
        await Promise.all(
          req.rooms.map(async (room) => {
            out.rooms[room] = (await rs.listParticipants(room)).map(participant);
          }),
        );
        return Response.json(out);
      }
      case "remove": {
        const out: RemoveResponse = { removed: [] };
        await Promise.all(
          req.targets.map(async ({ room, identity }) => {
            try {
              await rs.removeParticipant(room, identity);
              out.removed.push({ room, identity });
            } catch (e) {
              if (!isNotFound(e)) throw e;
            }
          }),
        );
        return Response.json(out);
      }
      case "close": {
        let found = true;
        try {
          await rs.deleteRoom(req.room);
        } catch (e) {
          if (!isNotFound(e)) throw e;
          found = false;
        }
        const out: CloseResponse = { found };
        return Response.json(out);
      }
      case "update": {
        let found = true;
        try {
          await rs.updateParticipant(req.room, req.identity, { permission: livekitPermission(req.grants) });
        } catch (e) {
          if (!isNotFound(e)) throw e;
          found = false;
        }
        const out: UpdateResponse = { found };
        return Response.json(out);
      }
    }
  } catch (e) {
    // LiveKit unreachable or failing: the api worker shows it as 503, never as its own bug.
    console.log(JSON.stringify({ t: Date.now(), event: "roomservice.failed", op: req.op, error: String(e) }));
    return fail(502, "livekit_failed", "LiveKit did not answer the room service call.");
  }
}

async function verifyWebhook(request: Request, env: TokenEnv): Promise<Response> {
  const body = await request.text();
  const receiver = new WebhookReceiver(env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET);
  let ev;
  try {
    // Checks the JWT signature and that its sha256 claim is the hash of exactly this body,
    // before the body is parsed at all.
    ev = await receiver.receive(body, request.headers.get("authorization") ?? undefined);
  } catch {
    return fail(401, "unauthorized", "The webhook signature or body hash does not match.");
  }
  const out: MediaWebhookEvent = {
    id: ev.id,
    event: ev.event,
    createdAt: Number(ev.createdAt) * 1000,
    room: ev.room?.name || null,
    participant: ev.participant ? participant(ev.participant) : null,
    track: ev.track ? track(ev.track) : null,
    numDropped: ev.numDropped,
  };
  if (!out.id) return fail(400, "validation_failed", "The webhook event has no id.");
  return Response.json(out);
}

export default {
  async fetch(request, env): Promise<Response> {
    const path = new URL(request.url).pathname;
    const route = request.method === "POST" ? { "/token": issueToken, "/room": roomCall, "/webhook": verifyWebhook }[path] : undefined;
    if (!route) return fail(404, "not_found", "No such route.");
    if (!env.LIVEKIT_API_KEY || !env.LIVEKIT_API_SECRET) {
      return fail(503, "unavailable", "LiveKit is not configured (LIVEKIT_API_KEY / LIVEKIT_API_SECRET).");
    }
    return route(request, env);
  },
} satisfies ExportedHandler<TokenEnv>;
