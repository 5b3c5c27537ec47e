/**
 * Adds TFLite model metadata to MediaPipe's legacy selfie segmentation model (from
 * @mediapipe/selfie_segmentation) so that MediaPipe Tasks' ImageSegmenter — which
 * @livekit/track-processors uses — accepts it: the Tasks graph needs the input tensor's
 * NormalizationOptions (the legacy model takes RGB floats in [0, 1]: mean 0, std 255) and
 * refuses a float model without them. Run at build time by web/vite-effects.ts; nothing is
 * committed but this code.
 *
 * How: a TFLite model is a FlatBuffer (schema.fbs, `Model`), whose offsets point forward. The
 * new file is a new root `Model` table — the same fields, plus one more buffer holding the
 * metadata FlatBuffer (metadata_schema.fbs, `ModelMetadata`, identifier "M001") and a
 * `metadata` entry "TFLITE_METADATA" naming it — followed by the whole original file, which
 * the new table's fields point into. The original bytes are not changed (kept 64-byte aligned).
 */

/** A forward-only FlatBuffer writer: every offset it writes points to something written later. */
class Writer {
  bytes: number[] = [];
  /** u32 slots to fill with (target − slot) once the target's position is known: [slot, resolve]. */
  patches: [number, () => number][] = [];

  get pos(): number {
    return this.bytes.length;
  }
  align(n: number, extra = 0): void {
    while ((this.pos + extra) % n !== 0) this.bytes.push(0);
  }
  u8(v: number): void {
    this.bytes.push(v & 0xff);
  }
  u16(v: number): void {
    this.bytes.push(v & 0xff, (v >> 8) & 0xff);
  }
  u32(v: number): void {
    this.bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  f32(v: number): void {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.bytes.push(...b);
  }
  setU32(at: number, v: number): void {
    this.bytes[at] = v & 0xff;
    this.bytes[at + 1] = (v >>> 8) & 0xff;
    this.bytes[at + 2] = (v >>> 16) & 0xff;
    this.bytes[at + 3] = (v >>> 24) & 0xff;
  }
}

/** A table field: a byte, a u32, or an offset to something written after the table. */
type Field = { u8: number } | { u32: number } | { ref: (w: Writer) => number } | undefined;

/** Writes a table (its vtable just before it), then what its offset fields point to; returns the table's position. */
function table(w: Writer, fields: Field[]): number {
  // Layout: soffset, then 4-byte fields, then byte fields.
  const layout: { slot: number; at: number; f: NonNullable<Field> }[] = [];
  let size = 4;
  fields.forEach((f, slot) => {
    if (f && !("u8" in f)) {
      layout.push({ slot, at: size, f });
      size += 4;
    }
  });
  fields.forEach((f, slot) => {
    if (f && "u8" in f) {
      layout.push({ slot, at: size, f });
      size += 1;
    }
  });
  size = (size + 3) & ~3;
  const vtableSize = 4 + 2 * fields.length;
  w.align(4, vtableSize);
  const vtable = w.pos;
  w.u16(vtableSize);
  w.u16(size);
  for (let slot = 0; slot < fields.length; slot++) w.u16(layout.find((l) => l.slot === slot)?.at ?? 0);
  const start = w.pos;
  w.u32(start - vtable); // soffset to the vtable (positive: it is before)
  const refs: { at: number; ref: (w: Writer) => number }[] = [];
  for (const l of [...layout].sort((a, b) => a.at - b.at)) {
    while (w.pos < start + l.at) w.u8(0);
    if ("u8" in l.f) w.u8(l.f.u8);
    else if ("u32" in l.f) w.u32(l.f.u32);
    else {
      refs.push({ at: w.pos, ref: l.f.ref });
      w.u32(0);
    }
  }
  while (w.pos < start + size) w.u8(0);
  for (const r of refs) {
    const target = r.ref(w);
    w.setU32(r.at, target - r.at);
  }
  return start;
}

function str(s: string): (w: Writer) => number {
  return (w) => {
    w.align(4);
    const at = w.pos;
    const b = new TextEncoder().encode(s);
    w.u32(b.length);
    for (const x of b) w.u8(x);
    w.u8(0);
    return at;
  };
}
function floats(v: number[]): (w: Writer) => number {
  return (w) => {
    w.align(4);
    const at = w.pos;
    w.u32(v.length);
    for (const x of v) w.f32(x);
    return at;
  };
}
/** A vector of offsets to tables (or to absolute targets elsewhere). */
function refs(items: ((w: Writer) => number)[]): (w: Writer) => number {
  return (w) => {
    w.align(4);
    const at = w.pos;
    w.u32(items.length);
    const slots = items.map(() => {
      const s = w.pos;
      w.u32(0);
      return s;
    });
    items.forEach((item, i) => w.setU32(slots[i]!, item(w) - slots[i]!));
    return at;
  };
}

/** The ModelMetadata FlatBuffer ("M001") for an image segmenter with one RGB float input. */
export function segmenterMetadata(mean: number, std: number): Uint8Array {
  const w = new Writer();
  w.u32(0); // root offset, set below
  for (const c of "M001") w.u8(c.charCodeAt(0));
  const imageInput = (x: Writer) =>
    table(x, [
      { ref: str("image") }, // name
      undefined, // description
      undefined, // dimension_names
      {
        ref: (y) =>
          table(y, [
            { u8: 2 }, // content_properties_type: ImageProperties
            { ref: (z) => table(z, [{ u8: 1 } /* color_space: RGB */]) },
          ]),
      }, // content
      {
        ref: refs([
          (y) =>
            table(y, [
              { u8: 1 }, // options_type: NormalizationOptions
              { ref: (z) => table(z, [{ ref: floats([mean]) }, { ref: floats([std]) }]) },
            ]),
        ]),
      }, // process_units
    ]);
  const maskOutput = (x: Writer) => table(x, [{ ref: str("segmentation") }]);
  const root = table(w, [
    { ref: str("Selfie segmentation") }, // name
    undefined,
    undefined,
    { ref: refs([(x) => table(x, [undefined, undefined, { ref: refs([imageInput]) }, { ref: refs([maskOutput]) }])]) }, // subgraph_metadata
    undefined,
    undefined,
    undefined,
    { ref: str("1.0.0") }, // min_parser_version
  ]);
  w.setU32(0, root);
  return new Uint8Array(w.bytes);
}

/** Reads the original model: the root table's fields (absolute positions), buffers and metadata entries. */
function readModel(b: Uint8Array) {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u32 = (at: number) => dv.getUint32(at, true);
  const root = u32(0);
  const vtable = root - dv.getInt32(root, true);
  const vsize = dv.getUint16(vtable, true);
  const field = (slot: number): number | null => {
    if (4 + 2 * slot >= vsize) return null;
    const off = dv.getUint16(vtable + 4 + 2 * slot, true);
    return off ? root + off : null;
  };
  const target = (slot: number): number | null => {
    const at = field(slot);
    return at === null ? null : at + u32(at);
  };
  const elements = (vector: number | null): number[] => {
    if (vector === null) return [];
    const n = u32(vector);
    return Array.from({ length: n }, (_, i) => {
      const at = vector + 4 + 4 * i;
      return at + u32(at);
    });
  };
  const version = field(0) === null ? 0 : u32(field(0)!);
  return {
    version,
    operatorCodes: target(1),
    subgraphs: target(2),
    description: target(3),
    buffers: elements(target(4)),
    metadataBuffer: target(5),
    metadata: elements(target(6)),
    signatureDefs: target(7),
  };
}

/** The model with `metadata` added as its TFLITE_METADATA (see the header). */
export function withMetadata(model: Uint8Array, metadata: Uint8Array): Uint8Array {
  const old = readModel(model);
  if (String.fromCharCode(...model.subarray(4, 8)) !== "TFL3") throw new Error("not a TFLite model");
  const w = new Writer();
  w.u32(0);
  for (const c of "TFL3") w.u8(c.charCodeAt(0));
  const newBufferIndex = old.buffers.length;
  /** Slots that point into the original file: patched once its position in the new one is known. */
  const slotsIntoOld: { at: number; abs: number }[] = [];
  // The root table: the original's fields, with the buffers and metadata vectors extended.
  const fields: { slot: number; abs: number | null; make?: (x: Writer) => number; u32?: number }[] = [
    { slot: 0, abs: null, u32: old.version },
    { slot: 1, abs: old.operatorCodes },
    { slot: 2, abs: old.subgraphs },
    { slot: 3, abs: old.description },
    { slot: 4, abs: null, make: (x) => vectorMixed(x, old.buffers, [(y) => table(y, [{ ref: bytesVector(metadata) }])], slotsIntoOld) },
    { slot: 5, abs: old.metadataBuffer },
    { slot: 6, abs: null, make: (x) => vectorMixed(x, old.metadata, [(y) => table(y, [{ ref: str("TFLITE_METADATA") }, { u32: newBufferIndex }])], slotsIntoOld) },
    { slot: 7, abs: old.signatureDefs },
  ];
  const rootPos = table(
    w,
    fields.map((f) => {
      if (f.u32 !== undefined) return { u32: f.u32 };
      if (f.make) return { ref: f.make };
      if (f.abs === null) return undefined;
      // Points into the original: written now as a dummy, patched below (found through the vtable).
      return { ref: (x) => x.pos };
    }),
  );
  w.setU32(0, rootPos);
  // `table` stored (x.pos − slot) for the fields into the original; find those slots again
  // from the vtable and point them at the original's bytes.
  const base = (w.pos + 63) & ~63;
  const dv = new DataView(new Uint8Array(w.bytes).buffer);
  const vt = rootPos - dv.getInt32(rootPos, true);
  for (const f of fields) {
    if (f.u32 !== undefined || f.make || f.abs === null) continue;
    const at = rootPos + dv.getUint16(vt + 4 + 2 * f.slot, true);
    w.setU32(at, base + f.abs - at);
  }
  for (const s of slotsIntoOld) w.setU32(s.at, base + s.abs - s.at);
  w.align(64);
  const out = new Uint8Array(w.pos + model.length);
  out.set(w.bytes, 0);
  out.set(model, w.pos);
  return out;
}

/** A vector of offsets: first to tables of the original (`oldAbs`), then to new tables written after it. */
function vectorMixed(w: Writer, oldAbs: number[], added: ((w: Writer) => number)[], intoOld: { at: number; abs: number }[]): number {
  w.align(4);
  const at = w.pos;
  w.u32(oldAbs.length + added.length);
  for (const abs of oldAbs) {
    intoOld.push({ at: w.pos, abs });
    w.u32(0);
  }
  const slots = added.map(() => {
    const s = w.pos;
    w.u32(0);
    return s;
  });
  added.forEach((make, i) => w.setU32(slots[i]!, make(w) - slots[i]!));
  return at;
}

/** A [ubyte] vector whose data starts 16-byte aligned (Buffer.data is force_align: 16). */
function bytesVector(data: Uint8Array): (w: Writer) => number {
  return (w) => {
    w.align(16, 4);
    const at = w.pos;
    w.u32(data.length);
    for (const x of data) w.u8(x);
    return at;
  };
}

/** The legacy selfie segmentation model, ready for MediaPipe Tasks (RGB floats in [0, 1]). */
export function selfieModelForTasks(model: Uint8Array): Uint8Array {
  return withMetadata(model, segmenterMetadata(0, 255));
}
