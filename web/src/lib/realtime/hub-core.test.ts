/**
 * The CommunityHub client: the pure reducer on a few frame sequences, and HubCore over a fake
 * socket (member frames held while the list loads, frame listeners for one-off signals,
 * final closes that stop reconnecting).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Channel, HubServerFrame, Member, Role } from "$shared/communities";
import type { VoiceState } from "$shared/media";
import { fakeSockets } from "./fake-socket";
import { HubCore, type HubState, initialHubState, isUnread, reduceHub } from "./hub-core";

const C = "comm1";
const ME = "u-me";

const channel = (id: string, name = id): Channel => ({
  id,
  communityId: C,
  kind: "text",
  name,
  topic: null,
  parentId: null,
  position: 0,
  userLimit: 0,
  e2ee: false,
  stage: false,
  overwrites: [],
  permissions: "0",
  createdAt: 1,
});
const role = (id: string): Role => ({ id, name: id, color: null, position: 1, permissions: "0", hoist: false, mentionable: false, isEveryone: false });
const member = (id: string, roleIds: string[] = []): Member => ({
  user: { id, username: id, displayName: id },
  nickname: null,
  roleIds,
  joinedAt: 1,
  presence: "online",
});
const voice = (userId: string, channelId: string): VoiceState => ({
  userId,
  channelId,
  joinedAt: 1,
  selfMute: false,
  selfDeaf: false,
  serverMute: false,
  serverDeaf: false,
  video: false,
  streaming: false,
});

const synced: HubServerFrame = {
  type: "state.synced",
  me: { userId: ME, choice: "online", status: "online" },
  community: { id: C, name: "Comm", iconUrl: null, ownerId: ME, systemChannelId: null, createdAt: 1 },
  channels: [channel("general"), channel("voice1")],
  roles: [role("mods")],
  presences: [
    { userId: ME, status: "online" },
    { userId: "u-2", status: "idle" },
  ],
  voiceStates: [voice("u-2", "voice1")],
  unreads: [{ channelId: "general", lastSeq: 5, readSeq: 3, mentions: 1 }],
};

const run = (frames: HubServerFrame[], from: HubState = initialHubState(C)) => frames.reduce(reduceHub, from);

describe("reduceHub", () => {
  it("takes the snapshot, then deltas", () => {
    const s = run([
      synced,
      { type: "presence.updated", userId: "u-3", status: "dnd" },
      { type: "presence.updated", userId: "u-2", status: "offline" },
      { type: "channel.updated", channel: channel("general", "lobby") },
      { type: "channel.created", channel: channel("new") },
      { type: "unread.updated", unread: { channelId: "new", lastSeq: 1, readSeq: 0, mentions: 0 } },
      { type: "voice.updated", userId: ME, state: voice(ME, "voice1") },
    ]);
    expect(s.status).toBe("live");
    expect(s.synced).toBe(true);
    expect(s.presences).toEqual({ [ME]: "online", "u-3": "dnd" });
    expect(s.channels.map((c) => c.name)).toEqual(["lobby", "voice1", "new"]);
    expect(isUnread(s.unreads.new)).toBe(true);
    expect(s.voiceStates.map((v) => v.userId)).toEqual(["u-2", ME]);
  });

  it("drops a deleted channel's unread and voice states", () => {
    const s = run([synced, { type: "channel.deleted", channelId: "voice1" }, { type: "channel.deleted", channelId: "general" }]);
    expect(s.channels).toEqual([]);
    expect(s.unreads).toEqual({});
    expect(s.voiceStates).toEqual([]);
  });

  it("keeps the member list current once it is loaded, and knows why the viewer left", () => {
    const loaded = { ...run([synced]), members: { [ME]: member(ME, ["mods"]), "u-2": member("u-2", ["mods"]) } };
    const s = run(
      [
        { type: "member.joined", member: member("u-4") },
        { type: "role.deleted", roleId: "mods" },
        { type: "member.left", userId: "u-2", reason: "kicked" },
        { type: "member.left", userId: ME, reason: "banned" },
      ],
      loaded,
    );
    expect(Object.keys(s.members ?? {}).sort()).toEqual(["u-4"]);
    expect(s.roles).toEqual([]);
    expect(s.voiceStates).toEqual([]);
    expect(s.leftReason).toBe("banned");
    // Before the list is loaded, member frames change nothing.
    const before = run([synced]);
    expect(reduceHub(before, { type: "member.joined", member: member("u-5") })).toBe(before);
  });

  it("returns the same state for frames that change nothing", () => {
    const s = run([synced]);
    expect(reduceHub(s, { type: "voice.move_requested", userId: ME, fromChannelId: "voice1", toChannelId: "voice2" })).toBe(s);
    expect(reduceHub(s, { type: "error", code: "internal", message: "x", ref: null })).toBe(s);
    expect(run([{ type: "community.deleted", communityId: C }], s).status).toBe("deleted");
  });
});

describe("HubCore", () => {
  beforeEach(() => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("applies frames and tells listeners which frame it was, also when nothing changed", () => {
    const sockets = fakeSockets();
    const hub = new HubCore(C, { socket: sockets.config });
    const seen: (string | null)[] = [];
    hub.subscribe((_s, f) => seen.push(f?.type ?? null));
    const s = sockets.last();
    s.open();
    s.receive(synced);
    s.receive({ type: "voice.move_requested", userId: ME, fromChannelId: "voice1", toChannelId: "general" });
    s.receive("not json");
    expect(seen).toEqual([null, "state.synced", "voice.move_requested"]);
    expect(hub.state.status).toBe("live");
    expect(sockets.last().options.party).toBe("community-hub");
  });

  it("holds member frames while the member list loads and applies them on top", () => {
    const sockets = fakeSockets();
    const hub = new HubCore(C, { socket: sockets.config });
    const s = sockets.last();
    s.open();
    s.receive(synced);
    hub.beginMembersLoad();
    s.receive({ type: "member.joined", member: member("u-9") });
    hub.setMembers([member(ME), member("u-2")]);
    expect(Object.keys(hub.state.members ?? {}).sort()).toEqual(["u-2", "u-9", ME]);
  });

  it("re-sends idle after a reconnect and sends nothing while down", () => {
    const sockets = fakeSockets();
    const hub = new HubCore(C, { socket: sockets.config });
    const s = sockets.last();
    hub.setPresence("idle"); // not open yet: dropped, sent on open
    expect(s.sent).toEqual([]);
    s.open();
    expect(s.sent).toEqual([{ type: "presence.set", status: "idle" }]);
    expect(s.drop(1006)).toBe(true);
    expect(hub.state.status).toBe("reconnecting");
    hub.markRead("general", 5);
    s.open();
    expect(s.sent).toEqual([
      { type: "presence.set", status: "idle" },
      { type: "presence.set", status: "idle" },
    ]);
  });

  it.each([
    [4400, "revoked"],
    [4403, "revoked"],
    [4401, "revoked"],
    [4404, "deleted"],
  ] as const)("stops reconnecting on close %i (%s)", (code, status) => {
    const sockets = fakeSockets();
    const hub = new HubCore(C, { socket: sockets.config });
    const s = sockets.last();
    s.open();
    s.receive(synced);
    expect(s.drop(code)).toBe(false);
    expect(hub.state.status).toBe(status);
    expect(s.closedByClient).toBe(true);
  });

  it("close() ends it without a status change from the socket", () => {
    const sockets = fakeSockets();
    const hub = new HubCore(C, { socket: sockets.config });
    sockets.last().open();
    hub.close();
    expect(hub.state.status).toBe("closed");
    expect(sockets.last().closedByClient).toBe(true);
  });
});
