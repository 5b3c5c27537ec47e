/**
 * Calls in DMs: the state of a DM's call (kept by the DM's ChannelRoom), the HTTP bodies that
 * start, answer and leave it, and the frames of the user's inbox socket (UserInbox), which
 * is how a member hears that someone is calling them wherever they are in the app.
 * No cloudflare:* or DOM imports here.
 */
import { z } from "zod";
import { UserSummary } from "./communities";
import { ErrorFrame } from "./realtime";

/** How long the others are rung before the call counts as missed, ms. */
export const RING_TIMEOUT_MS = 30_000;

export const DmCall = z.object({
  channelId: z.string(),
  /** New for each call in the DM, so a late answer to an old call does nothing. */
  callId: z.string(),
  kind: z.enum(["dm", "group_dm"]),
  startedBy: UserSummary,
  startedAt: z.number(),
  /** Everyone in the DM (the inboxes that hear about the call). */
  members: z.array(z.string()),
  /** Being rung now (their toast is up). */
  ringing: z.array(z.string()),
  /** In the call (joined the room, or accepted and joining). */
  joined: z.array(z.string()),
  declined: z.array(z.string()),
  /** Ringing stops at this time (ms since the epoch). */
  ringUntil: z.number(),
  /** Someone other than the caller answered. */
  answered: z.boolean(),
});
export type DmCall = z.infer<typeof DmCall>;

export const CallAnswerBody = z.strictObject({ accept: z.boolean() });
export type CallAnswerBody = z.infer<typeof CallAnswerBody>;

export interface CallResponse {
  call: DmCall | null;
}

/** Frames the inbox sends (the web client parses them with this schema). */
export const InboxServerFrame = z.discriminatedUnion("type", [
  /** On connect: every call the user is part of or rung for. */
  z.object({ type: z.literal("ready"), calls: z.array(DmCall) }),
  z.object({ type: z.literal("call"), call: DmCall }),
  /** The call is over; `missed` when nobody answered it. */
  z.object({ type: z.literal("call.ended"), channelId: z.string(), callId: z.string(), missed: z.boolean() }),
  /** A new message in one of the user's DMs (from someone else); unread counts come over HTTP. */
  z.object({ type: z.literal("dm.activity"), channelId: z.string(), seq: z.number(), authorId: z.string().nullable(), mentioned: z.boolean() }),
  z.object({ type: z.literal("pong") }),
  /** A frame was refused (realtime.ts): one it could not read, or over the frame budget. */
  ErrorFrame,
]);
export type InboxServerFrame = z.infer<typeof InboxServerFrame>;

/** Frames a client may send to its inbox (it mostly listens). */
export const InboxClientFrame = z.discriminatedUnion("type", [z.object({ type: z.literal("ping") })]);
export type InboxClientFrame = z.infer<typeof InboxClientFrame>;
