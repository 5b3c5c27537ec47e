/**
 * Search across a community: the same query in every text channel the member may read
 * (policy.ts readableChannels, in sidebar order), fanned out to those ChannelRooms in
 * parallel and merged newest first.
 */
import { Hono } from "hono";
import { SearchQuery, type SearchHit } from "../../../shared/chat";
import { CommunityParam } from "../../../shared/communities";
import type { AppEnv } from "../env";
import { readableChannels } from "../../../core/policy";
import { roomOf } from "../stubs";
import { log } from "../../../core/log";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

/** Channels searched at once; a community with more is searched in its first this many. */
const MAX_FANOUT = 100;

export const communitySearch = new Hono<AppEnv>().get("/:id/search", validate("param", CommunityParam), validate("query", SearchQuery), async (c) => {
  const { user } = authed(c);
  const q = c.req.valid("query");
  const channelIds = (await readableChannels(c.var.db, user.id, c.req.valid("param").id)).slice(0, MAX_FANOUT);
  const pages = await Promise.all(
    channelIds.map(async (id) => {
      try {
        return await (await roomOf(c.env, id)).search(q);
      } catch (e) {
        log({ event: "search.channel_failed", requestId: c.var.requestId, channelId: id, error: String(e) });
        return { hits: [] as SearchHit[], hasMore: false };
      }
    }),
  );
  const all = pages.flatMap((p) => p.hits).sort((a, b) => b.message.createdAt - a.message.createdAt || b.message.seq - a.message.seq);
  return c.json({ hits: all.slice(0, q.limit), hasMore: all.length > q.limit || pages.some((p) => p.hasMore) });
});
