/**
 * The CommunityHub client, framework-free: one socket per open community
 * (`/parties/community-hub/<communityId>`), a pure reducer (`reduceHub`) that applies the
 * `state.synced` snapshot and then every delta, and a Core whose snapshot is its result.
 * `hub.svelte.ts` binds it; components never touch the socket. Frames are parsed with the
 * shared schemas (workers/shared/communities.ts) by socket.ts, never cast.
 */
import {
  type Channel,
  type Community,
  type HubClientFrame,
  HubServerFrame,
  type Member,
  type PresenceChoice,
  type PresenceStatus,
  type Role,
  type Unread,
} from "$shared/communities";
import type { VoiceState } from "$shared/media";
import { assertNever } from "$shared/realtime";
import { Core } from "./core";
import { RealtimeSocket, type SocketConfig } from "./socket";

export type HubStatus =
  /** Waiting for the socket or for the snapshot. */
  | "connecting"
  /** Snapshot applied; deltas flow. */
  | "live"
  /** The socket dropped; partysocket is reconnecting (the last state is kept). */
  | "reconnecting"
  /** Kicked, banned, left or the session ended: the hub refused us. No reconnect. */
  | "revoked"
  /** The community was deleted. No reconnect. */
  | "deleted"
  /** Closed by us. */
  | "closed";

export interface HubState {
  communityId: string;
  status: HubStatus;
  /** True once a snapshot arrived (the lists below come from the hub, not from HTTP). */
  synced: boolean;
  me: { userId: string; choice: PresenceChoice; status: PresenceStatus } | null;
  community: Community | null;
  channels: Channel[];
  roles: Role[];
  /** Members who appear online (idle and dnd included), by user id. Absent = offline. */
  presences: Readonly<Record<string, PresenceStatus>>;
  voiceStates: VoiceState[];
  /** By channel id. */
  unreads: Readonly<Record<string, Unread>>;
  /** Loaded over HTTP (`setMembers`) and kept current by member.* frames; null until then. */
  members: Readonly<Record<string, Member>> | null;
  /** Why we were removed, when `status` is `revoked` and the hub said so. */
  leftReason: "left" | "kicked" | "banned" | null;
}

export function initialHubState(communityId: string): HubState {
  return {
    communityId,
    status: "connecting",
    synced: false,
    me: null,
    community: null,
    channels: [],
    roles: [],
    presences: {},
    voiceStates: [],
    unreads: {},
    members: null,
    leftReason: null,
  };
}

function without<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const { [key]: _gone, ...rest } = record;
  return rest;
}

function upsert<T extends { id: string }>(list: T[], item: T): T[] {
  const i = list.findIndex((x) => x.id === item.id);
  if (i < 0) return [...list, item];
  const next = list.slice();
  next[i] = item;
  return next;
}

/** Applies one server frame; returns the same object when nothing changed. Pure. */
export function reduceHub(state: HubState, frame: HubServerFrame): HubState {
  switch (frame.type) {
    case "state.synced": {
      const presences: Record<string, PresenceStatus> = {};
      for (const p of frame.presences) presences[p.userId] = p.status;
      const unreads: Record<string, Unread> = {};
      for (const u of frame.unreads) unreads[u.channelId] = u;
      return {
        ...state,
        status: "live",
        synced: true,
        me: frame.me,
        community: frame.community,
        channels: frame.channels,
        roles: frame.roles,
        presences,
        voiceStates: frame.voiceStates,
        unreads,
      };
    }
    case "presence.updated": {
      const presences = frame.status === "offline" ? without(state.presences, frame.userId) : { ...state.presences, [frame.userId]: frame.status };
      const me = state.me && state.me.userId === frame.userId ? { ...state.me, status: frame.status } : state.me;
      return { ...state, presences, me };
    }
    case "presence.chosen":
      return state.me ? { ...state, me: { ...state.me, choice: frame.choice } } : state;
    case "channel.created":
    case "channel.updated":
      return { ...state, channels: upsert(state.channels, frame.channel) };
    case "channel.deleted":
      return {
        ...state,
        channels: state.channels.filter((c) => c.id !== frame.channelId),
        unreads: without(state.unreads, frame.channelId),
        voiceStates: state.voiceStates.filter((v) => v.channelId !== frame.channelId),
      };
    case "voice.updated": {
      const others = state.voiceStates.filter((v) => v.userId !== frame.userId);
      return { ...state, voiceStates: frame.state ? [...others, frame.state] : others };
    }
    case "voice.move_requested":
    case "voice.key_rotated":
    case "emoji.updated":
      // For the voice UI (a move; an E2EE call's new key) and the custom emoji store
      // (lib/emoji/custom.svelte.ts); the hub's state itself does not change.
      return state;
    case "unread.updated":
      return { ...state, unreads: { ...state.unreads, [frame.unread.channelId]: frame.unread } };
    case "member.joined":
    case "member.updated":
      if (!state.members) return state;
      return { ...state, members: { ...state.members, [frame.member.user.id]: frame.member } };
    case "member.left": {
      const mine = state.me?.userId === frame.userId;
      return {
        ...state,
        members: state.members ? without(state.members, frame.userId) : null,
        presences: without(state.presences, frame.userId),
        voiceStates: state.voiceStates.filter((v) => v.userId !== frame.userId),
        leftReason: mine ? frame.reason : state.leftReason,
      };
    }
    case "role.created":
    case "role.updated":
      return { ...state, roles: upsert(state.roles, frame.role) };
    case "role.deleted":
      return {
        ...state,
        roles: state.roles.filter((r) => r.id !== frame.roleId),
        members: state.members
          ? Object.fromEntries(
              Object.entries(state.members).map(([id, m]) => [id, m.roleIds.includes(frame.roleId) ? { ...m, roleIds: m.roleIds.filter((r) => r !== frame.roleId) } : m]),
            )
          : null,
      };
    case "community.updated":
      return { ...state, community: frame.community };
    case "community.deleted":
      return { ...state, status: "deleted" };
    case "error":
      return state;
    default:
      return assertNever(frame);
  }
}

/** Does `unread` have messages the member has not read? */
export function isUnread(unread: Unread | undefined): boolean {
  return !!unread && unread.lastSeq > unread.readSeq;
}

/**
 * Told after every change, and after every frame even when it changed nothing: `frame` is
 * the frame just applied (null for local changes), so one-off signals that are not state —
 * a move request, a rotated call key — reach the voice code.
 */
export type HubListener = (state: HubState, frame: HubServerFrame | null) => void;

/** One community's hub connection. */
export class HubCore extends Core<HubState> {
  readonly communityId: string;
  readonly #socket: RealtimeSocket<HubServerFrame, HubClientFrame>;
  readonly #frameListeners = new Set<HubListener>();
  /** A frame is being applied: its listeners are told with the frame, once, afterwards. */
  #inFrame = false;
  /** member.* frames that arrive while the member list is being fetched, replayed after it. */
  #memberBacklog: HubServerFrame[] | null = null;
  /** Sent again after every (re)connect: the client's activity, so a new socket starts right. */
  #idle = false;

  constructor(communityId: string, opts: { socket?: SocketConfig } = {}) {
    super(initialHubState(communityId));
    this.communityId = communityId;
    this.#socket = new RealtimeSocket<HubServerFrame, HubClientFrame>(
      "community-hub",
      communityId,
      {
        frames: HubServerFrame,
        onFrame: (frame) => this.#onFrame(frame),
        onOpen: () => {
          if (this.#idle) this.#send({ type: "presence.set", status: "idle" });
        },
        onClose: (_code, final) => {
          const status: HubStatus =
            final === "GONE" || this.state.status === "deleted" ? "deleted" : final ? "revoked" : "reconnecting";
          this.update({ ...this.state, status });
        },
      },
      opts.socket,
    );
  }

  /** As Core's `subscribe`, and the listener also hears which frame led to the state (see HubListener). */
  override subscribe(listener: HubListener): () => void {
    const unsubscribe = super.subscribe((s) => {
      if (!this.#inFrame) listener(s, null);
    });
    this.#frameListeners.add(listener);
    return () => {
      unsubscribe();
      this.#frameListeners.delete(listener);
    };
  }

  /** The member list is being fetched: hold member.* frames until `setMembers`. */
  beginMembersLoad(): void {
    this.#memberBacklog ??= [];
  }

  /** The member list from HTTP; member frames that came meanwhile are applied on top. */
  setMembers(list: Member[]): void {
    const backlog = this.#memberBacklog ?? [];
    this.#memberBacklog = null;
    let state: HubState = { ...this.state, members: Object.fromEntries(list.map((m) => [m.user.id, m])) };
    for (const f of backlog) state = reduceHub(state, f);
    this.update(state);
  }

  /** The user's chosen status (`online`, `dnd`, `invisible`) or `idle` after no input. */
  setPresence(status: PresenceChoice): void {
    this.#idle = status === "idle";
    this.#send({ type: "presence.set", status });
  }

  /** The client is active again: re-sends the chosen status (not `online`, which would overwrite dnd). */
  setActive(): void {
    this.#idle = false;
    const choice = this.state.me?.choice;
    this.#send({ type: "presence.set", status: choice && choice !== "idle" ? choice : "online" });
  }

  /** Marks a text channel read up to `seq`. */
  markRead(channelId: string, seq: number): void {
    const u = this.state.unreads[channelId];
    if (u && u.readSeq >= seq && u.mentions === 0) return;
    this.#send({ type: "channel.read", channelId, seq });
  }

  /** The member's own mute / deafen in a voice call of this community (shown in the sidebar). */
  setVoiceState(patch: { selfMute?: boolean; selfDeaf?: boolean }): void {
    this.#send({ type: "voice.set", ...patch });
  }

  /** Raises the member's hand in the stage channel they are in (docs/voice.md "Raised hands"). */
  raiseHand(): void {
    this.#send({ type: "hand.raise" });
  }

  /** Lowers the member's own hand, or (MUTE_MEMBERS) `userId`'s. */
  lowerHand(userId?: string): void {
    this.#send(userId ? { type: "hand.lower", userId } : { type: "hand.lower" });
  }

  close(): void {
    this.update({ ...this.state, status: "closed" });
    this.#frameListeners.clear();
    this.#socket.close(1000, "closed");
  }

  #send(frame: HubClientFrame): void {
    // Nothing is queued while disconnected: the snapshot after a reconnect carries the truth
    // again, and activity is re-sent on open.
    this.#socket.send(frame);
  }

  #onFrame(frame: HubServerFrame): void {
    if (this.#memberBacklog && (frame.type === "member.joined" || frame.type === "member.updated" || frame.type === "member.left" || frame.type === "role.deleted")) {
      this.#memberBacklog.push(frame);
    }
    this.#inFrame = true;
    try {
      this.update(reduceHub(this.state, frame));
    } finally {
      this.#inFrame = false;
    }
    for (const l of [...this.#frameListeners]) l(this.state, frame);
  }
}
