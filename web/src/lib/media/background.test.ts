/**
 * Background effects' pure parts (Node): the saved choice is read back safely, raised hands are
 * ordered by time, and the build-time model patch (web/tflite-metadata.ts) gives the legacy
 * selfie model a TFLITE_METADATA buffer holding an "M001" ModelMetadata, leaving the original
 * bytes untouched after the new root.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { byRaisedAt } from "$shared/voice-hands";
import { BACKGROUNDS, isBackground } from "./background";
import { DEFAULT_PREFS, loadPrefs } from "./prefs";
import { selfieModelForTasks, segmenterMetadata } from "../../../tflite-metadata";

const store = (v: unknown) => ({ getItem: () => JSON.stringify(v) });

describe("background choice", () => {
  it("is one of the known effects, else none", () => {
    expect(BACKGROUNDS).toEqual(["none", "blur", "dusk", "forest", "paper"]);
    expect(isBackground("blur")).toBe(true);
    expect(isBackground("lava")).toBe(false);
    expect(DEFAULT_PREFS.background).toBe("none");
    expect(loadPrefs(store({ background: "forest" })).background).toBe("forest");
    expect(loadPrefs(store({ background: "javascript:alert(1)" })).background).toBe("none");
    expect(loadPrefs(store({ background: 3 })).background).toBe("none");
  });
});

describe("raised hands order", () => {
  it("earliest first, ties by user id, lowered ones left out", () => {
    const s = [
      { userId: "b", handRaisedAt: 20 },
      { userId: "c" },
      { userId: "a", handRaisedAt: 20 },
      { userId: "d", handRaisedAt: 5 },
    ];
    expect(byRaisedAt(s).map((x) => x.userId)).toEqual(["d", "a", "b"]);
  });
});

describe("the selfie model for MediaPipe Tasks", () => {
  const original = new Uint8Array(readFileSync(path.resolve(import.meta.dirname, "../../../../node_modules/@mediapipe/selfie_segmentation/selfie_segmentation.tflite")));
  const out = selfieModelForTasks(original);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const u32 = (a: number) => dv.getUint32(a, true);
  const root = u32(0);
  const vt = root - dv.getInt32(root, true);
  const field = (table: number, slot: number) => {
    const v = table - dv.getInt32(table, true);
    const o = dv.getUint16(v + 4 + 2 * slot, true);
    return o ? table + o : null;
  };
  const deref = (at: number | null) => (at === null ? null : at + u32(at));
  const vector = (at: number | null) => (at === null ? [] : Array.from({ length: u32(at) }, (_, i) => deref(at + 4 + 4 * i)!));
  const str = (at: number | null) => (at === null ? null : new TextDecoder().decode(out.subarray(at + 4, at + 4 + u32(at))));

  it("keeps the original bytes, 64-byte aligned, after a new root", () => {
    expect(String.fromCharCode(...out.subarray(4, 8))).toBe("TFL3");
    const at = out.length - original.length;
    expect(at % 64).toBe(0);
    expect(out.subarray(at)).toEqual(original);
    expect(vt).toBeLessThan(root);
  });

  it("adds one buffer with the M001 metadata and names it TFLITE_METADATA", () => {
    const buffers = vector(deref(field(root, 4)));
    const metadata = vector(deref(field(root, 6)));
    const entry = metadata[metadata.length - 1]!;
    expect(str(deref(field(entry, 0)))).toBe("TFLITE_METADATA");
    const index = u32(field(entry, 1)!);
    expect(index).toBe(buffers.length - 1);
    const data = deref(field(buffers[index]!, 0))!;
    expect((data + 4) % 16).toBe(0);
    const meta = out.subarray(data + 4, data + 4 + u32(data));
    expect(meta).toEqual(segmenterMetadata(0, 255));
    expect(String.fromCharCode(...meta.subarray(4, 8))).toBe("M001");
    // The subgraphs and operator codes still point at the original's tables.
    expect(deref(field(root, 2))).toBeGreaterThan(out.length - original.length);
  });
});
