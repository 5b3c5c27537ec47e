/**
 * Camera background effects' assets (web/src/lib/media/background.ts), served by Woxly itself
 * instead of a CDN: MediaPipe's vision wasm (from @mediapipe/tasks-vision's wasm/), the selfie
 * segmentation model (from @mediapipe/selfie_segmentation), and the built-in background
 * pictures, which are generated here (small gradient PNGs) so no binary is committed. The
 * build emits them under /effects/v1/ into the client output (so the Worker's static assets
 * serve them); the dev server answers the same paths from node_modules.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { deflateSync } from "node:zlib";
import type { Plugin } from "vite";
import { selfieModelForTasks } from "./tflite-metadata";

const EFFECTS_BASE = "effects/v1";
/** An installed package's folder (the repository's one node_modules; the packages' `exports` hide package.json). */
function packageDir(name: string): string {
  return path.resolve(import.meta.dirname, "..", "node_modules", name);
}

/** path under /effects/v1/ → a function giving the bytes */
function assets(): Map<string, () => Buffer> {
  const wasm = path.join(packageDir("@mediapipe/tasks-vision"), "wasm");
  const model = path.join(packageDir("@mediapipe/selfie_segmentation"), "selfie_segmentation.tflite");
  const out = new Map<string, () => Buffer>();
  for (const f of ["vision_wasm_internal.js", "vision_wasm_internal.wasm", "vision_wasm_nosimd_internal.js", "vision_wasm_nosimd_internal.wasm"]) {
    out.set(`wasm/${f}`, () => readFileSync(path.join(wasm, f)));
  }
  // The legacy model with the metadata MediaPipe Tasks needs (web/tflite-metadata.ts).
  out.set("selfie_segmentation.tflite", () => Buffer.from(selfieModelForTasks(readFileSync(model))));
  out.set("backgrounds/dusk.png", () => gradientPng([[43, 16, 85], [215, 109, 119], [255, 175, 123]]));
  out.set("backgrounds/forest.png", () => gradientPng([[19, 78, 94], [52, 120, 98], [113, 178, 128]], 24));
  out.set("backgrounds/paper.png", () => gradientPng([[244, 239, 230], [236, 228, 214]], 8));
  return out;
}

const TYPES: Record<string, string> = { ".js": "text/javascript", ".wasm": "application/wasm", ".tflite": "application/octet-stream", ".png": "image/png" };

export function effectsAssets(): Plugin {
  let ssr = false;
  return {
    name: "woxly-effects-assets",
    configResolved(config) {
      ssr = !!config.build.ssr;
    },
    generateBundle() {
      // The client build only (the server bundle serves no static files).
      const env = (this as unknown as { environment?: { name?: string } }).environment;
      if (env?.name ? env.name !== "client" : ssr) return;
      for (const [name, bytes] of assets()) this.emitFile({ type: "asset", fileName: `${EFFECTS_BASE}/${name}`, source: bytes() });
    },
    configureServer(server) {
      const all = assets();
      server.middlewares.use((req, res, next) => {
        const url = (req.url ?? "").split("?")[0]!;
        const prefix = `/${EFFECTS_BASE}/`;
        const get = url.startsWith(prefix) ? all.get(url.slice(prefix.length)) : undefined;
        if (!get) return next();
        res.setHeader("content-type", TYPES[path.extname(url)] ?? "application/octet-stream");
        res.end(get());
      });
    },
  };
}

/** A 640×360 PNG: a vertical gradient through `stops` (RGB), with soft horizontal bands every `band` px if given. */
function gradientPng(stops: [number, number, number][], band = 0): Buffer {
  const w = 640;
  const h = 360;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    const t = (y / (h - 1)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(t));
    const f = t - i;
    const shade = band ? 1 - 0.04 * Math.sin((y / band) * Math.PI) ** 2 : 1;
    const rgb = stops[i]!.map((c, k) => Math.round((c + (stops[i + 1]![k]! - c) * f) * shade));
    const row = y * (w * 3 + 1);
    for (let x = 0; x < w; x++) raw.set(rgb, row + 1 + x * 3);
  }
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}
