/**
 * Who is logged in, as reactive state shared by the shell and the settings page.
 * Client-only (the app does not render on the server), so a module singleton is safe.
 */
import type { Locale, Me } from "$shared/protocol";
import { MeResponse } from "$shared/protocol";
import { apiClient, client, done, isApiError, read } from "./api";
import { applyLocale, saveLocale, savedLocale } from "./i18n";

class Session {
  user = $state<Me | null>(null);
}

export const session = new Session();

/** The logged-in user (GET /me); `null` when not logged in. Other failures are thrown. */
export async function fetchMe(fetchImpl?: typeof fetch): Promise<Me | null> {
  try {
    const { user } = await read(apiClient(fetchImpl).me.$get(), MeResponse);
    return user;
  } catch (err) {
    if (isApiError(err, "unauthorized")) return null;
    throw err;
  }
}

/**
 * Makes `user` the session's user. The account's saved language wins; if it has none yet,
 * an explicit choice made in this browser is stored on the account (best effort).
 */
export async function adoptUser(user: Me): Promise<void> {
  session.user = user;
  if (user.locale) {
    saveLocale(user.locale);
    await applyLocale(user.locale);
    return;
  }
  const chosen = savedLocale();
  if (chosen) void saveAccountLocale(chosen);
}

async function saveAccountLocale(value: Locale): Promise<void> {
  try {
    const { user } = await read(client.me.$patch({ json: { locale: value } }), MeResponse);
    if (session.user?.id === user.id) session.user = user;
  } catch {
    // Kept locally; the account picks it up on the next change.
  }
}

/** The language picker's action: switch now, remember here, and on the account if logged in. */
export async function chooseLocale(value: Locale): Promise<void> {
  saveLocale(value);
  await applyLocale(value);
  if (session.user && session.user.locale !== value) await saveAccountLocale(value);
}

/** Ends this session (`all` false) or every session of the user (`all` true). */
export async function logOut(all: boolean): Promise<void> {
  try {
    await done(all ? client.auth["logout-all"].$post() : client.auth.logout.$post());
  } catch (err) {
    // Already logged out counts as done.
    if (!isApiError(err, "unauthorized")) throw err;
  }
  session.user = null;
}
