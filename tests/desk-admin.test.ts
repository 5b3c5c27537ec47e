/**
 * Desk administration (routes/desks.ts): desks, managers, knowledge base, canned replies and
 * API keys, over real HTTP into workerd with D1 and the SupportDesk object.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { getServerByName } from "partyserver";
import { CannedList, CannedReply, CreatedKey, Desk, DeskList, DeskManagerList, KbEntry, KbList, KeyList, MAX_DESK_KEYS } from "../workers/shared/desk";
import { sha256Hex } from "../workers/core/crypto";
import { api, call, expectJson, ok } from "./helpers";
import { createDesk, createKey, deskWorld, insertTicket, type DeskWorld } from "./desk-admin-fixtures";

let w: DeskWorld;
beforeAll(async () => {
  w = await deskWorld();
});

async function auditActions(communityId: string, targetId: string): Promise<string[]> {
  const r = await env.DB.prepare(`SELECT action FROM audit_log WHERE community_id = ? AND target_id = ? ORDER BY created_at, id`).bind(communityId, targetId).all<{ action: string }>();
  return r.results.map((x) => x.action);
}

describe("desks", () => {
  it("an admin creates a desk: defaults filled in, origins normalised, audited", async () => {
    const desk = await createDesk(w, {
      name: "  Shop help ",
      allowedOrigins: ["HTTPS://Shop.Example:443", "https://shop.example", "http://127.0.0.1:5173", "http://LOCALHOST:80"],
    }, w.admin);
    expect(desk).toMatchObject({
      communityId: w.communityId,
      name: "Shop help",
      greeting: "",
      colour: "#5865f2",
      officeHours: null,
      allowedOrigins: ["https://shop.example", "http://127.0.0.1:5173", "http://localhost"],
      managerRoleId: w.supportRoleId,
      capacity: 3,
      autoAssign: false,
    });
    const row = await env.DB.prepare(`SELECT allowed_origins FROM desks WHERE id = ?`).bind(desk.id).first<{ allowed_origins: string }>();
    expect(JSON.parse(row!.allowed_origins)).toEqual(desk.allowedOrigins);
    expect(await auditActions(w.communityId, desk.id)).toEqual(["desk.create"]);
    expect(await expectJson(api(w.manager.http).desks[":deskId"].$get({ param: { deskId: desk.id } }), 200, Desk)).toEqual(desk);
  });

  it("refuses invalid settings with 400 and the issues", async () => {
    const path = `/api/communities/${w.communityId}/desks`;
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "" }, "name"],
      [{ name: "x", colour: "red" }, "colour"],
      [{ name: "x", allowedOrigins: ["ftp://example.org"] }, "allowedOrigins"],
      [{ name: "x", allowedOrigins: ["https://example.org/path"] }, "allowedOrigins"],
      [{ name: "x", capacity: 0 }, "capacity"],
      [{ name: "x", capacity: 21 }, "capacity"],
      [{ name: "x", surprise: true }, ""],
      [{ name: "x", officeHours: { timeZone: "Asia/Bishkek", days: [[], [], [], [], [], []] } }, "officeHours"],
      [{ name: "x", officeHours: { timeZone: "Mars/Olympus", days: [[], [], [], [], [], [], []] } }, "officeHours"],
      [{ name: "x", officeHours: { timeZone: "Asia/Bishkek", days: [[{ from: 600, to: 540 }], [], [], [], [], [], []] } }, "officeHours"],
      [{ name: "x", managerRoleId: "not an id!" }, "managerRoleId"],
    ];
    for (const [body, field] of cases) {
      const r = await call(w.owner, "POST", path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe("validation_failed");
      expect(r.body.error.issues.length).toBeGreaterThan(0);
      if (field) expect(r.body.error.issues.some((i: { path: unknown[] }) => i.path[0] === field), JSON.stringify(r.body)).toBe(true);
    }
    const d = await createDesk(w);
    const r = await call(w.owner, "PATCH", `/api/desks/${d.id}`, { colour: "#12345" });
    expect([r.status, r.body.error.code]).toEqual([400, "validation_failed"]);
  });

  it("the manager role must be a role of the desk's own community (not @everyone)", async () => {
    const other = await deskWorld();
    for (const managerRoleId of [other.supportRoleId, w.everyoneRoleId, "0000000000000000000000000a"]) {
      const r = await call(w.owner, "POST", `/api/communities/${w.communityId}/desks`, { name: "x", managerRoleId });
      expect(r.status).toBe(400);
      expect(r.body.error.issues[0].path).toEqual(["managerRoleId"]);
    }
    const d = await createDesk(w);
    const r = await call(w.owner, "PATCH", `/api/desks/${d.id}`, { managerRoleId: other.supportRoleId });
    expect([r.status, r.body.error.issues?.[0]?.path]).toEqual([400, ["managerRoleId"]]);
    // null: only admins manage it.
    const cleared = await expectJson(api(w.owner.http).desks[":deskId"].$patch({ param: { deskId: d.id }, json: { managerRoleId: null } }), 200, Desk);
    expect(cleared.managerRoleId).toBeNull();
    await ok(404, w.manager, "GET", `/api/desks/${d.id}`);
  });

  it("who may create, read, edit and delete", async () => {
    const path = `/api/communities/${w.communityId}/desks`;
    expect((await call(w.member, "POST", path, { name: "x" })).status).toBe(403);
    expect((await call(w.manager, "POST", path, { name: "x" })).status).toBe(403);
    expect((await call(w.outsider, "POST", path, { name: "x" })).status).toBe(404);
    expect((await call(null, "POST", path, { name: "x" })).status).toBe(401);

    const d = await createDesk(w);
    const one = `/api/desks/${d.id}`;
    await ok(200, w.manager, "GET", one);
    await ok(200, w.admin, "GET", one);
    await ok(404, w.member, "GET", one);
    await ok(404, w.outsider, "GET", one);
    expect((await call(w.manager, "PATCH", one, { name: "Mine" })).status).toBe(403);
    expect((await call(w.member, "PATCH", one, { name: "Mine" })).status).toBe(404);
    expect((await call(w.outsider, "DELETE", one)).status).toBe(404);
    expect((await call(w.manager, "DELETE", one)).status).toBe(403);
    await ok(404, w.owner, "GET", `/api/desks/0000000000000000000000000z`);
  });

  it("lists the desks each member may work", async () => {
    const own = await deskWorld();
    const a = await createDesk(own, { name: "A" });
    const b = await createDesk(own, { name: "B", managerRoleId: null });
    const list = (u: typeof own.owner) => expectJson(api(u.http).communities[":communityId"].desks.$get({ param: { communityId: own.communityId } }), 200, DeskList);
    expect((await list(own.owner)).desks.map((d) => d.name)).toEqual(["A", "B"]);
    expect((await list(own.admin)).desks.map((d) => d.id)).toEqual([a.id, b.id]);
    expect((await list(own.manager)).desks.map((d) => d.id)).toEqual([a.id]);
    expect((await list(own.member)).desks).toEqual([]);
    await ok(404, own.outsider, "GET", `/api/communities/${own.communityId}/desks`);
  });

  it("an admin edits a desk: stored, audited with what changed, the object refreshed", async () => {
    const d = await createDesk(w);
    const hours = { timeZone: "Asia/Bishkek", days: [[], [{ from: 540, to: 1080 }], [], [], [], [], []] };
    const next = await expectJson(
      api(w.admin.http).desks[":deskId"].$patch({
        param: { deskId: d.id },
        json: { name: "Renamed", greeting: "Салам!", colour: "#00aa00", officeHours: hours, allowedOrigins: ["https://A.example"], capacity: 5, autoAssign: true },
      }),
      200,
      Desk,
    );
    expect(next).toMatchObject({ id: d.id, name: "Renamed", greeting: "Салам!", colour: "#00aa00", officeHours: hours, allowedOrigins: ["https://a.example"], capacity: 5, autoAssign: true });
    expect(await expectJson(api(w.manager.http).desks[":deskId"].$get({ param: { deskId: d.id } }), 200, Desk)).toEqual(next);
    expect(await auditActions(w.communityId, d.id)).toEqual(["desk.create", "desk.update"]);
    const changes = await env.DB.prepare(`SELECT changes FROM audit_log WHERE target_id = ? AND action = 'desk.update'`).bind(d.id).first<{ changes: string }>();
    expect(JSON.parse(changes!.changes)).toMatchObject({ name: { from: "Help", to: "Renamed" }, capacity: { from: 3, to: 5 } });
    // The desk's object read the new settings: the widget's public config shows them.
    const cfg = await ok(200, null, "GET", `/api/widget/desks/${d.id}`);
    expect(cfg).toMatchObject({ name: "Renamed", colour: "#00aa00", greeting: "Салам!" });
  });

  it("an admin deletes a desk: gone with its keys, replies and tickets; audited", async () => {
    const d = await createDesk(w);
    await createKey(w.owner, d.id);
    await ok(201, w.manager, "POST", `/api/desks/${d.id}/canned`, { shortcut: "hi", text: "Hello!" });
    await ok(201, w.manager, "POST", `/api/desks/${d.id}/kb`, { question: "How do I reset my password?", answer: "Settings, then Password.", language: "en" });
    const object = await getServerByName(env.SupportDesk, d.id);
    expect(await object.kbList()).toHaveLength(1);
    const t = await insertTicket(d.id, { status: "closed", lines: ["hello"] });
    await env.DB.prepare(`INSERT INTO channels (id, community_id, kind, name, created_at) VALUES (?, NULL, 'ticket', 'Visitor', ?)`).bind(t.channelId, Date.now()).run();
    await ok(204, w.admin, "DELETE", `/api/desks/${d.id}`);
    await ok(404, w.owner, "GET", `/api/desks/${d.id}`);
    await ok(404, w.owner, "DELETE", `/api/desks/${d.id}`);
    for (const [table, col, id] of [["desk_api_keys", "desk_id", d.id], ["desk_canned_replies", "desk_id", d.id], ["tickets", "desk_id", d.id], ["ticket_messages", "ticket_id", t.ticketId], ["visitors", "desk_id", d.id], ["channels", "id", t.channelId]]) {
      const n = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${col} = ?`).bind(id).first<{ n: number }>();
      expect(n!.n, table).toBe(0);
    }
    expect(await auditActions(w.communityId, d.id)).toEqual(["desk.create", "desk.delete"]);
    // The desk's object kept nothing: its knowledge base (and queue) went with it.
    expect(await (await getServerByName(env.SupportDesk, d.id)).kbList()).toEqual([]);
  });
});

describe("deleting the community", () => {
  it("takes its desks, their ticket rooms' channel rows and the desks' objects' data with it", async () => {
    const w2 = await deskWorld();
    const d = await createDesk(w2);
    await ok(201, w2.manager, "POST", `/api/desks/${d.id}/kb`, { question: "Where is the shop?", answer: "On Main Street.", language: "en" });
    const t = await insertTicket(d.id, { status: "closed", lines: ["hello"] });
    await env.DB.prepare(`INSERT INTO channels (id, community_id, kind, name, created_at) VALUES (?, NULL, 'ticket', 'Visitor', ?)`).bind(t.channelId, Date.now()).run();
    const name = (await env.DB.prepare(`SELECT name FROM communities WHERE id = ?`).bind(w2.communityId).first<{ name: string }>())!.name;
    await ok(204, w2.owner, "DELETE", `/api/communities/${w2.communityId}`, { confirmName: name });
    for (const [table, col, id] of [["desks", "id", d.id], ["tickets", "desk_id", d.id], ["channels", "id", t.channelId]]) {
      const n = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${col} = ?`).bind(id).first<{ n: number }>();
      expect(n!.n, table).toBe(0);
    }
    expect(await (await getServerByName(env.SupportDesk, d.id)).kbList()).toEqual([]);
  });
});

describe("managers", () => {
  it("lists the role's holders and the admins, with their load of open tickets", async () => {
    const own = await deskWorld();
    const d = await createDesk(own);
    await insertTicket(d.id, { status: "open", assigneeId: own.manager.id });
    await insertTicket(d.id, { status: "open", assigneeId: own.manager.id });
    await insertTicket(d.id, { status: "closed", assigneeId: own.manager.id });
    await insertTicket(d.id, { status: "open", assigneeId: own.admin.id });
    const { managers } = await expectJson(api(own.manager.http).desks[":deskId"].managers.$get({ param: { deskId: d.id } }), 200, DeskManagerList);
    const byId = new Map(managers.map((m) => [m.userId, m]));
    expect([...byId.keys()].sort()).toEqual([own.owner.id, own.admin.id, own.manager.id].sort());
    expect(byId.get(own.manager.id)).toEqual({ userId: own.manager.id, username: own.manager.username, displayName: own.manager.displayName, online: false, load: 2 });
    expect(byId.get(own.admin.id)!.load).toBe(1);
    expect(byId.get(own.owner.id)!.load).toBe(0);
    await ok(404, own.member, "GET", `/api/desks/${d.id}/managers`);
  });
});

describe("managers (many)", () => {
  it("lists a desk with more managers than one D1 statement can name", async () => {
    const own = await deskWorld();
    const d = await createDesk(own);
    const now = Date.now();
    const ids = Array.from({ length: 120 }, (_, i) => `mgr${now.toString(36)}${i}`);
    const stmts = ids.flatMap((id) => [
      env.DB.prepare(`INSERT INTO users (id, username, username_key, display_name, password_hash, created_at, password_changed_at) VALUES (?, ?, ?, ?, 'x', ?, ?)`).bind(id, id, id, `M ${id}`, now, now),
      env.DB.prepare(`INSERT INTO members (community_id, user_id, joined_at) VALUES (?, ?, ?)`).bind(own.communityId, id, now),
      env.DB.prepare(`INSERT INTO member_roles (community_id, user_id, role_id) VALUES (?, ?, ?)`).bind(own.communityId, id, own.supportRoleId),
    ]);
    await env.DB.batch(stmts);
    const { managers } = await expectJson(api(own.owner.http).desks[":deskId"].managers.$get({ param: { deskId: d.id } }), 200, DeskManagerList);
    expect(managers.length).toBe(120 + 3);
    expect(managers.some((m) => m.userId === own.member.id)).toBe(false);
  });
});

describe("knowledge base", () => {
  it("managers add, list, edit and delete entries; the desk's object searches them", async () => {
    const d = await createDesk(w);
    const kb = api(w.manager.http).desks[":deskId"].kb;
    const e1 = await expectJson(kb.$post({ param: { deskId: d.id }, json: { language: "ru", question: "Как сменить пароль?", answer: "Настройки → Аккаунт." } }), 201, KbEntry);
    const e2 = await expectJson(kb.$post({ param: { deskId: d.id }, json: { language: "en", question: "Opening hours?", answer: "9 to 6." } }), 201, KbEntry);
    expect((await expectJson(kb.$get({ param: { deskId: d.id } }), 200, KbList)).entries.map((e) => e.id)).toEqual([e1.id, e2.id]);
    const edited = await expectJson(
      kb[":entryId"].$put({ param: { deskId: d.id, entryId: e2.id }, json: { language: "en", question: "When are you open?", answer: "From 9 to 6." } }),
      200,
      KbEntry,
    );
    expect(edited).toMatchObject({ id: e2.id, question: "When are you open?" });
    const desk = await getServerByName(env.SupportDesk, d.id);
    expect((await desk.kbSearch("Забыл пароля", "ru", 3))[0]?.entry.id).toBe(e1.id);
    await ok(204, w.admin, "DELETE", `/api/desks/${d.id}/kb/${e1.id}`);
    await ok(404, w.manager, "DELETE", `/api/desks/${d.id}/kb/${e1.id}`);
    await ok(404, w.manager, "PUT", `/api/desks/${d.id}/kb/${e1.id}`, { language: "en", question: "gone?", answer: "yes" });
    expect((await desk.kbSearch("пароль", "ru", 3)).length).toBe(0);
    const bad = await call(w.manager, "POST", `/api/desks/${d.id}/kb`, { language: "de", question: "Wo?", answer: "" });
    expect([bad.status, bad.body.error.code]).toEqual([400, "validation_failed"]);
    await ok(404, w.member, "GET", `/api/desks/${d.id}/kb`);
    await ok(404, w.outsider, "POST", `/api/desks/${d.id}/kb`, { language: "en", question: "Hello?", answer: "Hi" });
  });
});

describe("canned replies", () => {
  it("managers add, list and delete them; shortcuts are unique per desk", async () => {
    const d = await createDesk(w);
    const other = await createDesk(w);
    const canned = api(w.manager.http).desks[":deskId"].canned;
    const r1 = await expectJson(canned.$post({ param: { deskId: d.id }, json: { shortcut: "привет", text: "Здравствуйте! Чем помочь?" } }), 201, CannedReply);
    await expectJson(canned.$post({ param: { deskId: d.id }, json: { shortcut: "bye", text: "Goodbye!" } }), 201, CannedReply);
    // The same shortcut on another desk is fine; twice on one desk is not.
    await expectJson(canned.$post({ param: { deskId: other.id }, json: { shortcut: "bye", text: "Bye" } }), 201, CannedReply);
    const dup = await call(w.manager, "POST", `/api/desks/${d.id}/canned`, { shortcut: "bye", text: "again" });
    expect([dup.status, dup.body.error.issues?.[0]?.path]).toEqual([400, ["shortcut"]]);
    const bad = await call(w.manager, "POST", `/api/desks/${d.id}/canned`, { shortcut: "has space", text: "x" });
    expect(bad.status).toBe(400);
    expect((await expectJson(canned.$get({ param: { deskId: d.id } }), 200, CannedList)).replies.map((r) => r.shortcut)).toEqual(["bye", "привет"]);
    // Another desk's reply id answers 404 here.
    await ok(404, w.manager, "DELETE", `/api/desks/${other.id}/canned/${r1.id}`);
    await ok(204, w.manager, "DELETE", `/api/desks/${d.id}/canned/${r1.id}`);
    await ok(404, w.manager, "DELETE", `/api/desks/${d.id}/canned/${r1.id}`);
    await ok(404, w.member, "GET", `/api/desks/${d.id}/canned`);
  });
});

describe("API keys", () => {
  it("shown once, stored only as a hash, listed without the key, revocable, capped, audited", async () => {
    const d = await createDesk(w);
    const k = await createKey(w.admin, d.id, "shop backend");
    expect(k.key).toMatch(/^wxk_[0-9a-z]{52}$/);
    expect(k.prefix).toBe(k.key.slice(0, 12));
    expect(k).toMatchObject({ name: "shop backend", lastUsedAt: null });

    const rows = await env.DB.prepare(`SELECT * FROM desk_api_keys WHERE desk_id = ?`).bind(d.id).all();
    const dump = JSON.stringify(rows.results);
    expect(dump).not.toContain(k.key);
    expect(dump).not.toContain(k.key.slice(4));
    expect(rows.results[0]).toMatchObject({ key_hash: await sha256Hex(k.key), prefix: k.prefix, created_by_id: w.admin.id });

    const list = await expectJson(api(w.owner.http).desks[":deskId"].keys.$get({ param: { deskId: d.id } }), 200, KeyList);
    expect(list.keys).toEqual([{ id: k.id, name: "shop backend", prefix: k.prefix, createdAt: k.createdAt, lastUsedAt: null }]);
    expect(JSON.stringify(list)).not.toContain(k.key.slice(4, 20));

    // Managers without MANAGE_COMMUNITY may not see or make keys.
    await ok(403, w.manager, "GET", `/api/desks/${d.id}/keys`);
    await ok(403, w.manager, "POST", `/api/desks/${d.id}/keys`, { name: "x" });
    await ok(403, w.manager, "DELETE", `/api/desks/${d.id}/keys/${k.id}`);
    await ok(404, w.member, "GET", `/api/desks/${d.id}/keys`);

    const other = await createDesk(w);
    await ok(404, w.owner, "DELETE", `/api/desks/${other.id}/keys/${k.id}`);
    await ok(204, w.owner, "DELETE", `/api/desks/${d.id}/keys/${k.id}`);
    await ok(404, w.owner, "DELETE", `/api/desks/${d.id}/keys/${k.id}`);
    expect(await auditActions(w.communityId, k.id)).toEqual(["desk.key_create", "desk.key_revoke"]);

    for (let i = 0; i < MAX_DESK_KEYS; i++) await createKey(w.owner, d.id, `k${i}`);
    const over = await call(w.owner, "POST", `/api/desks/${d.id}/keys`, { name: "one too many" });
    expect([over.status, over.body.error.code]).toEqual([400, "limit_reached"]);
    const bad = await call(w.owner, "POST", `/api/desks/${d.id}/keys`, { name: "" });
    expect(bad.status).toBe(400);
  });

  it("every key is different", async () => {
    const d = await createDesk(w);
    const keys: CreatedKey[] = await Promise.all([1, 2, 3].map(() => createKey(w.owner, d.id)));
    expect(new Set(keys.map((k) => k.key)).size).toBe(3);
    expect(CreatedKey.array().parse(keys).length).toBe(3);
  });
});
