/**
 * Device cookies (OWASP's answer to lock-out): a browser that has logged in to an account
 * before carries a signed cookie naming that account. Its attempts are throttled per device,
 * not with the account-wide counter, so an attacker hammering a username from elsewhere
 * cannot lock the owner out.
 */
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { randomToken } from "../../../shared/ids";
import { hmacSha256, timingSafeEqual, toHex } from "../../../core/crypto";
import { cookiePrefix, isInsecureLocal } from "./sessions";

const DEVICE_MAX_AGE_S = 365 * 24 * 3600;

const DEVICE_COOKIE = "woxly_device";

async function sign(secret: string, body: string): Promise<string> {
  return toHex(await hmacSha256(`device:${secret}`, body));
}

export async function issueDeviceCookie(c: Context, secret: string, userId: string): Promise<void> {
  const body = `${userId}.${randomToken(128)}`;
  const insecure = isInsecureLocal(c.req.url);
  setCookie(c, DEVICE_COOKIE, `${body}.${await sign(secret, body)}`, {
    httpOnly: true,
    secure: !insecure,
    sameSite: "Strict",
    path: "/",
    maxAge: DEVICE_MAX_AGE_S,
    ...cookiePrefix(c.req.url),
  });
}

/** The device nonce if the request carries a valid device cookie for `userId`. */
export async function trustedDevice(c: Context, secret: string, userId: string | undefined): Promise<string | undefined> {
  if (!userId) return undefined;
  const { prefix } = cookiePrefix(c.req.url);
  const raw = prefix ? getCookie(c, DEVICE_COOKIE, prefix) : getCookie(c, DEVICE_COOKIE);
  if (!raw) return undefined;
  const parts = raw.split(".");
  if (parts.length !== 3) return undefined;
  const [uid, nonce, mac] = parts as [string, string, string];
  if (uid !== userId) return undefined;
  const enc = new TextEncoder();
  const expected = await sign(secret, `${uid}.${nonce}`);
  return timingSafeEqual(enc.encode(expected), enc.encode(mac)) ? nonce : undefined;
}
