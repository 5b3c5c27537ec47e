/**
 * Edge swipes for the phone drawers, framework-free: a touch that starts within EDGE px of
 * the left edge and moves right opens the navigation drawer; from the right edge moving left,
 * the member drawer. With a drawer open, a swipe back towards its edge closes it.
 */
export type SwipeAction = "open-nav" | "open-members" | "close";
export type DrawerOpen = "nav" | "members" | null;

/** How near an edge a swipe must start (px), and how far it must travel. */
export const EDGE = 28;
export const MIN_TRAVEL = 56;

/** What a finished swipe from (x0, y0) to (x1, y1) on a `width`-px-wide screen asks for. */
export function classifySwipe(x0: number, y0: number, x1: number, y1: number, width: number, open: DrawerOpen): SwipeAction | null {
  const dx = x1 - x0;
  const dy = y1 - y0;
  if (Math.abs(dx) < MIN_TRAVEL || Math.abs(dy) > Math.abs(dx)) return null;
  if (open === "nav") return dx < 0 ? "close" : null;
  if (open === "members") return dx > 0 ? "close" : null;
  if (dx > 0 && x0 <= EDGE) return "open-nav";
  if (dx < 0 && x0 >= width - EDGE) return "open-members";
  return null;
}

/** Listens for single-finger swipes on `target`; returns the function that stops listening. */
export function listenForSwipes(target: Document | HTMLElement, state: () => DrawerOpen, act: (a: SwipeAction) => void): () => void {
  let start: { x: number; y: number } | null = null;
  let last: { x: number; y: number } | null = null;
  const onStart = (e: Event) => {
    const t = (e as TouchEvent).touches;
    start = t.length === 1 ? { x: t[0]!.clientX, y: t[0]!.clientY } : null;
    last = start;
  };
  const onMove = (e: Event) => {
    const t = (e as TouchEvent).touches;
    if (start && t.length === 1) last = { x: t[0]!.clientX, y: t[0]!.clientY };
    else start = null;
    // A sideways move from an edge (or with a drawer open) is ours, not the browser's
    // back/forward gesture.
    if (start && last && e.cancelable && Math.abs(last.x - start.x) > Math.abs(last.y - start.y)) {
      const fromEdge = start.x <= EDGE || start.x >= window.innerWidth - EDGE;
      if (fromEdge || state()) e.preventDefault();
    }
  };
  const onEnd = () => {
    if (start && last) {
      const a = classifySwipe(start.x, start.y, last.x, last.y, window.innerWidth, state());
      if (a) act(a);
    }
    start = last = null;
  };
  const opts = { passive: true } as const;
  target.addEventListener("touchstart", onStart, opts);
  target.addEventListener("touchmove", onMove, { passive: false });
  target.addEventListener("touchend", onEnd, opts);
  target.addEventListener("touchcancel", onEnd, opts);
  return () => {
    target.removeEventListener("touchstart", onStart);
    target.removeEventListener("touchmove", onMove);
    target.removeEventListener("touchend", onEnd);
    target.removeEventListener("touchcancel", onEnd);
  };
}
