/** Helpers for talking to the api worker over real HTTP inside workerd. */
import { exports } from "cloudflare:workers";

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

let userCounter = 0;
export function uniqueName(prefix = "user"): string {
  userCounter++;
  return `${prefix}_${Date.now().toString(36)}_${userCounter}`;
}

export const GOOD_PASSWORD = "correct horse battery staple 42";

export async function register(c: Client, username = uniqueName(), password = GOOD_PASSWORD) {
  const res = await c.fetch("/api/auth/register", { method: "POST", json: { username, password } });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  return { username, password, user: ((await res.json()) as { user: { id: string } }).user };
}
