/**
 * µs of SQL per chat message in a ChannelRoom's own SQLite, inside workerd: the statements
 * #sendMessage runs for one message (the nonce lookup, the send-rate check, the message with
 * its event, nonce and the sender's read marker), by 50 senders in turn on a channel that
 * already holds PREFILL messages.
 *
 * workerd's clock stands still while JavaScript runs (it moves on I/O), so each figure is a
 * batch of messages written in one go, then a timer turn, then the clock read: "sql" is the
 * statements alone (the batch commits once), "commit" writes one message per turn and waits
 * for it to be durable (`storage.sync()`, the local fsync included), as a message's ack does.
 *
 *   npx vitest run --config bench/room-sql/vitest.config.mjs
 */
import { env, runInDurableObject } from "cloudflare:test";
import { it } from "vitest";
import { ChannelStore } from "../../durable-objects/channel-store";

const PREFILL = 2_000;
const SQL_BATCH = 2_000;
const COMMIT_BATCH = 200;
const SENDERS = 50;
const ROUNDS = 6;

type Store = ChannelStore & { recordSend?: (userId: string, now: number) => void };

/** The per-message SQL of ChannelRoom#sendMessage, in its order. */
function oneMessage(store: Store, k: number, now: number): void {
  const userId = `user-${k % SENDERS}`;
  const nonce = `nonce-${k}`;
  store.nonce(userId, nonce);
  store.rateWait(userId, now);
  const w = store.insertMessage({
    id: `msg-${k}-${now}`,
    author: { id: userId, username: userId, displayName: userId },
    content: `bench|${now}|${k % SENDERS}|${k}`,
    replyTo: null,
    attachments: [],
    mentions: { users: [], roles: [], everyone: false, here: false },
    system: null,
    createdAt: now,
    pings: { users: [], roles: [], everyone: false },
    nonce: { userId, nonce },
  });
  store.recordSend?.(userId, now); // the send log, where the store still has one
  store.markReadAtHead(userId, w.seq, now);
}

const turn = () => new Promise((r) => setTimeout(r, 0));

it("room SQL per message", async () => {
  const stub = env.ChannelRoom.get(env.ChannelRoom.idFromName(`bench-room-sql-${Date.now()}`));
  await runInDurableObject(stub, async (_i, state) => {
    const store: Store = new ChannelStore(state.storage.sql, "bench-channel");
    store.migrate();
    let k = 0;
    // One message every 25 ms, each sender every 1.25 s: 8 in the rate window, as in the benchmark (80 % of the limit).
    const t0 = Date.now();
    const at = () => t0 + k * 25;
    for (; k < PREFILL; k++) oneMessage(store, k, at());
    await state.storage.sync();
    const sql: number[] = [];
    const commit: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await turn();
      const a = Date.now();
      for (let i = 0; i < SQL_BATCH; i++, k++) oneMessage(store, k, at());
      await turn();
      const sqlUs = ((Date.now() - a) * 1000) / SQL_BATCH;
      await state.storage.sync();
      await turn();
      const b = Date.now();
      for (let i = 0; i < COMMIT_BATCH; i++, k++) {
        oneMessage(store, k, at());
        await state.storage.sync();
      }
      await turn();
      const commitUs = ((Date.now() - b) * 1000) / COMMIT_BATCH;
      sql.push(sqlUs);
      commit.push(commitUs);
    }
    // The least of the rounds: on a shared machine the others carry other processes' time.
    const line = (xs: number[]) => `min ${Math.min(...xs).toFixed(0)}, rounds ${xs.map((x) => x.toFixed(0)).join(" ")}`;
    console.log(`\n[room-sql] SQL per message, µs: ${line(sql)}\n[room-sql] written and synced one by one, µs per message: ${line(commit)}\n`);
  });
}, 120_000);
