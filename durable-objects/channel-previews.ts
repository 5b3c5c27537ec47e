/**
 * Link previews of one ChannelRoom (docs/link-previews.md). After a message is stored and
 * acknowledged, its first links are unfurled off the ack path (through the cache, then the
 * SSRF-guarded fetch of workers/core/link-previews.ts) and attached by a `message.updated`
 * event — a normal event with its seq, so the delivery contract holds: stored before it is
 * sent, replayed after a reconnect. An edit unfurls the new links; removing a preview
 * (`preview.remove`, the author or MANAGE_MESSAGES) is another `message.updated`.
 *
 * If the object is evicted while a fetch is in flight that message gets no preview (the
 * message itself is long stored); nothing else is lost.
 */
import { canRemovePreview } from "../workers/core/policy";
import { unfurl, type LinkPreviewEnv } from "../workers/core/link-previews";
import { FetchRefused } from "../workers/core/ssrf-guard";
import { log } from "../workers/core/log";
import { type LinkPreview, previewLinks } from "../workers/shared/link-previews";
import type { ChannelStore } from "./channel-store";
import { LinkPreviewStore } from "./link-preview-store";
import { FrameError } from "./kit";

export interface PreviewHost {
  readonly channelId: string;
  room(): ChannelStore;
  sql: SqlStorage;
  env: LinkPreviewEnv;
  /** Sends a stored event to every socket (ChannelRoom#publish). */
  publish(json: string): void;
  waitUntil(p: Promise<unknown>): void;
}

export class ChannelPreviews {
  #store: LinkPreviewStore;
  /** Unfurls in flight per link, so a burst of the same link fetches once. */
  #inFlight = new Map<string, Promise<LinkPreview | null>>();

  constructor(private readonly host: PreviewHost) {
    this.#store = new LinkPreviewStore(host.sql);
  }

  /** After a message is stored (sent or edited): unfurls its links a moment later. */
  afterWrite(messageId: string, content: string, hadPreviews: boolean): void {
    const links = previewLinks(content);
    if (!links.length && !hadPreviews) return;
    this.host.waitUntil(this.#attach(messageId, content, links));
  }

  /** The message was deleted. */
  forget(messageId: string): void {
    this.#store.forget(messageId);
  }

  async #attach(messageId: string, content: string, links: string[]): Promise<void> {
    try {
      const found = await Promise.all(links.map((l) => this.#preview(l)));
      // Everything below is synchronous: nothing interleaves between the checks and the write.
      const room = this.host.room();
      const m = room.message(messageId);
      if (!m || m.deleted || m.content !== content) return; // deleted or edited meanwhile (the edit unfurls its own links)
      const removed = new Set(this.#store.removed(messageId));
      const next = found.filter((p): p is LinkPreview => p !== null && !removed.has(p.url));
      if (JSON.stringify(next) === JSON.stringify(m.previews ?? [])) return;
      const ev = room.setPreviews(messageId, next, Date.now());
      if (ev) this.host.publish(ev.json);
    } catch (e) {
      log({ event: "channel_room.previews_failed", channelId: this.host.channelId, messageId, error: String(e) });
    }
  }

  async #preview(link: string): Promise<LinkPreview | null> {
    const hit = this.#store.cached(link, Date.now());
    if (hit) return hit.preview ? { ...hit.preview, url: link } : null;
    let pending = this.#inFlight.get(link);
    if (!pending) {
      pending = (async () => {
        let preview: LinkPreview | null = null;
        try {
          preview = await unfurl(link, this.host.env);
        } catch (e) {
          // Refusals are expected (private hosts, non-HTML links); logged with the reason only.
          log({ event: "channel_room.preview_skipped", channelId: this.host.channelId, reason: e instanceof FetchRefused ? e.reason : "error", error: e instanceof FetchRefused ? undefined : String(e) });
        }
        this.#store.remember(link, preview, Date.now());
        return preview;
      })().finally(() => this.#inFlight.delete(link));
      this.#inFlight.set(link, pending);
    }
    return pending;
  }

  /**
   * `preview.remove`: the author of the message or a member with MANAGE_MESSAGES removes one
   * preview; the removal is stored (an edit will not bring it back) and sent as `message.updated`.
   */
  remove(me: { userId: string }, perms: bigint, messageId: string, url: string): void {
    const room = this.host.room();
    const meta = room.messageMeta(messageId);
    if (!meta) throw new FrameError("not_found", "No such message.");
    if (!canRemovePreview(meta.authorId === me.userId && !meta.system, perms)) throw new FrameError("forbidden", "You can only remove previews from your own messages.");
    const current = room.message(messageId)?.previews ?? [];
    if (!current.some((p) => p.url === url)) throw new FrameError("not_found", "No such preview.");
    this.#store.markRemoved(messageId, url);
    const ev = room.setPreviews(
      messageId,
      current.filter((p) => p.url !== url),
      Date.now(),
    );
    if (ev) this.host.publish(ev.json);
  }
}
