// The floor of a voice join: a bare page with only livekit-client (bundled with esbuild from
// node_modules), served by the benchmark on loopback, joining the same livekit-server as
// Woxly's joins, in a room of its own (Woxly removes identities it did not issue from its
// channels' rooms) where the same talker (\`?camera\`: the same speech WAV, camera on) is
// talking. What a new LiveKit user writes first: the page asks its token when it loads
// (off the click's path, like Woxly's prefetch), and the click does `new Room()`,
// `connect(url, token)`, then turns the microphone on and attaches the remote audio. It uses
// the selectors of Woxly's call page (`[data-voice-join]`, `[data-call-stage]`,
// `[data-control="leave"]`), so join-time.mjs drives and measures both the same way.
import { createServer } from "node:http";
import { build } from "esbuild";
import { AccessToken } from "livekit-server-sdk";
import { ROOT } from "../../scripts/product.mjs";

const ENTRY = `
import { Room, RoomEvent, Track } from "livekit-client";
const url = document.body.dataset.livekit;
let room = null;
let token = null;
const ask = () => (token = fetch("/token").then((r) => r.text()));
ask();
const stage = document.createElement("div");
stage.dataset.callStage = "";
stage.hidden = true;
const leave = document.createElement("button");
leave.dataset.control = "leave";
leave.textContent = "Leave";
stage.append(leave);
const join = document.createElement("button");
join.dataset.voiceJoin = "";
join.textContent = "Join voice";
document.body.append(join, stage);
join.onclick = async () => {
  join.hidden = true;
  stage.hidden = false;
  stage.dataset.phase = "connecting";
  room = new Room();
  room.on(RoomEvent.TrackSubscribed, (track) => {
    if (track.kind === Track.Kind.Audio) document.body.append(track.attach());
  });
  await room.connect(url, await token, { autoSubscribe: true });
  stage.dataset.phase = "connected";
  void room.localParticipant.setMicrophoneEnabled(true);
  if (location.search.includes("camera")) void room.localParticipant.setCameraEnabled(true);
};
leave.onclick = async () => {
  const r = room;
  room = null;
  for (const el of document.querySelectorAll("audio")) el.remove();
  await r?.disconnect();
  ask();
  stage.hidden = true;
  delete stage.dataset.phase;
  join.hidden = false;
};
`;

/**
 * Serves the bare page on a free loopback port: `/` (the page), `/bare.js` (the bundle),
 * `/token` (a fresh identity's token for `roomName`, minted with the dev key).
 * Returns { url, close }.
 */
export async function startBarePage({ livekitUrl, roomName }) {
  const bundle = await build({
    stdin: { contents: ENTRY, resolveDir: ROOT, loader: "js" },
    bundle: true,
    format: "esm",
    minify: true,
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  const js = bundle.outputFiles[0].contents;
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>bare LiveKit</title><script type="module" src="/bare.js"></script></head><body data-livekit="${livekitUrl}"></body></html>`;
  let n = 0;
  const server = createServer(async (req, res) => {
    if (req.url === "/bare.js") {
      res.writeHead(200, { "content-type": "text/javascript", "cache-control": "no-store" });
      res.end(js);
    } else if (req.url === "/token") {
      const identity = `bare-${++n}`;
      const at = new AccessToken("devkey", "secret", { identity, name: identity, ttl: 600 });
      at.addGrant({ roomJoin: true, room: roomName, canPublish: true, canSubscribe: true });
      res.writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" });
      res.end(await at.toJwt());
    } else {
      res.writeHead(200, { "content-type": "text/html", "cache-control": "no-store" });
      res.end(html);
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    bytes: js.length,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
