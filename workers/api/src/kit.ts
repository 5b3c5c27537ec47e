/** The SvelteKit app, as built by adapter-cloudflare (`vite build` in web/). */
// @ts-expect-error -- a generated JS file without types; its shape is declared just below.
import built from "../../../web/.svelte-kit/cloudflare/_worker.js";

export const kit = built as { fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> };
