/**
 * A call inside a ticket, on the app's framework-free call core (media/call.ts `CallSession`)
 * with its own session: the ticket's LiveKit room, tokens from
 * `POST /api/desks/:deskId/tickets/:ticketId/call-token` (only while the ticket's call rings or
 * runs). The member's saved devices and volumes apply as in any call. Components read
 * `state` and call the methods; ringing, accepting and ending go through the desk socket
 * (DeskCore), this only carries the media.
 */
import type { TicketCallToken } from "$shared/desk";
import type { VoiceTokenResponse } from "$shared/media";
import { bind, type Bound } from "$lib/realtime/bind.svelte";
import { CallSession, IDLE_CALL, type CallState } from "$lib/media/call";
import { loadPrefs, loadVolumes, saveVolumes } from "$lib/media/prefs";
import { playTone } from "$lib/media/tones";
import { deskApi } from "./api";

/** A ticket call token as the call core takes it: a ticket room grants the whole call to both sides. */
export function ticketToken(t: TicketCallToken): VoiceTokenResponse {
  return {
    url: t.url,
    token: t.token,
    identity: "",
    e2ee: false,
    pushToTalkOnly: false,
    grants: {
      canSubscribe: true,
      canPublishSources: ["microphone", "camera", "screen_share", "screen_share_audio"],
      canPublishData: false,
      canUpdateOwnMetadata: false,
    },
    ttlSeconds: 120,
  };
}

export class TicketCall {
  readonly deskId: string;
  readonly #session: CallSession;
  readonly #view: Bound<CallState>;
  readonly #volumes = loadVolumes();

  constructor(deskId: string) {
    this.deskId = deskId;
    const prefs = loadPrefs();
    this.#session = new CallSession({
      loadClient: () => import("livekit-client"),
      // The call target's channelId is the ticket's id.
      token: async (ticketId) => ticketToken(await deskApi.callToken(deskId, ticketId)),
      callKey: () => Promise.reject(new Error("ticket calls are not end-to-end encrypted")),
      e2eeWorker: () => Promise.reject(new Error("ticket calls are not end-to-end encrypted")),
      prefs: () => ({ ...prefs, pushToTalk: false }),
      volumeOf: (identity) => this.#volumes[identity],
      saveVolume: (identity, v) => {
        this.#volumes[identity] = v;
        saveVolumes(this.#volumes);
      },
      tone: (kind) => playTone(kind, 0.12, prefs.audioOutput),
    });
    this.#view = bind(this.#session);
  }

  get state(): CallState {
    return this.#view?.current ?? IDLE_CALL;
  }

  /** In (or joining) the call of this ticket. */
  isIn(ticketId: string): boolean {
    const s = this.state;
    return s.target?.channelId === ticketId && (s.phase === "connecting" || s.phase === "connected" || s.phase === "reconnecting");
  }

  /** Joins the ticket's room with the camera on for a video call. */
  async join(ticketId: string, name: string, video: boolean): Promise<void> {
    await this.#session.join({ channelId: ticketId, communityId: null, name, kind: "dm" });
    if (video && this.state.phase === "connected") await this.#session.setCamera(true);
  }

  leave(): Promise<void> {
    return this.#session.leave();
  }

  toggleMute(): void {
    this.#session.setSelfMute(!this.state.selfMute);
  }

  toggleCamera(): Promise<void> {
    return this.#session.setCamera(!this.state.camera);
  }

  toggleScreenShare(): Promise<void> {
    return this.#session.setScreenShare(!this.state.screen);
  }

  startAudio(): Promise<void> {
    return this.#session.startAudio();
  }

  destroy(): void {
    void this.#session.leave();
    this.#view.unbind();
  }
}
