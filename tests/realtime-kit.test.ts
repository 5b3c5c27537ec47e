/**
 * The realtime kit (durable-objects/kit.ts) behaves the same in every object: a socket that
 * reaches an object without a usable identity (not through the worker, or someone else's) is
 * closed with CLOSE.NO_IDENTITY, and ChannelRoom, CommunityHub and UserInbox answer frames they
 * cannot read with the same error frames (realtime.ts ErrorFrame) while the socket stays up.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLOSE } from "../workers/shared/close-codes";
import { ErrorFrame, IDENTITY_HEADER, MAX_FRAME_BYTES, type ConnectionIdentity } from "../workers/shared/realtime";
import type { InboxServerFrame } from "../workers/shared/calls";
import { connectParty, connectRoom } from "./chat-fixtures";
import { createCommunity, openHub } from "./community-fixtures";
import { ORIGIN, newUser } from "./helpers";

/** Opens a socket on an object's stub directly (as only the worker should), with `identity` as the header or none. */
async function directHit(ns: { getByName(name: string): { fetch(req: Request): Promise<Response> } }, party: string, name: string, identity?: Partial<ConnectionIdentity>): Promise<number> {
  const headers = new Headers({ Upgrade: "websocket" });
  if (identity) headers.set(IDENTITY_HEADER, JSON.stringify(identity));
  const res = await ns.getByName(name).fetch(new Request(`${ORIGIN}/parties/${party}/${name}`, { headers }));
  const ws = res.webSocket;
  if (!ws) throw new Error(`no websocket: ${res.status}`);
  const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
  ws.accept();
  return closed;
}

/** One object's socket, seen the same way whatever its frames. */
interface Probe {
  sendRaw(data: string | ArrayBuffer): void;
  /** The next error frame, checked against the shared schema. */
  nextError(): Promise<ErrorFrame>;
  /** Sends a frame the object serves and waits for its answer. */
  stillServes(): Promise<void>;
  closed(): boolean;
}

async function probes(): Promise<Record<"room" | "hub" | "inbox", Probe>> {
  const owner = await newUser();
  const { community, channels } = await createCommunity(owner);
  const room = await connectRoom(channels.find((c) => c.kind === "text")!.id, owner);
  const hub = await openHub(owner, community.id);
  await hub.next("state.synced");
  const inbox = await connectParty<InboxServerFrame>(`/parties/user-inbox/${owner.id}`, owner);
  return {
    room: {
      sendRaw: (d) => room.sendRaw(d),
      nextError: async () => ErrorFrame.parse(await room.next("error")),
      stillServes: async () => {
        room.send({ type: "hello" });
        await room.next("resumed");
      },
      closed: () => room.closed !== null,
    },
    hub: {
      sendRaw: (d) => hub.ws.send(d),
      nextError: async () => ErrorFrame.parse(await hub.next("error")),
      stillServes: async () => {
        hub.send({ type: "presence.set", status: "dnd" });
        await hub.next("presence.chosen");
      },
      closed: () => hub.closed !== null,
    },
    inbox: {
      sendRaw: (d) => inbox.sendRaw(d),
      nextError: async () => ErrorFrame.parse(await inbox.next("error")),
      stillServes: async () => {
        inbox.send({ type: "ping" });
        await inbox.next("pong");
      },
      closed: () => inbox.closed !== null,
    },
  };
}

describe("realtime kit", () => {
  it("closes a socket without a usable identity with NO_IDENTITY, in every object", async () => {
    const owner = await newUser();
    const { community, channels } = await createCommunity(owner);
    const channelId = channels[0]!.id;
    const me = { userId: owner.id, username: owner.username, displayName: owner.username, perms: "0", sessionId: "s" };
    expect(await directHit(env.ChannelRoom, "channel-room", channelId)).toBe(CLOSE.NO_IDENTITY);
    expect(await directHit(env.ChannelRoom, "channel-room", channelId, { ...me, communityId: community.id, sessionId: "" })).toBe(CLOSE.NO_IDENTITY);
    expect(await directHit(env.CommunityHub, "community-hub", community.id)).toBe(CLOSE.NO_IDENTITY);
    // Another community's identity does not open this hub.
    expect(await directHit(env.CommunityHub, "community-hub", community.id, { ...me, communityId: "elsewhere" })).toBe(CLOSE.NO_IDENTITY);
    expect(await directHit(env.UserInbox, "user-inbox", owner.id)).toBe(CLOSE.NO_IDENTITY);
    // Nor does another user's identity open this inbox.
    expect(await directHit(env.UserInbox, "user-inbox", owner.id, { ...me, userId: "someone-else", communityId: null })).toBe(CLOSE.NO_IDENTITY);
  });

  it("answers unreadable frames the same way in every object and keeps the socket up", async () => {
    for (const [name, p] of Object.entries(await probes())) {
      p.sendRaw(new TextEncoder().encode("{}").buffer as ArrayBuffer);
      expect(await p.nextError(), name).toMatchObject({ code: "unsupported_frame", ref: null });
      p.sendRaw("{nope");
      expect(await p.nextError(), name).toMatchObject({ code: "invalid_json", ref: null });
      p.sendRaw(JSON.stringify({ type: "no.such.frame", ref: "r1" }));
      expect(await p.nextError(), name).toMatchObject({ code: "unknown_type", ref: "r1" });
      p.sendRaw(JSON.stringify({ type: "ping", ref: "r2", pad: "x".repeat(MAX_FRAME_BYTES) }));
      expect(await p.nextError(), name).toMatchObject({ code: "frame_too_large", ref: null });
      await p.stillServes();
      expect(p.closed(), name).toBe(false);
    }
  });
});
