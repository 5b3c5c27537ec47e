/**
 * The call of a DM or group DM, kept by the DM's ChannelRoom (one call per DM at a time):
 * who started it, who is being rung, who answered, declined or is in it. Each change is
 * pushed to the UserInbox of every member of the DM, which shows the incoming-call toast and
 * the "call in progress" state in every tab they have open.
 *
 *   start   caller rings the others for RING_TIMEOUT_MS (a "started a call" system message);
 *           a caller whose last call here went unanswered may not ring again for
 *           RING_COOLDOWN_MS (start/leave in a loop would ring the others' every tab)
 *   answer  accept (they join) or decline (their toast goes, everywhere)
 *   leave   a member hangs up; the last one out ends the call
 *   alarm   ringing times out; afterwards LiveKit is asked now and then who is really in
 *           the room, so a lost "left" webhook cannot keep a call open forever
 *
 * A call that ends, or stops ringing, without anyone but the caller answering posts one
 * "missed call" system message. LiveKit's webhooks for the DM's room feed `joined` / `left` /
 * `finished` in as well (lib/voice.ts), so a member who joins from the DM page without
 * pressing "accept" counts as having answered.
 */
import { RING_TIMEOUT_MS, type DmCall } from "../workers/shared/calls";
import type { SystemKind } from "../workers/shared/chat";
import type { UserSummary } from "../workers/shared/communities";
import { ApiError } from "../workers/shared/errors";
import { newId } from "../workers/shared/ids";
import { RemoveResponse, type MediaParticipant } from "../workers/shared/media";
import { makeDb } from "../workers/core/db";
import { log } from "../workers/core/log";
import { VOICE_NOT_CONFIGURED, listRooms, roomCall } from "../workers/core/media";
import { canStayInVoice } from "../workers/core/policy";
import { userFromIdentity } from "../workers/core/voice-identity";
import { inboxOf, type UserInbox } from "./user-inbox";

const KEY = "dm_call";
/** The callId whose "missed call" message was posted. */
const MISSED_KEY = "dm_call_missed";
/** While a call runs, LiveKit is asked this often who is still in it, ms. */
export const CALL_CHECK_MS = 60_000;
/** After an unanswered call, how long its caller may not ring the same DM again, ms (from the start of that call). */
export const RING_COOLDOWN_MS = 60_000;
/** When a member last started a call here that nobody answered (yet): ms since the epoch. */
const rangKey = (userId: string) => `dm_call_rang:${userId}`;

/** A call request's outcome: the call now (null: none), or how long to wait before asking again, ms. */
export type CallResult = { call: DmCall | null } | { retryAfterMs: number };

export interface CallHost {
  readonly storage: DurableObjectStorage;
  readonly env: Env;
  readonly channelId: string;
  postSystem(kind: SystemKind, userId: string): Promise<unknown>;
}

const without = (list: string[], id: string) => list.filter((x) => x !== id);
const withOne = (list: string[], id: string) => (list.includes(id) ? list : [...list, id]);

/** `userId` is in the call now: no longer rung or declined; the call is answered if they are not the caller. */
function joinedBy(call: DmCall, userId: string): DmCall {
  return {
    ...call,
    ringing: without(call.ringing, userId),
    declined: without(call.declined, userId),
    joined: withOne(call.joined, userId),
    answered: call.answered || userId !== call.startedBy.id,
  };
}

export class DmCalls {
  constructor(private readonly host: CallHost) {}

  async current(): Promise<DmCall | null> {
    return (await this.host.storage.get<DmCall>(KEY)) ?? null;
  }

  /**
   * Starts a call and rings everyone else, or (a call is running) joins the caller to it.
   * Refused (retryAfterMs) within RING_COOLDOWN_MS of the caller's last unanswered call here:
   * a call rings at most once, and hanging up and calling again does not ring anew.
   */
  async start(input: { caller: UserSummary; members: string[]; kind: DmCall["kind"] }): Promise<CallResult> {
    const cur = await this.current();
    if (cur) return { call: await this.#save(joinedBy(cur, input.caller.id)) };
    const now = Date.now();
    const rang = await this.host.storage.get<number>(rangKey(input.caller.id));
    if (rang !== undefined && now - rang < RING_COOLDOWN_MS) return { retryAfterMs: rang + RING_COOLDOWN_MS - now };
    // Recorded before anything else is awaited, so a parallel start sees it.
    await this.host.storage.put(rangKey(input.caller.id), now);
    const call: DmCall = {
      channelId: this.host.channelId,
      callId: newId(now),
      kind: input.kind,
      startedBy: input.caller,
      startedAt: now,
      members: input.members,
      ringing: input.members.filter((id) => id !== input.caller.id),
      joined: [input.caller.id],
      declined: [],
      ringUntil: now + RING_TIMEOUT_MS,
      answered: false,
    };
    await this.host.storage.setAlarm(call.ringUntil);
    await this.host.postSystem("call_started", input.caller.id);
    log({ event: "dm_call.started", channelId: call.channelId, callId: call.callId, ringing: call.ringing.length });
    return { call: await this.#save(call) };
  }

  /** Accepts (joins) or declines the running call. Null when there is no call to answer. */
  async answer(userId: string, accept: boolean): Promise<DmCall | null> {
    const cur = await this.current();
    if (!cur || !cur.members.includes(userId)) return null;
    if (accept) return this.#save(joinedBy(cur, userId));
    const next = { ...cur, ringing: without(cur.ringing, userId), declined: withOne(cur.declined, userId) };
    // Declining a call one is in means hanging up.
    return next.joined.includes(userId) ? this.leave(userId) : this.#save(next);
  }

  /** LiveKit says `userId` joined the room. */
  async joined(userId: string): Promise<DmCall | null> {
    const cur = await this.current();
    if (!cur || !cur.members.includes(userId) || (cur.joined.includes(userId) && !cur.ringing.includes(userId))) return cur;
    return this.#save(joinedBy(cur, userId));
  }

  /** `userId` hung up (or LiveKit says they left); the last one out ends the call. */
  async leave(userId: string): Promise<DmCall | null> {
    const cur = await this.current();
    if (!cur || !cur.joined.includes(userId)) return cur;
    const next = { ...cur, joined: without(cur.joined, userId) };
    if (!next.joined.length) {
      await this.end(next);
      return null;
    }
    return this.#save(next);
  }

  /** Ends the call for everyone (last one out, LiveKit closed the room, the DM is gone). */
  async end(call?: DmCall): Promise<void> {
    const cur = call ?? (await this.current());
    if (!cur) return;
    await this.host.storage.delete(KEY);
    await this.host.storage.deleteAlarm();
    // An answered call lifts its caller's cooldown: calling back after a dropped call rings at once.
    if (cur.answered) await this.host.storage.delete(rangKey(cur.startedBy.id));
    const missed = await this.#missedIfUnanswered(cur);
    log({ event: "dm_call.ended", channelId: cur.channelId, callId: cur.callId, answered: cur.answered, seconds: Math.round((Date.now() - cur.startedAt) / 1000) });
    await this.#toInboxes(cur.members, (inbox) => inbox.callEnded({ channelId: cur.channelId, callId: cur.callId, missed }));
  }

  /** Ringing times out; later, LiveKit's list of who is in the room corrects `joined`. */
  async alarm(): Promise<void> {
    let call = await this.current();
    if (!call) return;
    const now = Date.now();
    if (now < call.ringUntil) {
      await this.host.storage.setAlarm(call.ringUntil);
      return;
    }
    if (call.ringing.length) call = await this.#save({ ...call, ringing: [] });
    const inRoom = await this.#inRoom();
    if (inRoom) {
      const joined = call.joined.filter((id) => inRoom.includes(id));
      if (!joined.length) return this.end(call);
      if (joined.length !== call.joined.length) call = await this.#save({ ...call, joined });
    }
    await this.host.storage.setAlarm(now + CALL_CHECK_MS);
  }

  /** Stores and announces a new state; when nobody is rung any more and nobody answered, that was a missed call. */
  async #save(call: DmCall): Promise<DmCall> {
    await this.host.storage.put(KEY, call);
    if (!call.ringing.length) await this.#missedIfUnanswered(call);
    await this.#toInboxes(call.members, (inbox) => inbox.callChanged(call));
    return call;
  }

  /** Posts "missed call" once per call that nobody but the caller answered. */
  async #missedIfUnanswered(call: DmCall): Promise<boolean> {
    if (call.answered) return false;
    if ((await this.host.storage.get<string>(MISSED_KEY)) === call.callId) return true;
    await this.host.storage.put(MISSED_KEY, call.callId);
    await this.host.postSystem("call_missed", call.startedBy.id);
    return true;
  }

  /**
   * The users LiveKit lists in the DM's room who may be there; null when it cannot say (down),
   * [] without LiveKit. Whoever may not (blocked since, left the DM, an identity we never
   * issued) is removed on the way: the check that repairs a lost "left" webhook also repairs a
   * lost "joined" one, whose admission (lib/voice.ts) never ran.
   */
  async #inRoom(): Promise<string[] | null> {
    const { env, channelId } = this.host;
    try {
      return await admitListed(env, channelId, (await listRooms(env, [channelId]))[channelId] ?? []);
    } catch (e) {
      if (e instanceof ApiError && e.message === VOICE_NOT_CONFIGURED) return [];
      log({ event: "dm_call.check_failed", channelId, error: String(e) });
      return null;
    }
  }

  async #toInboxes(userIds: string[], send: (inbox: DurableObjectStub<UserInbox>) => Promise<unknown>): Promise<void> {
    const results = await Promise.allSettled(userIds.map((id) => send(inboxOf(this.host.env, id))));
    for (const r of results) if (r.status === "rejected") log({ event: "dm_call.inbox_failed", channelId: this.host.channelId, error: String(r.reason) });
  }
}

/**
 * Of LiveKit's participants in a DM's room, the users who may be there (the access check:
 * still a recipient, not blocked in a 1:1 DM); the others are removed from the room now.
 */
export async function admitListed(env: Env, channelId: string, listed: MediaParticipant[]): Promise<string[]> {
  const db = makeDb(env.DB);
  const admitted: string[] = [];
  const refused: { room: string; identity: string }[] = [];
  for (const p of listed) {
    const userId = await userFromIdentity(env.PASSWORD_PEPPER, channelId, p.identity);
    if (userId && (await canStayInVoice(db, userId, channelId))) admitted.push(userId);
    else refused.push({ room: channelId, identity: p.identity });
  }
  if (refused.length) {
    await roomCall(env, { op: "remove", targets: refused }, RemoveResponse);
    log({ event: "dm_call.refused", channelId, removed: refused.length });
  }
  return admitted;
}
