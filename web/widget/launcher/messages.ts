/**
 * Which postMessage events widget.js reads: only those from the Woxly origin AND from its own
 * panel iframe's window, for its own desk, shaped as PanelToLauncher (workers/shared/desk.ts).
 * The shape is checked by hand so that zod stays out of the launcher. Pure.
 */
import type { LauncherToPanel, PanelToLauncher } from "../../../workers/shared/desk";

export interface MessageEventLike {
  origin: string;
  source: unknown;
  data: unknown;
}

/** The panel's message, or null for anything from elsewhere or of another shape. */
export function panelMessage(event: MessageEventLike, woxlyOrigin: string, frame: unknown, deskId: string): PanelToLauncher | null {
  if (event.origin !== woxlyOrigin || frame == null || event.source !== frame) return null;
  const d = event.data;
  if (typeof d !== "object" || d === null) return null;
  const m = d as Record<string, unknown>;
  if (m.woxly !== 1 || m.deskId !== deskId) return null;
  switch (m.type) {
    case "ready":
      return { woxly: 1, type: "ready", deskId };
    case "close":
      return { woxly: 1, type: "close", deskId };
    case "unread": {
      const count = m.count;
      if (typeof count !== "number" || !Number.isInteger(count) || count < 0) return null;
      return { woxly: 1, type: "unread", deskId, count };
    }
    case "remember": {
      const token = m.token;
      if (token !== null && (typeof token !== "string" || token.length > 200)) return null;
      return { woxly: 1, type: "remember", deskId, token };
    }
    default:
      return null;
  }
}

/** The message telling the panel it was shown or hidden. */
export function visibleMessage(deskId: string, visible: boolean): LauncherToPanel {
  return { woxly: 1, type: "visible", deskId, visible };
}

/** The token kept for a panel without storage of its own (null: none). */
export function restoreMessage(deskId: string, token: string | null): LauncherToPanel {
  return { woxly: 1, type: "restore", deskId, token };
}

/** The WidgetConfig fields the launcher uses, checked by hand; null when the answer is not one. */
export interface LauncherConfig {
  name: string;
  colour: string;
  allowedOrigins: string[];
}

export function launcherConfig(raw: unknown): LauncherConfig | null {
  if (typeof raw !== "object" || raw === null) return null;
  const c = raw as Record<string, unknown>;
  if (typeof c.name !== "string" || typeof c.colour !== "string" || !Array.isArray(c.allowedOrigins)) return null;
  if (!c.allowedOrigins.every((o): o is string => typeof o === "string")) return null;
  const colour = /^#[0-9a-fA-F]{6}$/.test(c.colour) ? c.colour : "#5865f2";
  return { name: c.name, colour, allowedOrigins: c.allowedOrigins };
}

/** The host page may show the widget: its origin is one the desk allows. */
export function originAllowed(config: LauncherConfig, origin: string): boolean {
  return config.allowedOrigins.some((o) => o.toLowerCase() === origin.toLowerCase());
}
