/**
 * A channel's messages over HTTP: history pages by seq, one message, pins, search and the
 * member's read state. Each route checks access in D1 (chatAccess), then asks the channel's
 * ChannelRoom over RPC.
 */
import { Hono } from "hono";
import { HistoryQuery, SearchQuery } from "../../../shared/chat";
import { ApiError } from "../../../shared/errors";
import { P } from "../../../shared/permissions";
import type { AppEnv } from "../env";
import { chatAccess } from "../lib/chat-rooms";
import { roomOf } from "../stubs";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

export const channelMessages = new Hono<AppEnv>()
  .get("/:id/messages", validate("query", HistoryQuery), async (c) => {
    const { user } = authed(c);
    const channelId = c.req.param("id");
    await chatAccess(c.var.db, user.id, channelId, P.READ_HISTORY);
    const page = await (await roomOf(c.env, channelId)).history(c.req.valid("query"));
    return c.json(page);
  })
  .get("/:id/messages/:messageId", async (c) => {
    const { user } = authed(c);
    const channelId = c.req.param("id");
    await chatAccess(c.var.db, user.id, channelId, P.READ_HISTORY);
    const message = await (await roomOf(c.env, channelId)).message(c.req.param("messageId"));
    if (!message) throw new ApiError("not_found", "No such message.");
    return c.json({ message });
  })
  .get("/:id/pins", async (c) => {
    const { user } = authed(c);
    const channelId = c.req.param("id");
    await chatAccess(c.var.db, user.id, channelId, P.READ_HISTORY);
    return c.json({ messages: await (await roomOf(c.env, channelId)).pins() });
  })
  .get("/:id/search", validate("query", SearchQuery), async (c) => {
    const { user } = authed(c);
    const channelId = c.req.param("id");
    await chatAccess(c.var.db, user.id, channelId, P.READ_HISTORY);
    return c.json(await (await roomOf(c.env, channelId)).search(c.req.valid("query")));
  })
  .get("/:id/read-state", async (c) => {
    const { user } = authed(c);
    const channelId = c.req.param("id");
    const a = await chatAccess(c.var.db, user.id, channelId, P.VIEW_CHANNEL);
    return c.json(await (await roomOf(c.env, channelId)).readState(user.id, a.community?.roleIds ?? []));
  });
