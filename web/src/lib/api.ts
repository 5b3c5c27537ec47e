/**
 * The API client: Hono's typed client (`hc<AppType>`) over same-origin `fetch`, so every
 * path, parameter, body and answer type comes from the routes themselves (workers/api) —
 * nothing is copied here. Every failure is thrown as an `ApiRequestError` carrying the
 * server's `{ error: { code, message, issues? } }`; answers are parsed with the shared zod
 * schemas (`read`), never cast.
 *
 *   const { community } = await read(client.communities[":id"].$get({ param: { id } }), CommunityResponse);
 *   await done(client.communities[":id"].leave.$post({ param: { id } }));
 */
import type { z } from "zod";
import { hc, type ClientResponse } from "hono/client";
import type { SuccessStatusCode } from "hono/utils/http-status";
import { ErrorBody } from "$shared/protocol";
import type { ErrorCode, ErrorIssue } from "$shared/errors";
import { encodingParams } from "$shared/typed-client";
// Type-only: the route tree, never server code in the bundle (generated from workers/api/src/app-type.ts).
import type { AppType } from "../../../workers/api/app-type.generated";

/** Codes for failures that never got a usable answer from the API. */
export type ClientErrorCode = "network_error" | "bad_response";

type Fetch = typeof fetch;

/** A failed API call. `status` is 0 when no response arrived at all. */
export class ApiRequestError extends Error {
  readonly code: ErrorCode | ClientErrorCode | (string & {});
  readonly status: number;
  readonly issues: ErrorIssue[] | undefined;
  /** For 429 answers: seconds to wait before trying again, from `Retry-After`. */
  readonly retryAfter: number | undefined;

  constructor(
    code: ApiRequestError["code"],
    message: string,
    status: number,
    opts: { issues?: ErrorIssue[]; retryAfter?: number } = {},
  ) {
    super(message);
    this.name = "ApiRequestError";
    this.code = code;
    this.status = status;
    this.issues = opts.issues;
    this.retryAfter = opts.retryAfter;
  }
}

export function isApiError(err: unknown, code?: string): err is ApiRequestError {
  return err instanceof ApiRequestError && (code === undefined || err.code === code);
}

/** `Retry-After` as whole seconds (at least 1); it may be a number or an HTTP date. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Math.max(1, Number(trimmed));
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(1, Math.ceil((at - now) / 1000));
}

async function errorFrom(res: Response): Promise<ApiRequestError> {
  const retryAfter = res.status === 429 ? parseRetryAfter(res.headers.get("retry-after")) : undefined;
  let raw: unknown = undefined;
  try {
    raw = await res.json();
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): fall through to a code from the status.
  }
  const parsed = ErrorBody.safeParse(raw);
  if (parsed.success) {
    const { code, message, issues } = parsed.data.error;
    return new ApiRequestError(code, message, res.status, { issues, retryAfter });
  }
  const code =
    res.status === 429 ? "rate_limited" : res.status === 401 ? "unauthorized" : res.status === 413 ? "payload_too_large" : "bad_response";
  return new ApiRequestError(code, `HTTP ${res.status}`, res.status, { retryAfter });
}

/**
 * The one place a request leaves the app: same-origin credentials, `accept: application/json`,
 * a JSON body on every state-changing request (even an empty one, `{}`: the API refuses
 * bodies that are not JSON; uploads pass their own body and type), and any non-2xx answer or
 * network failure thrown as an `ApiRequestError`. An abort is rethrown as it is.
 */
function sender(fetchImpl?: Fetch): Fetch {
  return async (input, init = {}) => {
    const method = (init.method ?? "GET").toUpperCase();
    const headers = new Headers(init.headers);
    headers.set("accept", "application/json");
    let body = init.body;
    if (method !== "GET" && method !== "HEAD" && body == null) {
      body = "{}";
      headers.set("content-type", "application/json");
    }
    let res: Response;
    try {
      res = await (fetchImpl ?? fetch)(input, { ...init, method, headers, body, credentials: "same-origin" });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new ApiRequestError("network_error", "network error", 0);
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  };
}

/**
 * A typed client for `/api`, rooted there: `apiClient().communities[":id"].$get(...)` is
 * `GET /api/communities/:id`. Pass the `fetch` of a load function; elsewhere use `client`.
 */
export function apiClient(fetchImpl?: Fetch) {
  return encodingParams(hc<AppType>("/", { fetch: sender(fetchImpl) }).api);
}

/** The typed client for `/api` (see `apiClient`). */
export const client = apiClient();

/** What a successful answer of a typed request holds (its 2xx JSON bodies). */
export type Answer<R> = R extends ClientResponse<infer O, infer S, infer F> ? (S extends SuccessStatusCode ? (F extends "json" ? O : never) : never) : never;

/**
 * Compiles only when everything the route declares it answers passes `schema` (`A` fits `T`),
 * so a route that drops or retypes a field the app reads fails `npm run check`, not a user.
 */
type Fits<A, T> = [A] extends [never]
  ? { "this route answers no JSON": never }
  : [A] extends [T]
    ? unknown
    : { "the route's answer does not fit this schema": A };

/** The answer of a typed request, parsed with the shared zod schema (checked against the route). */
export async function read<R extends ClientResponse<unknown>, T>(request: Promise<R>, schema: z.ZodType<T> & Fits<Answer<R>, T>): Promise<T> {
  return parse(await request, schema);
}

/** Waits for a typed request to succeed; its answer, if any, is not needed. */
export async function done(request: Promise<ClientResponse<unknown>>): Promise<void> {
  await request;
}

async function parse<T>(res: { json(): Promise<unknown>; status: number }, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = await res.json();
  } catch {
    throw new ApiRequestError("bad_response", "response is not JSON", res.status);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ApiRequestError("bad_response", "unexpected response shape", res.status);
  return parsed.data;
}
