/**
 * Security, against the running product and a real livekit-server: a member who fetched a
 * voice token and was then kicked or banned joins the room with that token (LiveKit accepts
 * it: it checks tokens only at join). LiveKit's `participant_joined` webhook reaches the
 * product, which must take them out of the room within 2 s; the member already in the call
 * stops seeing them, and nobody is ever shown a voice state for them.
 */
import { Room, dispose } from "@livekit/rtc-node";
import { RoomServiceClient } from "livekit-server-sdk";
import { afterAll, describe, expect, inject, it } from "vitest";
import { publishTone, voiceCommunity, type VoiceToken } from "./livekit-fixtures";

const base = inject("baseUrl");
const livekitUrl = inject("livekitUrl");
const rooms = new RoomServiceClient(livekitUrl.replace(/^ws/, "http"), "devkey", "secret");

const joined: Room[] = [];

/** Connects with `t` and publishes a microphone sending a quiet tone (what the reproduction did). */
async function connect(t: VoiceToken): Promise<Room> {
  const room = new Room();
  joined.push(room);
  await room.connect(t.url, t.token, { autoSubscribe: true, dynacast: false });
  // Removal may land while publishing; that is the point.
  await publishTone(room, false);
  return room;
}

async function inRoom(room: string, identity: string): Promise<boolean> {
  return (await rooms.listParticipants(room)).some((p) => p.identity === identity);
}

/** Polls until `check` holds before `deadline` (ms since the epoch); returns how long it took from `since`, ms. */
async function until(deadline: number, since: number, what: string, check: () => Promise<boolean> | boolean): Promise<number> {
  for (;;) {
    if (await check()) return Date.now() - since;
    if (Date.now() >= deadline) throw new Error(`not within ${deadline - since} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(async () => {
  for (const r of joined) await r.disconnect().catch(() => {});
  await dispose();
});

describe("a voice token issued before losing access, with a real livekit-server", () => {
  for (const how of ["kicked", "banned"] as const) {
    it(`${how}: joining with the old token → out of the room within 2 s, never shown`, async () => {
      const { owner, member, communityId, channelId } = await voiceCommunity(base, "s", "Voice security e2e");
      // The owner is in the call, watching who is there.
      const ownerRoom = await connect(await owner.ok<VoiceToken>("POST", `/api/channels/${channelId}/voice/token`));
      // Before losing access, the member asks for a token...
      const old = await member.ok<VoiceToken>("POST", `/api/channels/${channelId}/voice/token`);
      if (how === "kicked") await owner.ok("POST", `/api/communities/${communityId}/members/${member.id}/kick`, {});
      else await owner.ok("PUT", `/api/communities/${communityId}/bans/${member.id}`, {});
      expect((await member.call("POST", `/api/channels/${channelId}/voice/token`)).status).toBe(404);

      // Everyone in the community sees the voice states; the member must never be among them.
      const seen: string[] = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          const { states } = await owner.ok<{ states: { userId: string }[] }>("GET", `/api/communities/${communityId}/voice-states`);
          seen.push(...states.map((s) => s.userId));
          await new Promise((r) => setTimeout(r, 100));
        }
      })();

      // ...and joins with it afterwards: LiveKit lets them in.
      const t0 = Date.now();
      const intruder = await connect(old);
      expect(intruder.localParticipant?.identity).toBe(old.identity);
      const took = await until(t0 + 2000, t0, "removed from the LiveKit room", async () => !(await inRoom(channelId, old.identity)));
      console.log(`${how} member removed ${took} ms after joining with an old token`);

      // The one in the call stops seeing them, and does not see them again.
      await until(Date.now() + 1000, Date.now(), "gone from the owner's room", () => !ownerRoom.remoteParticipants.has(old.identity));
      const quietUntil = Date.now() + 2000;
      while (Date.now() < quietUntil) {
        expect(ownerRoom.remoteParticipants.has(old.identity)).toBe(false);
        expect(await inRoom(channelId, old.identity)).toBe(false);
        await new Promise((r) => setTimeout(r, 100));
      }
      watching = false;
      await watcher;
      expect(seen).not.toContain(member.id);
      expect(seen).toContain(owner.id); // the webhooks did arrive
    });
  }
});
