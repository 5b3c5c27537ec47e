/**
 * A stand-in for a customer's website: a tiny Node HTTP server on 127.0.0.1 (its own port, so
 * its own origin) serving a plain page that embeds the Woxly widget with one script tag, as the
 * embedding docs say (docs/support-desk-widget.md). Used by the widget's browser tests and the
 * full desk flow.
 *
 *   const site = await startThirdPartySite({ woxlyUrl, deskId });
 *   await page.goto(site.url);          // the launcher draws itself if site.origin is allowed
 *   await site.close();
 *
 * Pages: `/` the embedding page; `/?lang=ru` sets data-lang; `/direct-frame` frames the panel
 * page directly (no launcher), for the frame-ancestors check.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ThirdPartySiteOptions {
  /** Woxly's base URL, e.g. http://localhost:8787. */
  woxlyUrl: string;
  deskId: string;
  /**
   * Adds a hostile stylesheet that tries to hide, shrink and restyle everything on the page,
   * the widget's host element included (but leaves <html> itself alone: a page that hides its
   * own root shows nothing at all).
   */
  hostileCss?: boolean;
  /** A port to listen on (0 or absent: any free one). */
  port?: number;
}

export interface ThirdPartySite {
  /** The embedding page. */
  url: string;
  /** `http://127.0.0.1:<port>` — what the desk's allowedOrigins must list. */
  origin: string;
  close(): Promise<void>;
}

const HOSTILE_CSS = `
  body *, html > *:not(head):not(body) { display: none !important; }
  * { font-size: 0 !important; line-height: 0 !important; color: transparent !important; }
  woxly-widget, [data-desk] { display: none !important; visibility: hidden !important; opacity: 0 !important;
    transform: scale(0) !important; position: static !important; width: 0 !important; height: 0 !important;
    clip-path: inset(50%) !important; filter: blur(20px) !important; pointer-events: none !important; z-index: -1 !important; }
  button, iframe, div, span, svg { opacity: 0 !important; visibility: hidden !important; width: 1px !important; height: 1px !important;
    background: red !important; border-radius: 0 !important; }
  :root { --woxly-colour: #ff0000; }
  @layer hostile { woxly-widget { display: none !important; } }
`;

const escapeAttr = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

function embeddingPage(opts: ThirdPartySiteOptions, lang: string | null): string {
  const src = new URL("/widget.js", opts.woxlyUrl).href;
  const langAttr = lang ? ` data-lang="${escapeAttr(lang)}"` : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme shop</title>
<style>
  body { font: 16px/1.5 Georgia, serif; margin: 0; background: #fafaf7; color: #222; }
  main { max-width: 720px; margin: 0 auto; padding: 32px; }
  .page-button { font: 16px Georgia, serif; padding: 10px 18px; border: 2px solid #222; border-radius: 3px; background: #ffe680; }
</style>
${opts.hostileCss ? `<style id="hostile">${HOSTILE_CSS}</style>` : ""}
</head><body>
<main>
  <h1>Acme shop</h1>
  <p>Welcome to a website that is not Woxly. It embeds the support widget with one script tag.</p>
  <button class="page-button" type="button">Add to cart</button>
</main>
<script src="${escapeAttr(src)}" data-desk="${escapeAttr(opts.deskId)}"${langAttr} async></script>
</body></html>`;
}

function directFramePage(opts: ThirdPartySiteOptions): string {
  const src = new URL(`/widget/frame/${encodeURIComponent(opts.deskId)}`, opts.woxlyUrl).href;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Framing the panel</title></head>
<body><iframe id="direct" src="${escapeAttr(src)}" width="380" height="600" title="panel"></iframe></body></html>`;
}

export async function startThirdPartySite(opts: ThirdPartySiteOptions): Promise<ThirdPartySite> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const send = (status: number, body: string) => {
      res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(body);
    };
    if (url.pathname === "/") return send(200, embeddingPage(opts, url.searchParams.get("lang")));
    if (url.pathname === "/direct-frame") return send(200, directFramePage(opts));
    send(404, "<!doctype html><p>Not here.</p>");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/`,
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
