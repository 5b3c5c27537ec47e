/**
 * GET /api/channels/:id/first-screen: what the server needs to render a text channel's first
 * screen (its header and latest messages) into the page's HTML before the app's JavaScript
 * runs (web/src/hooks.server.ts, docs/web-app.md "First screen"). Read-only; the app replaces
 * it with its own channel view. No cloudflare:* or DOM imports here.
 */
import { z } from "zod";
import { Message } from "./chat";
import { LOCALES } from "./protocol";

/** Messages a first screen shows: enough to fill a 1280×800 or a 390×844 screen. */
export const FIRST_SCREEN_MESSAGES = 30;

/** A person the messages name (author, replied-to author, mention), as this community shows them. */
export const FirstScreenPerson = z.object({
  /** Nickname in the community, else display name. */
  name: z.string(),
  /** Same-origin avatar URL, or null (the initial on a colour from the id shows). */
  avatarUrl: z.string().nullable(),
  /** Their highest coloured role's colour, 0xRRGGBB, or null. */
  color: z.number().int().nullable(),
});
export type FirstScreenPerson = z.infer<typeof FirstScreenPerson>;

export const FirstScreen = z.object({
  channel: z.object({ id: z.string(), communityId: z.string(), communityName: z.string(), name: z.string(), topic: z.string().nullable() }),
  /** The latest messages, ascending by seq (at most FIRST_SCREEN_MESSAGES). */
  messages: z.array(Message),
  /** There are older messages than the first of these. */
  hasBefore: z.boolean(),
  /** By user id: the people the messages name. */
  people: z.record(z.string(), FirstScreenPerson),
  /** By role id: the community's roles the messages may mention. */
  roles: z.record(z.string(), z.object({ name: z.string() })),
  me: z.object({ id: z.string(), locale: z.enum(LOCALES).nullable(), roleIds: z.array(z.string()) }),
});
export type FirstScreen = z.infer<typeof FirstScreen>;
