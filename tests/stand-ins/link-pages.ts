/**
 * A STAND-IN for the outside web and its DNS, for the link-preview tests (tests/link-previews*.test.ts,
 * tests/access-matrix-extras.test.ts): one Node HTTP server on 127.0.0.1, on the port
 * vitest.config.ts picked (LINK_PAGES_PORT), which the workers reach with the test allowance
 * LINK_PREVIEW_ALLOW_LOOPBACK=1. It is also the DNS-over-HTTPS endpoint of those tests
 * (LINK_PREVIEW_DOH_URL): `/dns-query?name=&type=A|AAAA` answers from NAMES in the JSON
 * format of cloudflare-dns.com, so no test traffic leaves loopback.
 *
 * Pages (see PAGES), and `GET /__hits?path=` — how often a path was fetched (cache tests).
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    linkPagesUrl: string;
  }
}

/** The names the stand-in DNS knows: A and AAAA answers. */
export const NAMES: Record<string, { A?: string[]; AAAA?: string[]; cname?: string }> = {
  "private.example.com": { A: ["10.0.0.7"] },
  "metadata.example.com": { A: ["169.254.169.254"] },
  "mixed.example.com": { A: ["93.184.216.34", "192.168.1.20"] },
  "v6private.example.com": { A: ["93.184.216.34"], AAAA: ["fd00::1"] },
  "mapped.example.com": { AAAA: ["::ffff:127.0.0.1"] },
  "nat64.example.com": { AAAA: ["64:ff9b::a00:1"] },
  "loop.example.com": { A: ["127.0.0.1"] },
  "cname.example.com": { cname: "private.example.com", A: ["10.0.0.7"] },
  "public.example.com": { A: ["93.184.216.34"], AAAA: ["2606:2800:220:1:248:1893:25c8:1946"] },
};

/** A 1×1 PNG. */
export const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");

function page(head: string, body = "<p>Body text that is not the description.</p>"): string {
  return `<!doctype html><html><head><meta charset="utf-8">${head}</head><body>${body}</body></html>`;
}

export function startLinkPages(port = 0): Promise<Server> {
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    if (path === "/__hits") return json(res, { hits: hits.get(url.searchParams.get("path") ?? "") ?? 0 });
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === "/dns-query") return dns(res, url);
    const html = (status: number, body: string, type = "text/html; charset=utf-8") => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    const redirect = (to: string) => {
      res.writeHead(302, { location: to });
      res.end();
    };
    switch (path) {
      case "/page":
      case "/page-again":
        return html(
          200,
          page(
            `<title>Fallback title</title>
             <meta property="og:title" content="The &quot;Stand-in&quot; &amp; <b>page</b>">
             <meta property="og:description" content="A page served on loopback for the link-preview tests.">
             <meta property="og:site_name" content="Stand-in Site">
             <meta property="og:image" content="/image.png">
             <script>document.title = "<script>not this</script>"</script>`,
          ),
        );
      case "/plain":
        return html(200, page(`<title>Only a title</title><meta name="description" content="Plain description">`));
      case "/oembed-page":
        return html(200, page(`<title></title><link rel="alternate" type="application/json+oembed" href="/oembed.json?x=1">`));
      case "/oembed.json":
        return json(res, { version: "1.0", type: "rich", title: "Title from oEmbed", provider_name: "Embed Provider", thumbnail_url: "/image.png", html: "<script>alert(1)</script>" });
      case "/no-tags":
        return html(200, "<html><body>nothing here</body></html>");
      case "/image.png":
        res.writeHead(200, { "content-type": "image/png", "content-length": String(PNG.length) });
        return res.end(PNG);
      case "/fake.png":
        return html(200, "<html>not an image</html>", "image/png");
      case "/image.svg":
        return html(200, `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`, "image/svg+xml");
      case "/huge.png": {
        res.writeHead(200, { "content-type": "image/png" });
        res.write(PNG.subarray(0, 8));
        // More than the proxy's cap, streamed without a length.
        const chunk = Buffer.alloc(64 * 1024, 1);
        let sent = 0;
        const more = () => {
          while (sent < 6 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return res.once("drain", more);
          }
          res.end();
        };
        res.on("error", () => {});
        return more();
      }
      case "/big-page": {
        // The tags first, then more than the page cap: reading stops at the cap and the tags are kept.
        res.writeHead(200, { "content-type": "text/html" });
        res.write(page(`<meta property="og:title" content="Big page">`, ""));
        res.on("error", () => {});
        res.end(Buffer.alloc(2 * 1024 * 1024, 0x20));
        return;
      }
      case "/json":
        return json(res, { title: "not a page" });
      case "/redirect-ok":
        return redirect("/page");
      case "/redirect-private":
        return redirect("http://169.254.169.254/latest/meta-data/");
      case "/redirect-private-name":
        return redirect("http://private.example.com/");
      case "/redirect-file":
        return redirect("file:///etc/passwd");
      case "/r1":
        return redirect("/r2");
      case "/r2":
        return redirect("/r3");
      case "/r3":
        return redirect("/r4");
      case "/r4":
        return redirect("/page");
      case "/page-with-private-image":
        return html(200, page(`<meta property="og:title" content="Private image"><meta property="og:image" content="http://10.0.0.1/x.png">`));
      case "/slow":
        // Never answers within the guard's time cap.
        setTimeout(() => html(200, page(`<meta property="og:title" content="Too late">`)), 8000).unref();
        return;
      default:
        return html(404, "not found");
    }
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function dns(res: ServerResponse, url: URL): void {
  const name = (url.searchParams.get("name") ?? "").toLowerCase().replace(/\.$/, "");
  const type = url.searchParams.get("type") === "AAAA" ? "AAAA" : "A";
  const entry = NAMES[name];
  if (!entry) return json(res, { Status: 3, Question: [{ name, type: type === "A" ? 1 : 28 }] });
  const answers: { name: string; type: number; TTL: number; data: string }[] = [];
  if (entry.cname) answers.push({ name, type: 5, TTL: 60, data: `${entry.cname}.` });
  for (const data of entry[type] ?? []) answers.push({ name: entry.cname ?? name, type: type === "A" ? 1 : 28, TTL: 60, data });
  json(res, { Status: 0, Answer: answers });
}

/** vitest globalSetup: starts the stand-in on LINK_PAGES_PORT (picked by vitest.config.ts) and provides its URL. */
export default async function setup(project: TestProject) {
  const server = await startLinkPages(Number(process.env.LINK_PAGES_PORT ?? 0));
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("link-pages stand-in did not bind");
  project.provide("linkPagesUrl", `http://127.0.0.1:${addr.port}`);
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}
