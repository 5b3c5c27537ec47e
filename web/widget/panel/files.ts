/**
 * The visitor's side of files in the ticket's room (docs/support-desk.md "Files"): uploads go
 * to POST /api/uploads/widget (WidgetApi.upload); files are opened with signed links from
 * POST /api/widget/file-links, since the iframe has no session cookie. FileLinks keeps those
 * links per attachment and asks again for the ones missing or about to expire.
 */
import type { FileLinks as Links } from "$shared/desk";

/** A link this close to its expiry is asked for again, ms. */
export const LINK_MARGIN_MS = 60_000;
/** Ids per request (the route's maximum). */
export const LINKS_PER_REQUEST = 50;

export class FileLinks {
  readonly #fetch: (ids: string[]) => Promise<Links>;
  readonly #now: () => number;
  readonly #links = new Map<string, { url: string; expiresAt: number }>();
  readonly #asking = new Set<string>();
  /** Ids the server gave no link for (not this ticket's, or gone): not asked again. */
  readonly #refused = new Set<string>();

  constructor(fetchLinks: (ids: string[]) => Promise<Links>, now: () => number = Date.now) {
    this.#fetch = fetchLinks;
    this.#now = now;
  }

  /** The link opening this attachment now, or null until it is loaded. */
  url(id: string): string | null {
    const l = this.#links.get(id);
    return l && l.expiresAt - LINK_MARGIN_MS > this.#now() ? l.url : null;
  }

  /** Of these ids, the ones to ask links for: none yet (or expiring), not being asked, not refused. */
  missing(ids: Iterable<string>): string[] {
    const out = new Set<string>();
    for (const id of ids) if (!this.url(id) && !this.#asking.has(id) && !this.#refused.has(id)) out.add(id);
    return [...out];
  }

  /** Asks for the missing links of these ids; true when any arrived. A failed request is asked again next time. */
  async load(ids: Iterable<string>): Promise<boolean> {
    const want = this.missing(ids);
    if (!want.length) return false;
    for (const id of want) this.#asking.add(id);
    let got = false;
    try {
      for (let i = 0; i < want.length; i += LINKS_PER_REQUEST) {
        const chunk = want.slice(i, i + LINKS_PER_REQUEST);
        const r = await this.#fetch(chunk);
        for (const id of chunk) {
          const url = r.links[id];
          if (url) {
            this.#links.set(id, { url, expiresAt: r.expiresAt });
            got = true;
          } else this.#refused.add(id);
        }
      }
    } catch {
      // network or rate limit: the next render asks again
    } finally {
      for (const id of want) this.#asking.delete(id);
    }
    return got;
  }
}
