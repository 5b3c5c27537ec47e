/**
 * One call link's live state, framework-free: a `Core` (realtime/core.ts) over the CallLink
 * socket `/parties/call-link/<linkId>` (docs/call-links.md). It keeps the server's last
 * snapshot — people, raised hands, the lobby (host only), settings, who we are — and sends the
 * host's and everyone's actions as CallLinkClientFrames. The socket carries the member's or the
 * guest's cookie; nothing else is needed to connect.
 */
import {
  CallLinkServerFrame,
  type CallLinkClientFrame,
  type CallLinkSettings,
  type CallPerson,
  type LobbyEntry,
} from "$shared/call-links";
import type { CloseName } from "$shared/close-codes";
import { Core } from "$lib/realtime/core";
import { RealtimeSocket, type SocketConfig } from "$lib/realtime/socket";

export type Admission = "admitted" | "waiting" | "refused";

export interface CallLinkState {
  /** "connecting" until the first snapshot; "closed" after a final close or `destroy()`. */
  status: "connecting" | "open" | "reconnecting" | "closed";
  /** Why the socket ended for good, if it did. */
  closedBy: CloseName | null;
  settings: CallLinkSettings;
  people: CallPerson[];
  /** Host only (empty for everyone else). */
  lobby: LobbyEntry[];
  you: { id: string; host: boolean; admission: Admission } | null;
  ended: boolean;
  /** The last error frame's code (an action the server refused). */
  error: string | null;
}

export const INITIAL_CALL_LINK: CallLinkState = {
  status: "connecting",
  closedBy: null,
  settings: { locked: false, lobby: false, requireAccount: false },
  people: [],
  lobby: [],
  you: null,
  ended: false,
  error: null,
};

export interface CallLinkOptions {
  socket?: SocketConfig;
  /** Someone knocked (host): the UI plays a sound. */
  onKnock?(entry: LobbyEntry): void;
  /** The host decided about us while we waited. */
  onDecided?(admitted: boolean): void;
}

/** People with a raised hand, the earliest first. */
export function raisedHands(people: readonly CallPerson[]): CallPerson[] {
  return people.filter((p) => p.handRaisedAt !== null).sort((a, b) => (a.handRaisedAt ?? 0) - (b.handRaisedAt ?? 0));
}

export class CallLinkCore extends Core<CallLinkState> {
  readonly linkId: string;
  readonly #options: CallLinkOptions;
  #socket: RealtimeSocket<CallLinkServerFrame, CallLinkClientFrame> | null = null;
  #refs = 0;

  constructor(linkId: string, options: CallLinkOptions = {}) {
    super(INITIAL_CALL_LINK);
    this.linkId = linkId;
    this.#options = options;
  }

  start(): void {
    if (this.#socket) return;
    this.#socket = new RealtimeSocket<CallLinkServerFrame, CallLinkClientFrame>(
      "call-link",
      this.linkId,
      {
        frames: CallLinkServerFrame,
        onFrame: (f) => this.#onFrame(f),
        onClose: (_code, final) => {
          if (final) this.update((s) => ({ ...s, status: "closed", closedBy: final }));
          else this.update((s) => (s.status === "open" ? { ...s, status: "reconnecting" } : s));
        },
      },
      this.#options.socket,
    );
  }

  destroy(): void {
    this.#socket?.close();
    this.#socket = null;
    this.update((s) => (s.status === "closed" ? s : { ...s, status: "closed" }));
  }

  /** Connect again at once (the network is back, or we were just admitted as a guest). */
  reconnect(): void {
    this.#socket?.reconnect();
  }

  get me(): CallPerson | undefined {
    const id = this.state.you?.id;
    return id ? this.state.people.find((p) => p.id === id) : undefined;
  }

  raiseHand(): boolean {
    return this.#send({ type: "hand.raise" });
  }

  lowerHand(): boolean {
    return this.#send({ type: "hand.lower" });
  }

  /** Host: lower someone else's hand. */
  lowerHandFor(personId: string): boolean {
    return this.#send({ type: "hand.lower_for", personId });
  }

  /** Host: let someone in from the lobby. */
  admit(personId: string): boolean {
    // Shown at once; the next snapshot confirms it.
    const sent = this.#send({ type: "lobby.admit", personId });
    if (sent) this.update((s) => ({ ...s, lobby: s.lobby.filter((e) => e.id !== personId) }));
    return sent;
  }

  /** Host: refuse someone waiting. */
  refuse(personId: string): boolean {
    const sent = this.#send({ type: "lobby.refuse", personId });
    if (sent) this.update((s) => ({ ...s, lobby: s.lobby.filter((e) => e.id !== personId) }));
    return sent;
  }

  /** Host: lock, lobby on/off, require accounts. */
  setSettings(settings: Partial<CallLinkSettings>): boolean {
    const sent = this.#send({ type: "settings.set", settings });
    if (sent) this.update((s) => ({ ...s, settings: { ...s.settings, ...settings } }));
    return sent;
  }

  #send(frame: CallLinkClientFrame): boolean {
    return this.#socket?.send({ ...frame, ref: `c${++this.#refs}` }) ?? false;
  }

  #onFrame(f: CallLinkServerFrame): void {
    switch (f.type) {
      case "call.snapshot":
        this.update((s) => ({
          ...s,
          status: "open",
          settings: f.settings,
          people: f.people,
          lobby: f.lobby,
          you: f.you,
          ended: f.ended,
        }));
        return;
      case "lobby.knocked":
        this.update((s) => ({ ...s, lobby: s.lobby.some((e) => e.id === f.entry.id) ? s.lobby : [...s.lobby, f.entry] }));
        this.#options.onKnock?.(f.entry);
        return;
      case "lobby.decided":
        this.update((s) => ({ ...s, you: s.you ? { ...s.you, admission: f.admitted ? "admitted" : "refused" } : s.you }));
        this.#options.onDecided?.(f.admitted);
        return;
      case "error":
        this.update((s) => ({ ...s, error: f.code }));
        return;
      case "done":
        return;
    }
  }
}
