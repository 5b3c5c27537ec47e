/**
 * A ChannelRoom's link-preview state, in the room's own SQLite beside channel-store.ts:
 * `preview_cache` (per link: the preview found, or null for "nothing / refused", and when) and
 * `preview_removed` (links whose preview the author or a moderator removed from a message, so
 * an edit's re-unfurl does not bring it back). The previews a message shows are in its
 * `messages.previews` column (ChannelStore.setPreviews). Methods are synchronous (atomic).
 * Schema version 1.
 */
import { parseJsonWith } from "../workers/shared/realtime";
import { LinkPreview } from "../workers/shared/link-previews";

/** How long a found preview is reused, ms. */
export const PREVIEW_CACHE_TTL_MS = 6 * 3600_000;
/** How long "nothing found / refused" is remembered, ms (a page may come back). */
export const PREVIEW_MISS_TTL_MS = 30 * 60_000;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS preview_cache (url TEXT PRIMARY KEY, preview TEXT, fetched_at INTEGER NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS preview_cache_fetched ON preview_cache (fetched_at)`,
  `CREATE TABLE IF NOT EXISTS preview_removed (message_id TEXT NOT NULL, url TEXT NOT NULL, PRIMARY KEY (message_id, url))`,
];

export type CacheHit = { preview: LinkPreview | null } | undefined;

export class LinkPreviewStore {
  #migrated = false;
  constructor(private readonly sql: SqlStorage) {}

  #ready(): void {
    if (this.#migrated) return;
    for (const s of SCHEMA) this.sql.exec(s);
    this.#migrated = true;
  }

  /** The cached result for a link while it is fresh: `{ preview }` (null = nothing), or undefined. */
  cached(url: string, now: number): CacheHit {
    this.#ready();
    const row = this.sql.exec<{ preview: string | null; fetched_at: number }>(`SELECT preview, fetched_at FROM preview_cache WHERE url = ?`, url).toArray()[0];
    if (!row) return undefined;
    const preview = row.preview === null ? null : parseJsonWith(LinkPreview, row.preview);
    if (now - row.fetched_at > (preview ? PREVIEW_CACHE_TTL_MS : PREVIEW_MISS_TTL_MS)) return undefined;
    return { preview };
  }

  remember(url: string, preview: LinkPreview | null, now: number): void {
    this.#ready();
    this.sql.exec(
      `INSERT INTO preview_cache (url, preview, fetched_at) VALUES (?, ?, ?)
       ON CONFLICT (url) DO UPDATE SET preview = excluded.preview, fetched_at = excluded.fetched_at`,
      url,
      preview ? JSON.stringify(preview) : null,
      now,
    );
    this.sql.exec(`DELETE FROM preview_cache WHERE fetched_at < ?`, now - PREVIEW_CACHE_TTL_MS);
  }

  markRemoved(messageId: string, url: string): void {
    this.#ready();
    this.sql.exec(`INSERT OR IGNORE INTO preview_removed (message_id, url) VALUES (?, ?)`, messageId, url);
  }

  removed(messageId: string): string[] {
    this.#ready();
    return this.sql.exec<{ url: string }>(`SELECT url FROM preview_removed WHERE message_id = ?`, messageId).toArray().map((r) => r.url);
  }

  /** A deleted message's removals are of no use any more. */
  forget(messageId: string): void {
    this.#ready();
    this.sql.exec(`DELETE FROM preview_removed WHERE message_id = ?`, messageId);
  }
}
