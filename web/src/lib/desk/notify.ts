/**
 * How the panel tells a manager about a new request: a short chime made with Web Audio (no
 * asset) and, while the tab is hidden, a browser notification. Permission is asked only from a
 * click (the "Available" switch or the bell), never on page load.
 */
import { playTone } from "$lib/media/tones";

/** The browser can show notifications at all. */
export function notificationsSupported(): boolean {
  return typeof window !== "undefined" && "Notification" in window;
}

export function notificationPermission(): NotificationPermission | "unsupported" {
  return notificationsSupported() ? Notification.permission : "unsupported";
}

/** Asks once (from a user's click); answers what the browser decided. */
export async function askNotifications(): Promise<NotificationPermission | "unsupported"> {
  if (!notificationsSupported()) return "unsupported";
  if (Notification.permission !== "default") return Notification.permission;
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

/** A chime, and a notification when the tab is hidden and allowed; clicking it focuses the tab. */
export function announceRequest(opts: { title: string; body: string; tag: string; sound: boolean; onclick?: () => void }): void {
  if (opts.sound) playTone("join", 0.15);
  if (typeof document === "undefined" || !document.hidden || notificationPermission() !== "granted") return;
  try {
    const n = new Notification(opts.title, { body: opts.body, tag: opts.tag });
    n.onclick = () => {
      window.focus();
      opts.onclick?.();
      n.close();
    };
  } catch {
    // Some browsers allow notifications only from a service worker; the chime still played.
  }
}
