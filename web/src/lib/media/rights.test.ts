/**
 * From a member's permissions to the call controls they are offered, in Node: the grants the
 * server puts in the token (`voiceGrants`, the same function the token route calls), what the
 * client reads from them and from LiveKit's later permission changes, and which buttons that
 * enables.
 */
import { describe, expect, it } from "vitest";
import { voiceGrants } from "$shared/media";
import { P } from "$shared/permissions";
import type { CallPhase, PublishRights } from "./call-state";
import { offeredControls, PROTO_SOURCE, rightsFromGrants, rightsFromPermissions } from "./rights";

const ALL: PublishRights = { microphone: true, camera: true, screen: true };
const NONE: PublishRights = { microphone: false, camera: false, screen: false };

/** The controls a member with `perms` is offered once connected. */
function offered(perms: bigint, mod?: { serverMute: boolean; serverDeaf: boolean }) {
  return offeredControls({ phase: "connected", rights: rightsFromGrants(voiceGrants(perms, mod)) });
}

describe("rightsFromGrants", () => {
  it("follows SPEAK, VIDEO and STREAM", () => {
    expect(rightsFromGrants(voiceGrants(P.CONNECT | P.SPEAK | P.VIDEO | P.STREAM))).toEqual(ALL);
    expect(rightsFromGrants(voiceGrants(P.CONNECT))).toEqual(NONE);
    expect(rightsFromGrants(voiceGrants(P.CONNECT | P.SPEAK))).toEqual({ microphone: true, camera: false, screen: false });
    expect(rightsFromGrants(voiceGrants(P.CONNECT | P.VIDEO))).toEqual({ microphone: false, camera: true, screen: false });
    expect(rightsFromGrants(voiceGrants(P.CONNECT | P.STREAM))).toEqual({ microphone: false, camera: false, screen: true });
  });

  it("a server mute or deafen takes the microphone only", () => {
    const perms = P.CONNECT | P.SPEAK | P.VIDEO | P.STREAM;
    expect(rightsFromGrants(voiceGrants(perms, { serverMute: true, serverDeaf: false }))).toEqual({ microphone: false, camera: true, screen: true });
    expect(rightsFromGrants(voiceGrants(perms, { serverMute: false, serverDeaf: true }))).toEqual({ microphone: false, camera: true, screen: true });
  });

  it("screen-share audio alone is no screen share", () => {
    expect(rightsFromGrants({ canPublishSources: ["screen_share_audio"] }).screen).toBe(false);
  });
});

describe("rightsFromPermissions (LiveKit's participant permissions after a change)", () => {
  it("canPublish with no sources listed means every source", () => {
    expect(rightsFromPermissions({ canPublish: true, canPublishSources: [] })).toEqual(ALL);
  });

  it("lists sources by LiveKit's protocol numbers", () => {
    expect(rightsFromPermissions({ canPublish: true, canPublishSources: [PROTO_SOURCE.camera, PROTO_SOURCE.screen] })).toEqual({
      microphone: false,
      camera: true,
      screen: true,
    });
    expect(rightsFromPermissions({ canPublish: true, canPublishSources: [PROTO_SOURCE.microphone] })).toEqual({ microphone: true, camera: false, screen: false });
  });

  it("no canPublish, or no permissions at all, is nothing", () => {
    expect(rightsFromPermissions({ canPublish: false, canPublishSources: [PROTO_SOURCE.microphone] })).toEqual(NONE);
    expect(rightsFromPermissions(undefined)).toEqual(NONE);
  });
});

describe("offeredControls", () => {
  it("no STREAM: no screen share, and the button says it is not allowed", () => {
    const c = offered(P.CONNECT | P.SPEAK | P.VIDEO);
    expect(c.screen).toEqual({ enabled: false, notAllowed: true });
    expect(c.camera).toEqual({ enabled: true, notAllowed: false });
    expect(c.microphone).toEqual({ enabled: true, notAllowed: false });
  });

  it("no VIDEO: no camera", () => {
    expect(offered(P.CONNECT | P.SPEAK | P.STREAM).camera).toEqual({ enabled: false, notAllowed: true });
  });

  it("no SPEAK or a server mute: the microphone button still works (own mute) and says the server took it", () => {
    expect(offered(P.CONNECT | P.VIDEO).microphone).toEqual({ enabled: true, notAllowed: true });
    expect(offered(P.CONNECT | P.SPEAK, { serverMute: true, serverDeaf: false }).microphone).toEqual({ enabled: true, notAllowed: true });
  });

  it("everything allowed: everything offered", () => {
    const c = offered(P.CONNECT | P.SPEAK | P.VIDEO | P.STREAM);
    expect([c.microphone, c.camera, c.screen]).toEqual([
      { enabled: true, notAllowed: false },
      { enabled: true, notAllowed: false },
      { enabled: true, notAllowed: false },
    ]);
  });

  it("camera and screen wait for the connection; nothing is 'not allowed' before it", () => {
    for (const phase of ["idle", "connecting", "ended"] as CallPhase[]) {
      const c = offeredControls({ phase, rights: NONE });
      expect([c.camera.enabled, c.screen.enabled]).toEqual([false, false]);
      expect([c.microphone.notAllowed, c.camera.notAllowed, c.screen.notAllowed]).toEqual([false, false, false]);
      expect(offeredControls({ phase, rights: ALL }).screen.enabled).toBe(false);
    }
    // While reconnecting the rights still show.
    expect(offeredControls({ phase: "reconnecting", rights: ALL }).screen).toEqual({ enabled: true, notAllowed: false });
  });
});
