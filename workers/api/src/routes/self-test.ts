/**
 * The device self-test (docs/call-links.md): POST /api/self-test/echo — no account needed,
 * rate-limited per IP — two tokens for a fresh throwaway room `echo-<random>`: the sender
 * publishes camera and microphone and subscribes to nothing, the receiver only subscribes
 * (policy.ts echoGrants). Both live ECHO_TOKEN_TTL_SECONDS; identities are random.
 */
import { Hono } from "hono";
import { ECHO_TOKEN_TTL_SECONDS, type EchoTokens } from "../../../shared/call-links";
import { randomToken } from "../../../shared/ids";
import { issueToken } from "../../../core/media";
import { echoGrants } from "../../../core/policy";
import type { AppEnv } from "../env";
import { clientIp, take } from "../lib/throttle";

/** Echo tests per client address. */
export const ECHO_LIMIT = { max: 20, windowMs: 10 * 60_000 };

export const selfTest = new Hono<AppEnv>().post("/echo", async (c) => {
  await take(c.var.db, `echo:${clientIp(c.req.raw)}`, ECHO_LIMIT, "Too many echo tests from this address.");
  const room = `echo-${randomToken(128)}`;
  const grants = echoGrants();
  const mint = (who: "sender" | "receiver") =>
    issueToken(c.env, { identity: `${who}-${randomToken(80)}`, name: who, room, ttlSeconds: ECHO_TOKEN_TTL_SECONDS, grants: grants[who] });
  const [sender, receiver] = await Promise.all([mint("sender"), mint("receiver")]);
  const body: EchoTokens = { url: sender.url, room, sender: sender.token, receiver: receiver.token };
  return c.json(body);
});
