// Tables for the voice benchmarks (markdown, printed and appended to docs/benchmarks.md).
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const ms = (v) => (v === null || v === undefined ? "—" : v === Infinity || v === "Infinity" ? "∞" : `${Math.round(v)} ms`);
const pct = (v) => (v === null || v === undefined ? "—" : `${v} %`);

export function formatJoin(j) {
  if (!j || j.failed) return `Join time: failed (${j?.failed ?? "not run"})`;
  const rows = [
    "| joins | first remote audio p50 | p95 | first remote video p50 | p95 | call connected p50 | token answered p50 | pointer on the button before the click p50 |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const mode of ["warm", "cold"]) {
    const r = j[mode];
    if (!r) continue;
    const label = mode === "warm" ? `${r.joins} warm (client loaded)` : `${r.joins} cold (fresh page)`;
    rows.push(`| ${label} | ${ms(r.audioMs.p50)} | ${ms(r.audioMs.p95)} | ${ms(r.videoMs.p50)} | ${ms(r.videoMs.p95)} | ${ms(r.connectedMs.p50)} | ${ms(r.tokenMs?.p50)} | ${ms(r.hoverLeadMs?.p50)} |`);
  }
  return rows.join("\n");
}

const ratio = (a, b) => (typeof a === "number" && typeof b === "number" && b > 0 && Number.isFinite(a) && Number.isFinite(b) ? a / b : null);

/** Woxly's joins beside the bare livekit-client page's (the floor), with the ratio and the goal. */
export function formatFloor(j, token) {
  if (!j || j.failed || !j.bare) return "Floor: not run";
  const rows = [
    "| first remote audio after the click | bare LiveKit page | Woxly | ratio | goal |",
    "|---|---|---|---|---|",
  ];
  const line = (what, mode, q, goal) => {
    const b = j.bare[mode]?.audioMs?.[q];
    const w = j[mode]?.audioMs?.[q];
    const x = ratio(w, b);
    const verdict = x === null ? "—" : `≤ ${goal}× ${x <= goal ? "✓ met" : "✗ not met"}`;
    rows.push(`| ${what} | ${ms(b)} | ${ms(w)} | ${x === null ? "—" : `${x.toFixed(2)}×`} | ${verdict} |`);
  };
  if (j.warm && j.bare.warm) {
    line(`warm p50 (${j.warm.joins} joins each)`, "warm", "p50", 1.2);
    line("warm p95", "warm", "p95", 1.5);
  }
  if (j.cold && j.bare.cold) line(`cold p50 (${j.cold.joins} fresh pages each)`, "cold", "p50", 1.5);
  const out = [rows.join("\n"), ""];
  const crit = ["warm", "cold"].filter((m) => j[m]).map((m) => `${m} ${j[m].tokenBeforeClick ?? "?"}/${j[m].joins}`);
  out.push(`Woxly's token answered before the click (off the critical path): ${crit.join(", ")}; token complete relative to the click p50: ${["warm", "cold"].filter((m) => j[m]).map((m) => `${m} ${ms(j[m].tokenMs?.p50)}`).join(", ")} (negative: before it).`);
  if (token && !token.failed) {
    out.push(
      `Token route alone (${token.requests} requests in a row from Node): wall p50 ${ms(token.wallMs.p50)}, p95 ${ms(token.wallMs.p95)}; CPU of the product's workerd processes (api worker, token worker and dev proxy together, so an upper bound for the route) ${token.workerdCpuMsPerRequest === null ? "—" : `${token.workerdCpuMsPerRequest} ms`} per request.`,
    );
  } else if (token?.failed) out.push(`Token route alone: failed (${token.failed}).`);
  return out.join("\n");
}

export function formatLatency(l) {
  if (!l || l.failed) return `Mouth-to-ear: failed (${l?.failed ?? "not run"})`;
  return [
    "| beeps heard / sent | mouth-to-ear p50 | p95 | max | jitter buffer (mean) | concealed | ICE RTT |",
    "|---|---|---|---|---|---|---|",
    `| ${l.beepsHeard} / ${l.beepsSent} | ${ms(l.latencyMs.p50)} | ${ms(l.latencyMs.p95)} | ${ms(l.latencyMs.max)} | ${l.jitterBufferMs === null ? "—" : `${l.jitterBufferMs} ms`} | ${pct(l.concealedPct)} | ${l.rttMs === null ? "—" : `${l.rttMs} ms`} |`,
  ].join("\n");
}

export function formatCapacity(c) {
  if (!c || c.failed) return `Participants per room: failed (${c?.failed ?? "not run"})`;
  const rows = [
    "| participants publishing | packet loss at the subscriber | video loss | audio concealed | video fps (tracks received) | machine CPU busy |",
    "|---|---|---|---|---|---|",
  ];
  for (const r of c.rows) {
    rows.push(`| ${r.participants} | ${pct(r.lossPct)} | ${pct(r.videoLossPct)} | ${pct(r.audioConcealedPct)} | ${r.videoFps} (${r.videoTracks}) | ${r.cpuBusyPct} % |`);
  }
  rows.push("", `Held under 1 % loss: **${c.heldUnder1PctLoss}** synthetic participants (audio + 720p simulcast video each) plus the subscribing browser.`);
  return rows.join("\n");
}

const INTRO = `## Voice

\`npm run bench\` ends with the voice benchmarks (\`bench/voice/run.mjs\`; alone:
\`node bench/voice/run.mjs [--quick]\`). They start the product with a local livekit-server
(dev mode) on a fresh state, register two members through the API and drive headless
Chromium with fake devices through the real call page; all traffic stays on loopback.

- **(a) Join time**: from the click on *Join voice* to the first remote audio samples decoded
  (\`totalSamplesReceived\`) and the first remote video frame decoded (\`framesDecoded\`), polled
  from \`getStats\` every few ms in the page. Someone is already talking (a speech-like WAV as
  their microphone) with the camera on. *Warm*: the same page leaves and joins again
  (livekit-client already loaded); *cold*: a fresh page each time, clicked as soon as the
  button shows (the page preloads the client's chunk and asks for the token when a voice
  channel is shown; whatever has not arrived by the click is inside the measured time).
  Times are relative to the click; "token answered" is when the token this join used was
  complete (negative: before the click, so off the critical path).
- **The floor**: right before Woxly's joins, the same number of warm and cold joins of a bare
  page with only livekit-client ([\`bench/voice/bare.mjs\`](../bench/voice/bare.mjs), bundled with
  esbuild from \`node_modules\` and served by the benchmark): the token asked for when the page
  loads, then on the click \`new Room()\`, \`connect()\`, the microphone on and the remote audio
  attached — what a first LiveKit app does. Same browser and fake devices, same livekit-server,
  same talker (the speech browser, camera on) in a room of its own (Woxly removes identities it
  did not issue from its channels' rooms), same metric. Printed beside Woxly's with the ratio.
  Then the token route alone: 40 requests in a row from Node with the member's cookie, wall
  time and the CPU time of the product's workerd processes per request (read from \`/proc\`; the
  api worker, the token worker and the dev proxy together, so an upper bound for the route).
- **(b) Mouth-to-ear**: the sender's fake microphone plays beeps (\`bench/voice/wav.mjs\`); the
  same onset detector runs on the sender's captured track and on the receiver's remote track,
  both stamped with the machine's clock. It covers capture → Opus (DTX, RED) → LiveKit →
  jitter buffer → decode, not the sound card buffers of real devices. Also the receiver's mean
  \`jitterBufferDelay\` and the ICE round trip.
- **(c) Participants per room**: \`@livekit/rtc-node\` participants join the room one step at a
  time, each publishing Opus and 1280×720 30 fps simulcast video; one browser member
  subscribes as the call UI does (adaptive stream, dynacast) and measures loss, decoded fps and
  audio concealment over a window per step. The synthetic participants publish only. The
  result is the largest step under 1 % loss; on this size of machine the CPU (video encoding
  in Node, LiveKit, Chromium, wrangler) runs out first.

Goals from the voice issues: join to first audio under 500 ms p50, mouth-to-ear under 100 ms;
Woxly's join against the floor (issue 17): warm p50 ≤ 1.2× and p95 ≤ 1.5× the bare page's, cold
p50 ≤ 1.5×, the token never on the critical path.
`;

/** The run as markdown. */
export function formatRun(results) {
  const i = results.info;
  const lines = [
    `### ${i.date} · ${i.machine}${i.cpuModel ? ` (${i.cpuModel})` : ""}`,
    "",
    `Node ${i.node}; load average ${i.loadAvgAtStart?.join(" ")} at start, ${i.loadAvgAtEnd?.join(" ") ?? "?"} at end${results.config.quick ? "; `--quick`" : ""}.`,
    "",
    "**(a) Join time**",
    "",
    formatJoin(results.join),
    "",
    formatFloor(results.join, results.token),
    "",
    "**(b) Mouth-to-ear latency**",
    "",
    formatLatency(results.latency),
    "",
    "**(c) Participants per room**",
    "",
    formatCapacity(results.capacity),
    "",
  ];
  // Parts left out with --skip are left out here too.
  const skipped = (part) => results.config.skip?.includes(part);
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const part = lines[i] === "**(a) Join time**" ? "join" : lines[i] === "**(b) Mouth-to-ear latency**" ? "latency" : lines[i] === "**(c) Participants per room**" ? "capacity" : null;
    if (part && skipped(part)) {
      i += part === "join" ? 5 : 3;
      continue;
    }
    out.push(lines[i]);
  }
  return out.join("\n");
}

/**
 * Adds the run at the end of the "## Voice" section of `file` (creating the section at the
 * end of the file the first time); the rest of the file is left as it is.
 */
export function appendToDocs(file, results) {
  let text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const run = formatRun(results);
  const at = text.search(/^## Voice\s*$/m);
  if (at < 0) {
    text = `${text.replace(/\s*$/, "")}\n\n${INTRO}\n${run}`;
  } else {
    const next = text.slice(at + 1).search(/^## /m);
    const end = next < 0 ? text.length : at + 1 + next;
    text = `${text.slice(0, end).replace(/\s*$/, "")}\n\n${run}\n${text.slice(end)}`;
  }
  writeFileSync(file, text.replace(/\s*$/, "\n"));
}
