/**
 * widget.js — the launcher a website embeds with
 *   <script src="https://<woxly>/widget.js" data-desk="<deskId>" async></script>
 * It asks Woxly for the desk's widget config (CORS: Woxly answers only allowed origins) and
 * draws nothing unless this page's origin is one of the desk's allowed origins. Everything it
 * draws lives in a shadow root on a host element pinned with inline `!important` styles, so
 * the page's CSS cannot restyle or hide it and its CSS cannot leak out. The panel is an iframe
 * of Woxly's own origin, made on the first open; it talks to this script by postMessage only
 * (launcher/messages.ts checks origin, source and shape of everything it reads).
 * No framework and no zod: this file is the whole launcher.
 */
import { chooseLanguage } from "../lang";
import { launcherConfig, originAllowed, panelMessage, restoreMessage, visibleMessage, type LauncherConfig } from "./messages";
import { fill, LAUNCHER_STRINGS, type LauncherStrings } from "./strings";
import { LAUNCHER_CSS } from "./styles";

const ICON_CHAT =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 2-2z"/></svg>';
const ICON_CLOSE =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7 4.3 4.3l6.3 6.3 6.3-6.3z"/></svg>';

/** The script tag that loaded this file: currentScript, else the last `…/widget.js` with data-desk. */
function ownScript(): HTMLScriptElement | null {
  const current = document.currentScript;
  if (current instanceof HTMLScriptElement && current.dataset.desk) return current;
  const all = Array.from(document.querySelectorAll<HTMLScriptElement>("script[data-desk]"));
  return all.reverse().find((s) => /\/widget\.js(\?|#|$)/.test(s.src)) ?? null;
}

/** Sets each property with `!important` through the CSSOM (allowed even where the page's CSP forbids inline styles). */
function pin(el: HTMLElement, styles: Record<string, string>): void {
  for (const [k, v] of Object.entries(styles)) el.style.setProperty(k, v, "important");
}

function styleRoot(root: ShadowRoot): void {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(LAUNCHER_CSS);
    root.adoptedStyleSheets = [sheet];
  } catch {
    const style = document.createElement("style");
    style.textContent = LAUNCHER_CSS;
    root.append(style);
  }
}

class Launcher {
  readonly #woxly: string;
  readonly #deskId: string;
  readonly #lang: string;
  readonly #t: LauncherStrings;
  readonly #config: LauncherConfig;
  readonly #storageKey: string;
  readonly #root: HTMLDivElement;
  readonly #button: HTMLButtonElement;
  readonly #badge: HTMLSpanElement;
  #panel: HTMLDivElement | null = null;
  #frame: HTMLIFrameElement | null = null;
  /** The panel said `ready` (until then its window is still about:blank of the host's origin). */
  #ready = false;
  #open = false;

  constructor(woxly: string, deskId: string, lang: string, t: LauncherStrings, config: LauncherConfig) {
    this.#woxly = woxly;
    this.#deskId = deskId;
    this.#lang = lang;
    this.#t = t;
    this.#config = config;
    this.#storageKey = `woxly:${deskId}:open`;

    const host = document.createElement("woxly-widget");
    pin(host, {
      all: "initial",
      display: "block",
      position: "fixed",
      inset: "auto 0 0 auto",
      width: "0",
      height: "0",
      "z-index": "2147483647",
      visibility: "visible",
      opacity: "1",
      transform: "none",
      filter: "none",
      contain: "none",
      "pointer-events": "auto",
    });
    host.dataset.desk = deskId;
    const shadow = host.attachShadow({ mode: "open" });
    styleRoot(shadow);

    this.#root = document.createElement("div");
    this.#root.className = "root";
    this.#root.style.setProperty("--woxly-colour", config.colour);
    this.#root.setAttribute("lang", lang);
    this.#button = document.createElement("button");
    this.#button.type = "button";
    this.#button.className = "launcher";
    this.#button.setAttribute("aria-expanded", "false");
    this.#button.addEventListener("click", () => this.toggle(true));
    this.#badge = document.createElement("span");
    this.#badge.className = "badge";
    this.#badge.hidden = true;
    this.#root.append(this.#button);
    shadow.append(this.#root);
    this.#drawButton();
    document.documentElement.append(host);

    window.addEventListener("message", (e) => this.#onMessage(e));
    this.#root.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.#open) this.close(true);
    });
    if (this.#remembered()) this.open(false);
  }

  #drawButton(): void {
    const label = this.#open ? this.#t.close : fill(this.#t.open, { name: this.#config.name });
    this.#button.innerHTML = this.#open ? ICON_CLOSE : ICON_CHAT; // our own constant markup, never user text
    this.#button.append(this.#badge);
    this.#button.setAttribute("aria-label", label);
    this.#button.title = label;
    this.#button.setAttribute("aria-expanded", String(this.#open));
  }

  #remembered(): boolean {
    try {
      return sessionStorage.getItem(this.#storageKey) === "1";
    } catch {
      return false;
    }
  }

  #remember(open: boolean): void {
    try {
      if (open) sessionStorage.setItem(this.#storageKey, "1");
      else sessionStorage.removeItem(this.#storageKey);
    } catch {
      // Storage blocked (privacy settings): the panel just starts closed on the next page.
    }
  }

  #makePanel(): HTMLDivElement {
    const panel = document.createElement("div");
    panel.className = "panel";
    panel.id = "woxly-panel";
    const frame = document.createElement("iframe");
    const src = new URL(`/widget/frame/${encodeURIComponent(this.#deskId)}`, this.#woxly);
    src.searchParams.set("lang", this.#lang);
    src.searchParams.set("origin", location.origin);
    src.searchParams.set("page", location.href.slice(0, 1500));
    frame.src = src.href;
    frame.title = fill(this.#t.frameTitle, { name: this.#config.name });
    frame.setAttribute("allow", "camera; microphone; display-capture; autoplay; clipboard-write");
    frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
    panel.append(frame);
    this.#frame = frame;
    this.#root.append(panel);
    this.#button.setAttribute("aria-controls", panel.id);
    return panel;
  }

  toggle(focus: boolean): void {
    if (this.#open) this.close(focus);
    else this.open(focus);
  }

  /** Shows the panel (made on the first open); `focus` moves keyboard focus into it. */
  open(focus: boolean): void {
    this.#panel ??= this.#makePanel();
    this.#panel.hidden = false;
    this.#open = true;
    this.#root.classList.add("open");
    this.#remember(true);
    this.#setUnread(0);
    this.#drawButton();
    this.#post(true);
    if (focus) this.#frame?.focus();
  }

  /** Hides the panel; `focus` returns keyboard focus to the launcher button. */
  close(focus: boolean): void {
    if (this.#panel) this.#panel.hidden = true;
    this.#open = false;
    this.#root.classList.remove("open");
    this.#remember(false);
    this.#drawButton();
    this.#post(false);
    if (focus) this.#button.focus();
  }

  #post(visible: boolean): void {
    if (this.#ready) this.#frame?.contentWindow?.postMessage(visibleMessage(this.#deskId, visible), this.#woxly);
  }

  /** The host-side copy of the visitor token, for a panel whose own storage is blocked. */
  #keptToken(token?: string | null): string | null {
    const key = `woxly:${this.#deskId}:visitor`;
    try {
      if (token === undefined) return localStorage.getItem(key);
      if (token === null) localStorage.removeItem(key);
      else localStorage.setItem(key, token);
    } catch {
      // The host's storage is blocked too: the conversation lasts as long as the page.
    }
    return null;
  }

  #setUnread(count: number): void {
    this.#badge.hidden = count === 0;
    this.#badge.textContent = count > 99 ? "99+" : String(count);
    this.#badge.setAttribute("aria-label", fill(this.#t.unread, { n: count }));
  }

  #onMessage(event: MessageEvent): void {
    const msg = panelMessage(event, this.#woxly, this.#frame?.contentWindow ?? null, this.#deskId);
    if (!msg) return;
    switch (msg.type) {
      case "ready":
        this.#ready = true;
        this.#frame?.contentWindow?.postMessage(restoreMessage(this.#deskId, this.#keptToken()), this.#woxly);
        this.#post(this.#open);
        return;
      case "remember":
        this.#keptToken(msg.token);
        return;
      case "close":
        this.close(true);
        return;
      case "unread":
        if (!this.#open) this.#setUnread(msg.count);
        return;
    }
  }
}

async function boot(): Promise<void> {
  const script = ownScript();
  const deskId = script?.dataset.desk;
  if (!script || !deskId) return;
  const woxly = new URL(script.src, location.href).origin;
  const lang = chooseLanguage(script.dataset.lang, navigator.languages ?? [navigator.language]);
  let config: LauncherConfig | null = null;
  try {
    const res = await fetch(`${woxly}/api/widget/desks/${encodeURIComponent(deskId)}`, { credentials: "omit", headers: { accept: "application/json" } });
    if (res.ok) config = launcherConfig(await res.json());
  } catch {
    // Not allowed here (no CORS answer), offline, or Woxly is down: draw nothing.
  }
  if (!config || !originAllowed(config, location.origin)) return;
  const start = () => new Launcher(woxly, deskId, lang, LAUNCHER_STRINGS[lang], config);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
  else start();
}

void boot();
