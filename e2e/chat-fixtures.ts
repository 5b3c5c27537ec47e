/**
 * Set-up for the chat's browser tests, through the real API: users registered over HTTP, a
 * community created by the first, an invite redeemed by the others; the session cookies are
 * put into Chromium contexts. Also a small WebSocket sender for filling a channel quickly.
 */
import type { BrowserContext } from "playwright-core";
import WebSocket from "ws";

export const PASSWORD = "violet lantern river 93";

export interface TestUser {
  id: string;
  username: string;
  displayName: string;
  /** `woxly_session=…` */
  cookie: string;
}

async function call(base: string, method: string, path: string, cookie: string | null, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { origin: base, accept: "application/json" };
  if (cookie) headers["cookie"] = cookie;
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function json<T>(res: Response, what: string): Promise<T> {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function registerUser(base: string, username: string, displayName: string): Promise<TestUser> {
  const res = await call(base, "POST", "/api/auth/register", null, { username, displayName, password: PASSWORD });
  const body = await json<{ user: { id: string } }>(res, `register ${username}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0]!)
    .find((c) => c.startsWith("woxly_session=") || c.startsWith("__Host-woxly_session="));
  if (!cookie) throw new Error(`register ${username}: no session cookie`);
  return { id: body.user.id, username, displayName, cookie };
}

export interface TestCommunity {
  communityId: string;
  channelId: string;
}

/** `owner` creates a community; everyone in `others` joins it by invite. Returns its first text channel. */
export async function communityWith(base: string, owner: TestUser, others: TestUser[], name = "Chat test"): Promise<TestCommunity> {
  const created = await json<{ community: { id: string }; channels: { id: string; kind: string }[] }>(
    await call(base, "POST", "/api/communities", owner.cookie, { name }),
    "create community",
  );
  const communityId = created.community.id;
  const channel = created.channels.find((c) => c.kind === "text");
  if (!channel) throw new Error("the new community has no text channel");
  if (others.length) {
    const { invite } = await json<{ invite: { code: string } }>(
      await call(base, "POST", `/api/communities/${communityId}/invites`, owner.cookie, {}),
      "create invite",
    );
    for (const u of others) await json(await call(base, "POST", `/api/invites/${invite.code}/redeem`, u.cookie, {}), `redeem ${u.username}`);
  }
  return { communityId, channelId: channel.id };
}

/** Logs a browser context in as `user` (the session cookie of the API registration). */
export async function logInContext(context: BrowserContext, base: string, user: TestUser): Promise<void> {
  const [name, ...rest] = user.cookie.split("=");
  await context.addCookies([{ name: name!, value: rest.join("="), url: base, httpOnly: true, sameSite: "Lax" }]);
}

/**
 * Sends messages over the channel's WebSocket as `user`, one after another (each waits for
 * its ack; a rate-limit answer waits and sends the same nonce again, as does a dropped socket,
 * which is opened again). Returns the acked messages.
 */
export async function sendOverSocket(base: string, channelId: string, user: TestUser, contents: string[]): Promise<{ id: string; seq: number; content: string }[]> {
  const url = `${base.replace(/^http/, "ws")}/parties/channel-room/${channelId}`;
  let ws: WebSocket | null = null;
  const open = async (): Promise<WebSocket> => {
    if (ws && ws.readyState === WebSocket.OPEN) return ws;
    const next = new WebSocket(url, { headers: { cookie: user.cookie, origin: base } });
    await new Promise<void>((resolve, reject) => {
      next.once("open", () => resolve());
      next.once("error", reject);
    });
    ws = next;
    return next;
  };
  type Answer = { type: string; message?: { id: string; seq: number; content: string }; retryAfterMs?: number; code?: string };
  const acked: { id: string; seq: number; content: string }[] = [];
  try {
    for (const content of contents) {
      const nonce = `n${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
      for (let attempt = 0; ; attempt++) {
        if (attempt > 20) throw new Error("send failed: too many attempts");
        const socket = await open();
        const answer = await new Promise<Answer>((resolve) => {
          const done = (a: Answer) => {
            socket.off("message", onMessage);
            socket.off("close", onClose);
            resolve(a);
          };
          const onMessage = (data: WebSocket.RawData) => {
            const f = JSON.parse(String(data)) as Answer & { nonce?: string; ref?: string };
            if ((f.type === "message.ack" && f.nonce === nonce) || (f.type === "error" && f.ref === nonce)) done(f);
          };
          const onClose = () => done({ type: "closed" });
          socket.on("message", onMessage);
          socket.on("close", onClose);
          socket.send(JSON.stringify({ type: "message.send", nonce, content }));
        });
        if (answer.type === "message.ack" && answer.message) {
          acked.push(answer.message);
          break;
        }
        if (answer.type === "closed") {
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        if (answer.code === "rate_limited") {
          await new Promise((r) => setTimeout(r, (answer.retryAfterMs ?? 1000) + 50));
          continue;
        }
        throw new Error(`send failed: ${answer.code}`);
      }
    }
  } finally {
    (ws as WebSocket | null)?.close();
  }
  return acked;
}
