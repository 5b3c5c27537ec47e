/**
 * The rejoin policy and its supervisor in Node, with fake timers and a fake network: the
 * backoff, giving up, which failures end the call, what LiveKit's disconnect reasons mean,
 * LiveKit's resume grace, and coming back online.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiRequestError } from "$lib/api";
import type { CallErrorCode } from "./call-state";
import {
  CallFailure,
  disconnectOutcome,
  endsRejoining,
  joinError,
  nextRejoin,
  ONLINE_RESUME_GRACE_MS,
  REJOIN_DELAYS_MS,
  REJOIN_FOR_MS,
  RejoinSupervisor,
  RESUME_GRACE_MS,
  type Network,
} from "./rejoin";

describe("nextRejoin", () => {
  it("backs off 300 ms, 1 s, 2 s, 4 s, then every 8 s", () => {
    const waits = Array.from({ length: 8 }, (_, attempt) => nextRejoin(attempt, 0, 1_000));
    expect(waits).toEqual([300, 1000, 2000, 4000, 8000, 8000, 8000, 8000].map((wait) => ({ wait })));
  });

  it("gives up once the call has been down longer than two minutes", () => {
    expect(nextRejoin(3, 10_000, 10_000 + REJOIN_FOR_MS)).toEqual({ wait: 4000 });
    expect(nextRejoin(3, 10_000, 10_000 + REJOIN_FOR_MS + 1)).toBe("give_up");
  });
});

describe("which failures end the call", () => {
  it("lost access or voice gone ends it; the network and the rest are tried again", () => {
    const ends: CallErrorCode[] = ["forbidden", "not_found", "unavailable", "e2ee_unavailable"];
    const retries: CallErrorCode[] = ["connect_failed", "channel_full", "e2ee_unsupported", "unknown"];
    for (const c of ends) expect(endsRejoining(c), c).toBe(true);
    for (const c of retries) expect(endsRejoining(c), c).toBe(false);
  });

  it("joinError reads the token route's answer, by code or by status", () => {
    expect(joinError(new ApiRequestError("unavailable", "", 503))).toBe("unavailable");
    expect(joinError(new ApiRequestError("internal", "", 503))).toBe("unavailable");
    expect(joinError(new ApiRequestError("channel_full", "", 409))).toBe("channel_full");
    expect(joinError(new ApiRequestError("forbidden", "", 403))).toBe("forbidden");
    expect(joinError(new ApiRequestError("whatever", "", 403))).toBe("forbidden");
    expect(joinError(new ApiRequestError("not_found", "", 404))).toBe("not_found");
    expect(joinError(new ApiRequestError("network_error", "", 0))).toBe("connect_failed");
    expect(joinError(new CallFailure("e2ee_unsupported"))).toBe("e2ee_unsupported");
    expect(joinError(new Error("could not establish pc connection"))).toBe("connect_failed");
  });
});

describe("disconnectOutcome", () => {
  // livekit_models.proto's DisconnectReason numbers.
  const R = { CLIENT_INITIATED: 1, DUPLICATE_IDENTITY: 2, PARTICIPANT_REMOVED: 4, ROOM_DELETED: 5, ROOM_CLOSED: 10 };

  it("our own leave is nothing; removal, a closed room and a second session end the call; anything else rejoins", () => {
    expect(disconnectOutcome(R.CLIENT_INITIATED, R)).toEqual({ then: "nothing" });
    expect(disconnectOutcome(R.PARTICIPANT_REMOVED, R)).toEqual({ then: "end", error: "removed" });
    expect(disconnectOutcome(R.ROOM_DELETED, R)).toEqual({ then: "end", error: "room_closed" });
    expect(disconnectOutcome(R.ROOM_CLOSED, R)).toEqual({ then: "end", error: "room_closed" });
    expect(disconnectOutcome(R.DUPLICATE_IDENTITY, R)).toEqual({ then: "end", error: "duplicate" });
    expect(disconnectOutcome(3 /* SERVER_SHUTDOWN */, R)).toEqual({ then: "rejoin" });
    expect(disconnectOutcome(undefined, R)).toEqual({ then: "rejoin" });
  });
});

describe("RejoinSupervisor", () => {
  /** A call as the supervisor sees it, recording what it was asked to do. */
  function harness() {
    const call = { epoch: 1, reconnecting: true, attempt: 0, rejoins: [] as number[], gaveUp: 0 };
    let online: (() => void) | null = null;
    const net: Network & { isOffline: boolean } = {
      isOffline: false,
      onOnline(listener: () => void) {
        online = listener;
        return () => {
          if (online === listener) online = null;
        };
      },
      offline() {
        return this.isOffline;
      },
    };
    const sup = new RejoinSupervisor(
      {
        epoch: () => call.epoch,
        reconnecting: () => call.reconnecting,
        attempt: () => call.attempt,
        rejoin: (epoch) => call.rejoins.push(epoch),
        giveUp: () => call.gaveUp++,
      },
      net,
    );
    sup.start();
    return { call, net, sup, goOnline: () => online?.(), listening: () => online !== null };
  }

  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("gives LiveKit's own resume 7 s, then rejoins from scratch", () => {
    const { call, sup } = harness();
    sup.resuming();
    vi.advanceTimersByTime(RESUME_GRACE_MS - 1);
    expect(call.rejoins).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(call.rejoins).toEqual([1]);
  });

  it("a resume within the grace needs no rejoin", () => {
    const { call, sup } = harness();
    sup.resuming();
    vi.advanceTimersByTime(3000);
    sup.resumed();
    call.reconnecting = false;
    vi.advanceTimersByTime(60_000);
    expect(call.rejoins).toEqual([]);
  });

  it("while the browser says it is offline the grace does not rejoin; coming online soon after does", () => {
    const { call, net, sup, goOnline } = harness();
    net.isOffline = true;
    sup.resuming();
    vi.advanceTimersByTime(RESUME_GRACE_MS);
    expect(call.rejoins).toEqual([]);
    net.isOffline = false;
    goOnline();
    vi.advanceTimersByTime(ONLINE_RESUME_GRACE_MS - 1);
    expect(call.rejoins).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(call.rejoins).toEqual([1]);
  });

  it("after LiveKit gave up, rejoins after each backoff step", () => {
    const { call, sup } = harness();
    sup.dropped();
    for (const [attempt, wait] of REJOIN_DELAYS_MS.entries()) {
      call.attempt = attempt;
      sup.schedule(call.epoch);
      vi.advanceTimersByTime(wait - 1);
      expect(call.rejoins).toHaveLength(attempt);
      vi.advanceTimersByTime(1);
      expect(call.rejoins).toHaveLength(attempt + 1);
      call.epoch++; // each rejoin is a new generation of the call
    }
    expect(call.rejoins).toEqual([1, 2, 3, 4, 5]);
  });

  it("gives up two minutes after the drop", () => {
    const { call, sup } = harness();
    sup.dropped();
    vi.advanceTimersByTime(REJOIN_FOR_MS + 1);
    call.attempt = 9;
    sup.schedule(call.epoch);
    expect(call.gaveUp).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(call.rejoins).toEqual([]);
  });

  it("back online during a backoff wait: rejoins at once", () => {
    const { call, sup, goOnline } = harness();
    sup.dropped();
    call.attempt = 4;
    sup.schedule(call.epoch);
    vi.advanceTimersByTime(1000);
    goOnline();
    expect(call.rejoins).toEqual([1]);
    vi.advanceTimersByTime(60_000);
    expect(call.rejoins).toEqual([1]); // the backoff timer is gone
  });

  it("the online event means nothing to a connected call", () => {
    const { call, goOnline } = harness();
    call.reconnecting = false;
    goOnline();
    vi.advanceTimersByTime(60_000);
    expect(call.rejoins).toEqual([]);
  });

  it("work of an older generation of the call does nothing", () => {
    const { call, sup } = harness();
    sup.schedule(0); // an epoch that is gone
    sup.resuming();
    call.epoch = 2; // the member left and joined again meanwhile
    vi.advanceTimersByTime(60_000);
    expect(call.rejoins).toEqual([]);
  });

  it("stop() ends every timer and the online listener", () => {
    const { call, sup, listening } = harness();
    sup.resuming();
    sup.dropped();
    sup.schedule(call.epoch);
    expect(listening()).toBe(true);
    sup.stop();
    expect(listening()).toBe(false);
    vi.advanceTimersByTime(REJOIN_FOR_MS);
    expect(call.rejoins).toEqual([]);
  });
});
