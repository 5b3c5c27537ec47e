/**
 * The panel's side of the postMessage channel with widget.js on the host page: who the host
 * is (the browser's own `ancestorOrigins` when it has them, else the launcher's `?origin=`,
 * and only if the desk allows it), what the panel reads (LauncherToPanel, from its parent
 * window and that origin only, parsed with the shared schema) and what it sends (PanelToLauncher,
 * to that exact origin).
 */
import { LauncherToPanel, type PanelToLauncher } from "$shared/desk";

/** The embedding page's origin, or null when it is not one of `allowed` (then nothing is sent). */
export function hostOrigin(ancestors: readonly string[] | null, param: string | null, allowed: readonly string[]): string | null {
  const candidate = ancestors?.[0] ?? param;
  if (!candidate) return null;
  const lower = candidate.toLowerCase();
  return allowed.some((o) => o.toLowerCase() === lower) ? candidate : null;
}

/** A launcher message from `parent` at `origin` for this desk; null for anything else. */
export function launcherMessage(event: { origin: string; source: unknown; data: unknown }, parent: unknown, origin: string | null, deskId: string): LauncherToPanel | null {
  if (!origin || event.origin !== origin || event.source !== parent || parent == null) return null;
  const parsed = LauncherToPanel.safeParse(event.data);
  return parsed.success && parsed.data.deskId === deskId ? parsed.data : null;
}

export interface HostLink {
  /** There is a host to talk to (framed by an allowed origin). */
  readonly connected: boolean;
  send(message: PanelToLauncher): void;
}

export function hostLink(target: { postMessage(message: unknown, targetOrigin: string): void } | null, origin: string | null): HostLink {
  return {
    connected: Boolean(target && origin),
    send(message) {
      if (target && origin) target.postMessage(message, origin);
    },
  };
}
