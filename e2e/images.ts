/** Real image files for browser tests (uploads, paste, avatars, emoji). */
import { crc32, deflateSync } from "node:zlib";

/**
 * A valid `w`×`h` RGBA PNG of one colour (`rgb`), with a white diagonal stripe when `stripe`
 * (so a crop or a scale can be seen in a screenshot).
 */
export function png(w: number, h: number, rgb: [number, number, number] = [0x6f, 0x6f, 0x6f], stripe = false): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  const rows = Buffer.alloc((w * 4 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const on = stripe && Math.abs(x - y) < Math.max(2, w / 12);
      rows.set(on ? [255, 255, 255, 255] : [...rgb, 255], y * (w * 4 + 1) + 1 + x * 4);
    }
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}
