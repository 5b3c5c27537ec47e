import { describe, expect, it } from "vitest";
import type { FileLinks as Links } from "$shared/desk";
import { FileLinks, LINKS_PER_REQUEST, LINK_MARGIN_MS } from "./files";

function server(now: () => number, known: Set<string>) {
  const asked: string[][] = [];
  const fetchLinks = async (ids: string[]): Promise<Links> => {
    asked.push(ids);
    return { links: Object.fromEntries(ids.filter((id) => known.has(id)).map((id) => [id, `/attachments/c/${id}/f?vt=t${asked.length}`])), expiresAt: now() + 30 * 60_000 };
  };
  return { asked, fetchLinks };
}

describe("FileLinks", () => {
  it("asks once for missing links, keeps them, and does not ask again for refused ids", async () => {
    let t = 1_000_000;
    const s = server(() => t, new Set(["a", "b"]));
    const files = new FileLinks(s.fetchLinks, () => t);
    expect(files.url("a")).toBeNull();
    expect(await files.load(["a", "b", "x", "a"])).toBe(true);
    expect(s.asked).toEqual([["a", "b", "x"]]);
    expect(files.url("a")).toBe("/attachments/c/a/f?vt=t1");
    expect(await files.load(["a", "b", "x"])).toBe(false);
    expect(s.asked).toHaveLength(1);
    // Near expiry: asked again.
    t += 30 * 60_000 - LINK_MARGIN_MS + 1;
    expect(files.url("a")).toBeNull();
    expect(await files.load(["a"])).toBe(true);
    expect(files.url("a")).toBe("/attachments/c/a/f?vt=t2");
  });

  it("splits large requests, does not ask twice while a request is out, and retries after a failure", async () => {
    const ids = Array.from({ length: LINKS_PER_REQUEST + 3 }, (_, i) => `id${i}`);
    const s = server(() => 0, new Set(ids));
    const files = new FileLinks(s.fetchLinks, () => 0);
    const first = files.load(ids);
    expect(files.missing(ids)).toEqual([]);
    await first;
    expect(s.asked.map((a) => a.length)).toEqual([LINKS_PER_REQUEST, 3]);

    let fail = true;
    const flaky = new FileLinks(async (x) => {
      if (fail) throw new Error("offline");
      return { links: { [x[0]!]: "/u" }, expiresAt: Date.now() + 60 * 60_000 };
    });
    expect(await flaky.load(["z"])).toBe(false);
    fail = false;
    expect(await flaky.load(["z"])).toBe(true);
    expect(flaky.url("z")).toBe("/u");
  });
});
