import { browser } from "$app/environment";
import { startI18n } from "$lib/i18n";
import { theme } from "$lib/theme.svelte";
import type { LayoutLoad } from "./$types";

// The app renders in the browser only: the server sends the shell, which costs well under
// the free plan's 10 ms of CPU a request.
export const ssr = false;
export const prerender = false;

export const load: LayoutLoad = async () => {
  if (browser) {
    theme.start();
    await startI18n();
  }
  return {};
};
