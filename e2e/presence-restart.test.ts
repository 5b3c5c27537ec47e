/**
 * Presence lives in the CommunityHub's SQLite, so a chosen status survives a hard restart
 * (kill -9) of the dev server. Runs its own product on a free port with its own state, so
 * killing it disturbs no other test.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startProduct, type Product } from "../scripts/product.mjs";

let product: Product;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "woxly-presence-"));
  product = await startProduct({ port: await freePort(), persistTo: dir, livekit: false, quiet: true, build: false });
});
afterAll(async () => {
  await product?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function api(cookie: string | null, method: string, p: string, body?: unknown) {
  const res = await fetch(product.url + p, {
    method,
    headers: { origin: product.url, "content-type": "application/json", ...(cookie ? { cookie } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith("woxly_session="));
  return { status: res.status, json: (await res.json().catch(() => null)) as any, cookie: setCookie?.split(";")[0] ?? null };
}

type Frame = { type: string; [k: string]: any };

function hub(cookie: string, communityId: string) {
  const ws = new WebSocket(`${product.url.replace("http", "ws")}/parties/community-hub/${communityId}`, { headers: { cookie, origin: product.url } });
  const frames: Frame[] = [];
  ws.on("message", (d) => frames.push(JSON.parse(String(d))));
  return {
    ws,
    async next(pred: (f: Frame) => boolean, ms = 10_000): Promise<Frame> {
      const until = Date.now() + ms;
      for (;;) {
        const i = frames.findIndex(pred);
        if (i >= 0) return frames.splice(i, 1)[0]!;
        if (Date.now() > until) throw new Error(`no matching frame in ${ms} ms; got ${frames.map((f) => f.type).join(",")}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    send: (f: unknown) => ws.send(JSON.stringify(f)),
  };
}

describe("presence and a dev-server restart", () => {
  it("a chosen status (do not disturb) survives kill -9 of the server", async () => {
    const pw = "a fine password for presence";
    const a = await api(null, "POST", "/api/auth/register", { username: `pa_${Date.now().toString(36)}`, password: pw });
    const b = await api(null, "POST", "/api/auth/register", { username: `pb_${Date.now().toString(36)}`, password: pw });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    const made = await api(a.cookie, "POST", "/api/communities", { name: "Restart club" });
    expect(made.status).toBe(201);
    const communityId: string = made.json.community.id;
    const inv = await api(a.cookie, "POST", `/api/communities/${communityId}/invites`, {});
    expect(inv.status).toBe(201);
    expect((await api(b.cookie, "POST", `/api/invites/${inv.json.invite.code}/redeem`, {})).status).toBe(201);

    const ha = hub(a.cookie!, communityId);
    const hb = hub(b.cookie!, communityId);
    await ha.next((f) => f.type === "state.synced");
    await hb.next((f) => f.type === "state.synced");
    hb.send({ type: "presence.set", status: "dnd" });
    await ha.next((f) => f.type === "presence.updated" && f.userId === b.json.user.id && f.status === "dnd");

    await product.restartWorkers({ hard: true });

    const hb2 = hub(b.cookie!, communityId);
    const snapB = await hb2.next((f) => f.type === "state.synced");
    expect(snapB.me).toMatchObject({ userId: b.json.user.id, choice: "dnd", status: "dnd" });
    const ha2 = hub(a.cookie!, communityId);
    const snapA = await ha2.next((f) => f.type === "state.synced");
    expect(snapA.presences).toEqual(expect.arrayContaining([{ userId: b.json.user.id, status: "dnd" }]));
    for (const h of [ha, hb, ha2, hb2]) h.ws.close();
  });
});
