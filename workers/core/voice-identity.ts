/**
 * LiveKit participant identities. An identity is the user id sealed for one room:
 *   "v1" + base64url(iv ‖ AES-256-GCM(userId, aad = room))   with   iv = HMAC(room ‖ userId)[0..12)
 * so it is deterministic (moderation can compute it without a lookup), tells LiveKit and
 * anyone reading its logs nothing about the user, differs from room to room (no linking a
 * person across channels), and opens back to the user id with the key alone (webhooks need
 * no mapping table). Both keys are derived with HKDF from PASSWORD_PEPPER, the api worker's
 * one secret, under a label of their own; the token worker never needs them.
 */
import { fromBase64url, toBase64url } from "./crypto";

const enc = new TextEncoder();
const dec = new TextDecoder();
const PREFIX = "v1";
const IV_BYTES = 12;

interface Keys {
  mac: CryptoKey;
  aead: CryptoKey;
}
const cache = new Map<string, Promise<Keys>>();

function keys(secret: string): Promise<Keys> {
  let k = cache.get(secret);
  if (!k) {
    k = (async () => {
      const base = await crypto.subtle.importKey("raw", enc.encode(secret), "HKDF", false, ["deriveBits"]);
      const bits = new Uint8Array(
        await crypto.subtle.deriveBits(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: enc.encode("woxly voice identity v1") },
          base,
          512,
        ),
      );
      const mac = await crypto.subtle.importKey("raw", bits.slice(0, 32), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      const aead = await crypto.subtle.importKey("raw", bits.slice(32), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
      return { mac, aead };
    })();
    cache.set(secret, k);
  }
  return k;
}



/** The identity `userId` has in `room` (a channel id). At most 128 characters for ids up to 64 characters. */
export async function voiceIdentity(secret: string, room: string, userId: string): Promise<string> {
  const k = await keys(secret);
  const iv = new Uint8Array(await crypto.subtle.sign("HMAC", k.mac, enc.encode(`${room}\u0000${userId}`))).slice(0, IV_BYTES);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: enc.encode(room) }, k.aead, enc.encode(userId)));
  const out = new Uint8Array(IV_BYTES + ct.byteLength);
  out.set(iv);
  out.set(ct, IV_BYTES);
  return PREFIX + toBase64url(out);
}

/** The user id inside an identity of `room`, or null for anything we did not issue for that room. */
export async function userFromIdentity(secret: string, room: string, identity: string): Promise<string | null> {
  if (!identity.startsWith(PREFIX)) return null;
  const raw = fromBase64url(identity.slice(PREFIX.length));
  if (!raw || raw.byteLength <= IV_BYTES + 16) return null;
  const k = await keys(secret);
  try {
    const pt = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: raw.slice(0, IV_BYTES), additionalData: enc.encode(room) },
      k.aead,
      raw.slice(IV_BYTES),
    );
    return dec.decode(pt);
  } catch {
    return null;
  }
}
