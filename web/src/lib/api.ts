/**
 * The API client: same-origin `fetch`, JSON both ways, every failure thrown as an
 * `ApiRequestError` carrying the server's `{ error: { code, message, issues? } }`.
 * Responses are parsed with the shared zod schemas, never cast.
 */
import type { z } from "zod";
import { ErrorBody } from "$shared/protocol";
import type { ErrorCode, ErrorIssue } from "$shared/errors";

/** Codes for failures that never got a usable answer from the API. */
export type ClientErrorCode = "network_error" | "bad_response";

type Fetch = typeof fetch;
type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

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
  const code = res.status === 429 ? "rate_limited" : res.status === 401 ? "unauthorized" : "bad_response";
  return new ApiRequestError(code, `HTTP ${res.status}`, res.status, { retryAfter });
}

async function request(method: Method, path: string, body: unknown, fetchImpl: Fetch = fetch): Promise<Response> {
  const init: RequestInit = {
    method,
    credentials: "same-origin",
    headers: { accept: "application/json" },
  };
  if (method !== "GET") {
    // Always JSON, even when empty: the API refuses state-changing requests that are not.
    init.headers = { accept: "application/json", "content-type": "application/json" };
    init.body = JSON.stringify(body ?? {});
  }
  let res: Response;
  try {
    res = await fetchImpl(path, init);
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiRequestError("network_error", "network error", 0);
  }
  if (!res.ok) throw await errorFrom(res);
  return res;
}

async function parse<T>(res: Response, schema: z.ZodType<T>): Promise<T> {
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

function send(method: Exclude<Method, "GET">) {
  function call(path: string, body?: unknown, schema?: undefined, fetchImpl?: Fetch): Promise<void>;
  function call<T>(path: string, body: unknown, schema: z.ZodType<T>, fetchImpl?: Fetch): Promise<T>;
  async function call<T>(path: string, body?: unknown, schema?: z.ZodType<T>, fetchImpl?: Fetch) {
    const res = await request(method, path, body, fetchImpl);
    if (!schema) return undefined;
    return parse(res, schema);
  }
  return call;
}

export const api = {
  /** GET `path` and parse the answer with `schema`. Pass the `fetch` of a load function there. */
  async get<T>(path: string, schema: z.ZodType<T>, fetchImpl?: Fetch): Promise<T> {
    return parse(await request("GET", path, undefined, fetchImpl), schema);
  },
  post: send("POST"),
  put: send("PUT"),
  patch: send("PATCH"),
  delete: send("DELETE"),
};
