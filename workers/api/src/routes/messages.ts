/**
 * A channel's messages over HTTP: history pages by seq, one message, pins, search and the
 * member's read state. Each route asks the policy first (canReadChannel, canChat), then the
 * channel's ChannelRoom over RPC.
 */
import { Hono } from "hono";
import { ChannelMessageParam, HistoryQuery, SearchQuery } from "../../../shared/chat";
import { ChannelParam } from "../../../shared/communities";
import { ApiError } from "../../../shared/errors";
import { P } from "../../../shared/permissions";
import type { AppEnv } from "../env";
import { canChat, canReadChannel } from "../../../core/policy";
import { roomOf } from "../stubs";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

export const channelMessages = new Hono<AppEnv>()
  .get("/:id/messages", validate("param", ChannelParam), validate("query", HistoryQuery), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    await canReadChannel(c.var.db, user.id, id);
    const page = await (await roomOf(c.env, id)).history(c.req.valid("query"));
    return c.json(page);
  })
  .get("/:id/messages/:messageId", validate("param", ChannelMessageParam), async (c) => {
    const { user } = authed(c);
    const { id, messageId } = c.req.valid("param");
    await canReadChannel(c.var.db, user.id, id);
    const message = await (await roomOf(c.env, id)).message(messageId);
    if (!message) throw new ApiError("not_found", "No such message.");
    return c.json({ message });
  })
  .get("/:id/pins", validate("param", ChannelParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    await canReadChannel(c.var.db, user.id, id);
    return c.json({ messages: await (await roomOf(c.env, id)).pins() });
  })
  .get("/:id/search", validate("param", ChannelParam), validate("query", SearchQuery), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    await canReadChannel(c.var.db, user.id, id);
    return c.json(await (await roomOf(c.env, id)).search(c.req.valid("query")));
  })
  .get("/:id/read-state", validate("param", ChannelParam), async (c) => {
    const { user } = authed(c);
    const { id } = c.req.valid("param");
    const a = await canChat(c.var.db, user.id, id, P.VIEW_CHANNEL);
    return c.json(await (await roomOf(c.env, id)).readState(user.id, a.community?.roleIds ?? []));
  });
