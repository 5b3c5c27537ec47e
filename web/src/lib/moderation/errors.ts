/** API failures of moderation actions as messages (the shared `formMessage`, plus what only moderation answers). */
import { isApiError } from "$lib/api";
import { formMessage, type Msg } from "$lib/forms";

export function modMessage(err: unknown, conflictKey = "moderation.error.conflict"): Msg {
  if (isApiError(err, "forbidden")) return { key: "moderation.error.forbidden" };
  if (isApiError(err, "not_found")) return { key: "moderation.error.notFound" };
  if (isApiError(err, "conflict")) return { key: conflictKey };
  return formMessage(err);
}
