/**
 * Call links in D1 (docs/call-links.md): loading a link with its host, its views (CallLink,
 * CallLinkPreview) and the facts the policy's call-link rules read, and guests by cookie
 * token. No routes, no objects: the api worker and the CallLink object both read through here.
 */
import { and, eq, gt } from "drizzle-orm";
import type { CallLink, CallLinkPreview, CallLinkSettings } from "../shared/call-links";
import { sha256Hex } from "./crypto";
import type { Db } from "./db";
import type { CallLinkFacts } from "./policy";
import { callGuests, callLinks, users } from "./schema";
import { toUserSummary } from "./views";

export type CallLinkRow = typeof callLinks.$inferSelect;
/** The link as its CallLink object mirrors it: what the rules read, and its chat's channel. */
export type LinkMirror = CallLinkFacts & { channelId: string };
/** What a LiveKit webhook did to a call: a person came, left or started sharing their screen. */
export type CallMediaEvent = "joined" | "left" | "screen_share";
export type CallGuestRow = typeof callGuests.$inferSelect;
export type HostRow = Pick<typeof users.$inferSelect, "id" | "username" | "displayName">;
export interface LoadedCallLink {
  link: CallLinkRow;
  host: HostRow;
}

/** A link by code, id or its chat's channel id, with its host; undefined when there is none. */
export async function loadCallLink(db: Db, by: { code: string } | { id: string } | { channelId: string }): Promise<LoadedCallLink | undefined> {
  const where = "code" in by ? eq(callLinks.code, by.code) : "id" in by ? eq(callLinks.id, by.id) : eq(callLinks.channelId, by.channelId);
  const row = (
    await db
      .select({ link: callLinks, host: { id: users.id, username: users.username, displayName: users.displayName } })
      .from(callLinks)
      .innerJoin(users, eq(users.id, callLinks.hostId))
      .where(where)
      .limit(1)
  )[0];
  return row;
}

export function callLinkSettings(l: Pick<CallLinkRow, "locked" | "lobby" | "requireAccount">): CallLinkSettings {
  return { locked: l.locked, lobby: l.lobby, requireAccount: l.requireAccount };
}

/** The mirror the CallLink object keeps of a link. */
export function linkMirror(l: CallLinkRow): LinkMirror {
  return { ...callLinkFacts(l), channelId: l.channelId };
}

/** What the policy reads of a link. */
export function callLinkFacts(l: CallLinkRow): CallLinkFacts {
  return { id: l.id, hostId: l.hostId, ...callLinkSettings(l), endedAt: l.endedAt };
}

export function callLinkView({ link, host }: LoadedCallLink): CallLink {
  return {
    id: link.id,
    code: link.code,
    title: link.title,
    host: toUserSummary(host),
    settings: callLinkSettings(link),
    channelId: link.channelId,
    createdAt: link.createdAt,
    endedAt: link.endedAt,
  };
}

export function callLinkPreview({ link, host }: LoadedCallLink, participants: number, you: CallLinkPreview["you"]): CallLinkPreview {
  return {
    code: link.code,
    title: link.title,
    hostName: host.displayName,
    settings: callLinkSettings(link),
    participants,
    ended: link.endedAt !== null,
    you,
  };
}

/** The live (unexpired) guest whose cookie token this is, or undefined. */
export async function guestByToken(db: Db, token: string, now = Date.now()): Promise<CallGuestRow | undefined> {
  const hash = await sha256Hex(token);
  return (await db.select().from(callGuests).where(and(eq(callGuests.tokenHash, hash), gt(callGuests.expiresAt, now))).limit(1))[0];
}
