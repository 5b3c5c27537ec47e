import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";

function decode(jwt: string) {
  const [, payload] = jwt.split(".");
  return JSON.parse(atob(payload!.replace(/-/g, "+").replace(/_/g, "/")));
}

describe("token worker (service binding only)", () => {
  it("signs exactly the grants it is asked for, with a short TTL", async () => {
    const res = await env.TOKEN.fetch("http://token/token", {
      method: "POST",
      body: JSON.stringify({
        identity: "p_opaque1",
        name: "Aida",
        room: "ch_123",
        ttlSeconds: 600,
        grants: { canSubscribe: true, canPublishSources: ["microphone"], canPublishData: false, canUpdateOwnMetadata: false },
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { url: string; token: string };
    expect(body.url).toBe("ws://127.0.0.1:9");
    const claims = decode(body.token);
    expect(claims.sub).toBe("p_opaque1");
    expect(claims.exp - claims.nbf).toBeLessThanOrEqual(600);
    expect(claims.video).toMatchObject({
      room: "ch_123",
      roomJoin: true,
      canSubscribe: true,
      canPublish: true,
      canPublishSources: ["microphone"],
      canPublishData: false,
      canUpdateOwnMetadata: false,
    });
  });

  it("refuses a TTL over 10 minutes and malformed requests", async () => {
    const res = await env.TOKEN.fetch("http://token/token", {
      method: "POST",
      body: JSON.stringify({ identity: "x", name: "", room: "r", ttlSeconds: 3600, grants: { canSubscribe: true, canPublishSources: [], canPublishData: false, canUpdateOwnMetadata: false } }),
    });
    expect(res.status).toBe(400);
    expect((await env.TOKEN.fetch("http://token/token", { method: "POST", body: "{" })).status).toBe(400);
  });
});
