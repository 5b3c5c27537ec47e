/**
 * Durable Object placement (workers/api/src/lib/placement.ts): a community's hub and first chat
 * are created with a location hint from the creating member's region. Locally there is one
 * place, so this checks the mapping and that creating with a region works end to end.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { locationHintFor } from "../workers/api/src/lib/placement";
import { ORIGIN, newUser } from "./helpers";

describe("location hints", () => {
  it("map the member's region to a Durable Object location hint", () => {
    expect(locationHintFor({ continent: "EU", country: "DE", longitude: "13.4" })).toBe("weur");
    expect(locationHintFor({ continent: "EU", country: "RU", longitude: "37.6" })).toBe("eeur");
    expect(locationHintFor({ continent: "AS", country: "KG", longitude: "74.6" })).toBe("apac");
    expect(locationHintFor({ continent: "AS", country: "AE", longitude: "55.3" })).toBe("me");
    expect(locationHintFor({ continent: "NA", country: "US", longitude: "-122.4" })).toBe("wnam");
    expect(locationHintFor({ continent: "NA", country: "US", longitude: "-74" })).toBe("enam");
    expect(locationHintFor({ continent: "SA", country: "BR" })).toBe("sam");
    expect(locationHintFor({ continent: "AF", country: "NG" })).toBe("afr");
    expect(locationHintFor({ continent: "OC", country: "AU" })).toBe("oc");
    expect(locationHintFor({ continent: "AN" })).toBeUndefined();
    expect(locationHintFor(undefined)).toBeUndefined();
  });

  it("a community created from a region gets its hub and first room placed, and works", async () => {
    const u = await newUser("placed");
    const req = new Request(`${ORIGIN}/api/communities`, {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/json", cookie: `woxly_session=${u.token}`, "cf-connecting-ip": u.http.ip },
      body: JSON.stringify({ name: "Bishkek" }),
      cf: { continent: "AS", country: "KG", longitude: "74.6" },
    } as RequestInit);
    const res = await exports.default.fetch(req);
    expect(res.status).toBe(201);
    const body = (await res.json()) as { community: { id: string } };
    const hub = await exports.default.fetch(
      new Request(`${ORIGIN}/parties/community-hub/${body.community.id}`, { headers: { Upgrade: "websocket", origin: ORIGIN, cookie: `woxly_session=${u.token}` } }),
    );
    expect(hub.status).toBe(101);
    hub.webSocket?.accept();
    hub.webSocket?.close(1000);
  });
});
