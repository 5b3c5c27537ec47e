/**
 * The visitor's side of a ticket call on LiveKit, framework-free. livekit-client is imported
 * only when a call connects (its own chunk; the panel without a call never loads it). The
 * remote participant's tracks are attached to a container the component gives; the local
 * camera and screen preview likewise. Tokens come from POST /api/widget/call-token.
 */
import type { Room, RemoteTrack, TrackPublication } from "livekit-client";
import type { TicketCallToken } from "$shared/desk";
import { Core } from "$lib/realtime/core";

export interface CallState {
  phase: "idle" | "connecting" | "connected" | "failed";
  mic: boolean;
  camera: boolean;
  screen: boolean;
  /** Remote video tracks attached (for the layout). */
  remoteVideos: number;
}

const idle: CallState = { phase: "idle", mic: false, camera: false, screen: false, remoteVideos: 0 };

export class VisitorCall extends Core<CallState> {
  #room: Room | null = null;
  #media: HTMLElement | null = null;
  #epoch = 0;

  constructor() {
    super(idle);
  }

  #set(patch: Partial<CallState>): void {
    this.update({ ...this.state, ...patch });
  }

  /** Where remote (and local preview) media elements go. */
  setContainer(el: HTMLElement | null): void {
    this.#media = el;
  }

  async connect(getToken: () => Promise<TicketCallToken>, video: boolean): Promise<void> {
    if (this.state.phase === "connecting" || this.state.phase === "connected") return;
    const epoch = ++this.#epoch;
    this.#set({ phase: "connecting" });
    try {
      const [lk, token] = await Promise.all([import("livekit-client"), getToken()]);
      if (epoch !== this.#epoch) return;
      const room = new lk.Room({ adaptiveStream: true, dynacast: true });
      this.#room = room;
      room.on(lk.RoomEvent.TrackSubscribed, (track: RemoteTrack) => this.#attach(track));
      room.on(lk.RoomEvent.TrackUnsubscribed, (track: RemoteTrack) => this.#detach(track));
      room.on(lk.RoomEvent.LocalTrackPublished, (pub: TrackPublication) => {
        if (pub.track && pub.track.kind === "video") this.#attach(pub.track, true);
      });
      room.on(lk.RoomEvent.LocalTrackUnpublished, (pub: TrackPublication) => {
        if (pub.track) this.#detach(pub.track);
      });
      room.on(lk.RoomEvent.Disconnected, () => {
        if (this.#room === room) this.#reset();
      });
      await room.connect(token.url, token.token);
      if (epoch !== this.#epoch) {
        await room.disconnect();
        return;
      }
      await room.localParticipant.setMicrophoneEnabled(true).catch(() => {});
      if (video) await room.localParticipant.setCameraEnabled(true).catch(() => {});
      this.#set({ phase: "connected", mic: room.localParticipant.isMicrophoneEnabled, camera: room.localParticipant.isCameraEnabled });
    } catch {
      if (epoch !== this.#epoch) return;
      await this.#room?.disconnect().catch(() => {});
      this.#room = null;
      this.#set({ phase: "failed" });
    }
  }

  #attach(track: { kind: string; sid?: string; attach(): HTMLMediaElement }, local = false): void {
    if (!this.#media) return;
    const el = track.attach();
    el.dataset.local = local ? "1" : "0";
    if (track.kind === "video") {
      (el as HTMLVideoElement).playsInline = true;
      if (local) el.muted = true;
    }
    this.#media.append(el);
    this.#countVideos();
  }

  #detach(track: { detach(): HTMLMediaElement[] }): void {
    for (const el of track.detach()) el.remove();
    this.#countVideos();
  }

  #countVideos(): void {
    this.#set({ remoteVideos: this.#media?.querySelectorAll('video[data-local="0"]').length ?? 0 });
  }

  async toggleMic(): Promise<void> {
    const p = this.#room?.localParticipant;
    if (!p) return;
    await p.setMicrophoneEnabled(!p.isMicrophoneEnabled).catch(() => {});
    this.#set({ mic: p.isMicrophoneEnabled });
  }

  async toggleCamera(): Promise<void> {
    const p = this.#room?.localParticipant;
    if (!p) return;
    await p.setCameraEnabled(!p.isCameraEnabled).catch(() => {});
    this.#set({ camera: p.isCameraEnabled });
  }

  async toggleScreen(): Promise<void> {
    const p = this.#room?.localParticipant;
    if (!p) return;
    await p.setScreenShareEnabled(!p.isScreenShareEnabled, { audio: true }).catch(() => {});
    this.#set({ screen: p.isScreenShareEnabled });
  }

  #reset(): void {
    this.#room = null;
    if (this.#media) this.#media.replaceChildren();
    this.update(idle);
  }

  async hangUp(): Promise<void> {
    this.#epoch++;
    const room = this.#room;
    this.#reset();
    await room?.disconnect().catch(() => {});
  }
}
