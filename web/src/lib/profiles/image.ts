/**
 * Images made in the browser before upload (Workers have no image library): a square crop
 * drawn at the served size (avatars) and a static emoji scaled to fit. Encoded as WebP,
 * or PNG where the browser cannot encode WebP; the quality steps down until the bytes fit.
 * DOM only (canvas, createImageBitmap).
 */

/** Decodes a picked file (first frame of an animation). */
export function decode(file: Blob): Promise<ImageBitmap> {
  return createImageBitmap(file);
}

/** A square of the source, in source px. */
export interface SquareCrop {
  x: number;
  y: number;
  side: number;
}

async function encode(canvas: HTMLCanvasElement, maxBytes: number): Promise<Blob> {
  for (const quality of [0.92, 0.85, 0.75, 0.6, 0.45]) {
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/webp", quality));
    if (blob && blob.type === "image/webp" && blob.size <= maxBytes) return blob;
    if (blob && blob.type !== "image/webp") break;
  }
  const png = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/png"));
  if (!png || png.size > maxBytes) throw new Error("image_too_large");
  return png;
}

function canvasOf(width: number, height: number): [HTMLCanvasElement, CanvasRenderingContext2D] {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const g = canvas.getContext("2d");
  if (!g) throw new Error("no_canvas");
  g.imageSmoothingQuality = "high";
  return [canvas, g];
}

/** The crop drawn at `size`×`size` px, encoded within `maxBytes`. */
export function cropSquare(img: ImageBitmap, crop: SquareCrop, size: number, maxBytes: number): Promise<Blob> {
  const [canvas, g] = canvasOf(size, size);
  g.drawImage(img, crop.x, crop.y, crop.side, crop.side, 0, 0, size, size);
  return encode(canvas, maxBytes);
}

/** The whole image scaled to fit `size`×`size` px (never enlarged), encoded within `maxBytes`. */
export function fitWithin(img: ImageBitmap, size: number, maxBytes: number): Promise<Blob> {
  const scale = Math.min(1, size / Math.max(img.width, img.height));
  const w = Math.max(1, Math.round(img.width * scale));
  const h = Math.max(1, Math.round(img.height * scale));
  const [canvas, g] = canvasOf(w, h);
  g.drawImage(img, 0, 0, w, h);
  return encode(canvas, maxBytes);
}

/** Width and height of a picked image, px (animated emoji are sent as they are, so they must already fit). */
export async function pixelSize(file: Blob): Promise<{ width: number; height: number }> {
  const img = await createImageBitmap(file);
  const size = { width: img.width, height: img.height };
  img.close();
  return size;
}
