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
  for (const [mode, r] of Object.entries(j)) {
    const label = mode === "warm" ? `${r.joins} warm (client loaded)` : `${r.joins} cold (fresh page)`;
    rows.push(`| ${label} | ${ms(r.audioMs.p50)} | ${ms(r.audioMs.p95)} | ${ms(r.videoMs.p50)} | ${ms(r.videoMs.p95)} | ${ms(r.connectedMs.p50)} | ${ms(r.tokenMs?.p50)} | ${ms(r.hoverLeadMs?.p50)} |`);
  }
  return rows.join("\n");
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
  (livekit-client already loaded); *cold*: a fresh page each time (the client's chunk is
  fetched on the click, as in a member's first call). The page asks for the token and starts
  loading the client when the pointer reaches the button; the bench's pointer arrives just
  before its click (the last column), so nearly all of that work is inside the measured time.
  Times are relative to the click; "token answered" is when the token response was complete.
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

Goals from the voice issue: join to first audio under 500 ms p50, mouth-to-ear under 100 ms.
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
    "**(b) Mouth-to-ear latency**",
    "",
    formatLatency(results.latency),
    "",
    "**(c) Participants per room**",
    "",
    formatCapacity(results.capacity),
    "",
  ];
  return lines.join("\n");
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
