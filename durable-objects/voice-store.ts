/**
 * Voice states of one community, kept in its CommunityHub's SQLite: who is in which voice
 * channel, with which tracks, muted or deafened by themselves or by a moderator.
 *
 * Pure functions over the Durable Object's `SqlStorage`, so the hub only forwards calls
 * (`applyVoiceOp`) and broadcasts the frames that come back. Fed by LiveKit webhooks (which
 * may repeat, arrive out of order or get lost), by the members' own clients, and by an
 * authoritative participant list from LiveKit now and then (`reconcile`).
 *
 * Why it tolerates disorder: every fact is stored per LiveKit session id (participant sid,
 * track sid), whose life only goes forward (joined → left, published → unpublished). A late
 * "joined" after a "left" finds the tombstone and changes nothing; a lost "joined" is made
 * up by any later event that carries the participant; a lost "left" is repaired by
 * `room_finished`, by the member joining again, or by the next reconcile.
 */
import type {
  MediaParticipant,
  MediaWebhookEvent,
  VoiceDenial,
  VoiceHubOp,
  VoiceOpResult,
  VoiceState,
} from "../workers/shared/media";

/** How long event ids and finished sessions are remembered, ms. LiveKit retries within minutes. */
export const VOICE_HISTORY_MS = 24 * 60 * 60 * 1000;

/** How long a move lets the member past the destination's user limit, ms. */
export const VOICE_MOVE_GRACE_MS = 60_000;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS voice_events (id TEXT PRIMARY KEY, at INTEGER NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS voice_events_at ON voice_events(at)`,
  // One row per LiveKit participant session; left_at is a tombstone, never cleared.
  `CREATE TABLE IF NOT EXISTS voice_sessions (
     sid TEXT PRIMARY KEY, user_id TEXT NOT NULL, channel_id TEXT NOT NULL,
     joined_at INTEGER NOT NULL, seen_at INTEGER NOT NULL, left_at INTEGER)`,
  `CREATE INDEX IF NOT EXISTS voice_sessions_user ON voice_sessions(user_id, left_at)`,
  `CREATE INDEX IF NOT EXISTS voice_sessions_channel ON voice_sessions(channel_id, left_at)`,
  `CREATE TABLE IF NOT EXISTS voice_tracks (
     sid TEXT PRIMARY KEY, session_sid TEXT NOT NULL, source TEXT NOT NULL,
     muted INTEGER NOT NULL, muted_at INTEGER NOT NULL, seen_at INTEGER NOT NULL, unpublished_at INTEGER)`,
  `CREATE INDEX IF NOT EXISTS voice_tracks_session ON voice_tracks(session_sid)`,
  `CREATE TABLE IF NOT EXISTS voice_members (
     user_id TEXT PRIMARY KEY, self_mute INTEGER NOT NULL DEFAULT 0, self_deaf INTEGER NOT NULL DEFAULT 0,
     server_mute INTEGER NOT NULL DEFAULT 0, server_deaf INTEGER NOT NULL DEFAULT 0,
     move_to TEXT, move_until INTEGER)`,
  // Raised hands in stage channels: one per member, tied to the LiveKit session it was raised
  // in, so leaving (or joining again) lowers it without a clean-up.
  `CREATE TABLE IF NOT EXISTS voice_hands (user_id TEXT PRIMARY KEY, session_sid TEXT NOT NULL, raised_at INTEGER NOT NULL)`,
];

const ready = new WeakSet<SqlStorage>();
function ensureSchema(sql: SqlStorage): void {
  if (ready.has(sql)) return;
  for (const s of SCHEMA) sql.exec(s);
  ready.add(sql);
}

type Row = Record<string, SqlStorageValue>;
const num = (v: SqlStorageValue | undefined): number => (typeof v === "number" ? v : 0);
const str = (v: SqlStorageValue | undefined): string => (typeof v === "string" ? v : "");

function moderationOf(sql: SqlStorage, userId: string, now = Date.now()) {
  const r = sql.exec<Row>(`SELECT * FROM voice_members WHERE user_id = ?`, userId).toArray()[0];
  return {
    movedTo: r && num(r.move_until) > now ? str(r.move_to) : null,
    selfMute: num(r?.self_mute) === 1,
    selfDeaf: num(r?.self_deaf) === 1,
    serverMute: num(r?.server_mute) === 1,
    serverDeaf: num(r?.server_deaf) === 1,
  };
}

/** The member's current voice state: their most recently joined live session, or null. */
function stateOf(sql: SqlStorage, userId: string): VoiceState | null {
  const s = sql
    .exec<Row>(
      `SELECT sid, channel_id, joined_at FROM voice_sessions WHERE user_id = ? AND left_at IS NULL
       ORDER BY joined_at DESC, seen_at DESC LIMIT 1`,
      userId,
    )
    .toArray()[0];
  if (!s) return null;
  const tracks = sql
    .exec<Row>(`SELECT source, muted FROM voice_tracks WHERE session_sid = ? AND unpublished_at IS NULL`, str(s.sid))
    .toArray();
  const m = moderationOf(sql, userId);
  const hand = sql.exec<Row>(`SELECT raised_at FROM voice_hands WHERE user_id = ? AND session_sid = ?`, userId, str(s.sid)).toArray()[0];
  return {
    ...(hand ? { handRaisedAt: num(hand.raised_at) } : {}),
    userId,
    channelId: str(s.channel_id),
    joinedAt: num(s.joined_at),
    selfMute: m.selfMute,
    selfDeaf: m.selfDeaf,
    serverMute: m.serverMute,
    serverDeaf: m.serverDeaf,
    video: tracks.some((t) => t.source === "camera" && num(t.muted) === 0),
    streaming: tracks.some((t) => t.source === "screen_share" && num(t.muted) === 0),
  };
}

function usersIn(sql: SqlStorage, channelId: string): string[] {
  return sql
    .exec<Row>(`SELECT DISTINCT user_id FROM voice_sessions WHERE channel_id = ? AND left_at IS NULL`, channelId)
    .toArray()
    .map((r) => str(r.user_id));
}

/** Records a session (no-op if known) and that it was seen at `at`; a tombstone stays a tombstone. */
function touchSession(sql: SqlStorage, p: MediaParticipant, userId: string, channelId: string, at: number): void {
  sql.exec(
    `INSERT INTO voice_sessions (sid, user_id, channel_id, joined_at, seen_at, left_at) VALUES (?, ?, ?, ?, ?, NULL)
     ON CONFLICT(sid) DO UPDATE SET seen_at = max(seen_at, excluded.seen_at)`,
    p.sid,
    userId,
    channelId,
    p.joinedAt || at,
    at,
  );
}

/** Records the tracks a snapshot of the participant shows (published ones only ever get added here). */
function touchTracks(sql: SqlStorage, p: MediaParticipant, at: number): void {
  for (const t of p.tracks) touchTrack(sql, p.sid, t, at);
}

function touchTrack(sql: SqlStorage, sessionSid: string, t: { sid: string; source: string; muted: boolean }, at: number): void {
  sql.exec(
    `INSERT INTO voice_tracks (sid, session_sid, source, muted, muted_at, seen_at, unpublished_at) VALUES (?, ?, ?, ?, ?, ?, NULL)
     ON CONFLICT(sid) DO UPDATE SET
       muted = CASE WHEN excluded.muted_at >= muted_at THEN excluded.muted ELSE muted END,
       muted_at = max(muted_at, excluded.muted_at),
       seen_at = max(seen_at, excluded.seen_at)`,
    t.sid,
    sessionSid,
    t.source,
    t.muted ? 1 : 0,
    at,
    at,
  );
}

function prune(sql: SqlStorage, now: number): void {
  const before = now - VOICE_HISTORY_MS;
  sql.exec(`DELETE FROM voice_events WHERE at < ?`, before);
  sql.exec(`DELETE FROM voice_tracks WHERE session_sid IN (SELECT sid FROM voice_sessions WHERE left_at < ?)`, before);
  sql.exec(`DELETE FROM voice_sessions WHERE left_at < ?`, before);
}

/** Ends what a denial covers (see `VoiceDenial`) at `at`, ms. */
function applyDenial(sql: SqlStorage, channelId: string, d: VoiceDenial, at: number, touched: Set<string>): void {
  touched.add(d.userId);
  for (const sid of d.sids) {
    sql.exec(
      `INSERT INTO voice_sessions (sid, user_id, channel_id, joined_at, seen_at, left_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(sid) DO UPDATE SET left_at = coalesce(left_at, excluded.left_at)`,
      sid,
      d.userId,
      channelId,
      at,
      at,
      at,
    );
  }
  sql.exec(`UPDATE voice_sessions SET left_at = ? WHERE channel_id = ? AND user_id = ? AND left_at IS NULL`, at, channelId, d.userId);
}

const PARTICIPANT_EVENTS = new Set(["participant_joined", "participant_left", "participant_connection_aborted", "track_published", "track_unpublished"]);

function applyWebhook(sql: SqlStorage, op: Extract<VoiceHubOp, { op: "webhook" }>, touched: Set<string>): { duplicate: boolean; needsReconcile: boolean } {
  const ev = op.event;
  const fresh = sql.exec(`INSERT INTO voice_events (id, at) VALUES (?, ?) ON CONFLICT(id) DO NOTHING`, ev.id, ev.createdAt).rowsWritten > 0;
  if (!fresh) return { duplicate: true, needsReconcile: false };
  prune(sql, Math.max(ev.createdAt, Date.now()));
  const at = ev.createdAt;
  const p = ev.participant;

  if (op.denied) {
    if (op.userId) applyDenial(sql, op.channelId, { userId: op.userId, sids: p ? [p.sid] : [] }, at, touched);
  } else if (PARTICIPANT_EVENTS.has(ev.event) && p && op.userId) {
    touched.add(op.userId);
    touchSession(sql, p, op.userId, op.channelId, at);
    touchTracks(sql, p, at);
    if (ev.event === "track_published" && ev.track) touchTrack(sql, p.sid, ev.track, at);
    if (ev.event === "track_unpublished" && ev.track) {
      touchTrack(sql, p.sid, ev.track, at);
      sql.exec(`UPDATE voice_tracks SET unpublished_at = ? WHERE sid = ? AND unpublished_at IS NULL`, at, ev.track.sid);
    }
    if (ev.event === "participant_left" || ev.event === "participant_connection_aborted") {
      sql.exec(`UPDATE voice_sessions SET left_at = ? WHERE sid = ? AND left_at IS NULL`, at, p.sid);
    }
  } else if (ev.event === "room_finished") {
    for (const u of usersIn(sql, op.channelId)) touched.add(u);
    // Sessions seen after the room closed belong to the room's next life.
    sql.exec(`UPDATE voice_sessions SET left_at = ? WHERE channel_id = ? AND left_at IS NULL AND seen_at <= ?`, at, op.channelId, at);
  }
  return { duplicate: false, needsReconcile: ev.numDropped > 0 };
}

function applyReconcile(sql: SqlStorage, op: Extract<VoiceHubOp, { op: "reconcile" }>, touched: Set<string>): void {
  const listed = new Set(op.participants.map((p) => p.sid));
  for (const u of usersIn(sql, op.channelId)) touched.add(u);
  for (const d of op.denied ?? []) applyDenial(sql, op.channelId, d, op.at, touched);
  for (const p of op.participants) {
    touched.add(p.userId);
    touchSession(sql, p, p.userId, op.channelId, op.at);
    touchTracks(sql, p, op.at);
    // Tracks LiveKit no longer lists, unless we heard of them after the list was taken.
    const shown = new Set(p.tracks.map((t) => t.sid));
    const mine = sql.exec<Row>(`SELECT sid, seen_at FROM voice_tracks WHERE session_sid = ? AND unpublished_at IS NULL`, p.sid).toArray();
    for (const t of mine) {
      if (!shown.has(str(t.sid)) && num(t.seen_at) < op.at - op.graceMs) {
        sql.exec(`UPDATE voice_tracks SET unpublished_at = ? WHERE sid = ?`, op.at, str(t.sid));
      }
    }
  }
  const live = sql.exec<Row>(`SELECT sid, seen_at FROM voice_sessions WHERE channel_id = ? AND left_at IS NULL`, op.channelId).toArray();
  for (const s of live) {
    if (!listed.has(str(s.sid)) && num(s.seen_at) < op.at - op.graceMs) {
      sql.exec(`UPDATE voice_sessions SET left_at = ? WHERE sid = ?`, op.at, str(s.sid));
    }
  }
}

function setFlags(sql: SqlStorage, userId: string, flags: Record<"self_mute" | "self_deaf" | "server_mute" | "server_deaf", boolean | undefined>): void {
  sql.exec(`INSERT INTO voice_members (user_id) VALUES (?) ON CONFLICT(user_id) DO NOTHING`, userId);
  for (const [col, v] of Object.entries(flags)) {
    // Column names come from the fixed key list above, never from input.
    if (v !== undefined) sql.exec(`UPDATE voice_members SET ${col} = ? WHERE user_id = ?`, v ? 1 : 0, userId);
  }
}

/** Every member currently in a voice channel of the community. */
export function listVoiceStates(sql: SqlStorage): VoiceState[] {
  ensureSchema(sql);
  const users = sql.exec<Row>(`SELECT DISTINCT user_id FROM voice_sessions WHERE left_at IS NULL`).toArray();
  return users.map((u) => stateOf(sql, str(u.user_id))).filter((s): s is VoiceState => s !== null);
}

/** Applies a verified webhook event once (by event id); see `applyVoiceOp`. */
export function applyWebhookEvent(sql: SqlStorage, channelId: string, userId: string | null, event: MediaWebhookEvent): VoiceOpResult {
  return applyVoiceOp(sql, { op: "webhook", channelId, userId, event });
}

/** The member's own mute / deafen, from their client. */
export function setClientVoiceState(sql: SqlStorage, userId: string, patch: { selfMute?: boolean; selfDeaf?: boolean }): VoiceOpResult {
  return applyVoiceOp(sql, { op: "client", userId, ...patch });
}

/**
 * Raises (`raisedAt` in ms) or lowers (null) a member's hand in their current voice session;
 * returns the `voice.updated` frame when that changed what others see. The caller checked the
 * rules (policy.ts canRaiseHand / canLowerHand). A hand already up keeps its time.
 */
export function setHand(sql: SqlStorage, userId: string, raisedAt: number | null): VoiceOpResult {
  ensureSchema(sql);
  const out: VoiceOpResult = { duplicate: false, needsReconcile: false, frames: [], states: [], moderation: { serverMute: false, serverDeaf: false }, movedTo: null };
  const before = stateOf(sql, userId);
  if (raisedAt === null) sql.exec(`DELETE FROM voice_hands WHERE user_id = ?`, userId);
  else if (before && before.handRaisedAt === undefined) {
    const sid = str(
      sql.exec<Row>(`SELECT sid FROM voice_sessions WHERE user_id = ? AND left_at IS NULL ORDER BY joined_at DESC, seen_at DESC LIMIT 1`, userId).toArray()[0]?.sid,
    );
    sql.exec(`INSERT INTO voice_hands (user_id, session_sid, raised_at) VALUES (?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET session_sid = excluded.session_sid, raised_at = excluded.raised_at`, userId, sid, raisedAt);
  }
  const after = stateOf(sql, userId);
  out.states = after ? [after] : [];
  if (JSON.stringify(after) !== JSON.stringify(before)) out.frames.push({ type: "voice.updated", userId, state: after });
  return out;
}

/** Lowers every hand raised in `channelId` (it stopped being a stage). */
export function lowerHandsIn(sql: SqlStorage, channelId: string): VoiceOpResult {
  ensureSchema(sql);
  const out: VoiceOpResult = { duplicate: false, needsReconcile: false, frames: [], states: [], moderation: { serverMute: false, serverDeaf: false }, movedTo: null };
  for (const userId of usersIn(sql, channelId)) out.frames.push(...setHand(sql, userId, null).frames);
  return out;
}

/** A member's current voice state, or null (for the hub's checks before a hand changes). */
export function voiceStateOf(sql: SqlStorage, userId: string): VoiceState | null {
  ensureSchema(sql);
  return stateOf(sql, userId);
}

/**
 * The one entry point the CommunityHub forwards to: applies `op` inside the hub's SQLite
 * (synchronously, so one op never interleaves with another) and returns what changed as
 * frames to broadcast.
 */
export function applyVoiceOp(sql: SqlStorage, op: VoiceHubOp): VoiceOpResult {
  ensureSchema(sql);
  const out: VoiceOpResult = {
    duplicate: false,
    needsReconcile: false,
    frames: [],
    states: [],
    moderation: { serverMute: false, serverDeaf: false },
    movedTo: null,
  };
  const touched = new Set<string>();
  const before = new Map<string, string>();
  const snapshot = (users: Iterable<string>) => {
    for (const u of users) if (!before.has(u)) before.set(u, JSON.stringify(stateOf(sql, u)));
  };

  switch (op.op) {
    case "list":
      out.states = listVoiceStates(sql);
      return out;
    case "get": {
      const s = stateOf(sql, op.userId);
      out.states = s ? [s] : [];
      const m = moderationOf(sql, op.userId);
      out.moderation = { serverMute: m.serverMute, serverDeaf: m.serverDeaf };
      out.movedTo = m.movedTo;
      return out;
    }
    case "move":
      sql.exec(`INSERT INTO voice_members (user_id) VALUES (?) ON CONFLICT(user_id) DO NOTHING`, op.userId);
      sql.exec(`UPDATE voice_members SET move_to = ?, move_until = ? WHERE user_id = ?`, op.toChannelId, op.at + VOICE_MOVE_GRACE_MS, op.userId);
      out.frames.push({ type: "voice.move_requested", userId: op.userId, fromChannelId: op.fromChannelId, toChannelId: op.toChannelId });
      return out;
    case "webhook": {
      // Snapshot everyone who may change before touching anything.
      if (op.userId) snapshot([op.userId]);
      snapshot(usersIn(sql, op.channelId));
      const r = applyWebhook(sql, op, touched);
      out.duplicate = r.duplicate;
      out.needsReconcile = r.needsReconcile;
      break;
    }
    case "reconcile":
      snapshot(usersIn(sql, op.channelId));
      snapshot(op.participants.map((p) => p.userId));
      snapshot((op.denied ?? []).map((d) => d.userId));
      applyReconcile(sql, op, touched);
      break;
    case "client":
      snapshot([op.userId]);
      touched.add(op.userId);
      setFlags(sql, op.userId, { self_mute: op.selfMute, self_deaf: op.selfDeaf, server_mute: undefined, server_deaf: undefined });
      break;
    case "moderate": {
      snapshot([op.userId]);
      touched.add(op.userId);
      setFlags(sql, op.userId, { self_mute: undefined, self_deaf: undefined, server_mute: op.serverMute, server_deaf: op.serverDeaf });
      const m = moderationOf(sql, op.userId);
      out.moderation = { serverMute: m.serverMute, serverDeaf: m.serverDeaf };
      break;
    }
    default: {
      const never: never = op;
      throw new Error(`unknown voice op ${JSON.stringify(never)}`);
    }
  }

  for (const u of new Set([...touched, ...before.keys()])) {
    const after = stateOf(sql, u);
    if (JSON.stringify(after) !== before.get(u)) out.frames.push({ type: "voice.updated", userId: u, state: after });
  }
  return out;
}
