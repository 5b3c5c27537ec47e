/**
 * The one shape of Woxly's framework-free client cores (channel, hub, inbox, call): an
 * immutable snapshot `state` and listeners told after each change. A core owns its socket
 * and timers; `bind.svelte.ts` turns any core into runes in one place, so components only
 * render. Cores import nothing from Svelte and run under Node in unit tests.
 */
export type Listener<S> = (state: S) => void;

export abstract class Core<S> {
  #state: S;
  readonly #listeners = new Set<Listener<S>>();

  protected constructor(initial: S) {
    this.#state = initial;
  }

  /** The current snapshot; replaced (never mutated) on every change. */
  get state(): S {
    return this.#state;
  }

  /** Calls `listener` now and after every change; returns the unsubscribe function. */
  subscribe(listener: Listener<S>): () => void {
    this.#listeners.add(listener);
    listener(this.#state);
    return () => this.#listeners.delete(listener);
  }

  /** Replaces the snapshot and tells the listeners; a result identical to the current one changes nothing. */
  protected update(next: S | ((s: S) => S)): void {
    const value = typeof next === "function" ? (next as (s: S) => S)(this.#state) : next;
    if (value === this.#state) return;
    this.#state = value;
    for (const l of [...this.#listeners]) l(value);
  }
}
