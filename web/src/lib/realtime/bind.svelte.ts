/**
 * The one Svelte binding of a client core (see core.ts): its snapshot as a rune. Components
 * read `.current`; the core stays framework-free.
 */
import type { Listener } from "./core";

export interface Bound<S> {
  readonly current: S;
  /** Stops following the core (the core itself is not closed). */
  unbind(): void;
}

export function bind<S>(core: { subscribe(listener: Listener<S>): () => void; readonly state: S }): Bound<S> {
  let current = $state.raw(core.state);
  const unsubscribe = core.subscribe((s) => {
    current = s;
  });
  return {
    get current() {
      return current;
    },
    unbind: unsubscribe,
  };
}
