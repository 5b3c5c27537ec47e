/**
 * The support desk's HTTP API as the manager panel and the desk settings call it: the typed
 * client's routes (docs/support-desk.md), every answer parsed with the shared schemas
 * (workers/shared/desk.ts).
 */
import {
  CannedList,
  CannedReply,
  type CreateDeskBody,
  CreatedKey,
  Desk,
  DeskList,
  DeskManager,
  DeskStats,
  KbEntry,
  type KbEntryBody,
  KbList,
  KeyList,
  TicketCallToken,
  TicketPage,
  TicketResponse,
  type TicketStatus,
  Transcript,
  type UpdateDeskBody,
} from "$shared/desk";
import { z } from "zod";
import { client, done, read } from "$lib/api";

const desk = client.desks[":deskId"];
const ticket = desk.tickets[":ticketId"];
const ManagerList = z.object({ managers: z.array(DeskManager) });

export const deskApi = {
  list: (communityId: string) => read(client.communities[":communityId"].desks.$get({ param: { communityId } }), DeskList).then((r) => r.desks),
  create: (communityId: string, body: CreateDeskBody) => read(client.communities[":communityId"].desks.$post({ param: { communityId }, json: body }), Desk),
  get: (deskId: string) => read(desk.$get({ param: { deskId } }), Desk),
  update: (deskId: string, body: UpdateDeskBody) => read(desk.$patch({ param: { deskId }, json: body }), Desk),
  remove: (deskId: string) => done(desk.$delete({ param: { deskId } })),
  managers: (deskId: string) => read(desk.managers.$get({ param: { deskId } }), ManagerList).then((r) => r.managers),

  kb: (deskId: string) => read(desk.kb.$get({ param: { deskId } }), KbList).then((r) => r.entries),
  addKb: (deskId: string, body: KbEntryBody) => read(desk.kb.$post({ param: { deskId }, json: body }), KbEntry),
  updateKb: (deskId: string, entryId: string, body: KbEntryBody) => read(desk.kb[":entryId"].$put({ param: { deskId, entryId }, json: body }), KbEntry),
  removeKb: (deskId: string, entryId: string) => done(desk.kb[":entryId"].$delete({ param: { deskId, entryId } })),

  canned: (deskId: string) => read(desk.canned.$get({ param: { deskId } }), CannedList).then((r) => r.replies),
  addCanned: (deskId: string, body: { shortcut: string; text: string }) => read(desk.canned.$post({ param: { deskId }, json: body }), CannedReply),
  removeCanned: (deskId: string, replyId: string) => done(desk.canned[":replyId"].$delete({ param: { deskId, replyId } })),

  keys: (deskId: string) => read(desk.keys.$get({ param: { deskId } }), KeyList).then((r) => r.keys),
  createKey: (deskId: string, name: string) => read(desk.keys.$post({ param: { deskId }, json: { name } }), CreatedKey),
  revokeKey: (deskId: string, keyId: string) => done(desk.keys[":keyId"].$delete({ param: { deskId, keyId } })),

  tickets: (deskId: string, query: { status?: TicketStatus; q?: string; cursor?: string; limit?: number }) =>
    read(
      desk.tickets.$get({
        param: { deskId },
        query: Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== "").map(([k, v]) => [k, String(v)])),
      }),
      TicketPage,
    ),
  transcript: (deskId: string, ticketId: string) => read(ticket.$get({ param: { deskId, ticketId } }), Transcript),
  close: (deskId: string, ticketId: string) => read(ticket.close.$post({ param: { deskId, ticketId } }), TicketResponse).then((r) => r.ticket),
  transfer: (deskId: string, ticketId: string, toUserId: string) =>
    read(ticket.transfer.$post({ param: { deskId, ticketId }, json: { toUserId } }), TicketResponse).then((r) => r.ticket),
  callToken: (deskId: string, ticketId: string) => read(ticket["call-token"].$post({ param: { deskId, ticketId } }), TicketCallToken),
  stats: (deskId: string) => read(desk.stats.$get({ param: { deskId } }), DeskStats),
};
