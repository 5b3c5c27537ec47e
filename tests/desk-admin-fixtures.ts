/**
 * Fixtures for the desk administration, site API and access-matrix tests (desk-admin,
 * desk-site-api, access-matrix-desk-admin): a community with a support role and its people
 * (owner, admin with MANAGE_COMMUNITY, manager holding the desk's role, plain member,
 * outsider), desks and keys through the real routes, and visitors and tickets written straight
 * into D1 where the widget flow is not the point.
 */
import { env } from "cloudflare:test";
import { CreatedKey, Desk } from "../workers/shared/desk";
import { newId } from "../workers/shared/ids";
import { P } from "../workers/shared/permissions";
import { addMember, createCommunity, createRole } from "./community-fixtures";
import { api, expectJson, newUser, type User } from "./helpers";

export interface DeskWorld {
  communityId: string;
  everyoneRoleId: string;
  supportRoleId: string;
  adminRoleId: string;
  owner: User;
  admin: User;
  manager: User;
  member: User;
  outsider: User;
}

export async function deskWorld(): Promise<DeskWorld> {
  const [owner, admin, manager, member, outsider] = await Promise.all([newUser("owner"), newUser("admin"), newUser("manager"), newUser("member"), newUser("outsider")]);
  const created = await createCommunity(owner);
  const communityId = created.community.id;
  const supportRole = await createRole(owner, communityId, "Support", 0n);
  const adminRole = await createRole(owner, communityId, "Admins", P.MANAGE_COMMUNITY);
  await Promise.all([addMember(communityId, admin, [adminRole.id]), addMember(communityId, manager, [supportRole.id]), addMember(communityId, member)]);
  const everyone = created.roles.find((r) => r.isEveryone)!;
  return { communityId, everyoneRoleId: everyone.id, supportRoleId: supportRole.id, adminRoleId: adminRole.id, owner, admin, manager, member, outsider };
}

export async function createDesk(w: DeskWorld, body: Record<string, unknown> = {}, as: User = w.owner): Promise<Desk> {
  const req = api(as.http).communities[":communityId"].desks.$post({
    param: { communityId: w.communityId },
    json: { name: "Help", managerRoleId: w.supportRoleId, allowedOrigins: ["https://shop.example"], ...body },
  });
  return expectJson(req, 201, Desk);
}

export async function createKey(as: User, deskId: string, name = "server"): Promise<CreatedKey> {
  return expectJson(api(as.http).desks[":deskId"].keys.$post({ param: { deskId }, json: { name } }), 201, CreatedKey);
}

/** A visitor and a ticket of the desk, straight in D1 (the widget flow has its own tests). */
export async function insertTicket(
  deskId: string,
  opts: { status?: "assistant" | "queued" | "open" | "closed" | "offline"; assigneeId?: string | null; createdAt?: number; lines?: string[]; name?: string } = {},
): Promise<{ ticketId: string; visitorId: string; channelId: string }> {
  const now = opts.createdAt ?? Date.now();
  const visitorId = newId(now);
  const ticketId = newId(now);
  const channelId = newId(now);
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO visitors (id, desk_id, name, token_hash, origin, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)`).bind(
      visitorId, deskId, opts.name ?? "Visitor", `hash-${visitorId}`, "https://shop.example", now, now,
    ),
    env.DB.prepare(`INSERT INTO tickets (id, desk_id, visitor_id, channel_id, status, assignee_id, created_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).bind(
      ticketId, deskId, visitorId, channelId, opts.status ?? "open", opts.assigneeId ?? null, now, opts.status === "closed" ? now : null,
    ),
    ...(opts.lines ?? []).map((content, i) =>
      env.DB.prepare(`INSERT INTO ticket_messages (ticket_id, seq, author_kind, author_id, author_name, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`).bind(
        ticketId, i + 1, i % 2 ? "manager" : "visitor", null, i % 2 ? "Manager" : "Visitor", content, now + i,
      ),
    ),
  ]);
  return { ticketId, visitorId, channelId };
}
