/**
 * Light/dark theme on `<html data-theme>`. static/theme-init.js sets it before first paint;
 * this keeps it in sync afterwards. Without a saved choice the OS preference is followed live.
 */
export type Theme = "light" | "dark";
export const THEME_STORAGE_KEY = "woxly.theme";

function isTheme(value: unknown): value is Theme {
  return value === "light" || value === "dark";
}

function readSaved(): Theme | null {
  try {
    const value = localStorage.getItem(THEME_STORAGE_KEY);
    return isTheme(value) ? value : null;
  } catch {
    return null;
  }
}

class ThemeState {
  current = $state<Theme>("dark");
  #started = false;

  /** Reads what theme-init.js applied and starts following the OS while nothing is saved. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const query = window.matchMedia("(prefers-color-scheme: dark)");
    const applied = document.documentElement.getAttribute("data-theme");
    this.current = isTheme(applied) ? applied : query.matches ? "dark" : "light";
    this.#apply();
    query.addEventListener("change", (event) => {
      if (readSaved()) return;
      this.current = event.matches ? "dark" : "light";
      this.#apply();
    });
  }

  set(value: Theme): void {
    this.current = value;
    this.#apply();
    try {
      localStorage.setItem(THEME_STORAGE_KEY, value);
    } catch {
      // Storage disabled: the choice lasts for this page only.
    }
  }

  toggle(): void {
    this.set(this.current === "dark" ? "light" : "dark");
  }

  #apply(): void {
    document.documentElement.setAttribute("data-theme", this.current);
  }
}

export const theme = new ThemeState();
