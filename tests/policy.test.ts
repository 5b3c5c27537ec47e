/**
 * The policy module (workers/core/policy.ts) asked directly, without routes: who may join a
 * voice channel (canJoinVoice: CONNECT, the user limit and its exceptions, DM blocks) and who
 * may read a channel (canReadChannel: 404 for what cannot be seen, 403 for what can be seen
 * but not read). The hub's side of canJoinVoice is a fake here, so each case says exactly
 * what the hub shows. Also: the one loader reads D1 in one batch.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ApiError } from "../workers/shared/errors";
import type { VoiceModeration } from "../workers/shared/media";
import { DEFAULT_EVERYONE, P, has } from "../workers/shared/permissions";
import { isBanned } from "../workers/core/access";
import { makeDb } from "../workers/core/db";
import { canJoinVoice, canReadChannel, canSeeChannel, canStayInVoice, voiceGrantsNow, type VoiceHubFacts } from "../workers/core/policy";
import { channel, community, dm, member, overwrite, role, type TestCommunity } from "./voice-fixtures";
import { newUser, type User } from "./helpers";

const db = () => makeDb(env.DB);
const ALL_SOURCES = ["microphone", "camera", "screen_share", "screen_share_audio"];
const NO_MOD: VoiceModeration = { serverMute: false, serverDeaf: false };

/** A hub that shows `others` people in the channel (one number per question; the last repeats) and records what it was asked. */
function fakeHub(opts: { others?: number[]; movedTo?: string | null; moderation?: VoiceModeration } = {}) {
  const others = [...(opts.others ?? [0])];
  const asked = { state: 0, othersIn: 0, reconcile: 0 };
  const facts: VoiceHubFacts = {
    state: async () => {
      asked.state++;
      return { moderation: opts.moderation ?? NO_MOD, movedTo: opts.movedTo ?? null };
    },
    othersIn: async () => {
      asked.othersIn++;
      return others.length > 1 ? others.shift()! : others[0]!;
    },
    reconcile: async () => {
      asked.reconcile++;
    },
  };
  return { hubOf: () => facts, asked };
}

/** A hub that must not be asked (DMs have none). */
const noHub = () => {
  throw new Error("the hub was asked");
};

/** The ApiError code a promise rejects with. */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e.code;
    throw e;
  }
  return "allowed";
}

async function world(everyone: bigint = DEFAULT_EVERYONE) {
  const owner = await newUser("pol");
  const c: TestCommunity = await community(owner, everyone);
  const m = await newUser("pol");
  await member(c, m);
  return { owner, c, m };
}

async function block(by: User, whom: User): Promise<void> {
  await env.DB.prepare(`INSERT INTO user_blocks (user_id, blocked_id, created_at) VALUES (?, ?, ?)`).bind(by.id, whom.id, Date.now()).run();
}

describe("canJoinVoice", () => {
  it("a member with CONNECT joins with every grant their permissions give; the hub is asked, not reconciled", async () => {
    const { c, m } = await world();
    const ch = await channel(c, { userLimit: 3 });
    const hub = fakeHub({ others: [2] });
    const j = await canJoinVoice(db(), m.id, ch, hub.hubOf);
    expect(j.grants).toEqual({ canSubscribe: true, canPublishSources: ALL_SOURCES, canPublishData: false, canUpdateOwnMetadata: false });
    expect(j.othersShown).toBe(2);
    expect(j.reconciled).toBe(false);
    expect(j.access.community?.userId).toBe(m.id);
    expect(hub.asked.reconcile).toBe(0);
  });

  it("a server mute from the hub takes the microphone out of the grants", async () => {
    const { c, m } = await world();
    const ch = await channel(c);
    const j = await canJoinVoice(db(), m.id, ch, fakeHub({ moderation: { serverMute: true, serverDeaf: false } }).hubOf);
    expect(j.grants.canPublishSources).toEqual(["camera", "screen_share", "screen_share_audio"]);
  });

  it("the user limit: full is channel_full after asking LiveKit (reconcile) first; a freed place after the reconcile lets them in", async () => {
    const { c, m } = await world();
    const ch = await channel(c, { userLimit: 2 });

    const full = fakeHub({ others: [2] });
    expect(await refusal(canJoinVoice(db(), m.id, ch, full.hubOf))).toBe("channel_full");
    expect(full.asked.reconcile).toBe(1);

    const freed = fakeHub({ others: [2, 1] });
    const j = await canJoinVoice(db(), m.id, ch, freed.hubOf);
    expect(j.reconciled).toBe(true);
    expect(freed.asked.reconcile).toBe(1);

    // No limit (0): never full.
    const open = await channel(c, { userLimit: 0 });
    expect((await canJoinVoice(db(), m.id, open, fakeHub({ others: [50] }).hubOf)).reconciled).toBe(false);
  });

  it("the exceptions to the limit: the owner, MOVE_MEMBERS, and someone a moderator just moved here (not elsewhere)", async () => {
    const { owner, c, m } = await world();
    const ch = await channel(c, { userLimit: 1 });
    const other = await channel(c);

    const ownerHub = fakeHub({ others: [5] });
    await canJoinVoice(db(), owner.id, ch, ownerHub.hubOf);
    expect(ownerHub.asked.reconcile).toBe(0);

    const mover = await newUser("pol");
    await member(c, mover, { roleIds: [await role(c, P.MOVE_MEMBERS)] });
    await canJoinVoice(db(), mover.id, ch, fakeHub({ others: [5] }).hubOf);

    const moved = fakeHub({ others: [5], movedTo: ch });
    await canJoinVoice(db(), m.id, ch, moved.hubOf);
    expect(moved.asked.reconcile).toBe(0);

    expect(await refusal(canJoinVoice(db(), m.id, ch, fakeHub({ others: [5], movedTo: other }).hubOf))).toBe("channel_full");
    // MOVE_MEMBERS denied in this very channel: no exception here.
    await overwrite(ch, "member", mover.id, 0n, P.MOVE_MEMBERS);
    expect(await refusal(canJoinVoice(db(), mover.id, ch, fakeHub({ others: [5] }).hubOf))).toBe("channel_full");
  });

  it("lost CONNECT: 403 to join, and no longer allowed to stay (webhook admission, reconcile, sync)", async () => {
    const { c, m } = await world();
    const ch = await channel(c);
    expect(await canStayInVoice(db(), m.id, ch)).not.toBeNull();
    await overwrite(ch, "member", m.id, 0n, P.CONNECT);
    expect(await refusal(canJoinVoice(db(), m.id, ch, fakeHub().hubOf))).toBe("forbidden");
    expect(await canStayInVoice(db(), m.id, ch)).toBeNull();
    expect(await voiceGrantsNow(db(), m.id, ch, NO_MOD)).toBeNull();
    // Still visible: the refusal is 403, not 404.
    expect((await canSeeChannel(db(), m.id, ch)).channel.id).toBe(ch);
  });

  it("cannot see it, not a member, no such channel: 404; a text channel has no voice: 400", async () => {
    const { c, m } = await world();
    const priv = await channel(c);
    await overwrite(priv, "role", c.everyoneRoleId, 0n, P.VIEW_CHANNEL);
    expect(await refusal(canJoinVoice(db(), m.id, priv, fakeHub().hubOf))).toBe("not_found");
    expect(await canStayInVoice(db(), m.id, priv)).toBeNull();

    const stranger = await newUser("pol");
    const ch = await channel(c);
    expect(await refusal(canJoinVoice(db(), stranger.id, ch, fakeHub().hubOf))).toBe("not_found");
    expect(await refusal(canJoinVoice(db(), m.id, "nosuchchannel", fakeHub().hubOf))).toBe("not_found");

    const text = await channel(c, { kind: "text" });
    expect(await refusal(canJoinVoice(db(), m.id, text, fakeHub().hubOf))).toBe("bad_request");
  });

  it("DMs: their people join without asking any hub; a block either way takes CONNECT (403) and the right to stay", async () => {
    const a = await newUser("pol");
    const b = await newUser("pol");
    const stranger = await newUser("pol");
    const room = await dm([a, b]);
    const j = await canJoinVoice(db(), a.id, room, noHub);
    expect(j.grants.canPublishSources).toEqual(ALL_SOURCES);
    expect(j.othersShown).toBe(0);
    expect(await refusal(canJoinVoice(db(), stranger.id, room, noHub))).toBe("not_found");

    await block(b, a);
    for (const u of [a, b]) {
      expect(await refusal(canJoinVoice(db(), u.id, room, noHub))).toBe("forbidden");
      expect(await canStayInVoice(db(), u.id, room)).toBeNull();
    }
    // A block makes only a 1:1 DM read-only: a group DM the two are both in keeps its call.
    const c = await newUser("pol");
    const group = await dm([a, b, c]);
    expect((await canJoinVoice(db(), a.id, group, noHub)).grants.canPublishSources).toEqual(ALL_SOURCES);
  });
});

describe("canReadChannel", () => {
  it("a member reads a text channel and a voice channel's chat", async () => {
    const { c, m } = await world();
    for (const kind of ["text", "voice"] as const) {
      const ch = await channel(c, { kind });
      expect(has((await canReadChannel(db(), m.id, ch)).perms, P.READ_HISTORY)).toBe(true);
    }
  });

  it("a category: 404 even for the owner (no chat on its id)", async () => {
    const { owner, c, m } = await world();
    const cat = await channel(c, { kind: "text" });
    await env.DB.prepare(`UPDATE channels SET kind = 'category' WHERE id = ?`).bind(cat).run();
    for (const u of [owner, m]) expect(await refusal(canReadChannel(db(), u.id, cat))).toBe("not_found");
  });

  it("a private channel: 404 for those it is hidden from, readable for the owner and for whom it is opened", async () => {
    const { owner, c, m } = await world();
    const priv = await channel(c, { kind: "text" });
    await overwrite(priv, "role", c.everyoneRoleId, 0n, P.VIEW_CHANNEL);
    expect(await refusal(canReadChannel(db(), m.id, priv))).toBe("not_found");
    await canReadChannel(db(), owner.id, priv);
    await overwrite(priv, "member", m.id, P.VIEW_CHANNEL, 0n);
    await canReadChannel(db(), m.id, priv);
  });

  it("READ_HISTORY missing: 403 (the channel is visible, so it is no secret)", async () => {
    const { c, m } = await world();
    const ch = await channel(c, { kind: "text" });
    await overwrite(ch, "member", m.id, 0n, P.READ_HISTORY);
    expect(await refusal(canReadChannel(db(), m.id, ch))).toBe("forbidden");
    expect((await canSeeChannel(db(), m.id, ch)).channel.id).toBe(ch);
  });

  it("non-members and unknown channels: 404", async () => {
    const { c } = await world();
    const ch = await channel(c, { kind: "text" });
    const stranger = await newUser("pol");
    expect(await refusal(canReadChannel(db(), stranger.id, ch))).toBe("not_found");
    expect(await refusal(canReadChannel(db(), stranger.id, "nosuchchannel"))).toBe("not_found");
  });
});

describe("the loader", () => {
  /** env.DB, counting batches and statements run on their own. */
  function countingDb() {
    const counts = { batches: 0, single: 0 };
    const real = new WeakMap<object, D1PreparedStatement>();
    const wrap = (s: D1PreparedStatement): D1PreparedStatement => {
      const p = new Proxy(s, {
        get(target, key) {
          if (key === "bind") return (...args: unknown[]) => wrap(target.bind(...args));
          if (key === "all" || key === "raw" || key === "first" || key === "run") {
            return (...args: unknown[]) => {
              counts.single++;
              return (target[key] as (...a: unknown[]) => unknown).apply(target, args);
            };
          }
          const v = Reflect.get(target, key, target) as unknown;
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
      real.set(p, s);
      return p;
    };
    const d1 = new Proxy(env.DB, {
      get(target, key) {
        if (key === "prepare") return (sql: string) => wrap(target.prepare(sql));
        if (key === "batch") {
          return (stmts: D1PreparedStatement[]) => {
            counts.batches++;
            return target.batch(stmts.map((s) => real.get(s) ?? s));
          };
        }
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    return { db: makeDb(d1), counts };
  }

  it("a channel's access is one D1 batch (WebSocket upgrades depend on it), DMs and blocks included", async () => {
    const { c, m } = await world();
    const ch = await channel(c, { kind: "text" });
    await overwrite(ch, "member", m.id, P.ATTACH_FILES, 0n);
    const a = await newUser("pol");
    const b = await newUser("pol");
    const room = await dm([a, b]);
    await block(a, b);
    for (const [userId, id] of [
      [m.id, ch],
      [b.id, room],
    ] as const) {
      const { db: counted, counts } = countingDb();
      await canSeeChannel(counted, userId, id);
      expect(counts).toEqual({ batches: 1, single: 0 });
    }
    // The counter does see statements run on their own.
    const { db: counted, counts } = countingDb();
    await isBanned(counted, c.id, m.id);
    expect(counts).toEqual({ batches: 0, single: 1 });
  });
});
