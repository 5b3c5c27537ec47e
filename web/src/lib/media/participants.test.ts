/**
 * Participant projection in Node, with plain objects in place of LiveKit participants: the
 * order of the views, local vs remote, speaking, tracks and their sizes, the stage's tiles and
 * which one a screen share puts in focus, and telling a participant's user by name.
 */
import { describe, expect, it } from "vitest";
import type { ParticipantView } from "./call-state";
import { focusedTile } from "./layout";
import {
  focusCandidates,
  mapQuality,
  projectParticipants,
  remoteSpeakerKey,
  speakerTile,
  soleNameMatch,
  speakingUsers,
  stageTiles,
  TrackClock,
  type ParticipantLike,
  type ProjectionInput,
  type PublicationLike,
} from "./participants";

type Source = "camera" | "microphone" | "screen_share" | "screen_share_audio";
const SOURCES = { Camera: "camera", Microphone: "microphone", ScreenShare: "screen_share", ScreenShareAudio: "screen_share_audio" } as const;

interface Fake {
  identity: string;
  name?: string;
  speaking?: boolean;
  quality?: string;
  /** ms since the epoch */
  joinedAt?: number;
  pubs?: Partial<Record<Source, Partial<PublicationLike>>>;
}

function participant(f: Fake): ParticipantLike<Source> {
  return {
    identity: f.identity,
    name: f.name,
    isSpeaking: f.speaking ?? false,
    connectionQuality: f.quality ?? "good",
    joinedAt: f.joinedAt === undefined ? undefined : new Date(f.joinedAt),
    getTrackPublication(source) {
      const p = f.pubs?.[source];
      return p ? { trackSid: `TR_${f.identity}_${source}`, isMuted: false, ...p } : undefined;
    },
  };
}

function fakeTrack(settings: { width?: number; height?: number } = {}): NonNullable<PublicationLike["track"]> {
  return { attach: (el) => el, detach: (el) => el, mediaStreamTrack: { getSettings: () => settings } };
}

function project(local: Fake, remote: Fake[], over: Partial<ProjectionInput<Source>> = {}): ParticipantView[] {
  return projectParticipants<Source>({
    local: participant(local),
    remote: remote.map(participant),
    sources: SOURCES,
    volumeOf: () => undefined,
    localMutes: new Set(),
    clock: new TrackClock(),
    now: 1_000,
    ...over,
  });
}

describe("projectParticipants", () => {
  it("puts the local member first, then the others by join time, then identity", () => {
    const views = project({ identity: "me", joinedAt: 5_000 }, [
      { identity: "c", joinedAt: 3_000 },
      { identity: "b", joinedAt: 1_000 },
      { identity: "a", joinedAt: 3_000 },
      { identity: "z" }, // no join time yet: 0, first among the others
    ]);
    expect(views.map((v) => v.identity)).toEqual(["me", "z", "b", "a", "c"]);
    expect(views.map((v) => v.local)).toEqual([true, false, false, false, false]);
    expect(views.map((v) => v.joinedAt)).toEqual([5_000, 0, 1_000, 3_000, 3_000]);
  });

  it("an empty room is the member alone", () => {
    const views = project({ identity: "me" }, []);
    expect(views).toHaveLength(1);
    expect(views[0]).toMatchObject({ identity: "me", local: true, camera: null, screen: null, hasMic: false, micMuted: true });
  });

  it("shows the name, or the identity when there is none", () => {
    const [, named, unnamed] = project({ identity: "me" }, [
      { identity: "a", name: "Ada", joinedAt: 1 },
      { identity: "b", name: "", joinedAt: 2 },
    ]);
    expect(named!.name).toBe("Ada");
    expect(unnamed!.name).toBe("b");
  });

  it("carries who is speaking and the connection quality", () => {
    const [me, a, b] = project({ identity: "me", speaking: true, quality: "excellent" }, [
      { identity: "a", speaking: false, quality: "lost", joinedAt: 1 },
      { identity: "b", speaking: true, quality: "whatever", joinedAt: 2 },
    ]);
    expect([me!.speaking, a!.speaking, b!.speaking]).toEqual([true, false, true]);
    expect([me!.quality, a!.quality, b!.quality]).toEqual(["excellent", "lost", "unknown"]);
  });

  it("a microphone that is missing or muted counts as muted", () => {
    const [, none, muted, open] = project({ identity: "me" }, [
      { identity: "a", joinedAt: 1 },
      { identity: "b", joinedAt: 2, pubs: { microphone: { isMuted: true } } },
      { identity: "c", joinedAt: 3, pubs: { microphone: {}, screen_share_audio: {} } },
    ]);
    expect([none!.hasMic, none!.micMuted]).toEqual([false, true]);
    expect([muted!.hasMic, muted!.micMuted]).toEqual([true, true]);
    expect([open!.hasMic, open!.micMuted, open!.hasScreenAudio]).toEqual([true, false, true]);
  });

  it("volume and 'muted for me' apply to the others, never to the member", () => {
    const volumes: Record<string, number> = { me: 0.2, a: 0.5 };
    const [me, a, b] = project({ identity: "me" }, [{ identity: "a", joinedAt: 1 }, { identity: "b", joinedAt: 2 }], {
      volumeOf: (id) => volumes[id],
      localMutes: new Set(["me", "b"]),
    });
    expect([me!.volume, me!.localMute]).toEqual([1, false]);
    expect([a!.volume, a!.localMute]).toEqual([0.5, false]);
    expect([b!.volume, b!.localMute]).toEqual([1, true]);
  });

  it("a video's size comes from the publication, else from the captured track", () => {
    const track = fakeTrack({ width: 1920, height: 1080 });
    const [me, a] = project(
      { identity: "me", pubs: { screen_share: { track } } },
      [{ identity: "a", joinedAt: 1, pubs: { camera: { dimensions: { width: 1280, height: 720 }, isMuted: true } } }],
    );
    expect(me!.screen).toMatchObject({ key: "me:screen_share", source: "screen_share", width: 1920, height: 1080, track, sid: "TR_me_screen_share" });
    expect(me!.camera).toBeNull();
    // Remote and not subscribed yet: the published size, no track.
    expect(a!.camera).toMatchObject({ key: "a:camera", source: "camera", width: 1280, height: 720, muted: true, track: null });
  });

  it("a track counts from when it arrived, else from when it was first seen", () => {
    const clock = new TrackClock();
    clock.mark("a:screen_share", 500);
    const remote: Fake[] = [{ identity: "a", joinedAt: 1, pubs: { screen_share: {}, camera: {} } }];
    const first = project({ identity: "me" }, remote, { clock, now: 2_000 });
    expect(first[1]!.screen!.since).toBe(500);
    expect(first[1]!.camera!.since).toBe(2_000);
    // Later snapshots keep those times.
    const later = project({ identity: "me" }, remote, { clock, now: 9_000 });
    expect([later[1]!.screen!.since, later[1]!.camera!.since]).toEqual([500, 2_000]);
    clock.clear();
    expect(project({ identity: "me" }, remote, { clock, now: 9_000 })[1]!.screen!.since).toBe(9_000);
  });
});

describe("stage tiles and focus", () => {
  const clock = new TrackClock();
  clock.mark("a:screen_share", 100);
  clock.mark("b:screen_share", 200);
  const views = project(
    { identity: "me", pubs: { camera: {} } },
    [
      { identity: "a", joinedAt: 1, pubs: { screen_share: {} } },
      { identity: "b", joinedAt: 2, pubs: { screen_share: {}, camera: {} } },
      { identity: "c", joinedAt: 3 },
    ],
    { clock },
  );
  const tiles = stageTiles(views);

  it("one camera tile for everyone (avatar without a camera), plus one per screen share, in participant order", () => {
    expect(tiles.map((t) => t.key)).toEqual(["me:camera", "a:camera", "a:screen_share", "b:camera", "b:screen_share", "c:camera"]);
    expect(tiles.map((t) => t.kind)).toEqual(["camera", "camera", "screen", "camera", "screen", "camera"]);
    expect(tiles[2]!.p.identity).toBe("a");
  });

  it("the newest screen share takes focus; a pinned tile wins; dismissing focus shows the grid", () => {
    const candidates = focusCandidates(tiles);
    expect(candidates.filter((c) => c.isScreen).map((c) => [c.key, c.since])).toEqual([
      ["a:screen_share", 100],
      ["b:screen_share", 200],
    ]);
    expect(focusedTile(candidates, null, true)).toBe("b:screen_share");
    expect(focusedTile(candidates, "c:camera", true)).toBe("c:camera");
    expect(focusedTile(candidates, null, false)).toBeNull();
    // A pinned tile that is gone (its participant left) no longer counts.
    expect(focusedTile(candidates, "gone:camera", true)).toBe("b:screen_share");
  });

  it("no screen share, no focus", () => {
    const plain = stageTiles(project({ identity: "me" }, [{ identity: "a", joinedAt: 1, pubs: { camera: {} } }]));
    expect(focusedTile(focusCandidates(plain), null, true)).toBeNull();
  });
});

describe("the speaker a phone (and the picture-in-picture) shows", () => {
  const views = project({ identity: "me", speaking: true }, [
    { identity: "a", joinedAt: 1 },
    { identity: "b", joinedAt: 2, speaking: true, pubs: { screen_share: {} } },
  ]);
  const tiles = stageTiles(views);

  it("the remote participant who spoke last, while still here; never a screen or the member", () => {
    expect(remoteSpeakerKey(views)).toBe("b:camera");
    expect(speakerTile(tiles, "b:camera")).toBe("b:camera");
    expect(speakerTile(tiles, "me:camera")).toBe("a:camera");
    expect(speakerTile(tiles, "b:screen_share")).toBe("a:camera");
    expect(speakerTile(tiles, "gone:camera")).toBe("a:camera");
  });

  it("nobody spoke yet: the first other participant; alone: the member", () => {
    expect(speakerTile(tiles, null)).toBe("a:camera");
    const alone = stageTiles(project({ identity: "me", speaking: true }, []));
    expect(speakerTile(alone, null)).toBe("me:camera");
    expect(remoteSpeakerKey(project({ identity: "me", speaking: true }, []))).toBeNull();
    expect(speakerTile([], null)).toBeNull();
  });
});

describe("speaking users", () => {
  it("the users behind speaking participants, where they can be told", () => {
    const views = project({ identity: "me", speaking: true }, [
      { identity: "a", speaking: true, joinedAt: 1 },
      { identity: "b", speaking: false, joinedAt: 2 },
      { identity: "x", speaking: true, joinedAt: 3 },
    ]);
    const users: Record<string, string> = { me: "u-me", a: "u-a", b: "u-b" };
    expect([...speakingUsers(views, (p) => users[p.identity] ?? null)].sort()).toEqual(["u-a", "u-me"]);
  });
});

describe("soleNameMatch", () => {
  const people = [
    { id: "1", name: "Ada" },
    { id: "2", name: "Bob" },
    { id: "3", name: "Bob" },
    { id: "4", name: `${"L".repeat(64)}ong tail` },
    { id: "5", name: undefined },
  ];
  const nameOf = (p: (typeof people)[number]) => p.name;

  it("matches exactly one, never a guess between several", () => {
    expect(soleNameMatch("Ada", people, nameOf)?.id).toBe("1");
    expect(soleNameMatch("Bob", people, nameOf)).toBeNull();
    expect(soleNameMatch("Eve", people, nameOf)).toBeNull();
  });

  it("compares names as LiveKit shows them: cut to 64 characters", () => {
    expect(soleNameMatch("L".repeat(64), people, nameOf)?.id).toBe("4");
  });
});

describe("mapQuality", () => {
  it("knows LiveKit's four qualities, else unknown", () => {
    expect(["excellent", "good", "poor", "lost", "unknown", "", undefined].map(mapQuality)).toEqual(["excellent", "good", "poor", "lost", "unknown", "unknown", "unknown"]);
  });
});
