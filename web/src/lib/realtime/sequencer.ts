/**
 * The order of a channel's event stream on the client (docs/chat-protocol.md): events are
 * applied strictly in `seq` order and exactly once. An event ahead of the next seq waits in a
 * buffer until the gap is filled; one at or below the position is a duplicate (a replay
 * overlapping live frames) and is dropped. Pure bookkeeping — no socket, timers or clock:
 * ChannelCore decides when a gap is asked for again (`hello`) and what a resync loads.
 */

/** Held events past which reloading over HTTP is cheaper than waiting for the gap. */
export const MAX_BUFFERED = 2000;

export type Sequenced<E> =
  /** These events (none, one, or a run the gap was holding back) are next, in order. */
  | { kind: "apply"; events: E[] }
  /** Held: the stream has no position yet, or a seq before it is missing. */
  | { kind: "held" }
  /** At or below the position: already applied. */
  | { kind: "duplicate" }
  /** More than MAX_BUFFERED held: the sequencer has reset; reload over HTTP. */
  | { kind: "overflow" };

export class Sequencer<E extends { seq: number }> {
  #position: number | null = null;
  #held = new Map<number, E>();

  /** Seq of the last event applied (or of the history page the stream continues from); null before any. */
  get position(): number | null {
    return this.#position;
  }

  /** Events are held back waiting for a missing seq. */
  get waiting(): boolean {
    return this.#position !== null && this.#held.size > 0;
  }

  /** An event from the socket. */
  accept(event: E): Sequenced<E> {
    if (this.#position === null) {
      // Before the first history page: kept, and sorted out once the page says where the stream is.
      this.#held.set(event.seq, event);
      return { kind: "held" };
    }
    if (event.seq <= this.#position) return { kind: "duplicate" };
    this.#held.set(event.seq, event);
    const result = this.#drain();
    return result.kind === "apply" && !result.events.length ? { kind: "held" } : result;
  }

  /** The stream continues after `seq` (a history page's headSeq): what was held that now follows. */
  startAt(seq: number): Sequenced<E> {
    this.#position = seq;
    for (const held of this.#held.keys()) if (held <= seq) this.#held.delete(held);
    return this.#drain();
  }

  /** Forgets the position and everything held (a resync reloads from scratch). */
  reset(): void {
    this.#position = null;
    this.#held.clear();
  }

  #drain(): Sequenced<E> {
    // Everything held is past the position (accept() and startAt() see to it).
    const events: E[] = [];
    let next = this.#held.get(this.#position! + 1);
    while (next) {
      this.#held.delete(next.seq);
      events.push(next);
      this.#position = next.seq;
      next = this.#held.get(next.seq + 1);
    }
    if (this.#held.size > MAX_BUFFERED) {
      this.reset();
      return { kind: "overflow" };
    }
    return { kind: "apply", events };
  }
}
