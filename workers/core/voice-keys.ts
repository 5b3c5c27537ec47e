/**
 * Media keys of end-to-end encrypted voice channels (docs/voice.md "End-to-end encryption").
 * One random 256-bit key per channel and generation, kept in D1 (`voice_keys`): the server
 * can read it. A new generation is added when someone loses access to the channel, so the
 * key they held does not decrypt what is sent after clients take the new one.
 */
import { and, desc, eq, inArray } from "drizzle-orm";
import { channels, voiceKeys } from "./schema";
import type { Db } from "./db";

export interface CallKey {
  /** base64url of 32 bytes. */
  key: string;
  /** `generation % 256`: livekit-client's key ring has 256 slots. */
  keyIndex: number;
  generation: number;
}

function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function newest(db: Db, channelId: string) {
  const rows = await db
    .select({ generation: voiceKeys.generation, key: voiceKeys.key })
    .from(voiceKeys)
    .where(eq(voiceKeys.channelId, channelId))
    .orderBy(desc(voiceKeys.generation))
    .limit(1);
  return rows[0] ?? null;
}

function asCallKey(r: { generation: number; key: string }): CallKey {
  return { key: r.key, keyIndex: r.generation % 256, generation: r.generation };
}

/** The channel's current key, made (generation 0) on first use. Two first calls at once agree. */
export async function currentCallKey(db: Db, channelId: string): Promise<CallKey> {
  const found = await newest(db, channelId);
  if (found) return asCallKey(found);
  await db.insert(voiceKeys).values({ channelId, generation: 0, key: randomKey(), createdAt: Date.now() }).onConflictDoNothing();
  const made = await newest(db, channelId);
  if (!made) throw new Error(`voice key for ${channelId} was not stored`);
  return asCallKey(made);
}

/**
 * Adds a new key generation to each of the given channels that is end-to-end encrypted and
 * already has a key (one nobody fetched needs no rotation). Returns the rotated channel ids.
 */
export async function rotateCallKeys(db: Db, channelIds: string[]): Promise<string[]> {
  if (!channelIds.length) return [];
  const rotated: string[] = [];
  for (let i = 0; i < channelIds.length; i += 50) {
    const e2ee = await db
      .select({ id: channels.id })
      .from(channels)
      .where(and(inArray(channels.id, channelIds.slice(i, i + 50)), eq(channels.e2ee, true)));
    for (const { id } of e2ee) {
      const cur = await newest(db, id);
      if (!cur) continue;
      await db
        .insert(voiceKeys)
        .values({ channelId: id, generation: cur.generation + 1, key: randomKey(), createdAt: Date.now() })
        .onConflictDoNothing();
      rotated.push(id);
    }
  }
  return rotated;
}

/** Of these channels, the end-to-end encrypted ones. */
export async function e2eeChannelIds(db: Db, channelIds: string[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < channelIds.length; i += 50) {
    const rows = await db
      .select({ id: channels.id })
      .from(channels)
      .where(and(inArray(channels.id, channelIds.slice(i, i + 50)), eq(channels.e2ee, true)));
    out.push(...rows.map((r) => r.id));
  }
  return out;
}
