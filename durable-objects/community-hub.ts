/**
 * CommunityHub: one per community. A member's client holds one socket to it while the
 * community is open and gets a `state.synced` snapshot, then deltas: presence, member joins
 * and leaves, channel and role changes, unread/mention pings from the community's channels.
 *
 * Everything that matters lives in this object's SQLite (chosen status, last published
 * presence, the channel views each connected member was sent, unread state, voice states) or
 * in the connection's state (identity, input activity), so hibernation or eviction loses
 * nothing; `onStart` reconciles the tables with the sockets that are still open.
 *
 * Sockets come through the realtime kit (kit.ts): identity only from the `x-woxly-identity`
 * header the worker sets after checking the session and membership (workers/api/src/realtime.ts),
 * for this community only; frames parsed with the shared schema and paid for from the frame
 * budget. Frames never carry identity.
 */
import type { ChannelActivity } from "../workers/shared/chat";
import { CLOSE } from "../workers/shared/close-codes";
import {
  type Channel,
  HubClientFrame,
  type HubEvent,
  type HubServerFrame,
  type Presence,
  type PresenceChoice,
  type PresenceStatus,
  type Unread,
} from "../workers/shared/communities";
import type { VoiceState } from "../workers/shared/media";
import { type ConnectionIdentity, assertNever } from "../workers/shared/realtime";
import { type PermissionModel, loadPermissionModel } from "../workers/core/access";
import { membersWhoCanSee, visibleChannels } from "../workers/core/policy";
import { log } from "../workers/core/log";
import { toChannel, toCommunity, toRole, sortRoles } from "../workers/core/views";
import { eq } from "drizzle-orm";
import { roles } from "../workers/core/schema";
import { makeDb } from "../workers/core/db";
import type { VoiceHubOp, VoiceOpResult } from "../workers/shared/media";
import { applyVoiceOp, listVoiceStates, lowerHandsIn } from "./voice-store";
import { lowerHand, raiseHand } from "./voice-hands";
import type { FrameBudgetSpec } from "./frame-budget";
import { ClientFrames, FrameError, RealtimeServer, type Socket, type SocketState } from "./kit";

/** How long the all-members permission model used for pings is reused, ms. */
const MODEL_TTL_MS = 30_000;

/** What a hub socket keeps besides identity and budget (well under the 2 KB attachment limit). */
interface HubFields {
  /** False after the client reported `idle` (no input for IDLE_AFTER_MS). */
  active?: boolean;
  /** True once `state.synced` went out: nothing else is sent before the snapshot. */
  ready?: boolean;
}
type HubSocket = Socket<HubFields>;
type HubState = SocketState<HubFields>;

const isReady = (s: HubState) => s.ready === true;

/**
 * What each hub frame costs (frame-budget.ts): `presence.set` writes and is broadcast to the
 * whole community, `voice.set` to everyone who can see the channel, `channel.read` answers
 * only its user's sockets. A member's sockets share 60 tokens refilling at 5/s (one socket
 * alone: 40 at 4/s), so a burst of clicks is fine and a loop is not (about one presence
 * change a second sustained). `invalid`: a frame that does not parse.
 */
export const HUB_FRAME_BUDGET = {
  connection: { capacity: 40, perSecond: 4 },
  user: { capacity: 60, perSecond: 5 },
  costs: { "presence.set": 4, "voice.set": 4, "channel.read": 1, "hand.raise": 4, "hand.lower": 4, invalid: 1 },
} satisfies FrameBudgetSpec<HubClientFrame["type"] | "invalid">;

const SCHEMA = [
  // The status each user chose (online, dnd, invisible); it outlives their sockets.
  `CREATE TABLE IF NOT EXISTS presence_choice (user_id TEXT PRIMARY KEY, choice TEXT NOT NULL, updated_at INTEGER NOT NULL)`,
  // What others were last told about each user who is not offline.
  `CREATE TABLE IF NOT EXISTS presence (user_id TEXT PRIMARY KEY, status TEXT NOT NULL, since INTEGER NOT NULL)`,
  // The channel views each connected user was last sent, to send exact deltas.
  `CREATE TABLE IF NOT EXISTS channel_views (user_id TEXT NOT NULL, channel_id TEXT NOT NULL, view TEXT NOT NULL,
     PRIMARY KEY (user_id, channel_id))`,
  `CREATE TABLE IF NOT EXISTS channel_seq (channel_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, last_at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS reads (user_id TEXT NOT NULL, channel_id TEXT NOT NULL, read_seq INTEGER NOT NULL DEFAULT 0,
     mentions INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (user_id, channel_id))`,
  // Voice states live in the tables of durable-objects/voice-store.ts.
];

/** The cached all-members permission model and, per channel, who can see it (null: not a text channel here). */
interface PingModel {
  at: number;
  model: PermissionModel;
  canSee: Map<string, ReadonlySet<string> | null>;
}

export class CommunityHub extends RealtimeServer<HubClientFrame, HubServerFrame, HubFields> {
  protected readonly frames = new ClientFrames(HubClientFrame, HUB_FRAME_BUDGET);
  protected readonly logName = "hub";

  /**
   * All-members permission model for pings; a cache only, dropped on every change (publish,
   * syncChannels, shutdown). `canSee` caches, per channel, who can see it (null: not a
   * text channel of this community), computed from this model: it goes with the model.
   */
  #model: PingModel | undefined;
  /** Bumped by every drop of #model, so a model loaded across a change is not cached. */
  #modelEpoch = 0;
  /** Whether this instance created its tables (RPC from ChannelRooms may arrive before onStart). */
  #migrated = false;

  #db() {
    return makeDb(this.env.DB);
  }

  #migrate(): void {
    for (const s of SCHEMA) this.ctx.storage.sql.exec(s);
    this.#migrated = true;
  }

  /** For RPC entry points that do not go through partyserver's start-up (plain stubs by name). */
  #ensureTables(): void {
    if (!this.#migrated) this.#migrate();
  }

  override onStart(): void {
    this.#migrate();
    this.#reconcile();
  }

  /** After a wake-up or a restart: forget whoever has no open socket any more. */
  #reconcile(): void {
    const connected = this.#connectedUsers();
    for (const row of this.sql<{ user_id: string }>`SELECT user_id FROM presence`) {
      if (!connected.has(row.user_id)) this.#refreshPresence(row.user_id);
    }
    for (const row of this.sql<{ user_id: string }>`SELECT DISTINCT user_id FROM channel_views`) {
      if (!connected.has(row.user_id)) this.sql`DELETE FROM channel_views WHERE user_id = ${row.user_id}`;
    }
    for (const userId of connected) this.#refreshPresence(userId);
  }

  // -------------------------------------------------------------------------------------
  // Sockets
  // -------------------------------------------------------------------------------------

  /** Only sockets the worker let into this community. */
  protected override admits(me: ConnectionIdentity): boolean {
    return me.communityId === this.name;
  }

  protected async welcome(conn: HubSocket, id: ConnectionIdentity): Promise<void> {
    const [model, roleRows] = await Promise.all([
      loadPermissionModel(this.#db(), this.name, [id.userId]),
      this.#db().select().from(roles).where(eq(roles.communityId, this.name)),
    ]);
    if (!model || !model.memberRoles.has(id.userId)) {
      conn.close(CLOSE.ACCESS_LOST, "not a member");
      return;
    }
    // From here on no await: the snapshot and the stored views describe the same moment.
    const views = this.#viewsFor(model, id.userId);
    this.#storeViews(id.userId, views);
    this.#refreshPresence(id.userId);
    const choice = this.#choice(id.userId);
    this.send(conn, {
      type: "state.synced",
      me: { userId: id.userId, choice, status: this.#published(id.userId) },
      community: toCommunity(model.community),
      channels: views,
      roles: sortRoles(roleRows).map(toRole),
      presences: this.#presences(),
      voiceStates: this.#voiceStatesIn(views),
      unreads: this.#unreadsFor(id.userId, views),
    });
    conn.setState({ ...(this.stateOf(conn) ?? { identity: id }), ready: true });
    log({ event: "hub.connected", communityId: this.name, userId: id.userId });
  }

  protected handle(conn: HubSocket, frame: HubClientFrame, state: HubState): void | Promise<void> {
    const userId = state.identity.userId;
    switch (frame.type) {
      case "presence.set":
        return this.#setPresence(conn, state, frame.status);
      case "channel.read": {
        const seen = this.sql`SELECT 1 FROM channel_views WHERE user_id = ${userId} AND channel_id = ${frame.channelId}`;
        if (!seen.length) throw new FrameError("not_found", "No such channel.");
        return this.#markRead(userId, frame.channelId, frame.seq);
      }
      case "voice.set":
        this.voice({ op: "client", userId, selfMute: frame.selfMute, selfDeaf: frame.selfDeaf });
        return;
      // Raised hands (voice-hands.ts): stored with the voice states, sent as voice.updated.
      case "hand.raise":
        return raiseHand(this.ctx.storage.sql, this.#db(), this.name, userId).then((r) => r.frames.forEach((f) => this.#sendVoiceFrame(f)));
      case "hand.lower":
        return lowerHand(this.ctx.storage.sql, this.#db(), userId, frame).then((r) => r.frames.forEach((f) => this.#sendVoiceFrame(f)));
      default:
        return assertNever(frame);
    }
  }

  protected override closed(conn: HubSocket): void {
    const userId = this.stateOf(conn)?.identity.userId;
    if (userId) this.#userSocketGone(userId, conn.id);
  }

  /** The user lost a socket: when it was the last, they go offline and their views are dropped. */
  #userSocketGone(userId: string, connectionId?: string): void {
    if (!this.#socketsOf(userId, connectionId).length) this.sql`DELETE FROM channel_views WHERE user_id = ${userId}`;
    this.#refreshPresence(userId, connectionId);
  }

  // -------------------------------------------------------------------------------------
  // Presence
  // -------------------------------------------------------------------------------------

  /** A user's open sockets (but `except`). */
  #socketsOf(userId: string, except?: string): HubSocket[] {
    return this.socketsOfUser(userId).filter((c) => c.id !== except);
  }

  #connectedUsers(): Set<string> {
    const out = new Set<string>();
    for (const c of this.getConnections()) {
      const userId = this.stateOf(c)?.identity.userId;
      if (userId) out.add(userId);
    }
    return out;
  }

  /** Sends a frame to a user's sockets that have had their snapshot. */
  #toUser(userId: string, frame: HubServerFrame): void {
    this.broadcast(frame, { user: userId, where: isReady });
  }

  #choice(userId: string): Exclude<PresenceChoice, "idle"> {
    const row = this.sql<{ choice: string }>`SELECT choice FROM presence_choice WHERE user_id = ${userId}`[0];
    return row?.choice === "dnd" || row?.choice === "invisible" ? row.choice : "online";
  }

  /** What others see: offline without sockets or when invisible; dnd as chosen; else idle unless a socket is active. */
  #effective(userId: string, except?: string): PresenceStatus {
    const sockets = this.#socketsOf(userId, except);
    if (!sockets.length) return "offline";
    const choice = this.#choice(userId);
    if (choice === "invisible") return "offline";
    if (choice === "dnd") return "dnd";
    return sockets.some((s) => this.stateOf(s)?.active !== false) ? "online" : "idle";
  }

  #published(userId: string): PresenceStatus {
    const row = this.sql<{ status: string }>`SELECT status FROM presence WHERE user_id = ${userId}`[0];
    return row ? (row.status as PresenceStatus) : "offline";
  }

  /** Recomputes a user's presence and tells everyone when it changed. */
  #refreshPresence(userId: string, except?: string): void {
    const next = this.#effective(userId, except);
    if (next === this.#published(userId)) return;
    if (next === "offline") this.sql`DELETE FROM presence WHERE user_id = ${userId}`;
    else {
      this.sql`INSERT INTO presence (user_id, status, since) VALUES (${userId}, ${next}, ${Date.now()})
               ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, since = excluded.since`;
    }
    this.broadcast({ type: "presence.updated", userId, status: next }, { where: isReady });
  }

  #setPresence(conn: HubSocket, state: HubState, status: PresenceChoice): void {
    const userId = state.identity.userId;
    const active = status !== "idle";
    if ((state.active !== false) !== active) conn.setState({ ...state, active });
    if (status !== "idle" && status !== this.#choice(userId)) {
      this.sql`INSERT INTO presence_choice (user_id, choice, updated_at) VALUES (${userId}, ${status}, ${Date.now()})
               ON CONFLICT (user_id) DO UPDATE SET choice = excluded.choice, updated_at = excluded.updated_at`;
      this.#toUser(userId, { type: "presence.chosen", choice: status });
    }
    this.#refreshPresence(userId);
  }

  #presences(): Presence[] {
    return this.sql<{ user_id: string; status: string }>`SELECT user_id, status FROM presence ORDER BY user_id`.map((r) => ({
      userId: r.user_id,
      status: r.status as PresenceStatus,
    }));
  }

  #voiceStates(): VoiceState[] {
    return listVoiceStates(this.ctx.storage.sql);
  }

  // -------------------------------------------------------------------------------------
  // Channels: each connected member is sent exactly the channels they can see
  // -------------------------------------------------------------------------------------

  #viewsFor(model: PermissionModel, userId: string): Channel[] {
    return visibleChannels(model, userId).map(({ channel, perms }) => toChannel(channel, model.overwrites.get(channel.id) ?? [], perms));
  }

  #storeViews(userId: string, views: Channel[]): void {
    this.sql`DELETE FROM channel_views WHERE user_id = ${userId}`;
    for (const v of views) this.sql`INSERT INTO channel_views (user_id, channel_id, view) VALUES (${userId}, ${v.id}, ${JSON.stringify(v)})`;
  }

  // -------------------------------------------------------------------------------------
  // Unread and mention pings
  // -------------------------------------------------------------------------------------

  #unread(userId: string, channelId: string): Unread {
    const seq = this.sql<{ last_seq: number }>`SELECT last_seq FROM channel_seq WHERE channel_id = ${channelId}`[0];
    const r = this.sql<{ read_seq: number; mentions: number }>`
      SELECT read_seq, mentions FROM reads WHERE user_id = ${userId} AND channel_id = ${channelId}`[0];
    return { channelId, lastSeq: seq?.last_seq ?? 0, readSeq: r?.read_seq ?? 0, mentions: r?.mentions ?? 0 };
  }

  #unreadsFor(userId: string, views: Channel[]): Unread[] {
    const text = new Set(views.filter((v) => v.kind === "text").map((v) => v.id));
    const out: Unread[] = [];
    for (const row of this.sql<{ channel_id: string }>`SELECT channel_id FROM channel_seq`) {
      if (text.has(row.channel_id)) out.push(this.#unread(userId, row.channel_id));
    }
    return out;
  }

  #markRead(userId: string, channelId: string, seq: number): void {
    const last = this.sql<{ last_seq: number }>`SELECT last_seq FROM channel_seq WHERE channel_id = ${channelId}`[0]?.last_seq ?? 0;
    const clear = seq >= last ? 1 : 0;
    this.sql`INSERT INTO reads (user_id, channel_id, read_seq, mentions) VALUES (${userId}, ${channelId}, ${seq}, 0)
             ON CONFLICT (user_id, channel_id) DO UPDATE SET read_seq = max(read_seq, excluded.read_seq),
             mentions = CASE WHEN ${clear} = 1 THEN 0 ELSE mentions END`;
    this.#toUser(userId, { type: "unread.updated", unread: this.#unread(userId, channelId) });
  }

  async #pingModel(): Promise<PingModel | undefined> {
    const now = Date.now();
    if (this.#model && now - this.#model.at < MODEL_TTL_MS) return this.#model;
    const epoch = this.#modelEpoch;
    const model = await loadPermissionModel(this.#db(), this.name);
    if (!model) return undefined;
    const entry: PingModel = { at: now, model, canSee: new Map() };
    // A change that arrived while the model loaded dropped the cache; this model may predate
    // it, so it answers this call but is not kept.
    if (epoch === this.#modelEpoch) this.#model = entry;
    return entry;
  }

  /** Drops the cached model (and with it every cached channel visibility). */
  #dropModel(): void {
    this.#model = undefined;
    this.#modelEpoch++;
  }

  /** Members who can see `channelId`, or null when it is not a text channel of this community. Cached with the model. */
  #canSee(ping: PingModel, channelId: string): ReadonlySet<string> | null {
    let set = ping.canSee.get(channelId);
    if (set === undefined) {
      set = ping.model.channels.some((c) => c.id === channelId && c.kind === "text") ? new Set(membersWhoCanSee(ping.model, channelId)) : null;
      ping.canSee.set(channelId, set);
    }
    return set;
  }

  // -------------------------------------------------------------------------------------
  // Frames
  // -------------------------------------------------------------------------------------

  // -------------------------------------------------------------------------------------
  // RPC (called by the api worker with getServerByName, and by ChannelRooms)
  // -------------------------------------------------------------------------------------

  /**
   * A message was written in one of this community's text channels: members who can see
   * the channel get an `unread.updated`, and those it mentions (directly, by role,
   * @everyone, or @here while connected) get their mention count raised. The ChannelRoom
   * has already checked MENTION_EVERYONE and role mentionability.
   */
  async channelActivity(a: ChannelActivity): Promise<void> {
    await this.channelActivities([a]);
  }

  /**
   * Several messages at once (a ChannelRoom batches what arrives while its previous call is
   * in flight), in seq order: each counts as channelActivity would, and each connected
   * member who can see a channel gets one `unread.updated` for it, with the state after all.
   */
  async channelActivities(list: ChannelActivity[]): Promise<void> {
    this.#ensureTables();
    const ping = await this.#pingModel();
    if (!ping) return;
    const model = ping.model;
    const touched = new Map<string, ReadonlySet<string>>();
    let connected: Set<string> | undefined;
    for (const a of list) {
      // A thread is seen by whoever sees its parent (docs/threads.md).
      const canSee = this.#canSee(ping, a.threadOf ?? a.channelId);
      if (!canSee) continue;
      if (!a.threadOf) touched.set(a.channelId, canSee);
      this.sql`INSERT INTO channel_seq (channel_id, last_seq, last_at) VALUES (${a.channelId}, ${a.seq}, ${Date.now()})
               ON CONFLICT (channel_id) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq), last_at = excluded.last_at`;
      const pinged = new Set<string>();
      if (a.everyone) for (const u of canSee) pinged.add(u);
      if (a.here) for (const u of (connected ??= this.#connectedUsers())) if (canSee.has(u)) pinged.add(u);
      for (const u of a.mentionedUserIds) if (canSee.has(u)) pinged.add(u);
      if (a.mentionedRoleIds.length) {
        const wanted = new Set(a.mentionedRoleIds);
        for (const [u, roleIds] of model.memberRoles) if (canSee.has(u) && roleIds.some((r) => wanted.has(r))) pinged.add(u);
      }
      if (a.authorId) {
        pinged.delete(a.authorId);
        this.sql`INSERT INTO reads (user_id, channel_id, read_seq, mentions) VALUES (${a.authorId}, ${a.channelId}, ${a.seq}, 0)
                 ON CONFLICT (user_id, channel_id) DO UPDATE SET read_seq = max(read_seq, excluded.read_seq), mentions = 0`;
      }
      for (const u of pinged) {
        // A mention the member has already read past (a late or repeated call) does not count.
        this.sql`INSERT INTO reads (user_id, channel_id, read_seq, mentions) VALUES (${u}, ${a.channelId}, 0, 1)
                 ON CONFLICT (user_id, channel_id) DO UPDATE SET mentions = mentions + (read_seq < ${a.seq})`;
      }
      // A thread's messages are not unread for the whole channel: only those it mentions hear of it.
      if (a.threadOf) touched.set(a.channelId, new Set([...(touched.get(a.channelId) ?? []), ...pinged]));
    }
    if (!touched.size) return;
    connected ??= this.#connectedUsers();
    if (!connected.size) return;
    for (const [channelId, canSee] of touched) {
      for (const u of connected) {
        if (!canSee.has(u)) continue;
        this.#toUser(u, { type: "unread.updated", unread: this.#unread(u, channelId) });
      }
    }
  }

  /** A member read a channel up to `seq` (for a ChannelRoom forwarding its read markers). */
  markRead(args: { userId: string; channelId: string; seq: number }): void {
    this.#ensureTables();
    this.#markRead(args.userId, args.channelId, args.seq);
  }

  /** Voice states (durable-objects/voice-store.ts): applies the op, sends every socket what changed. */
  /** A voice channel stopped being a stage: its raised hands go down. */
  lowerAllHands(channelId: string): number {
    const r = lowerHandsIn(this.ctx.storage.sql, channelId);
    for (const f of r.frames) this.#sendVoiceFrame(f);
    return r.frames.length;
  }

  voice(op: VoiceHubOp): VoiceOpResult {
    const r = applyVoiceOp(this.ctx.storage.sql, op);
    for (const f of r.frames) this.#sendVoiceFrame(f);
    return r;
  }

  /**
   * A voice frame goes only where it may be seen: a move request to the moved member alone; a
   * voice state to members who can see its channel, and to everyone else as "not in a channel
   * you can see" (state null), so someone moved into a private channel vanishes from the
   * channel they were seen in without telling anyone where they went.
   */
  #sendVoiceFrame(f: VoiceOpResult["frames"][number]): void {
    if (f.type === "voice.move_requested") return this.#toUser(f.userId, f);
    const seeing = f.state ? this.#viewersOf(f.state.channelId) : null;
    if (!seeing) {
      this.broadcast(f, { where: isReady });
      return;
    }
    this.broadcast(f, { where: (s) => isReady(s) && seeing.has(s.identity.userId) });
    this.broadcast({ ...f, state: null }, { where: (s) => isReady(s) && !seeing.has(s.identity.userId) });
  }

  /** Connected members who can see a channel (the views they were sent). */
  #viewersOf(channelId: string): Set<string> {
    return new Set(this.sql<{ user_id: string }>`SELECT user_id FROM channel_views WHERE channel_id = ${channelId}`.map((r) => r.user_id));
  }

  /** Voice states in the channels of `views` only. */
  #voiceStatesIn(views: Channel[]): VoiceState[] {
    const ids = new Set(views.map((v) => v.id));
    return this.#voiceStates().filter((v) => ids.has(v.channelId));
  }

  /** Sends an event to every socket of the community. */
  publish(event: HubEvent): void {
    // An E2EE key rotation changes nothing the hub models; it only tells clients in that call to refetch the key.
    if (event.type !== "voice.key_rotated" && event.type !== "emoji.updated") this.#dropModel();
    switch (event.type) {
      case "member.left":
        this.sql`DELETE FROM reads WHERE user_id = ${event.userId}`;
        break;
      case "member.joined":
      case "member.updated":
      case "role.created":
      case "role.updated":
      case "role.deleted":
      case "community.updated":
      case "community.deleted":
      case "voice.key_rotated":
      case "emoji.updated":
        break;
      default:
        assertNever(event);
    }
    this.broadcast(event, { where: isReady });
  }

  /**
   * Channels, overwrites, roles or memberships changed: sends each connected member (or only
   * `userIds`) `channel.created/updated/deleted` for what changed in what they can see.
   * Connected users who are no longer members are disconnected.
   */
  async syncChannels(userIds?: string[]): Promise<void> {
    this.#dropModel();
    const connected = this.#connectedUsers();
    const targets = userIds ? userIds.filter((u) => connected.has(u)) : [...connected];
    if (!targets.length) return;
    const model = await loadPermissionModel(this.#db(), this.name, targets);
    if (!model) return;
    for (const userId of targets) {
      if (!model.memberRoles.has(userId)) {
        this.disconnectUser(userId);
        continue;
      }
      const views = this.#viewsFor(model, userId);
      const before = new Map(
        this.sql<{ channel_id: string; view: string }>`SELECT channel_id, view FROM channel_views WHERE user_id = ${userId}`.map((r) => [
          r.channel_id,
          r.view,
        ]),
      );
      const frames: HubServerFrame[] = [];
      for (const v of views) {
        const json = JSON.stringify(v);
        const old = before.get(v.id);
        before.delete(v.id);
        if (old === json) continue;
        frames.push({ type: old === undefined ? "channel.created" : "channel.updated", channel: v });
        this.sql`INSERT INTO channel_views (user_id, channel_id, view) VALUES (${userId}, ${v.id}, ${json})
                 ON CONFLICT (user_id, channel_id) DO UPDATE SET view = excluded.view`;
      }
      for (const gone of before.keys()) {
        frames.push({ type: "channel.deleted", channelId: gone });
        this.sql`DELETE FROM channel_views WHERE user_id = ${userId} AND channel_id = ${gone}`;
      }
      // Who is talking in a channel that just became visible (they were hidden until now).
      const appeared = new Set(frames.flatMap((f) => (f.type === "channel.created" ? [f.channel.id] : [])));
      for (const v of this.#voiceStates()) if (appeared.has(v.channelId)) frames.push({ type: "voice.updated", userId: v.userId, state: v });
      for (const f of frames) this.#toUser(userId, f);
    }
    // Unread state of channels that no longer exist.
    const live = new Set(model.channels.map((c) => c.id));
    for (const row of this.sql<{ channel_id: string }>`SELECT channel_id FROM channel_seq`) {
      if (!live.has(row.channel_id)) {
        this.sql`DELETE FROM channel_seq WHERE channel_id = ${row.channel_id}`;
        this.sql`DELETE FROM reads WHERE channel_id = ${row.channel_id}`;
      }
    }
  }

  /** Closes every socket of a user (kick, ban, leave) at once; they appear offline. */
  disconnectUser(userId: string): number {
    const closed = this.closeUser(userId, CLOSE.ACCESS_LOST);
    this.#userSocketGone(userId);
    return closed;
  }

  /** Closes the sockets of one session (logout). */
  disconnectSession(sessionId: string): number {
    const users = new Set(this.socketsOfSession(sessionId).map((c) => this.stateOf(c)?.identity.userId));
    const closed = this.closeSession(sessionId, CLOSE.SESSION_ENDED);
    for (const u of users) if (u) this.#userSocketGone(u);
    return closed;
  }

  /** Members who appear online (idle and dnd included). */
  onlineCount(): number {
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM presence`[0]?.n ?? 0;
  }

  /** Presence of every member who is not offline, by user id. */
  presences(): Record<string, PresenceStatus> {
    return Object.fromEntries(this.#presences().map((p) => [p.userId, p.status]));
  }

  /** The community was deleted: tell every socket, close them all and wipe this object's storage. */
  async shutdown(): Promise<void> {
    this.broadcast({ type: "community.deleted", communityId: this.name }, { where: isReady });
    this.closeAll(CLOSE.GONE);
    this.#dropModel();
    await this.ctx.storage.deleteAll();
    this.#migrate();
  }
}
