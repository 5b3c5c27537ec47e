/**
 * The voice HTTP calls through the typed client: the routes of workers/api/src/routes/voice.ts
 * (path parameters percent-encoded), a JSON body on every one, answers parsed with the shared
 * schemas.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { isApiError } from "$lib/api";
import { callKey, voiceModeration, voiceToken } from "./voice-api";

const token = {
  url: "ws://127.0.0.1:7880",
  token: "jwt",
  identity: "sealed",
  e2ee: false,
  pushToTalkOnly: false,
  grants: { canSubscribe: true, canPublishSources: ["microphone" as const], canPublishData: false, canUpdateOwnMetadata: false },
  ttlSeconds: 120,
};

function answer(body: unknown, status = 200) {
  const fake = vi.fn(async (_input: string, _init: RequestInit) => Response.json(body, { status }));
  vi.stubGlobal("fetch", fake);
  return fake;
}
afterEach(() => vi.unstubAllGlobals());

function sent(fake: ReturnType<typeof answer>): { url: string; method: string | undefined; body: unknown } {
  const [url, init] = fake.mock.calls[0]!;
  return { url, method: init.method, body: JSON.parse(String(init.body)) };
}

describe("voice API", () => {
  it("asks for a join token and an E2EE key with an empty JSON body", async () => {
    let fake = answer(token);
    expect(await voiceToken("ch/1")).toEqual(token);
    expect(sent(fake)).toEqual({ url: "/api/channels/ch%2F1/voice/token", method: "POST", body: {} });

    const key = { key: "k".repeat(43), keyIndex: 3 };
    fake = answer(key);
    expect(await callKey("ch1")).toEqual(key);
    expect(sent(fake)).toEqual({ url: "/api/channels/ch1/voice/key", method: "POST", body: {} });
  });

  it("moderates one participant: mute, deafen, move, disconnect", async () => {
    const base = "/api/channels/ch1/voice/participants/u%3F2";
    let fake = answer({ userId: "u?2", selfMute: false, serverMute: true, inCall: true });
    expect((await voiceModeration.mute("ch1", "u?2", true)).userId).toBe("u?2");
    expect(sent(fake)).toEqual({ url: `${base}/mute`, method: "POST", body: { muted: true } });

    fake = answer({ userId: "u?2" });
    await voiceModeration.deafen("ch1", "u?2", false);
    expect(sent(fake)).toEqual({ url: `${base}/deafen`, method: "POST", body: { deafened: false } });

    fake = answer({ userId: "u?2", channelId: "ch9", removed: false });
    await voiceModeration.move("ch1", "u?2", "ch9");
    expect(sent(fake)).toEqual({ url: `${base}/move`, method: "POST", body: { channelId: "ch9" } });

    fake = answer({ userId: "u?2", removed: true });
    await voiceModeration.disconnect("ch1", "u?2");
    expect(sent(fake)).toEqual({ url: `${base}/disconnect`, method: "POST", body: {} });
  });

  it("throws the server's refusal and refuses an answer of the wrong shape", async () => {
    answer({ error: { code: "channel_full", message: "This voice channel is full." } }, 403);
    const full = await voiceToken("ch1").catch((e: unknown) => e);
    expect(isApiError(full, "channel_full")).toBe(true);

    answer({ url: "ws://x" });
    const bad = await voiceToken("ch1").catch((e: unknown) => e);
    expect(isApiError(bad, "bad_response")).toBe(true);
  });
});
