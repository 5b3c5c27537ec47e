/**
 * The call-link HTTP API as the web app uses it (docs/call-links.md, workers/shared/call-links.ts):
 * links, the pre-join preview, guests, the call token, and the self-test's echo tokens. Answers
 * are parsed with the shared schemas; failures are thrown as `ApiRequestError` like `$lib/api`.
 *
 * These go through plain `fetch` rather than the typed client so the pages build before the
 * routes are in the generated route tree; the paths and bodies are the contract's.
 */
import type { z } from "zod";
import {
  CallLink,
  CallLinkPreview,
  CallLinkToken,
  EchoTokens,
  MyCallLinks,
  type CallLinkSettings,
  type CreateCallLinkBody,
} from "$shared/call-links";
import { HistoryPage } from "$shared/chat";
import { ErrorBody } from "$shared/protocol";
import { ApiRequestError, parseRetryAfter } from "$lib/api";

type Fetch = typeof fetch;

async function call<T>(method: string, path: string, schema: z.ZodType<T> | null, body?: unknown, fetchImpl: Fetch = fetch): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  let payload: string | undefined;
  if (method !== "GET") {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body ?? {});
  }
  let res: Response;
  try {
    res = await fetchImpl(path, { method, headers, body: payload, credentials: "same-origin" });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiRequestError("network_error", "network error", 0);
  }
  let raw: unknown = undefined;
  try {
    raw = res.status === 204 ? undefined : await res.json();
  } catch {
    raw = undefined;
  }
  if (!res.ok) {
    const retryAfter = res.status === 429 ? parseRetryAfter(res.headers.get("retry-after")) : undefined;
    const parsed = ErrorBody.safeParse(raw);
    if (parsed.success) throw new ApiRequestError(parsed.data.error.code, parsed.data.error.message, res.status, { retryAfter });
    const code = res.status === 429 ? "rate_limited" : res.status === 401 ? "unauthorized" : res.status === 404 ? "not_found" : "bad_response";
    throw new ApiRequestError(code, `HTTP ${res.status}`, res.status, { retryAfter });
  }
  if (!schema) return undefined as T;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ApiRequestError("bad_response", "unexpected response shape", res.status);
  return parsed.data;
}

const enc = encodeURIComponent;

export const callsApi = {
  create: (body: CreateCallLinkBody) => call("POST", "/api/calls", CallLink, body),
  mine: () => call("GET", "/api/calls", MyCallLinks),
  preview: (code: string, fetchImpl?: Fetch) => call("GET", `/api/calls/${enc(code)}`, CallLinkPreview, undefined, fetchImpl),
  update: (code: string, patch: Partial<CallLinkSettings> & { title?: string }) => call("PATCH", `/api/calls/${enc(code)}`, CallLink, patch),
  end: (code: string) => call("DELETE", `/api/calls/${enc(code)}`, null),
  joinAsGuest: (code: string, name: string) => call("POST", `/api/calls/${enc(code)}/guests`, null, { name }),
  token: (code: string) => call("POST", `/api/calls/${enc(code)}/token`, CallLinkToken),
  echo: () => call("POST", "/api/self-test/echo", EchoTokens),
  /** The call chat's history (ChannelCore's `history` option): `GET /api/calls/:code/history`. */
  history: (code: string, at: { before?: number; after?: number; around?: number }) => {
    const q = new URLSearchParams(Object.entries(at).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])));
    const qs = q.toString();
    return call("GET", `/api/calls/${enc(code)}/history${qs ? `?${qs}` : ""}`, HistoryPage);
  },
};

/** The full address of a call link, for copying and sharing. */
export function linkUrl(code: string, origin: string = typeof location === "undefined" ? "" : location.origin): string {
  return `${origin}/call/${code}`;
}
