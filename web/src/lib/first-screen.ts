/**
 * The hand-over from the server-rendered first screen of a channel page (hooks.server.ts,
 * lib/server/first-screen.ts) to the app. The first screen covers the page until the app's
 * own channel view has rendered that channel's history; from the moment the app is up it
 * lies inert (no clicks, nothing for screen readers: the app's view is the one announced),
 * and it is removed once the channel view shows its messages, its empty start, or an error,
 * and on any navigation away from its channel. Framework-free; a no-op when the page came
 * without one.
 */

const ID = "first-screen";

function element(): HTMLElement | null {
  return typeof document === "undefined" ? null : document.getElementById(ID);
}

/** The app is up: the first screen stays visible above it, but out of the way of input and assistive technology. */
export function quietFirstScreen(): void {
  const el = element();
  if (!el) return;
  el.inert = true;
  el.setAttribute("aria-hidden", "true");
}

/** Removes the first screen (the app's view of the channel is rendered, or the app went elsewhere). */
export function dismissFirstScreen(): void {
  element()?.remove();
}

/** Removes the first screen unless `path` (a pathname) is the channel it shows. */
export function dismissFirstScreenUnless(path: string): void {
  const el = element();
  if (el && el.dataset["path"] !== path.replace(/\/$/, "")) el.remove();
}
