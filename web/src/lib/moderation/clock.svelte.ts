/** A clock that ticks once a second while something reads it (countdowns of timeouts and slowmode). */
import { createSubscriber } from "svelte/reactivity";

class Ticker {
  #subscribe = createSubscriber((update) => {
    const t = setInterval(update, 1000);
    return () => clearInterval(t);
  });
  /** ms since the epoch, fresh each second for its readers. */
  get now(): number {
    this.#subscribe();
    return Date.now();
  }
}

export const clock = new Ticker();
