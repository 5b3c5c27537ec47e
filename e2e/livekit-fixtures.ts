/**
 * Set-up for the tests that drive a real livekit-server from Node (@livekit/rtc-node): users
 * of the running product behind a tiny cookie jar over fetch, an owner's community with its
 * voice channel and a member invited in, and a microphone that sends a quiet tone.
 */
import { AudioFrame, AudioSource, LocalAudioTrack, type Room, TrackPublishOptions, TrackSource } from "@livekit/rtc-node";
import { uniqueName } from "./browser";

/** A logged-in user of the running product at `base`: a tiny cookie jar over fetch. */
export class Member {
  cookie = "";
  id = "";
  private readonly origin: string;

  constructor(
    readonly base: string,
    readonly username: string,
  ) {
    this.origin = new URL(base).origin;
  }

  async call(method: string, path: string, json?: unknown): Promise<Response> {
    const headers: Record<string, string> = { origin: this.origin, cookie: this.cookie };
    if (json !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(this.base + path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
    // A jar by name: a response that sets one cookie (the D1 bookmark) keeps the others (the session).
    const jar = new Map(this.cookie ? this.cookie.split("; ").map((c) => [c.slice(0, c.indexOf("=")), c] as const) : []);
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(";")[0]!;
      const name = pair.slice(0, pair.indexOf("="));
      if (/;\s*max-age=0/i.test(c) || pair.endsWith("=")) jar.delete(name);
      else jar.set(name, pair);
    }
    this.cookie = [...jar.values()].join("; ");
    return res;
  }

  async ok<T>(method: string, path: string, json?: unknown): Promise<T> {
    const res = await this.call(method, path, json);
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  static async register(base: string, prefix: string): Promise<Member> {
    const m = new Member(base, uniqueName(prefix));
    const body = await m.ok<{ user: { id: string } }>("POST", "/api/auth/register", { username: m.username, password: "violet lantern river 93" });
    m.id = body.user.id;
    return m;
  }
}

/** The product's answer to POST /api/channels/:id/voice/token. */
export interface VoiceToken {
  url: string;
  token: string;
  identity: string;
  grants: { canPublishSources: string[] };
}

/**
 * An owner (`<prefix>owner`) with a new community called `name` and its voice channel, and a
 * second member (`<prefix>member`) invited in.
 */
export async function voiceCommunity(base: string, prefix: string, name: string) {
  const owner = await Member.register(base, `${prefix}owner`);
  const created = await owner.ok<{ community: { id: string }; channels: { id: string; kind: string }[] }>("POST", "/api/communities", { name });
  const voice = created.channels.find((c) => c.kind === "voice");
  if (!voice) throw new Error("a new community has no voice channel");
  const { invite } = await owner.ok<{ invite: { code: string } }>("POST", `/api/communities/${created.community.id}/invites`, {});
  const member = await Member.register(base, `${prefix}member`);
  await member.ok("POST", `/api/invites/${invite.code}/redeem`);
  return { owner, member, communityId: created.community.id, channelId: voice.id };
}

/**
 * Publishes a microphone on the connected `room` that sends a quiet tone until the room
 * disconnects (or the returned stop is called). With `awaitPublish` the tone starts once the
 * publish has succeeded (and a failed publish throws); without, it starts at once and a
 * failed publish is ignored (for a participant who may be removed while publishing).
 */
export async function publishTone(room: Room, awaitPublish: boolean): Promise<() => void> {
  const source = new AudioSource(48_000, 1);
  const track = LocalAudioTrack.createAudioTrack("microphone", source);
  const opts = new TrackPublishOptions();
  opts.source = TrackSource.SOURCE_MICROPHONE;
  const published = room.localParticipant!.publishTrack(track, opts);
  if (awaitPublish) await published;
  else void published.catch(() => {});
  const samples = new Int16Array(480).map((_, i) => Math.round(2000 * Math.sin(i / 8)));
  const timer = setInterval(() => void source.captureFrame(new AudioFrame(samples, 48_000, 1, 480)).catch(() => {}), 10);
  room.on("disconnected", () => clearInterval(timer));
  return () => clearInterval(timer);
}
