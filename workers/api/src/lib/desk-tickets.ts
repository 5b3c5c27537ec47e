/**
 * A ticket's life as the api worker drives it (docs/support-desk.md "Tickets"). The
 * SupportDesk object of the ticket's desk is the one place where a ticket changes state
 * (creation, queue, accept, transfer, close with the transcript copy); these functions call it
 * and turn its refusals into ApiErrors. Used by the visitor routes (routes/widget.ts), the
 * managers' routes (routes/desk-tickets.ts) and the site owners' API (routes/site-api.ts).
 */
import type { Ticket } from "../../../shared/desk";
import { ApiError } from "../../../shared/errors";
import type { DeskActor, Refusal } from "../../../core/desk";
import { deskOf } from "../stubs";

export type { DeskActor };

/** An object's outcome, or its refusal thrown as the ApiError of the same code. */
export function unwrap<R extends { error?: Refusal["error"] }>(r: R): Exclude<R, { error: Refusal["error"] }> {
  if (r.error) throw new ApiError(r.error === "at_capacity" ? "forbidden" : r.error, (r as unknown as Refusal).message);
  return r as Exclude<R, { error: Refusal["error"] }>;
}

/**
 * Closes a ticket of `deskId` as `by` (its visitor, a manager of the desk, or the site owner's
 * API): out of the queue, its call ended, the transcript copied to D1. Closing a closed
 * ticket returns it unchanged. `not_found` for a ticket of another desk (or another visitor's).
 */
export async function closeTicket(env: Env, deskId: string, ticketId: string, by: DeskActor): Promise<Ticket> {
  const desk = await deskOf(env, deskId);
  return unwrap(await desk.closeTicket(ticketId, by)).ticket;
}

/** Hands an open ticket to another manager of the desk (its assignee or an admin). */
export async function transferTicket(env: Env, deskId: string, ticketId: string, by: DeskActor, toUserId: string): Promise<Ticket> {
  return unwrap(await (await deskOf(env, deskId)).transferTicket(ticketId, by, toUserId)).ticket;
}
