/**
 * Desk administration (docs/support-desk.md "Routes"): desks of a community, one desk's
 * settings, its managers, knowledge base, canned replies and API keys. Admins
 * (MANAGE_COMMUNITY: canAdministerDesks, canAdministerDesk) create, edit and delete desks and
 * their keys; managers (canWorkDesk) read the desk and work its knowledge base and canned
 * replies. Whoever may not see a desk gets 404, as for one that does not exist. Settings,
 * keys and canned replies are D1; the knowledge base lives in the desk's SupportDesk object.
 *
 * `communityDeskRoutes` is mounted at /api/communities, `deskRoutes` at /api/desks.
 */
import { and, count, eq, inArray } from "drizzle-orm";
import { Hono } from "hono";
import {
  CannedReplyBody,
  CommunityDeskParam,
  CreateDeskBody,
  CreateKeyBody,
  DESK_KEY_PREFIX,
  DESK_KEY_PREFIX_CHARS,
  DeskCannedParam,
  DeskKbParam,
  DeskKeyParam,
  DeskParam,
  KbEntryBody,
  MAX_CANNED_REPLIES,
  MAX_DESK_KEYS,
  MAX_KB_ENTRIES,
  UpdateDeskBody,
  type CannedList,
  type CannedReply,
  type CreatedKey,
  type Desk,
  type DeskKey,
  type DeskList,
  type DeskManager,
  type DeskManagerList,
  type DeskSettings,
  type KbEntry,
  type KbList,
  type KeyList,
  type OfficeHours,
} from "../../../shared/desk";
import { ApiError, type ErrorIssue } from "../../../shared/errors";
import { newId, randomToken } from "../../../shared/ids";
import { P, parsePermissions } from "../../../shared/permissions";
import { auditInsert } from "../../../core/audit";
import { sha256Hex } from "../../../core/crypto";
import type { Db } from "../../../core/db";
import { type DeskRow, deskView } from "../../../core/desk";
import { log } from "../../../core/log";
import { loadPermissionModel, memberAccess } from "../../../core/access";
import {
  canAdministerDesk,
  canAdministerDesks,
  canSeeCommunity,
  canWorkDesk,
  isDeskManager,
  requireManagerRole,
} from "../../../core/policy";
import { communities, deskApiKeys, deskCannedReplies, desks, memberRoles, members, roles, tickets, users } from "../../../core/schema";
import type { AppEnv } from "../env";
import { deskTeardown } from "../lib/desk-teardown";
import { settle } from "../lib/rooms";
import type { Statement } from "../../../core/batch";
import { authed } from "../middleware/session";
import { validate } from "../middleware/validate";
import { deskOf } from "../stubs";

/** Longest id list bound into one `IN (…)` (D1 allows 100 parameters a statement). */
const MAX_IN_LIST = 90;

const invalid = (path: (string | number)[], message: string) =>
  new ApiError("validation_failed", "Some fields are not valid.", { issues: [{ path, message }] });

/**
 * Settings as stored: origins reduced to `scheme://host[:port]` (default ports dropped,
 * duplicates removed); office hours checked for a known time zone and intervals that end after
 * they start.
 */
function normalise<T extends Partial<DeskSettings>>(s: T): T {
  const issues: ErrorIssue[] = [];
  const out = { ...s };
  if (s.allowedOrigins) out.allowedOrigins = [...new Set(s.allowedOrigins.map((o) => new URL(o).origin))];
  if (s.officeHours) issues.push(...officeHoursIssues(s.officeHours));
  if (issues.length) throw new ApiError("validation_failed", "Some fields are not valid.", { issues });
  return out;
}

function officeHoursIssues(h: OfficeHours): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: h.timeZone });
  } catch {
    issues.push({ path: ["officeHours", "timeZone"], message: "not a known time zone" });
  }
  h.days.forEach((day, d) =>
    day.forEach((i, k) => {
      if (i.to <= i.from) issues.push({ path: ["officeHours", "days", d, k], message: "must end after it starts" });
    }),
  );
  return issues;
}

/** The columns of a settings patch. */
function columns(s: Partial<DeskSettings>): Partial<DeskRow> {
  const c: Partial<DeskRow> = {};
  if (s.name !== undefined) c.name = s.name;
  if (s.greeting !== undefined) c.greeting = s.greeting;
  if (s.colour !== undefined) c.colour = s.colour;
  if (s.officeHours !== undefined) c.officeHours = s.officeHours === null ? null : JSON.stringify(s.officeHours);
  if (s.allowedOrigins !== undefined) c.allowedOrigins = JSON.stringify(s.allowedOrigins);
  if (s.managerRoleId !== undefined) c.managerRoleId = s.managerRoleId;
  if (s.capacity !== undefined) c.capacity = s.capacity;
  if (s.autoAssign !== undefined) c.autoAssign = s.autoAssign;
  return c;
}

/** Tells the desk's SupportDesk object its settings changed. D1 already has; a failure is logged. */
async function refreshDesk(env: Env, deskId: string): Promise<void> {
  await settle("desk.refresh_failed", { deskId }, [async () => (await deskOf(env, deskId)).refresh()]);
}

/**
 * The desk's managers: holders of its manager role and its admins (MANAGE_COMMUNITY, the
 * owner), as isDeskManager decides, with whether they are online at the desk and how many open
 * tickets they hold.
 */
async function managersOf(db: Db, env: Env, desk: DeskRow): Promise<DeskManager[]> {
  // Candidates: the owner, the role's holders, and holders of roles that carry MANAGE_COMMUNITY (or ADMINISTRATOR).
  const owner = (await db.select({ ownerId: communities.ownerId }).from(communities).where(eq(communities.id, desk.communityId)).limit(1))[0];
  if (!owner) return [];
  const roleRows = await db.select({ id: roles.id, permissions: roles.permissions, isEveryone: roles.isEveryone }).from(roles).where(eq(roles.communityId, desk.communityId));
  const adminRoles = roleRows.filter((r) => (parsePermissions(r.permissions) & (P.MANAGE_COMMUNITY | P.ADMINISTRATOR)) !== 0n);
  // @everyone carrying it makes every member an admin: then (and for very many such roles) every member is a candidate.
  let candidates: string[] | undefined;
  const wanted = [...adminRoles.map((r) => r.id), ...(desk.managerRoleId ? [desk.managerRoleId] : [])];
  if (!adminRoles.some((r) => r.isEveryone) && wanted.length <= MAX_IN_LIST) {
    const holders = wanted.length
      ? await db
          .selectDistinct({ userId: memberRoles.userId })
          .from(memberRoles)
          .where(and(eq(memberRoles.communityId, desk.communityId), inArray(memberRoles.roleId, wanted)))
      : [];
    candidates = [...new Set([owner.ownerId, ...holders.map((h) => h.userId)])];
  }
  const model = await loadPermissionModel(db, desk.communityId, candidates);
  if (!model) return [];
  const ids = [...model.memberRoles.keys()].filter((u) => {
    const a = memberAccess(model, u);
    return a !== undefined && isDeskManager(desk, a);
  });
  if (!ids.length) return [];
  const managers = new Set(ids);
  // D1 binds at most 100 parameters a statement: a long list reads the community's members instead.
  const inCommunity = eq(members.communityId, desk.communityId);
  const [people, loads, online] = await Promise.all([
    db
      .select({ id: users.id, username: users.username, displayName: users.displayName, nickname: members.nickname })
      .from(users)
      .innerJoin(members, eq(members.userId, users.id))
      .where(ids.length <= MAX_IN_LIST ? and(inCommunity, inArray(users.id, ids)) : inCommunity),
    db
      .select({ userId: tickets.assigneeId, n: count() })
      .from(tickets)
      .where(and(eq(tickets.deskId, desk.id), eq(tickets.status, "open")))
      .groupBy(tickets.assigneeId),
    onlineManagers(env, desk.id),
  ]);
  const load = new Map(loads.map((l) => [l.userId, l.n]));
  return people
    .filter((p) => managers.has(p.id))
    .map((p) => ({ userId: p.id, username: p.username, displayName: p.nickname ?? p.displayName, online: online.has(p.id), load: load.get(p.id) ?? 0 }))
    .sort((a, b) => Number(b.online) - Number(a.online) || a.displayName.localeCompare(b.displayName));
}

async function onlineManagers(env: Env, deskId: string): Promise<Set<string>> {
  try {
    return new Set(await (await deskOf(env, deskId)).onlineManagers());
  } catch (err) {
    log({ event: "desk.online_failed", deskId, error: String(err) });
    return new Set();
  }
}

const keyView = (k: typeof deskApiKeys.$inferSelect): DeskKey => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
});

const cannedView = (r: typeof deskCannedReplies.$inferSelect): CannedReply => ({ id: r.id, shortcut: r.shortcut, text: r.text });

export const communityDeskRoutes = new Hono<AppEnv>()
  .post("/:communityId/desks", validate("param", CommunityDeskParam), validate("json", CreateDeskBody), async (c) => {
    const { user } = authed(c);
    const { communityId } = c.req.valid("param");
    const body = normalise(c.req.valid("json"));
    const db = c.var.db;
    const a = await canAdministerDesks(db, user.id, communityId);
    requireManagerRole(a, body.managerRoleId);
    const now = Date.now();
    const row: DeskRow = {
      id: newId(now),
      communityId,
      name: body.name,
      greeting: body.greeting ?? "",
      colour: body.colour ?? "#5865f2",
      officeHours: body.officeHours ? JSON.stringify(body.officeHours) : null,
      allowedOrigins: JSON.stringify(body.allowedOrigins ?? []),
      managerRoleId: body.managerRoleId ?? null,
      capacity: body.capacity ?? 3,
      autoAssign: body.autoAssign ?? false,
      createdAt: now,
    };
    const desk = deskView(row);
    await db.batch([
      db.insert(desks).values(row),
      auditInsert(db, { communityId, actorId: user.id, action: "desk.create", targetKind: "desk", targetId: row.id, changes: { name: row.name } }, now),
    ]);
    return c.json(desk satisfies Desk, 201);
  })
  .get("/:communityId/desks", validate("param", CommunityDeskParam), async (c) => {
    const { user } = authed(c);
    const { communityId } = c.req.valid("param");
    const db = c.var.db;
    const a = await canSeeCommunity(db, user.id, communityId);
    const rows = await db.select().from(desks).where(eq(desks.communityId, communityId)).orderBy(desks.createdAt);
    return c.json({ desks: rows.filter((d) => isDeskManager(d, a)).map(deskView) } satisfies DeskList);
  });

export const deskRoutes = new Hono<AppEnv>()
  // --- the desk -------------------------------------------------------------------------
  .get("/:deskId", validate("param", DeskParam), async (c) => {
    const { user } = authed(c);
    const { desk } = await canWorkDesk(c.var.db, user.id, c.req.valid("param").deskId);
    return c.json(deskView(desk) satisfies Desk);
  })
  .patch("/:deskId", validate("param", DeskParam), validate("json", UpdateDeskBody), async (c) => {
    const { user } = authed(c);
    const { deskId } = c.req.valid("param");
    const patch = normalise(c.req.valid("json"));
    const db = c.var.db;
    const { desk, access } = await canAdministerDesk(db, user.id, deskId);
    requireManagerRole(access, patch.managerRoleId);
    const set = columns(patch);
    const before = deskView(desk);
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    for (const [k, v] of Object.entries(patch)) {
      const from = before[k as keyof Desk];
      if (JSON.stringify(v) !== JSON.stringify(from)) changes[k] = { from, to: v };
    }
    const next: DeskRow = { ...desk, ...set };
    if (Object.keys(changes).length) {
      await db.batch([
        db.update(desks).set(set).where(eq(desks.id, deskId)),
        auditInsert(db, { communityId: desk.communityId, actorId: user.id, action: "desk.update", targetKind: "desk", targetId: deskId, changes }),
      ]);
      await refreshDesk(c.env, deskId);
    }
    return c.json(deskView(next) satisfies Desk);
  })
  .delete("/:deskId", validate("param", DeskParam), async (c) => {
    const { user } = authed(c);
    const { deskId } = c.req.valid("param");
    const db = c.var.db;
    const { desk } = await canAdministerDesk(db, user.id, deskId);
    // Read before the tickets go; D1 first (access ends at once), then rooms, object and files.
    const teardown = await deskTeardown(db, { deskId });
    await db.batch([
      ...(teardown.statements as [Statement, ...Statement[]]),
      auditInsert(db, { communityId: desk.communityId, actorId: user.id, action: "desk.delete", targetKind: "desk", targetId: deskId, changes: { name: desk.name } }),
    ]);
    log({ event: "desk.deleted", requestId: c.var.requestId, deskId, userId: user.id });
    await teardown.after(c.env);
    return c.body(null, 204);
  })
  .get("/:deskId/managers", validate("param", DeskParam), async (c) => {
    const { user } = authed(c);
    const { desk } = await canWorkDesk(c.var.db, user.id, c.req.valid("param").deskId);
    return c.json({ managers: await managersOf(c.var.db, c.env, desk) } satisfies DeskManagerList);
  })
  // --- knowledge base (in the desk's SupportDesk object) -----------------------------------
  .get("/:deskId/kb", validate("param", DeskParam), async (c) => {
    const { user } = authed(c);
    const { deskId } = c.req.valid("param");
    await canWorkDesk(c.var.db, user.id, deskId);
    const entries: KbEntry[] = await (await deskOf(c.env, deskId)).kbList();
    return c.json({ entries } satisfies KbList);
  })
  .post("/:deskId/kb", validate("param", DeskParam), validate("json", KbEntryBody), async (c) => {
    const { user } = authed(c);
    const { deskId } = c.req.valid("param");
    await canWorkDesk(c.var.db, user.id, deskId);
    const entry: KbEntry | null = await (await deskOf(c.env, deskId)).kbPut(null, c.req.valid("json"));
    if (!entry) throw new ApiError("limit_reached", `A desk can have at most ${MAX_KB_ENTRIES} knowledge-base entries.`);
    return c.json(entry satisfies KbEntry, 201);
  })
  .put("/:deskId/kb/:entryId", validate("param", DeskKbParam), validate("json", KbEntryBody), async (c) => {
    const { user } = authed(c);
    const { deskId, entryId } = c.req.valid("param");
    await canWorkDesk(c.var.db, user.id, deskId);
    const entry: KbEntry | null = await (await deskOf(c.env, deskId)).kbPut(entryId, c.req.valid("json"));
    if (!entry) throw new ApiError("not_found", "No such entry.");
    return c.json(entry satisfies KbEntry);
  })
  .delete("/:deskId/kb/:entryId", validate("param", DeskKbParam), async (c) => {
    const { user } = authed(c);
    const { deskId, entryId } = c.req.valid("param");
    await canWorkDesk(c.var.db, user.id, deskId);
    if (!(await (await deskOf(c.env, deskId)).kbDelete(entryId))) throw new ApiError("not_found", "No such entry.");
    return c.body(null, 204);
  })
  // --- canned replies -----------------------------------------------------------------------
  .get("/:deskId/canned", validate("param", DeskParam), async (c) => {
    const { user } = authed(c);
    const { deskId } = c.req.valid("param");
    await canWorkDesk(c.var.db, user.id, deskId);
    const rows = await c.var.db.select().from(deskCannedReplies).where(eq(deskCannedReplies.deskId, deskId)).orderBy(deskCannedReplies.shortcut);
    return c.json({ replies: rows.map(cannedView) } satisfies CannedList);
  })
  .post("/:deskId/canned", validate("param", DeskParam), validate("json", CannedReplyBody), async (c) => {
    const { user } = authed(c);
    const { deskId } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = c.var.db;
    await canWorkDesk(db, user.id, deskId);
    if ((await db.$count(deskCannedReplies, eq(deskCannedReplies.deskId, deskId))) >= MAX_CANNED_REPLIES) {
      throw new ApiError("limit_reached", `A desk can have at most ${MAX_CANNED_REPLIES} canned replies.`);
    }
    const now = Date.now();
    const row = { id: newId(now), deskId, shortcut: body.shortcut, text: body.text, createdAt: now };
    // The unique (desk, shortcut) index decides between two at once.
    const inserted = await db.insert(deskCannedReplies).values(row).onConflictDoNothing().returning({ id: deskCannedReplies.id });
    if (!inserted.length) throw invalid(["shortcut"], "already used by another reply");
    return c.json(cannedView(row) satisfies CannedReply, 201);
  })
  .delete("/:deskId/canned/:replyId", validate("param", DeskCannedParam), async (c) => {
    const { user } = authed(c);
    const { deskId, replyId } = c.req.valid("param");
    const db = c.var.db;
    await canWorkDesk(db, user.id, deskId);
    const gone = await db
      .delete(deskCannedReplies)
      .where(and(eq(deskCannedReplies.id, replyId), eq(deskCannedReplies.deskId, deskId)))
      .returning({ id: deskCannedReplies.id });
    if (!gone.length) throw new ApiError("not_found", "No such reply.");
    return c.body(null, 204);
  })
  // --- API keys (admins) ----------------------------------------------------------------------
  .get("/:deskId/keys", validate("param", DeskParam), async (c) => {
    const { user } = authed(c);
    const { deskId } = c.req.valid("param");
    const db = c.var.db;
    await canAdministerDesk(db, user.id, deskId);
    const rows = await db.select().from(deskApiKeys).where(eq(deskApiKeys.deskId, deskId)).orderBy(deskApiKeys.createdAt);
    return c.json({ keys: rows.map(keyView) } satisfies KeyList);
  })
  .post("/:deskId/keys", validate("param", DeskParam), validate("json", CreateKeyBody), async (c) => {
    const { user } = authed(c);
    const { deskId } = c.req.valid("param");
    const { name } = c.req.valid("json");
    const db = c.var.db;
    const { desk } = await canAdministerDesk(db, user.id, deskId);
    if ((await db.$count(deskApiKeys, eq(deskApiKeys.deskId, deskId))) >= MAX_DESK_KEYS) {
      throw new ApiError("limit_reached", `A desk can have at most ${MAX_DESK_KEYS} API keys.`);
    }
    const now = Date.now();
    const secret = randomToken(256);
    const key = DESK_KEY_PREFIX + secret;
    const row = {
      id: newId(now),
      deskId,
      name,
      prefix: DESK_KEY_PREFIX + secret.slice(0, DESK_KEY_PREFIX_CHARS),
      keyHash: await sha256Hex(key),
      createdById: user.id,
      createdAt: now,
      lastUsedAt: null,
    };
    await db.batch([
      db.insert(deskApiKeys).values(row),
      auditInsert(db, { communityId: desk.communityId, actorId: user.id, action: "desk.key_create", targetKind: "desk_key", targetId: row.id, changes: { deskId, name, prefix: row.prefix } }, now),
    ]);
    return c.json({ ...keyView(row), key } satisfies CreatedKey, 201);
  })
  .delete("/:deskId/keys/:keyId", validate("param", DeskKeyParam), async (c) => {
    const { user } = authed(c);
    const { deskId, keyId } = c.req.valid("param");
    const db = c.var.db;
    const { desk } = await canAdministerDesk(db, user.id, deskId);
    const row = (await db.select().from(deskApiKeys).where(and(eq(deskApiKeys.id, keyId), eq(deskApiKeys.deskId, deskId))).limit(1))[0];
    if (!row) throw new ApiError("not_found", "No such key.");
    await db.batch([
      db.delete(deskApiKeys).where(eq(deskApiKeys.id, keyId)),
      auditInsert(db, { communityId: desk.communityId, actorId: user.id, action: "desk.key_revoke", targetKind: "desk_key", targetId: keyId, changes: { deskId, name: row.name, prefix: row.prefix } }),
    ]);
    return c.body(null, 204);
  });
