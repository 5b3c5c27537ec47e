/**
 * The browser side of notifications: the Notification API (permission asked only when the
 * member acts: opening notification settings), a short chime (Web Audio), the tab title's
 * `(N) ` count kept across the pages' own title changes, and a favicon badge with the count.
 */
import { type Shown, titleWithCount } from "./core";

export function notificationsSupported(): boolean {
  return typeof window !== "undefined" && "Notification" in window;
}

/** Asks for permission once, when it has not been decided yet; never on page load. */
export async function askPermission(): Promise<NotificationPermission | "unsupported"> {
  if (!notificationsSupported()) return "unsupported";
  if (Notification.permission !== "default") return Notification.permission;
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

/** Shows a system notification; a click focuses the tab and calls `open`. */
export function showNotification(n: Shown, open: (n: Shown) => void): void {
  if (!notificationsSupported() || Notification.permission !== "granted") return;
  try {
    const shown = new Notification(n.title, { body: n.body, tag: `${n.channelId}:${n.messageId}`, icon: "/favicon.svg" });
    shown.onclick = () => {
      window.focus();
      shown.close();
      open(n);
    };
  } catch {
    // Some browsers only allow notifications from a service worker; nothing to show then.
  }
}

let audio: AudioContext | null = null;

/** A short two-note chime. Silent when audio is not allowed yet. */
export function playChime(): void {
  try {
    const Ctx = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Ctx) return;
    audio ??= new Ctx();
    const t = audio.currentTime;
    for (const [i, freq] of [880, 1320].entries()) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t + i * 0.12);
      gain.gain.exponentialRampToValueAtTime(0.15, t + i * 0.12 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.12 + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + i * 0.12);
      osc.stop(t + i * 0.12 + 0.3);
    }
  } catch {
    // No sound; the notification still shows.
  }
}

/**
 * Keeps `(N) ` in front of the tab title, whatever title the pages set; and a badge on the
 * favicon. Returns a function that sets the count, and `stop`.
 */
export function tabBadge(): { set(count: number): void; stop(): void } {
  let count = 0;
  const apply = () => {
    const want = titleWithCount(document.title, count);
    if (document.title !== want) document.title = want;
  };
  const observer = new MutationObserver(apply);
  observer.observe(document.head, { subtree: true, childList: true, characterData: true });
  const icon = faviconBadge();
  return {
    set(n: number) {
      if (n === count) return;
      count = n;
      apply();
      icon.set(n);
    },
    stop() {
      observer.disconnect();
      count = 0;
      apply();
      icon.set(0);
    },
  };
}

function faviconBadge(): { set(count: number): void } {
  let original: { href: string; type: string } | null = null;
  const link = (): HTMLLinkElement => {
    let el = document.querySelector<HTMLLinkElement>("link[rel~='icon']");
    if (!el) {
      el = document.createElement("link");
      el.rel = "icon";
      document.head.append(el);
    }
    return el;
  };
  return {
    set(count: number) {
      const el = link();
      original ??= { href: el.href || "/favicon.svg", type: el.type };
      if (count <= 0) {
        el.href = original.href;
        el.type = original.type;
        delete el.dataset.badge;
        return;
      }
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 32;
      const g = canvas.getContext("2d");
      if (!g) return;
      g.fillStyle = "#5865f2";
      g.beginPath();
      g.arc(16, 16, 14, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = "#ed4245";
      g.beginPath();
      g.arc(22, 10, 10, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = "#fff";
      g.font = "bold 13px sans-serif";
      g.textAlign = "center";
      g.textBaseline = "middle";
      g.fillText(count > 9 ? "9+" : String(count), 22, 11);
      el.type = "image/png";
      el.href = canvas.toDataURL("image/png");
      el.dataset.badge = String(count);
    },
  };
}
