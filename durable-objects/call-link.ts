/**
 * CallLink: one per call link (/parties/call-link/<linkId>) — who is in the call, the lobby,
 * raised hands, and a mirror of the link's settings, all in its SQLite (call-link-store.ts).
 * Hosts and members connect with their session, guests with their guest cookie; the worker
 * checks both before the upgrade (workers/api/src/realtime.ts). The admission it keeps is
 * what the token route asks (`join`) before it issues a media token, so a lock or a refusal
 * and a join cannot interleave. Rules: workers/core/policy.ts (canJoinCallLink, canHostCallLink).
 */
import { eq } from "drizzle-orm";
import { CLOSE } from "../workers/shared/close-codes";
import { CallLinkClientFrame, type CallLinkServerFrame, type CallLinkSettings, type LobbyEntry } from "../workers/shared/call-links";
import { ApiError } from "../workers/shared/errors";
import { type ConnectionIdentity, assertNever } from "../workers/shared/realtime";
import { type CallMediaEvent, type LinkMirror, linkMirror, loadCallLink } from "../workers/core/call-links";
import { makeDb } from "../workers/core/db";
import type { Outcome } from "../workers/core/desk";
import { log } from "../workers/core/log";
import { type CallActor, type CallAdmission, canJoinCallLink, isCallHost } from "../workers/core/policy";
import { callLinks } from "../workers/core/schema";
import { CallLinkStore } from "./call-link-store";
import type { FrameBudgetSpec } from "./frame-budget";
import { ClientFrames, FrameError, RealtimeServer, type Socket, type SocketState } from "./kit";

export const CALL_LINK_FRAME_BUDGET: FrameBudgetSpec<CallLinkClientFrame["type"] | "invalid"> = {
  connection: { capacity: 20, perSecond: 4 },
  user: { capacity: 30, perSecond: 5 },
  costs: { "hand.raise": 1, "hand.lower": 1, "hand.lower_for": 1, "lobby.admit": 1, "lobby.refuse": 1, "settings.set": 2, invalid: 2 },
};

/** Who comes in: the person's id, name and whether they are a guest, and the actor the rules see. */
export interface Joiner {
  actor: CallActor;
  name: string;
}


function actorOf(me: ConnectionIdentity, linkId: string): CallActor {
  return me.kind === "guest" ? { kind: "guest", guestId: me.userId.slice(2), linkId } : { kind: "member", userId: me.userId };
}

export class CallLink extends RealtimeServer<CallLinkClientFrame, CallLinkServerFrame> {
  protected readonly frames = new ClientFrames(CallLinkClientFrame, CALL_LINK_FRAME_BUDGET);
  protected readonly logName = "call_link";

  #storeInst: CallLinkStore | undefined;
  get #store(): CallLinkStore {
    if (!this.#storeInst) {
      const s = new CallLinkStore(this.ctx.storage.sql);
      s.migrate();
      this.#storeInst = s;
    }
    return this.#storeInst;
  }

  /** The link's mirror; read from D1 the first time (the worker normally sends it with `configure`). */
  async #link(): Promise<LinkMirror | null> {
    const known = this.#store.link();
    if (known) return known;
    const loaded = await loadCallLink(makeDb(this.env.DB), { id: this.name });
    if (!loaded) return null;
    const l = linkMirror(loaded.link);
    this.#store.setLink(l);
    return l;
  }

  protected override admits(me: ConnectionIdentity): boolean {
    return me.kind !== "visitor";
  }

  protected async welcome(conn: Socket, me: ConnectionIdentity): Promise<void> {
    const l = await this.#link();
    if (!l || l.endedAt !== null) return conn.close(CLOSE.GONE, "gone");
    this.send(conn, this.#snapshot(l, me));
  }

  /** Where someone stands: their recorded admission, or the one they would get if they came in now. */
  #admissionOf(l: LinkMirror, me: ConnectionIdentity): CallAdmission {
    const stored = this.#store.person(me.userId)?.admission ?? null;
    if (stored) return stored;
    try {
      return canJoinCallLink(actorOf(me, l.id), l, null);
    } catch {
      return "refused";
    }
  }

  #snapshot(l: LinkMirror, me: ConnectionIdentity): CallLinkServerFrame {
    const host = me.kind !== "guest" && me.userId === l.hostId;
    return {
      type: "call.snapshot",
      settings: { locked: l.locked, lobby: l.lobby, requireAccount: l.requireAccount },
      people: this.#store.people(l.hostId),
      lobby: host ? this.#store.lobby() : [],
      you: { id: me.userId, host, admission: host ? "admitted" : this.#admissionOf(l, me) },
      ended: l.endedAt !== null,
    };
  }

  /** Every socket gets the call as it may see it now. With the lobby off and the link open, whoever was waiting comes in first. */
  #changed(): void {
    const l = this.#store.link();
    if (!l) return;
    if (!l.lobby && !l.locked && l.endedAt === null) {
      for (const id of this.#store.admitWaiting(Date.now())) this.broadcast({ type: "lobby.decided", admitted: true }, { user: id });
    }
    for (const conn of this.getConnections<SocketState>()) {
      const me = this.stateOf(conn)?.identity;
      if (me) this.send(conn, this.#snapshot(l, me));
    }
  }

  protected async handle(conn: Socket, f: CallLinkClientFrame, state: SocketState): Promise<void> {
    const me = state.identity;
    const l = await this.#link();
    if (!l || l.endedAt !== null) throw new FrameError("not_found", "This call has ended.");
    const host = isCallHost(actorOf(me, l.id), l);
    const hostOnly = () => {
      if (!host) throw new FrameError("forbidden", "Only the call's host can do that.");
    };
    const now = Date.now();
    switch (f.type) {
      case "hand.raise":
      case "hand.lower":
        if (!this.#store.setHand(me.userId, f.type === "hand.raise" ? now : null)) throw new FrameError("forbidden", "Join the call first.");
        break;
      case "hand.lower_for":
        hostOnly();
        if (!this.#store.setHand(f.personId, null)) throw new FrameError("not_found", "No such person in the call.");
        break;
      case "lobby.admit":
      case "lobby.refuse": {
        hostOnly();
        if (this.#store.person(f.personId)?.admission !== "waiting") throw new FrameError("not_found", "Nobody by that id is waiting.");
        const admitted = f.type === "lobby.admit";
        this.#store.decide(f.personId, admitted ? "admitted" : "refused", now);
        this.broadcast({ type: "lobby.decided", admitted }, { user: f.personId });
        log({ event: "call_link.lobby_decided", linkId: l.id, personId: f.personId, admitted });
        break;
      }
      case "settings.set":
        hostOnly();
        await this.#saveSettings(l.id, f.settings);
        break;
      default:
        assertNever(f);
    }
    this.#changed();
    if (f.ref) this.send(conn, { type: "done", ref: f.ref });
  }

  /** The host's change of settings: D1 first (the record), then the mirror. */
  async #saveSettings(linkId: string, s: Partial<CallLinkSettings>): Promise<void> {
    if (Object.keys(s).length) await makeDb(this.env.DB).update(callLinks).set(s).where(eq(callLinks.id, linkId));
    this.#store.setSettings(s);
  }

  // --- RPC from the api worker (workers/api/src/lib/call-links.ts) -------------------------

  /** The link changed in D1 (created, settings, ended): the mirror follows; an ended link closes every socket. */
  async configure(l: LinkMirror): Promise<void> {
    this.#store.setLink(l);
    if (l.endedAt !== null) {
      this.#store.endAll();
      this.#changed();
      this.closeAll(CLOSE.GONE);
      return;
    }
    this.#changed();
  }

  /**
   * Someone asks to come in (a guest session, a media token): the rules (canJoinCallLink) on
   * their recorded admission, atomically with recording the answer. A newcomer who must wait
   * knocks: the host's sockets get `lobby.knocked`.
   */
  async join(who: Joiner, l: LinkMirror): Promise<Outcome<{ admission: "admitted" | "waiting" }>> {
    this.#store.setLink(l);
    const id = who.actor.kind === "member" ? who.actor.userId : `g_${who.actor.guestId}`;
    const before = this.#store.person(id);
    let admission: "admitted" | "waiting";
    try {
      admission = canJoinCallLink(who.actor, l, before?.admission ?? null);
    } catch (e) {
      if (e instanceof ApiError && (e.code === "not_found" || e.code === "forbidden")) return { error: e.code, message: e.message };
      throw e;
    }
    const now = Date.now();
    if (before?.admission !== admission || before.name !== who.name) {
      this.#store.setAdmission({ id, name: who.name, guest: who.actor.kind === "guest" }, admission, now);
      if (admission === "waiting" && before?.admission !== "waiting") {
        const entry: LobbyEntry = { id, name: who.name.slice(0, 64), guest: who.actor.kind === "guest", since: now };
        this.broadcast({ type: "lobby.knocked", entry }, { user: l.hostId });
      }
      this.#changed();
    }
    return { admission };
  }

  /** Closes a member's sockets of one session, or all of them (logout, password change). */
  async disconnectMember(userId: string, sessionId?: string): Promise<number> {
    return sessionId ? this.closeSession(sessionId, CLOSE.SESSION_ENDED) : this.closeUser(userId, CLOSE.SESSION_ENDED);
  }

  /** Someone's recorded admission (null: they never asked to come in) and how many are in the room. */
  async standing(personId: string): Promise<{ admission: CallAdmission | null; inCall: number; youInCall: boolean }> {
    const p = this.#store.person(personId);
    return { admission: p?.admission ?? null, inCall: this.#store.inCallCount(), youInCall: p?.inCall ?? false };
  }

  /**
   * A verified LiveKit webhook about one person of this link's room, once per event id. Says
   * whether it was new, whether the person may be in the room (someone admitted while the link
   * is live: anyone else is to be removed), and the name to say it with in the chat — null
   * when there is nothing to say (a refused join, the leaving of someone never shown in).
   */
  async media(input: { eventId: string; event: CallMediaEvent; personId: string }): Promise<{ duplicate: boolean; allowed: boolean; name: string | null }> {
    const now = Date.now();
    if (!this.#store.firstHook(input.eventId, now)) return { duplicate: true, allowed: true, name: null };
    const l = await this.#link();
    const p = this.#store.person(input.personId);
    const allowed = !!l && l.endedAt === null && p?.admission === "admitted";
    let say = false;
    if (input.event === "left") {
      say = !!p?.inCall;
      if (say) this.#store.setInCall(input.personId, false);
    } else if (allowed) {
      say = true;
      if (input.event === "joined") this.#store.setInCall(input.personId, true);
    }
    if (say) this.#changed();
    return { duplicate: false, allowed, name: say && p ? p.name : null };
  }
}
