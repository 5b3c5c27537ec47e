/**
 * The phone and tablet drawers (see the shell layout): the navigation drawer (community rail
 * and channel list, ≤ 640 px wide or a phone on its side) and the member drawer (≤ 900 px).
 * Opening one moves focus into it; closing returns focus to the button that opened it.
 */
import { tick } from "svelte";
import type { DrawerOpen } from "./swipe";

/** Where the navigation drawer is used (mirrored in the shell's CSS). */
export const PHONE_QUERY = "(max-width: 640px), (max-height: 480px)";
/** Where the member list is a drawer (mirrored in the shell's CSS). */
export const NARROW_QUERY = "(max-width: 900px), (max-height: 480px)";

class Drawers {
  open = $state<DrawerOpen>(null);
  #opener: HTMLElement | null = null;

  /** Whether `side` is a drawer at the current window size. */
  applies(side: "nav" | "members"): boolean {
    return typeof matchMedia === "function" && matchMedia(side === "nav" ? PHONE_QUERY : NARROW_QUERY).matches;
  }

  async show(side: "nav" | "members", opener: HTMLElement | null = null) {
    this.#opener = opener ?? (document.querySelector<HTMLElement>(`[data-drawer-button="${side}"]`) || null);
    this.open = side;
    await tick();
    const root = document.querySelector<HTMLElement>(side === "nav" ? ".sidebar" : ".side");
    const target =
      root?.querySelector<HTMLElement>('[aria-current="page"]') ?? root?.querySelector<HTMLElement>('a[href], button:not([disabled]), [tabindex="0"]');
    target?.focus({ preventScroll: true });
  }

  /** Closes the open drawer; `restoreFocus` returns focus to its button (not after navigating). */
  close(restoreFocus = true) {
    if (!this.open) return;
    const opener = this.#opener;
    this.open = null;
    this.#opener = null;
    if (restoreFocus && opener?.isConnected) opener.focus({ preventScroll: true });
  }

  toggle(side: "nav" | "members", opener: HTMLElement | null) {
    if (this.open === side) this.close();
    else void this.show(side, opener);
  }
}

export const drawers = new Drawers();
