/**
 * The typed client's one error path: every failure is an ApiRequestError with the server's
 * `{ error: { code, message, issues? } }`, or a client code when no usable answer came.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { MeResponse } from "$shared/protocol";
import { ApiRequestError, client, done, isApiError, read } from "./api";

const me = { user: { id: "u1", username: "ann", displayName: "Ann", locale: null, createdAt: 1, instanceRole: null } };

function answer(res: () => Response | Promise<Response>) {
  const fake = vi.fn(async (_input: string, _init: RequestInit) => res());
  vi.stubGlobal("fetch", fake);
  return fake;
}
afterEach(() => vi.unstubAllGlobals());

async function failure(p: Promise<unknown>): Promise<ApiRequestError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isApiError(err)).toBe(true);
  return err as ApiRequestError;
}

describe("typed client", () => {
  it("sends same-origin credentials and asks for JSON", async () => {
    const fake = answer(() => Response.json(me));
    expect(await read(client.me.$get(), MeResponse)).toEqual(me);
    const [url, init] = fake.mock.calls[0]!;
    expect(url).toBe("/api/me");
    expect(init.credentials).toBe("same-origin");
    expect(new Headers(init.headers).get("accept")).toBe("application/json");
  });

  it("throws the server's error body with its code, status and issues", async () => {
    answer(() =>
      Response.json({ error: { code: "validation_failed", message: "no", issues: [{ path: ["username"], message: "short" }] } }, { status: 400 }),
    );
    const err = await failure(client.auth.login.$post({ json: { username: "a", password: "b" } }));
    expect([err.code, err.status, err.issues]).toEqual(["validation_failed", 400, [{ path: ["username"], message: "short" }]]);
  });

  it("names answers without an error body by their status", async () => {
    answer(() => new Response("<html>", { status: 429, headers: { "retry-after": "7" } }));
    const limited = await failure(done(client.auth.logout.$post()));
    expect([limited.code, limited.retryAfter]).toEqual(["rate_limited", 7]);
    answer(() => new Response("", { status: 401 }));
    expect((await failure(done(client.auth.logout.$post()))).code).toBe("unauthorized");
    answer(() => new Response("", { status: 413 }));
    expect((await failure(done(client.auth.logout.$post()))).code).toBe("payload_too_large");
    answer(() => new Response("", { status: 502 }));
    expect((await failure(done(client.auth.logout.$post()))).code).toBe("bad_response");
  });

  it("refuses an answer the schema does not accept", async () => {
    answer(() => Response.json({ user: { id: 1 } }));
    expect((await failure(read(client.me.$get(), MeResponse))).code).toBe("bad_response");
    answer(() => new Response("not json", { status: 200 }));
    expect((await failure(read(client.me.$get(), MeResponse))).code).toBe("bad_response");
  });

  it("turns a network failure into network_error, and lets an abort through", async () => {
    answer(() => Promise.reject(new TypeError("failed to fetch")));
    const err = await failure(client.me.$get());
    expect([err.code, err.status]).toEqual(["network_error", 0]);
    answer(() => Promise.reject(new DOMException("aborted", "AbortError")));
    await expect(client.me.$get()).rejects.toThrow(DOMException);
  });
});
