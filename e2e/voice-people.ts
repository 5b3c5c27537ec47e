/** People in the voice browser tests: a registered user with a browser context of their own. */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { uniqueName } from "./browser";

export const PASSWORD = "violet lantern river 93";

export interface Person {
  context: BrowserContext;
  page: Page;
  id: string;
  username: string;
  /** A JSON call to the API as this person (their cookie jar is their session). */
  api<T = unknown>(method: string, path: string, data?: unknown): Promise<T>;
}

/** Registers a user through the API and gives them a fresh context in `browser`. */
export async function person(browser: Browser, base: string, prefix: string): Promise<Person> {
  const origin = new URL(base).origin;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
  const page = await context.newPage();
  const username = uniqueName(prefix);
  const api = async <T>(method: string, p: string, data?: unknown): Promise<T> => {
    const res = await context.request.fetch(base + p, { method, data: data ?? (method === "GET" ? undefined : {}), headers: { origin } });
    const text = await res.text();
    if (res.status() >= 300) throw new Error(`${method} ${p} → ${res.status()} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const { user } = await api<{ user: { id: string } }>("POST", "/api/auth/register", { username, password: PASSWORD });
  return { context, page, id: user.id, username, api };
}

export /** Loudest RMS (0..1) of the remote microphone audio this page plays, over `ms`; -1 without any. */
async function remoteEnergy(page: Page, ms = 1500): Promise<number> {
  return page.evaluate(async (ms) => {
    const els = [...document.querySelectorAll<HTMLAudioElement>('audio[data-woxly-audio][data-source="microphone"]')];
    const streams = els.map((e) => e.srcObject).filter((s): s is MediaStream => s instanceof MediaStream && s.getAudioTracks().length > 0);
    if (!streams.length) return -1;
    const ctx = new AudioContext();
    await ctx.resume();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    for (const s of streams) ctx.createMediaStreamSource(s).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    let max = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      max = Math.max(max, Math.sqrt(sum / buf.length));
      await new Promise((r) => setTimeout(r, 20));
    }
    await ctx.close();
    return max;
  }, ms);
}
