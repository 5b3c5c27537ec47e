/**
 * The launcher's CSS, inside its shadow root: nothing here reaches the host page, and the host
 * page's rules cannot reach in (the host element itself is pinned with inline !important
 * declarations in launcher.ts). `--woxly-colour` is the desk's colour.
 */
export const LAUNCHER_CSS = `
:host { all: initial !important; }
* { box-sizing: border-box; }
.root { position: fixed; right: 20px; bottom: 20px; z-index: 2147483647; display: block;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111; }
.launcher { all: unset; box-sizing: border-box; display: flex; align-items: center; justify-content: center;
  width: 56px; height: 56px; border-radius: 50%; background: var(--woxly-colour, #5865f2); color: #fff;
  cursor: pointer; box-shadow: 0 4px 16px rgba(0,0,0,.25); position: relative; transition: transform .15s; }
.launcher:hover { transform: scale(1.05); }
.launcher:focus-visible { outline: 3px solid #111; outline-offset: 3px; box-shadow: 0 0 0 6px #fff; }
.launcher svg { width: 28px; height: 28px; fill: currentColor; display: block; }
.badge { position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px; border-radius: 11px;
  background: #d93025; color: #fff; font: 700 12px/22px system-ui, sans-serif; text-align: center; border: 2px solid #fff; }
.badge[hidden] { display: none; }
.panel { position: fixed; right: 20px; bottom: 88px; width: 380px; height: 600px; max-height: calc(100vh - 108px);
  border-radius: 14px; overflow: hidden; box-shadow: 0 12px 48px rgba(0,0,0,.3); background: #fff; display: block; }
.panel[hidden] { display: none; }
.panel iframe { border: 0; width: 100%; height: 100%; display: block; color-scheme: normal; }
@media (max-width: 640px) {
  .panel { inset: 0; width: 100%; height: 100%; max-height: none; border-radius: 0; bottom: 0; right: 0; }
  .root.open .launcher { display: none; }
}
@media (prefers-reduced-motion: reduce) { .launcher { transition: none; } }
`;
