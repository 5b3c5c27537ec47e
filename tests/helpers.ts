/**
 * Helpers for talking to the api worker over real HTTP inside workerd; users come from `newUser`.
 * To get something done, call routes through the typed client: `expectJson(api(u.http)...., 201, Schema)`.
 * To probe raw paths or bodies on purpose (access matrices, fuzz, hygiene, foreign ids), use `call`/`ok`/`client().fetch`.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { hc, type ClientResponse } from "hono/client";
import { expect } from "vitest";
import type { z } from "zod";
import type { AppType } from "../workers/api/src/app-type";
import { sha256Hex } from "../workers/core/crypto";
import { newId, randomToken } from "../workers/shared/ids";
import { MeResponse } from "../workers/shared/protocol";
import { encodingParams } from "../workers/shared/typed-client";

export const ORIGIN = "http://localhost:8787";

let ipCounter = 0;
/** A fresh client IP so per-IP throttles of one test do not leak into another. */
export function freshIp(): string {
  ipCounter++;
  return `10.77.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

export interface Client {
  cookies: Map<string, string>;
  ip: string;
  fetch(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
}

/** A cookie-keeping client that sends the app's Origin, like a browser on the app's page. */
export function client(opts: { origin?: string | null; ip?: string } = {}): Client {
  const cookies = new Map<string, string>();
  const ip = opts.ip ?? freshIp();
  const origin = opts.origin === undefined ? ORIGIN : opts.origin;
  return {
    cookies,
    ip,
    async fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      if (origin) headers.set("origin", origin);
      headers.set("cf-connecting-ip", ip);
      if (cookies.size) headers.set("cookie", [...cookies].map(([k, v]) => `${k}=${v}`).join("; "));
      let body = init.body;
      if (init.json !== undefined) {
        headers.set("content-type", "application/json");
        body = JSON.stringify(init.json);
      }
      const res = await exports.default.fetch(new Request(ORIGIN + path, { ...init, headers, body }));
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(";");
        const eq = pair!.indexOf("=");
        const name = pair!.slice(0, eq);
        const value = pair!.slice(eq + 1);
        if (/max-age=0/i.test(c) || value === "") cookies.delete(name);
        else cookies.set(name, value);
      }
      return res;
    },
  };
}

// ---------------------------------------------------------------------------------------
// The typed client
// ---------------------------------------------------------------------------------------

/**
 * Hono's typed client over the route types, rooted at `/api` (`api(c).communities.$post(...)` is
 * `POST /api/communities`), sending through `c` (its cookies, Origin and client IP). Like the
 * web app, a state-changing request without a body sends `{}`.
 */
export function api(c: Client) {
  const send = (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init.method ?? "GET").toUpperCase();
    const headers = new Headers(init.headers);
    let body = init.body;
    if (method !== "GET" && method !== "HEAD" && body == null) {
      body = "{}";
      headers.set("content-type", "application/json");
    }
    return c.fetch(url.pathname + url.search, { ...init, method, headers, body });
  };
  return encodingParams(hc<AppType>(ORIGIN, { fetch: send as typeof fetch }).api);
}

/** The answer of a typed request: fails the test unless its status is `status`, then parses it with a shared schema. */
export async function expectJson<T>(request: Promise<ClientResponse<unknown>>, status: number, schema: z.ZodType<T>): Promise<T> {
  const res = await request;
  const text = await res.text();
  expect(res.status, `${res.url}: ${text}`).toBe(status);
  return schema.parse(JSON.parse(text));
}

// ---------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------

let userCounter = 0;
export function uniqueName(prefix = "user"): string {
  userCounter++;
  return `${prefix}_${Date.now().toString(36)}_${userCounter}`;
}

export const GOOD_PASSWORD = "correct horse battery staple 42";

/** Registers through the real route (hashes a password: slow; use `newUser` unless registration is the point). */
export async function register(c: Client, username = uniqueName(), password = GOOD_PASSWORD) {
  const { user } = await expectJson(api(c).auth.register.$post({ json: { username, password } }), 201, MeResponse);
  return { username, password, user };
}

/** The one test user: an id, names, a live session token and an HTTP client carrying it. */
export interface User {
  id: string;
  username: string;
  displayName: string;
  token: string;
  /** A client carrying this user's session cookie. */
  http: Client;
}

/** A user with a live session, written into D1 directly (registration hashes a password and is slow). */
export async function newUser(prefix = "user"): Promise<User> {
  const id = newId();
  const username = uniqueName(prefix);
  const now = Date.now();
  const token = randomToken(256);
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO users (id, username, username_key, display_name, password_hash, created_at, password_changed_at) VALUES (?, ?, ?, ?, 'x', ?, ?)`,
    ).bind(id, username, username.toLowerCase(), username, now, now),
    env.DB.prepare(`INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)`).bind(
      await sha256Hex(token),
      id,
      now,
      now,
      now + 86_400_000,
    ),
  ]);
  const http = client();
  http.cookies.set("woxly_session", token);
  return { id, username, displayName: username, token, http };
}

// ---------------------------------------------------------------------------------------
// Raw requests (the escape hatch: deliberate probes of paths and bodies)
// ---------------------------------------------------------------------------------------

export interface Reply<T = any> {
  status: number;
  body: T;
}

/** A raw JSON call as `u` (or anonymous); the body is parsed when there is one. */
export async function call<T = any>(u: User | null, method: string, path: string, json?: unknown): Promise<Reply<T>> {
  const c = u?.http ?? client();
  const res = await c.fetch(path, { method, ...(json === undefined ? {} : { json }) });
  const isJson = (res.headers.get("content-type") ?? "").includes("application/json");
  const text = isJson ? await res.text() : (await res.arrayBuffer(), "");
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Like `call`, but fails the test unless the status is `status`. */
export async function ok<T = any>(status: number, u: User | null, method: string, path: string, json?: unknown): Promise<T> {
  const r = await call<T>(u, method, path, json);
  expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(status);
  return r.body;
}
