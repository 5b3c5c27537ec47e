/**
 * The others' audio: hidden <audio> elements for subscribed tracks (LiveKit routes them to
 * the chosen output), playback volume per participant, deafen and "mute for me" (the SFU
 * stops forwarding those tracks), and the output device. livekit-client types only.
 */
import type { RemoteParticipant, RemoteTrack, RemoteTrackPublication, Room } from "livekit-client";

type LiveKit = typeof import("livekit-client");

export interface RemoteAudioHost {
  room(): Room | null;
  lk(): LiveKit | null;
  /** The member deafened themself. */
  deafened(): boolean;
  /** Saved playback volume of a participant (by identity), 0..1. */
  volumeOf(identity: string): number | undefined;
  saveVolume(identity: string, volume: number): void;
  /** Where the elements live (hidden). */
  audioHost(): HTMLElement;
}

/** Whether audio of `identity` should reach this member. */
export function wantsAudio(deafened: boolean, localMutes: ReadonlySet<string>, identity: string): boolean {
  return !deafened && !localMutes.has(identity);
}

export class RemoteAudio {
  readonly #host: RemoteAudioHost;
  /** By `identity:source` */
  readonly #els = new Map<string, HTMLMediaElement>();
  /** Muted for this member only; kept across calls. */
  readonly #localMutes = new Set<string>();

  constructor(host: RemoteAudioHost) {
    this.#host = host;
  }

  get localMutes(): ReadonlySet<string> {
    return this.#localMutes;
  }

  /** A remote track was subscribed: audio gets its element, at the saved volume. */
  subscribed(lk: LiveKit, track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant): void {
    if (track.kind !== lk.Track.Kind.Audio) return;
    const key = `${p.identity}:${pub.source}`;
    const el = track.attach();
    el.dataset.woxlyAudio = "";
    el.dataset.participant = p.identity;
    el.dataset.source = pub.source;
    el.hidden = true;
    this.#host.audioHost().append(el);
    this.#els.get(key)?.remove();
    this.#els.set(key, el);
    const v = this.#host.volumeOf(p.identity);
    if (v !== undefined) p.setVolume(v, pub.source as Parameters<RemoteParticipant["setVolume"]>[1]);
    this.apply();
  }

  unsubscribed(track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant): void {
    const key = `${p.identity}:${pub.source}`;
    const el = this.#els.get(key);
    if (el) {
      track.detach(el);
      el.remove();
      this.#els.delete(key);
    }
  }

  /** Deafen and per-user local mute: the SFU stops forwarding those audio tracks to us. */
  apply(): void {
    const room = this.#host.room();
    if (!room || !this.#host.lk()) return;
    for (const p of room.remoteParticipants.values()) {
      for (const pub of p.audioTrackPublications.values()) {
        const want = wantsAudio(this.#host.deafened(), this.#localMutes, p.identity);
        if (pub.isEnabled !== want) pub.setEnabled(want);
      }
    }
  }

  /** Playback volume of one participant here, 0..1 (saved for next time). */
  setVolume(identity: string, volume: number): void {
    const v = Math.min(1, Math.max(0, volume));
    const p = this.#host.room()?.remoteParticipants.get(identity);
    const lk = this.#host.lk();
    if (p && lk) {
      p.setVolume(v, lk.Track.Source.Microphone);
      p.setVolume(v, lk.Track.Source.ScreenShareAudio);
    }
    this.#host.saveVolume(identity, v);
  }

  /** Mutes one participant for this member only. */
  setLocalMute(identity: string, muted: boolean): void {
    if (muted) this.#localMutes.add(identity);
    else this.#localMutes.delete(identity);
    this.apply();
  }

  /** Plays through `output` (a device id; "" for the system default). */
  async useOutput(room: Room, output: string): Promise<void> {
    if ((room.getActiveDevice("audiooutput") ?? "default") !== (output || "default")) {
      await room.switchActiveDevice("audiooutput", output || "default").catch(() => false);
    }
  }

  /** The room is gone: its elements go too. */
  clear(): void {
    for (const el of this.#els.values()) el.remove();
    this.#els.clear();
  }
}
