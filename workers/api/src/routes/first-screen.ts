/**
 * GET /api/channels/:id/first-screen — a text channel's latest messages with the names,
 * avatars and colours they show, for the server-rendered first screen of the channel page
 * (web/src/hooks.server.ts calls it in process, with the visitor's cookie). The one access
 * check is the history's: canReadChannel (404 invisible or not a member, 403 without
 * READ_HISTORY); only a community's text channel has a first screen (else 404).
 */
import { Hono } from "hono";
import { and, eq, inArray } from "drizzle-orm";
import { ChannelParam } from "../../../shared/communities";
import { FIRST_SCREEN_MESSAGES, type FirstScreen, type FirstScreenPerson } from "../../../shared/first-screen";
import { avatarUrl } from "../../../shared/profiles";
import { ApiError } from "../../../shared/errors";
import type { AppEnv } from "../env";
import { canReadChannel } from "../../../core/policy";
import { memberRoles, members, roles, users } from "../../../core/schema";
import { roomOf } from "../stubs";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";

export const firstScreenRoutes = new Hono<AppEnv>().get("/:id/first-screen", validate("param", ChannelParam), async (c) => {
  const { user } = authed(c);
  const { id } = c.req.valid("param");
  const db = c.var.db;
  const a = await canReadChannel(db, user.id, id);
  if (!a.community || a.thread || a.channel.kind !== "text") throw new ApiError("not_found", "No such channel.");
  const communityId = a.community.community.id;
  const page = await (await roomOf(c.env, id)).history({ limit: FIRST_SCREEN_MESSAGES });

  // Everyone the page names: authors, replied-to authors, mentioned users.
  const ids = new Set<string>();
  for (const m of page.messages) {
    if (m.author) ids.add(m.author.id);
    if (m.system?.userId) ids.add(m.system.userId);
    if (m.replyTo?.author) ids.add(m.replyTo.author.id);
    for (const u of m.mentions.users) ids.add(u);
  }
  const list = [...ids].slice(0, 90);
  const [people, roleRows, heldRows] = list.length
    ? await db.batch([
        db
          .select({ id: users.id, displayName: users.displayName, avatarKey: users.avatarKey, nickname: members.nickname, memberAvatarKey: members.avatarKey })
          .from(users)
          .leftJoin(members, and(eq(members.communityId, communityId), eq(members.userId, users.id)))
          .where(inArray(users.id, list)),
        db.select({ id: roles.id, name: roles.name, color: roles.color, position: roles.position }).from(roles).where(eq(roles.communityId, communityId)),
        db
          .select({ userId: memberRoles.userId, roleId: memberRoles.roleId })
          .from(memberRoles)
          .where(and(eq(memberRoles.communityId, communityId), inArray(memberRoles.userId, list))),
      ])
    : [[], await db.select({ id: roles.id, name: roles.name, color: roles.color, position: roles.position }).from(roles).where(eq(roles.communityId, communityId)), []];

  // A member's colour: their highest-positioned role with a colour (as the app's memberColor).
  const held = new Map<string, Set<string>>();
  for (const r of heldRows) held.set(r.userId, (held.get(r.userId) ?? new Set()).add(r.roleId));
  const byPosition = [...roleRows].sort((x, y) => y.position - x.position);
  const colorOf = (userId: string) => byPosition.find((r) => r.color !== null && held.get(userId)?.has(r.id))?.color ?? null;

  const body: FirstScreen = {
    channel: { id, communityId, communityName: a.community.community.name, name: a.channel.name, topic: a.channel.topic },
    messages: page.messages,
    hasBefore: page.hasBefore,
    people: Object.fromEntries(
      people.map((p): [string, FirstScreenPerson] => [
        p.id,
        { name: p.nickname ?? p.displayName, avatarUrl: avatarUrl(p.memberAvatarKey ?? p.avatarKey), color: colorOf(p.id) },
      ]),
    ),
    roles: Object.fromEntries(roleRows.map((r) => [r.id, { name: r.name }])),
    me: { id: user.id, locale: user.locale, roleIds: a.community.roleIds },
  };
  return c.json(body);
});
