// (a) Join time: from the click on "Join voice" to the first remote audio samples decoded and
// to the first remote video frame decoded, in headless Chromium against the local
// livekit-server. Someone is already in the call talking (a speech-like WAV) with the camera
// on. "Warm": the same page joins and leaves again (livekit-client already loaded, as for a
// member's second call); "cold": a fresh page each time (the client chunk is fetched too).
import { Samples } from "../lib/stats.mjs";
import { joinCall, leaveCall, memberPage } from "./browser.mjs";

/** In the page: time the next click on Join, then poll the new peer connection's stats. */
function armProbe() {
  const from = window.__pcs.length;
  window.__join = new Promise((resolve) => {
    const button = document.querySelector("[data-voice-join]");
    // The page asks for the token and loads the client when the pointer reaches the button.
    let hover = null;
    button.addEventListener("pointerenter", () => (hover ??= performance.now()), { capture: true });
    button.addEventListener(
      "click",
      () => {
        const t0 = performance.now();
        const r = { connected: null, audio: null, video: null, token: null, hoverLead: hover === null ? null : t0 - hover };
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
          if ((r.audio !== null && r.video !== null) || performance.now() - t0 > 15_000) {
            // How long the token request took (part of the join).
            const tok = performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/voice/token") && e.startTime >= (hover ?? t0) - 1).pop();
            if (tok) r.token = tok.responseEnd - t0;
            resolve(r);
          }
          else setTimeout(tick, 4);
        };
        void tick();
      },
      { capture: true, once: true },
    );
  });
}

async function oneJoin(page) {
  await page.locator("[data-voice-join]").waitFor();
  await page.evaluate(armProbe);
  await page.locator("[data-voice-join]").click();
  const r = await page.evaluate(() => window.__join);
  await page.locator('[data-call-stage][data-phase="connected"]').waitFor({ timeout: 15_000 });
  await leaveCall(page);
  return r;
}

/**
 * `joins` warm joins and `cold` fresh-page joins by `joiner` into `url`, where `speaker` (a page
 * of a browser whose microphone plays speech) is already in the call with the camera on.
 */
export async function joinTime({ browser, speakerBrowser, joinerState, speakerState, url, joins = 30, cold = 10, say }) {
  const speaker = await memberPage(speakerBrowser, speakerState);
  await joinCall(speaker.page, url, { camera: true });
  await speaker.page.waitForTimeout(1500);
  const results = {};
  try {
    for (const mode of ["warm", "cold"]) {
      const n = mode === "warm" ? joins : cold;
      if (!n) continue;
      const s = { audio: new Samples(64), video: new Samples(64), connected: new Samples(64), token: new Samples(64), hoverLead: new Samples(64) };
      let missing = { audio: 0, video: 0 };
      let warmPage = null;
      for (let i = 0; i < n; i++) {
        let member = warmPage;
        if (!member) {
          member = await memberPage(browser, joinerState);
          await member.page.goto(url);
          if (mode === "warm") {
            // The first join of the warm page loads the client; it is not counted.
            await oneJoin(member.page);
            warmPage = member;
          }
        }
        const r = await oneJoin(member.page);
        if (r.audio === null) missing.audio++;
        else s.audio.add(r.audio);
        if (r.video === null) missing.video++;
        else s.video.add(r.video);
        if (r.connected !== null) s.connected.add(r.connected);
        if (r.token !== null) s.token.add(r.token);
        if (r.hoverLead !== null) s.hoverLead.add(r.hoverLead);
        if (mode === "cold") await member.context.close();
        say?.(`join ${mode} ${i + 1}/${n}: token ${r.token?.toFixed(0) ?? "—"} ms, audio ${r.audio?.toFixed(0) ?? "—"} ms, video ${r.video?.toFixed(0) ?? "—"} ms`);
        await new Promise((res) => setTimeout(res, 300));
      }
      if (warmPage) await warmPage.context.close();
      results[mode] = {
        joins: n,
        audioMs: s.audio.summary(missing.audio),
        videoMs: s.video.summary(missing.video),
        connectedMs: s.connected.summary(),
        tokenMs: s.token.summary(),
        hoverLeadMs: s.hoverLead.summary(),
      };
    }
  } finally {
    await speaker.context.close();
  }
  return results;
}
