// (a) Join time: from the click on "Join voice" to the first remote audio samples decoded and
// to the first remote video frame decoded, in headless Chromium against the local
// livekit-server. Someone is already in the call talking (a speech-like WAV) with the camera
// on. "Warm": the same page joins and leaves again (livekit-client already loaded, as for a
// member's second call); "cold": a fresh page each time (the client chunk is fetched too).
// The floor (bare.mjs: a page with only livekit-client) is measured the same way, right
// before Woxly's joins, with the same talker in the room and the same number of joins.
import { Samples } from "../lib/stats.mjs";
import { joinCall, leaveCall, memberPage } from "./browser.mjs";

/** In the page: time the next click on Join, then poll the new peer connection's stats. */
function armProbe() {
  performance.setResourceTimingBufferSize(5000);
  const from = window.__pcs.length;
  // The token asked for since the previous click (Woxly asks when the channel is shown).
  const since = window.__lastClick ?? 0;
  window.__join = new Promise((resolve) => {
    const button = document.querySelector("[data-voice-join]");
    let hover = null;
    button.addEventListener("pointerenter", () => (hover ??= performance.now()), { capture: true });
    button.addEventListener(
      "click",
      () => {
        const t0 = performance.now();
        window.__lastClick = t0;
        const r = { connected: null, audio: null, video: null, token: null, tokenBeforeClick: null, hoverLead: hover === null ? null : t0 - hover };
        const stage = () => document.querySelector('[data-call-stage][data-phase="connected"]');
        const tick = async () => {
          const t = performance.now();
          if (r.connected === null && stage()) r.connected = t - t0;
          for (const pc of window.__pcs.slice(from)) {
            const stats = await pc.getStats();
            stats.forEach((s) => {
              if (s.type !== "inbound-rtp") return;
              if (s.kind === "audio" && r.audio === null && (s.totalSamplesReceived ?? 0) > 0) r.audio = performance.now() - t0;
              if (s.kind === "video" && r.video === null && (s.framesDecoded ?? 0) > 0) r.video = performance.now() - t0;
            });
          }
          const done = r.audio !== null && (r.video !== null || window.__audioOnly);
          if (done || performance.now() - t0 > 15_000) {
            // When the token this join used was complete, relative to the click (< 0: before it).
            const tok = performance.getEntriesByType("resource").filter((e) => /\/token$/.test(e.name) && e.startTime >= since && e.startTime <= t0 + 15_000);
            const used = tok.filter((e) => e.startTime <= t0).pop() ?? tok[0];
            if (used) {
              r.token = used.responseEnd - t0;
              r.tokenBeforeClick = used.responseEnd <= t0;
            }
            resolve(r);
          } else setTimeout(tick, 4);
        };
        void tick();
      },
      { capture: true, once: true },
    );
  });
}

async function oneJoin(page, audioOnly) {
  await page.locator("[data-voice-join]").waitFor();
  await page.evaluate((a) => {
    window.__audioOnly = a;
  }, audioOnly);
  await page.evaluate(armProbe);
  await page.locator("[data-voice-join]").click();
  const r = await page.evaluate(() => window.__join);
  await page.locator('[data-call-stage][data-phase="connected"]').waitFor({ timeout: 15_000 });
  await leaveCall(page);
  return r;
}

/** `n` joins of one kind of page ("warm": one page, its first join not counted; "cold": a fresh page each). */
async function series({ browser, state, url, mode, n, label, audioOnly, say }) {
  const s = { audio: new Samples(64), video: new Samples(64), connected: new Samples(64), token: new Samples(64), hoverLead: new Samples(64) };
  const missing = { audio: 0, video: 0 };
  let tokenBeforeClick = 0;
  let warmPage = null;
  for (let i = 0; i < n; i++) {
    let member = warmPage;
    if (!member) {
      member = await memberPage(browser, state);
      member.page.on("pageerror", (e) => say?.(`${label} page error: ${e.message}`));
      await member.page.goto(url);
      if (mode === "warm") {
        // The first join of the warm page loads the client; it is not counted.
        await oneJoin(member.page, audioOnly);
        warmPage = member;
      }
    }
    const r = await oneJoin(member.page, audioOnly);
    if (r.audio === null) missing.audio++;
    else s.audio.add(r.audio);
    if (r.video === null) missing.video++;
    else s.video.add(r.video);
    if (r.connected !== null) s.connected.add(r.connected);
    if (r.token !== null) s.token.add(r.token);
    if (r.tokenBeforeClick) tokenBeforeClick++;
    if (r.hoverLead !== null) s.hoverLead.add(r.hoverLead);
    if (mode === "cold") await member.context.close();
    say?.(`${label} join ${mode} ${i + 1}/${n}: token ${r.token?.toFixed(0) ?? "—"} ms, audio ${r.audio?.toFixed(0) ?? "—"} ms, video ${r.video?.toFixed(0) ?? "—"} ms`);
    await new Promise((res) => setTimeout(res, 300));
  }
  if (warmPage) await warmPage.context.close();
  return {
    joins: n,
    audioMs: s.audio.summary(missing.audio),
    videoMs: s.video.summary(missing.video),
    connectedMs: s.connected.summary(),
    tokenMs: s.token.summary(),
    tokenBeforeClick,
    hoverLeadMs: s.hoverLead.summary(),
  };
}

/**
 * `joins` warm joins and `cold` fresh-page joins by `joiner` into `url`, where `speaker` (a page
 * of a browser whose microphone plays speech) is already in the call with the camera on; with
 * `bareUrl`, the same joins of the bare LiveKit page first (results under `bare`).
 */
export async function joinTime({ browser, speakerBrowser, joinerState, speakerState, url, bareUrl, joins = 30, cold = 10, say }) {
  const speaker = await memberPage(speakerBrowser, speakerState);
  await joinCall(speaker.page, url, { camera: true });
  await speaker.page.waitForTimeout(1500);
  const results = {};
  let bareTalker = null;
  try {
    if (bareUrl) {
      // The same talker in the floor's room: the speech browser, microphone and camera on.
      bareTalker = await memberPage(speakerBrowser, undefined);
      await joinCall(bareTalker.page, `${bareUrl}?camera`);
      await bareTalker.page.waitForTimeout(1500);
      results.bare = {};
      for (const mode of ["warm", "cold"]) {
        const n = mode === "warm" ? joins : cold;
        if (n) results.bare[mode] = await series({ browser, state: undefined, url: bareUrl, mode, n, label: "bare", audioOnly: true, say });
      }
    }
    for (const mode of ["warm", "cold"]) {
      const n = mode === "warm" ? joins : cold;
      if (n) results[mode] = await series({ browser, state: joinerState, url, mode, n, label: "woxly", audioOnly: false, say });
    }
  } finally {
    await bareTalker?.context.close();
    await speaker.context.close();
  }
  return results;
}
