/** POST /api/self-test/echo: two tokens for a fresh echo room, no account needed, rate-limited per IP. */
import { describe, expect, it } from "vitest";
import { ECHO_TOKEN_TTL_SECONDS, EchoTokens } from "../workers/shared/call-links";
import { client } from "./helpers";
import { claims } from "./voice-fixtures";
import { send } from "./call-link-fixtures";

describe("the echo test", () => {
  it("gives a sender (camera and microphone, hears nothing) and a receiver (subscribes only) for a fresh room, 60 s", async () => {
    const anon = client();
    const a = EchoTokens.parse((await send(anon, "POST", "/api/self-test/echo")).body);
    const b = EchoTokens.parse((await send(anon, "POST", "/api/self-test/echo")).body);
    expect(a.room).toMatch(/^echo-[0-9a-z]{26}$/);
    expect(b.room).not.toBe(a.room);
    const s = claims(a.sender);
    const r = claims(a.receiver);
    expect(s.video).toEqual({
      room: a.room,
      roomJoin: true,
      canSubscribe: false,
      canPublish: true,
      canPublishSources: ["camera", "microphone"],
      canPublishData: false,
      canUpdateOwnMetadata: false,
    });
    expect(r.video).toEqual({
      room: a.room,
      roomJoin: true,
      canSubscribe: true,
      canPublish: false,
      canPublishSources: [],
      canPublishData: false,
      canUpdateOwnMetadata: false,
    });
    expect(s.sub).not.toBe(r.sub);
    for (const c of [s, r]) expect(c.exp - c.nbf).toBeLessThanOrEqual(ECHO_TOKEN_TTL_SECONDS);
  });

  it("is rate-limited per IP (429 with Retry-After); another address goes on", async () => {
    const ip = "10.201.1.1";
    const c = client({ ip });
    for (let i = 0; i < 20; i++) expect((await send(c, "POST", "/api/self-test/echo")).status).toBe(200);
    const r = await send(c, "POST", "/api/self-test/echo");
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await send(client(), "POST", "/api/self-test/echo")).status).toBe(200);
  });

  it("state-changing: another Origin is refused", async () => {
    expect((await send(client({ origin: "https://evil.example" }), "POST", "/api/self-test/echo")).status).toBe(403);
  });
});
