import { type Background, isBackground } from "./background";

/**
 * The member's voice settings, kept in this browser (localStorage): devices, audio processing,
 * push-to-talk, per-user volumes. Framework-free; `call.svelte.ts` wraps them in runes.
 */

export interface VoicePrefs {
  /** `""` = the system default device. */
  audioInput: string;
  audioOutput: string;
  videoInput: string;
  noiseSuppression: boolean;
  echoCancellation: boolean;
  autoGainControl: boolean;
  /** Talk only while `pushToTalkKey` is held (forced on where USE_VOICE_ACTIVITY is denied). */
  pushToTalk: boolean;
  /** A `KeyboardEvent.code`, e.g. "Backquote". */
  pushToTalkKey: string;
  /** Join/leave/mute sounds. */
  sounds: boolean;
  /** The camera's background effect (background.ts); "none" loads nothing. */
  background: Background;
}

export const DEFAULT_PREFS: VoicePrefs = {
  audioInput: "",
  audioOutput: "",
  videoInput: "",
  noiseSuppression: true,
  echoCancellation: true,
  autoGainControl: true,
  pushToTalk: false,
  pushToTalkKey: "Backquote",
  sounds: true,
  background: "none",
};

const KEY = "woxly.voice.prefs";

/** Reads the saved settings; unknown or mistyped fields fall back to the defaults. */
export function loadPrefs(storage: Pick<Storage, "getItem"> | null = safeStorage()): VoicePrefs {
  let raw: unknown = null;
  try {
    raw = JSON.parse(storage?.getItem(KEY) ?? "null");
  } catch {
    raw = null;
  }
  const out: VoicePrefs = { ...DEFAULT_PREFS };
  if (raw && typeof raw === "object") {
    const r = raw as Record<string, unknown>;
    for (const k of Object.keys(DEFAULT_PREFS) as (keyof VoicePrefs)[]) {
      const v = r[k];
      if (typeof v === typeof DEFAULT_PREFS[k]) (out as unknown as Record<string, unknown>)[k] = v;
    }
  }
  if (!isBackground(out.background)) out.background = "none";
  return out;
}

export function savePrefs(prefs: VoicePrefs, storage: Pick<Storage, "setItem"> | null = safeStorage()): void {
  try {
    storage?.setItem(KEY, JSON.stringify(prefs));
  } catch {
    // Storage full or disabled: the settings last for this page only.
  }
}

function safeStorage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

/** A readable name for a `KeyboardEvent.code` ("KeyV" → "V", "Backquote" → "`"). */
export function keyLabel(code: string): string {
  if (/^Key[A-Z]$/.test(code)) return code.slice(3);
  if (/^Digit\d$/.test(code)) return code.slice(5);
  const named: Record<string, string> = {
    Backquote: "` (Backquote)",
    Space: "Space",
    CapsLock: "Caps Lock",
    ShiftLeft: "Left Shift",
    ShiftRight: "Right Shift",
    ControlLeft: "Left Ctrl",
    ControlRight: "Right Ctrl",
    AltLeft: "Left Alt",
    AltRight: "Right Alt",
    Minus: "-",
    Equal: "=",
    BracketLeft: "[",
    BracketRight: "]",
    Backslash: "\\",
    Semicolon: ";",
    Quote: "'",
    Comma: ",",
    Period: ".",
    Slash: "/",
  };
  return named[code] ?? code.replace(/^Numpad/, "Num ");
}

/** Per-user playback volume in this browser, 0..1, keyed by the caller's stable id. */
const VOLUME_KEY = "woxly.voice.volumes";

export function loadVolumes(storage: Pick<Storage, "getItem"> | null = safeStorage()): Record<string, number> {
  try {
    const raw: unknown = JSON.parse(storage?.getItem(VOLUME_KEY) ?? "{}");
    if (!raw || typeof raw !== "object") return {};
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(raw)) if (typeof v === "number" && v >= 0 && v <= 1) out[k] = v;
    return out;
  } catch {
    return {};
  }
}

export function saveVolumes(volumes: Record<string, number>, storage: Pick<Storage, "setItem"> | null = safeStorage()): void {
  try {
    storage?.setItem(VOLUME_KEY, JSON.stringify(volumes));
  } catch {
    // As in savePrefs.
  }
}
