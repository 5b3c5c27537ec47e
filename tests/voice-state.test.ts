/** Voice states inside a real CommunityHub's SQLite (lib/voice-state.ts through runInDurableObject). */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { MediaParticipant, MediaWebhookEvent } from "../workers/shared/media";
import type { VoiceHubOp } from "../workers/shared/media";
import { VOICE_MOVE_GRACE_MS, applyVoiceOp, applyWebhookEvent, listVoiceStates, setClientVoiceState } from "../durable-objects/voice-store";

let n = 0;
function hub() {
  return env.CommunityHub.get(env.CommunityHub.idFromName(`voice-state-test-${Date.now()}-${++n}`));
}

function run<T>(fn: (sql: SqlStorage) => T): Promise<T> {
  return runInDurableObject(hub(), (_, state) => fn(state.storage.sql));
}

const T0 = 1_800_000_000_000;
let ev = 0;
function event(kind: string, at: number, participant: MediaParticipant | null, track: MediaWebhookEvent["track"] = null): MediaWebhookEvent {
  return { id: `EV_${++ev}`, event: kind, createdAt: at, room: "ch1", participant, track, numDropped: 0 };
}
const p = (sid: string, tracks: MediaParticipant["tracks"] = [], joinedAt = T0): MediaParticipant => ({ sid, identity: `id-${sid}`, joinedAt, tracks, grants: null });

describe("voice states in the CommunityHub", () => {
  it("emits a voice.updated frame for each change and none for no-ops", async () => {
    await run((sql) => {
      const r1 = applyWebhookEvent(sql, "ch1", "u1", event("participant_joined", T0, p("PA1")));
      expect(r1.frames).toEqual([
        {
          type: "voice.updated",
          userId: "u1",
          state: { userId: "u1", channelId: "ch1", joinedAt: T0, selfMute: false, selfDeaf: false, serverMute: false, serverDeaf: false, video: false, streaming: false },
        },
      ]);
      // A snapshot that says nothing new changes nothing.
      expect(applyWebhookEvent(sql, "ch1", "u1", event("participant_joined", T0 + 1, p("PA1"))).frames).toEqual([]);
      const scr = { sid: "TR1", source: "screen_share" as const, muted: false };
      const r2 = applyWebhookEvent(sql, "ch1", "u1", event("track_published", T0 + 2, p("PA1", [scr]), scr));
      expect(r2.frames).toMatchObject([{ userId: "u1", state: { streaming: true } }]);
      const r3 = setClientVoiceState(sql, "u1", { selfMute: true });
      expect(r3.frames).toMatchObject([{ userId: "u1", state: { selfMute: true, streaming: true } }]);
      const r4 = applyWebhookEvent(sql, "ch1", "u1", event("participant_left", T0 + 3, p("PA1")));
      expect(r4.frames).toEqual([{ type: "voice.updated", userId: "u1", state: null }]);
      expect(listVoiceStates(sql)).toEqual([]);
    });
  });

  it("the same event id twice is applied once", async () => {
    await run((sql) => {
      const e = event("participant_joined", T0, p("PA1"));
      expect(applyWebhookEvent(sql, "ch1", "u1", e).duplicate).toBe(false);
      const again = applyWebhookEvent(sql, "ch1", "u1", e);
      expect(again.duplicate).toBe(true);
      expect(again.frames).toEqual([]);
    });
  });

  it("a member who rejoins (new session) shows the newest one, even if the old 'left' was lost", async () => {
    await run((sql) => {
      applyWebhookEvent(sql, "ch1", "u1", event("participant_joined", T0, p("PA1")));
      applyWebhookEvent(sql, "ch2", "u1", { ...event("participant_joined", T0 + 5000, p("PA2", [], T0 + 5000)), room: "ch2" });
      expect(listVoiceStates(sql)).toMatchObject([{ userId: "u1", channelId: "ch2" }]);
    });
  });

  it("reconcile: sessions LiveKit no longer lists leave, unless heard of within the grace period", async () => {
    await run((sql) => {
      applyWebhookEvent(sql, "ch1", "stale", event("participant_joined", T0, p("PA1")));
      applyWebhookEvent(sql, "ch1", "fresh", event("participant_joined", T0 + 55_000, p("PA2", [], T0 + 55_000)));
      const listed = { ...p("PA3", [{ sid: "TR3", source: "camera", muted: false }]), userId: "missed" };
      const r = applyVoiceOp(sql, { op: "reconcile", channelId: "ch1", at: T0 + 61_000, graceMs: 60_000, participants: [listed] });
      expect(new Map(r.frames.map((f) => [f.userId, f.type === "voice.updated" ? f.state?.video ?? null : "?"]))).toEqual(
        new Map([
          ["stale", null],
          ["missed", true],
        ]),
      );
      expect(listVoiceStates(sql).map((s) => s.userId).sort()).toEqual(["fresh", "missed"]);
    });
  });

  it("moderation flags outlive the call; a move lets the member past the limit for a while", async () => {
    await run((sql) => {
      const m = applyVoiceOp(sql, { op: "moderate", userId: "u1", serverMute: true });
      expect(m.moderation).toEqual({ serverMute: true, serverDeaf: false });
      expect(m.frames).toEqual([]); // not in voice: nothing to show
      applyWebhookEvent(sql, "ch1", "u1", event("participant_joined", T0, p("PA1")));
      expect(listVoiceStates(sql)).toMatchObject([{ userId: "u1", serverMute: true }]);
      const get = (op: VoiceHubOp) => applyVoiceOp(sql, op);
      expect(get({ op: "get", userId: "u1" }).moderation).toEqual({ serverMute: true, serverDeaf: false });

      const now = Date.now();
      const mv = get({ op: "move", userId: "u1", fromChannelId: "ch1", toChannelId: "ch2", at: now });
      expect(mv.frames).toEqual([{ type: "voice.move_requested", userId: "u1", fromChannelId: "ch1", toChannelId: "ch2" }]);
      expect(get({ op: "get", userId: "u1" }).movedTo).toBe("ch2");
      get({ op: "move", userId: "u1", fromChannelId: "ch1", toChannelId: "ch2", at: now - VOICE_MOVE_GRACE_MS - 1 });
      expect(get({ op: "get", userId: "u1" }).movedTo).toBe(null);
    });
  });

  it("LiveKit's dropped-events count asks for a reconcile", async () => {
    await run((sql) => {
      const r = applyWebhookEvent(sql, "ch1", "u1", { ...event("participant_joined", T0, p("PA1")), numDropped: 3 });
      expect(r.needsReconcile).toBe(true);
    });
  });
});
