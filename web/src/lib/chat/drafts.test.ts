import { describe, expect, it } from "vitest";
import type { Message } from "$shared/chat";
import { DRAFT_MAX_AGE_MS, DRAFT_PREFIX, MAX_DRAFTS, MAX_DRAFT_CHARS, clearDraft, draftChannelIds, onDraftsChange, readDraft, writeDraft, type DraftStorage } from "./drafts";

function memoryStorage(): DraftStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    get length() {
      return map.size;
    },
    key: (i) => [...map.keys()][i] ?? null,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, String(v)),
    removeItem: (k) => void map.delete(k),
  };
}

const message: Message = {
  id: "m1",
  channelId: "c1",
  seq: 3,
  author: { id: "u2", username: "bob", displayName: "Bob" },
  content: "the original",
  createdAt: 1,
  editedAt: null,
  replyTo: null,
  attachments: [],
  mentions: { users: [], roles: [], everyone: false, here: false },
  reactions: [],
  pinned: false,
  system: null,
};

describe("drafts", () => {
  it("keeps text and reply per user and channel; clears on an empty draft", () => {
    const s = memoryStorage();
    writeDraft("u1", "c1", { text: "half a thought", replyTo: message }, 1000, s);
    writeDraft("u1", "c2", { text: "other", replyTo: null }, 1000, s);
    writeDraft("u9", "c1", { text: "someone else", replyTo: null }, 1000, s);
    expect(readDraft("u1", "c1", 2000, s)).toEqual({ text: "half a thought", replyTo: message, savedAt: 1000 });
    expect(readDraft("u1", "c2", 2000, s)?.text).toBe("other");
    expect(draftChannelIds("u1", 2000, s)).toEqual(new Set(["c1", "c2"]));
    clearDraft("u1", "c1", s);
    expect(readDraft("u1", "c1", 2000, s)).toBeNull();
    writeDraft("u1", "c2", { text: "   ", replyTo: null }, 3000, s);
    expect(readDraft("u1", "c2", 3000, s)).toBeNull();
    expect(readDraft("u9", "c1", 3000, s)?.text).toBe("someone else");
  });

  it("keeps a reply without text", () => {
    const s = memoryStorage();
    writeDraft("u1", "c1", { text: "", replyTo: message }, 1000, s);
    expect(readDraft("u1", "c1", 1000, s)?.replyTo?.id).toBe("m1");
  });

  it("drops old, malformed and excess drafts and cuts long text", () => {
    const s = memoryStorage();
    writeDraft("u1", "old", { text: "old", replyTo: null }, 0, s);
    expect(readDraft("u1", "old", DRAFT_MAX_AGE_MS + 1, s)).toBeNull();
    expect(s.map.has(`${DRAFT_PREFIX}u1.old`)).toBe(false);

    s.setItem(`${DRAFT_PREFIX}u1.bad`, JSON.stringify({ v: 1, text: 5, replyTo: null, savedAt: 0 }));
    expect(readDraft("u1", "bad", 1, s)).toBeNull();
    s.setItem(`${DRAFT_PREFIX}u1.notjson`, "{");
    expect(readDraft("u1", "notjson", 1, s)).toBeNull();

    writeDraft("u1", "long", { text: "x".repeat(MAX_DRAFT_CHARS + 50), replyTo: null }, 1, s);
    expect(readDraft("u1", "long", 1, s)?.text).toHaveLength(MAX_DRAFT_CHARS);

    for (let i = 0; i < MAX_DRAFTS + 5; i++) writeDraft("u1", `c${i}`, { text: `t${i}`, replyTo: null }, 10 + i, s);
    const ids = draftChannelIds("u1", 100, s);
    expect(ids.size).toBe(MAX_DRAFTS);
    expect(ids.has("c0")).toBe(false);
    expect(ids.has(`c${MAX_DRAFTS + 4}`)).toBe(true);
  });

  it("tells listeners when a draft appears or goes, not on every keystroke", () => {
    const s = memoryStorage();
    let calls = 0;
    const off = onDraftsChange(() => calls++);
    writeDraft("u1", "c1", { text: "a", replyTo: null }, 1, s);
    writeDraft("u1", "c1", { text: "ab", replyTo: null }, 2, s);
    clearDraft("u1", "c1", s);
    off();
    writeDraft("u1", "c1", { text: "a", replyTo: null }, 3, s);
    expect(calls).toBe(2);
  });
});
