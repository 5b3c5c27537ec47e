/**
 * Runes binding of ChannelClient: the client's fields mirrored as reactive state, refreshed
 * on each of its (coalesced) notifications. Components read these and call the client.
 */
import type { Message } from "$shared/chat";
import { ChannelClient, type ChannelChange, type ChannelNotice, type ConnectionState, type PendingSend, type TypingUser, type ClosedReason } from "./channel";

export class ChannelState {
  readonly client: ChannelClient;
  messages = $state.raw<readonly Message[]>([]);
  pending = $state.raw<readonly PendingSend[]>([]);
  typing = $state.raw<readonly TypingUser[]>([]);
  notices = $state.raw<readonly ChannelNotice[]>([]);
  connection = $state<ConnectionState>("connecting");
  closedReason = $state<ClosedReason | null>(null);
  hasBefore = $state(false);
  hasAfter = $state(false);
  loadingOlder = $state(false);
  loadingNewer = $state(false);
  loadingInitial = $state(true);
  historyError = $state<string | null>(null);
  headSeq = $state(0);
  lastReadSeq = $state(0);
  unreadAfterSeq = $state<number | null>(null);
  perms = $state<string | null>(null);
  pinsVersion = $state(0);
  /** Bumped whenever the window is replaced (first load, jump, resync). */
  windowVersion = $state(0);
  /** The last batch of others' messages that arrived live, for announcements and the pill. */
  lastAppended = $state.raw<readonly Message[]>([]);

  #unsubscribe: () => void;

  constructor(channelId: string, meId: string) {
    this.client = new ChannelClient(channelId, meId);
    this.#unsubscribe = this.client.subscribe((change) => this.#sync(change));
    this.client.start();
  }

  #sync(change: ChannelChange): void {
    const c = this.client;
    this.messages = c.messages;
    this.pending = c.pending;
    this.typing = c.typing;
    this.notices = c.notices;
    this.connection = c.connection;
    this.closedReason = c.closedReason;
    this.hasBefore = c.hasBefore;
    this.hasAfter = c.hasAfter;
    this.loadingOlder = c.loadingOlder;
    this.loadingNewer = c.loadingNewer;
    this.loadingInitial = c.loadingInitial;
    this.historyError = c.historyError;
    this.headSeq = c.headSeq;
    this.lastReadSeq = c.lastReadSeq;
    this.unreadAfterSeq = c.unreadAfterSeq;
    this.perms = c.perms;
    this.pinsVersion = c.pinsVersion;
    if (change.replaced) this.windowVersion++;
    if (change.appended.length) this.lastAppended = change.appended;
  }

  destroy(): void {
    this.#unsubscribe();
    this.client.destroy();
  }
}
