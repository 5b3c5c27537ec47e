/**
 * Security regressions: uploads nobody sends. A member may upload at most UPLOAD_RATE files
 * a minute (429 `rate_limited`), may hold at most MAX_PENDING_FILES files and
 * maxPendingBytes bytes not yet carried by a message (413 `upload_quota_exceeded`, taken
 * atomically so parallel uploads cannot overshoot), and the hourly scheduled clean-up
 * deletes uploads still unsent after PENDING_UPLOAD_GRACE_MS from R2 and D1.
 */
import { createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  MAX_PENDING_FILES,
  PENDING_UPLOAD_GRACE_MS,
  UPLOAD_RATE,
  cleanupUploads,
  maxPendingBytes,
} from "../workers/api/src/lib/pending-uploads";
import type { Attachment } from "../workers/shared/chat";
import { newId } from "../workers/shared/ids";
import worker from "../workers/api/src/index";
import { connectRoom, say, world } from "./chat-fixtures";
import { type User } from "./helpers";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);

function upload(u: User, channelId: string, body: Uint8Array = PNG) {
  return u.http.fetch(`/api/uploads/channels/${channelId}/attachments?filename=f.png`, { method: "POST", headers: { "content-type": "image/png" }, body });
}

async function uploaded(u: User, channelId: string): Promise<Attachment> {
  const res = await upload(u, channelId);
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { attachment: Attachment }).attachment;
}

async function errorOf(res: Response): Promise<{ status: number; code: string }> {
  return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
}

/** Pending uploads written straight into D1 (no R2 object), as if made earlier. */
async function fakePending(u: User, channelId: string, count: number, size = 10): Promise<string[]> {
  const ids = Array.from({ length: count }, () => newId());
  await env.DB.batch(
    ids.map((id) =>
      env.DB.prepare(
        `INSERT INTO attachments (id, channel_id, uploader_id, key, filename, content_type, size, created_at) VALUES (?, ?, ?, ?, 'x.bin', 'application/octet-stream', ?, ?)`,
      ).bind(id, channelId, u.id, `attachments/${channelId}/${id}`, size, Date.now()),
    ),
  );
  return ids;
}

async function row(id: string) {
  return env.DB.prepare(`SELECT id, attached_at FROM attachments WHERE id = ?`).bind(id).first<{ id: string; attached_at: number | null }>();
}

describe("upload rate", () => {
  it(`answers 429 rate_limited with Retry-After past ${UPLOAD_RATE.max} uploads a minute; another member is unaffected`, async () => {
    const w = await world();
    for (let i = 0; i < UPLOAD_RATE.max; i++) await uploaded(w.member, w.channelId);
    const res = await upload(w.member, w.channelId);
    expect(res.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(await errorOf(res)).toEqual({ status: 429, code: "rate_limited" });
    await uploaded(w.owner, w.channelId);
  });
});

describe("pending upload quota", () => {
  it(`refuses the upload past ${MAX_PENDING_FILES} unsent files with 413 upload_quota_exceeded; nothing is stored`, async () => {
    const w = await world();
    await fakePending(w.member, w.channelId, MAX_PENDING_FILES);
    const before = (await env.FILES.list({ prefix: `attachments/${w.channelId}/` })).objects.length;
    expect(await errorOf(await upload(w.member, w.channelId))).toEqual({ status: 413, code: "upload_quota_exceeded" });
    expect((await env.FILES.list({ prefix: `attachments/${w.channelId}/` })).objects.length).toBe(before);
    await uploaded(w.owner, w.channelId);
  });

  it("refuses an upload that would pass the pending bytes; a smaller one still fits", async () => {
    const w = await world();
    await fakePending(w.member, w.channelId, 1, maxPendingBytes(env) - PNG.byteLength + 1);
    expect(await errorOf(await upload(w.member, w.channelId))).toEqual({ status: 413, code: "upload_quota_exceeded" });
    const res = await upload(w.member, w.channelId, PNG.subarray(0, PNG.byteLength - 1));
    expect(res.status).toBe(201);
  });

  it("parallel uploads cannot overshoot the quota: it is taken atomically with the row", async () => {
    const w = await world();
    const room = 5;
    await fakePending(w.member, w.channelId, MAX_PENDING_FILES - room);
    const results = await Promise.all(Array.from({ length: 10 }, () => upload(w.member, w.channelId)));
    const statuses = results.map((r) => r.status).sort();
    await Promise.all(results.map((r) => r.arrayBuffer()));
    expect(statuses).toEqual([...Array(room).fill(201), ...Array(10 - room).fill(413)]);
    const n = await env.DB.prepare(`SELECT count(*) AS n FROM attachments WHERE uploader_id = ? AND attached_at IS NULL`).bind(w.member.id).first<{ n: number }>();
    expect(n!.n).toBe(MAX_PENDING_FILES);
  });

  it("files sent in a message stop counting: at the quota, the rooms are asked and sent files recorded as attached", async () => {
    const w = await world();
    const sent = await uploaded(w.member, w.channelId);
    const s = await connectRoom(w.channelId, w.member);
    await say(s, "", { attachmentIds: [sent.id] });
    s.close();
    await fakePending(w.member, w.channelId, MAX_PENDING_FILES - 1);
    // 1 sent + 49 pending would be 50 "pending" in D1; the room says the first is in a message.
    await uploaded(w.member, w.channelId);
    expect((await row(sent.id))!.attached_at).toBeGreaterThan(0);
  });
});

describe("clean-up of uploads never sent", () => {
  it("cleanupUploads deletes unsent uploads after the grace period from R2 and D1, keeps sent ones, and prunes old throttle counters", async () => {
    const w = await world();
    const sent = await uploaded(w.member, w.channelId);
    const unsent = await uploaded(w.member, w.channelId);
    const s = await connectRoom(w.channelId, w.member);
    await say(s, "with a file", { attachmentIds: [sent.id] });
    s.close();
    const key = (id: string) => `attachments/${w.channelId}/${id}`;
    const now = Date.now();
    await env.DB.prepare(`INSERT INTO throttles (key, window_start, count) VALUES (?, ?, 3)`).bind(`old-test:${newId()}`, now - 2 * 86_400_000).run();

    // Within the grace period nothing of theirs goes.
    await cleanupUploads(env, now + PENDING_UPLOAD_GRACE_MS / 2);
    expect(await row(unsent.id)).not.toBeNull();
    expect(await env.FILES.head(key(unsent.id))).not.toBeNull();

    const later = now + PENDING_UPLOAD_GRACE_MS + 60_000;
    for (let i = 0; i < 10 && (await row(unsent.id)); i++) await cleanupUploads(env, later);
    expect(await row(unsent.id)).toBeNull();
    expect(await env.FILES.head(key(unsent.id))).toBeNull();
    expect((await row(sent.id))!.attached_at).toBeGreaterThan(0);
    expect(await env.FILES.head(key(sent.id))).not.toBeNull();
    // The sent file is still served.
    expect((await w.owner.http.fetch(sent.url)).status).toBe(200);
    const old = await env.DB.prepare(`SELECT count(*) AS n FROM throttles WHERE key LIKE 'old-test:%'`).first<{ n: number }>();
    expect(old!.n).toBe(0);
  });

  it("the Worker's scheduled handler (the cron trigger) runs the clean-up at its scheduled time", async () => {
    const w = await world();
    const unsent = await uploaded(w.member, w.channelId);
    const later = Date.now() + PENDING_UPLOAD_GRACE_MS + 60_000;
    for (let i = 0; i < 10 && (await row(unsent.id)); i++) {
      await worker.scheduled(createScheduledController({ scheduledTime: later, cron: "17 * * * *" }), env);
    }
    expect(await row(unsent.id)).toBeNull();
    expect(await env.FILES.head(`attachments/${w.channelId}/${unsent.id}`)).toBeNull();
  });
});
