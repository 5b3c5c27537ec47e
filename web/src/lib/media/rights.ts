/**
 * What the member may publish in a call, and so which controls the UI offers — pure. The
 * server decides (the token's grants, docs/voice.md: microphone with SPEAK, camera with VIDEO,
 * screen share with STREAM); LiveKit tells about later changes (a server mute, a role change)
 * as participant permissions.
 */
import type { MediaGrants } from "$shared/media";
import type { CallPhase, PublishRights } from "./call-state";

/** LiveKit protocol's TrackSource numbers, as in participant permissions (livekit_models.proto). */
export const PROTO_SOURCE = { camera: 1, microphone: 2, screen: 3 } as const;

/** What a join token's grants let the member publish. */
export function rightsFromGrants(g: Pick<MediaGrants, "canPublishSources">): PublishRights {
  const s = new Set(g.canPublishSources);
  return { microphone: s.has("microphone"), camera: s.has("camera"), screen: s.has("screen_share") };
}

/**
 * The same from LiveKit's participant permissions once the server changed them. LiveKit reads
 * `canPublish` with an empty source list as "every source".
 */
export function rightsFromPermissions(perms: { canPublish: boolean; canPublishSources: readonly number[] } | undefined): PublishRights {
  const allowed = new Set((perms?.canPublish ? perms.canPublishSources : []) ?? []);
  const all = !!perms?.canPublish && allowed.size === 0;
  return {
    microphone: all || allowed.has(PROTO_SOURCE.microphone),
    camera: all || allowed.has(PROTO_SOURCE.camera),
    screen: all || allowed.has(PROTO_SOURCE.screen),
  };
}

export interface ControlOffer {
  /** The button can be pressed. */
  enabled: boolean;
  /** The server does not allow it here (the button says so). */
  notAllowed: boolean;
}

export interface OfferedControls {
  microphone: ControlOffer;
  camera: ControlOffer;
  screen: ControlOffer;
}

/**
 * The call controls a member is offered: camera and screen share only while in the call and
 * allowed; the microphone button always works (it is the member's own mute), and says when
 * the server took the microphone away. Nothing is "not allowed" before the call is up.
 */
export function offeredControls(s: { phase: CallPhase; rights: PublishRights }): OfferedControls {
  const live = s.phase === "connected" || s.phase === "reconnecting";
  return {
    microphone: { enabled: true, notAllowed: live && !s.rights.microphone },
    camera: { enabled: live && s.rights.camera, notAllowed: live && !s.rights.camera },
    screen: { enabled: live && s.rights.screen, notAllowed: live && !s.rights.screen },
  };
}
