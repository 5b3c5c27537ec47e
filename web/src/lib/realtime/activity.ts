/**
 * Input activity of this browser tab: after `idleAfterMs` without keyboard, pointer, wheel or
 * touch input it reports idle, and active again on the next input. Framework-free.
 */
const EVENTS = ["pointerdown", "pointermove", "keydown", "wheel", "touchstart", "focus"] as const;

export interface ActivityWatcher {
  readonly idle: boolean;
  stop(): void;
}

/**
 * Watches `target` (the window) for input. `onchange(true)` when idle starts, `onchange(false)`
 * when input comes back. Checks once a `checkEveryMs`, so idle is reported at most that late.
 */
export function watchActivity(
  onchange: (idle: boolean) => void,
  opts: { idleAfterMs: number; checkEveryMs?: number; target?: Window; now?: () => number },
): ActivityWatcher {
  const target = opts.target ?? window;
  const now = opts.now ?? (() => Date.now());
  let last = now();
  let idle = false;

  const onInput = () => {
    last = now();
    if (idle) {
      idle = false;
      onchange(false);
    }
  };
  for (const name of EVENTS) target.addEventListener(name, onInput, { passive: true, capture: true });
  const timer = setInterval(() => {
    if (!idle && now() - last >= opts.idleAfterMs) {
      idle = true;
      onchange(true);
    }
  }, opts.checkEveryMs ?? 15_000);

  return {
    get idle() {
      return idle;
    },
    stop() {
      clearInterval(timer);
      for (const name of EVENTS) target.removeEventListener(name, onInput, { capture: true });
    },
  };
}
