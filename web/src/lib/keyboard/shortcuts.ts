/**
 * The app's keyboard shortcuts, framework-free: which key press is which command, the list
 * the help sheet shows, and the pure navigation rules behind them (next channel, next
 * unread, the quick switcher's filter). web/src/lib/keyboard/Keyboard.svelte binds them.
 */

export type Command =
  | "switcher"
  | "help"
  | "nextChannel"
  | "prevChannel"
  | "nextUnread"
  | "prevUnread"
  | "markRead"
  | "toggleMute"
  | "toggleDeafen";

/** The parts of a KeyboardEvent the map looks at. */
export interface KeyPress {
  key: string;
  code?: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
  /** Whether focus is in a text field (then plain keys like `?` type text). */
  typing: boolean;
}

/** The shortcut sheet: each command with its keys as shown (Mod is Ctrl, or ⌘ on Apple). */
export const SHORTCUTS: readonly { command: Command; keys: readonly string[] }[] = [
  { command: "switcher", keys: ["Mod", "K"] },
  { command: "prevChannel", keys: ["Alt", "↑"] },
  { command: "nextChannel", keys: ["Alt", "↓"] },
  { command: "prevUnread", keys: ["Alt", "Shift", "↑"] },
  { command: "nextUnread", keys: ["Alt", "Shift", "↓"] },
  { command: "markRead", keys: ["Esc"] },
  { command: "toggleMute", keys: ["Mod", "Shift", "M"] },
  { command: "toggleDeafen", keys: ["Mod", "Shift", "D"] },
  { command: "help", keys: ["?"] },
];

/** The command a key press means, or null. `apple`: ⌘ is the modifier instead of Ctrl. */
export function commandFor(e: KeyPress, apple = false): Command | null {
  const mod = apple ? e.metaKey && !e.ctrlKey : e.ctrlKey && !e.metaKey;
  const letter = e.code?.startsWith("Key") ? e.code.slice(3).toLowerCase() : e.key.toLowerCase();
  if (mod && !e.altKey && !e.shiftKey && letter === "k") return "switcher";
  if (mod && !e.altKey && e.shiftKey && letter === "m") return "toggleMute";
  if (mod && !e.altKey && e.shiftKey && letter === "d") return "toggleDeafen";
  if (e.altKey && !e.ctrlKey && !e.metaKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
    const down = e.key === "ArrowDown";
    if (e.shiftKey) return down ? "nextUnread" : "prevUnread";
    return down ? "nextChannel" : "prevChannel";
  }
  if (e.key === "Escape" && !e.ctrlKey && !e.metaKey && !e.altKey && !e.shiftKey) return "markRead";
  if (e.key === "?" && !e.typing && !e.ctrlKey && !e.metaKey && !e.altKey) return "help";
  return null;
}

/** Somewhere the switcher and Alt+arrows can go. */
export interface Target {
  /** The channel's id (a DM's channel id, or a community's id for the community itself). */
  id: string;
  kind: "text" | "voice" | "dm" | "community";
  name: string;
  /** Where it is (the community's name), shown next to the name. */
  context?: string;
  href: string;
  unread: boolean;
}

/**
 * The target `dir` steps from `currentId` in `list` (wrapping around), only unread ones when
 * `unreadOnly`. From outside the list, down is the first and up the last. Null when none.
 */
export function step(list: readonly Target[], currentId: string | null, dir: 1 | -1, unreadOnly = false): Target | null {
  const n = list.length;
  if (!n) return null;
  const at = currentId === null ? -1 : list.findIndex((t) => t.id === currentId);
  const start = at === -1 ? (dir === 1 ? -1 : n) : at;
  for (let i = 1; i <= n; i++) {
    const t = list[(((start + dir * i) % n) + n) % n]!;
    if (t.id === currentId) continue;
    if (!unreadOnly || t.unread) return t;
  }
  return null;
}

function fold(s: string): string {
  return s.normalize("NFKD").replace(/\p{M}/gu, "").toLocaleLowerCase();
}

/**
 * The switcher's matches for `query`, best first: names starting with it, then containing it,
 * then whose letters appear in order; unread ones first within each. An empty query lists
 * unread targets first, then the rest, as given.
 */
export function filterTargets(list: readonly Target[], query: string, limit = 50): Target[] {
  const q = fold(query.trim().replace(/^[#@]/, ""));
  const scored: { t: Target; score: number; i: number }[] = [];
  list.forEach((t, i) => {
    const name = fold(t.name);
    let score: number;
    if (!q) score = 0;
    else if (name.startsWith(q)) score = 0;
    else if (name.includes(q)) score = 1;
    else if (subsequence(q, name)) score = 2;
    else return;
    scored.push({ t, score: score * 2 + (t.unread ? 0 : 1), i });
  });
  scored.sort((a, b) => a.score - b.score || a.i - b.i);
  return scored.slice(0, limit).map((s) => s.t);
}

function subsequence(q: string, s: string): boolean {
  let j = 0;
  for (const ch of s) if (ch === q[j]) j++;
  return j === q.length;
}

/** Whether this looks like an Apple platform (⌘ instead of Ctrl). */
export function isApple(platform: string): boolean {
  return /Mac|iPhone|iPad|iPod/i.test(platform);
}

/** The elements a Tab inside `root` may land on, in order. */
export function tabbables(root: HTMLElement): HTMLElement[] {
  const sel = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
  return Array.from(root.querySelectorAll<HTMLElement>(sel)).filter((el) => el.tabIndex >= 0 && !el.closest("[inert]") && el.getClientRects().length > 0);
}

/** Keeps Tab and Shift+Tab inside `root`. Returns true when it moved focus itself. */
export function trapTab(root: HTMLElement, e: Pick<KeyboardEvent, "key" | "shiftKey" | "preventDefault">): boolean {
  if (e.key !== "Tab") return false;
  const items = tabbables(root);
  if (!items.length) {
    e.preventDefault();
    return true;
  }
  const first = items[0]!;
  const last = items[items.length - 1]!;
  const active = root.ownerDocument.activeElement;
  if (e.shiftKey && (active === first || !root.contains(active))) {
    e.preventDefault();
    last.focus();
    return true;
  }
  if (!e.shiftKey && (active === last || !root.contains(active))) {
    e.preventDefault();
    first.focus();
    return true;
  }
  return false;
}
