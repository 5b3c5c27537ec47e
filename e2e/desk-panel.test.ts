/**
 * The support desk in the web app: an admin creates a desk in Settings → Desks (a bad website
 * origin is refused next to its field), writes a knowledge-base entry and gets an API key shown
 * once; a visitor (through the widget's API) asks for a manager; the manager sees them waiting
 * in the panel, accepts, sees the assistant's part of the conversation and the "A manager has
 * joined" divider, and answers; the visitor receives the answer. On a phone the panel shows one
 * pane at a time.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Desk, TicketPage } from "../workers/shared/desk";
import type { HistoryPage } from "../workers/shared/chat";
import { launch } from "./browser";
import { person } from "./voice-people";

const base = inject("baseUrl");
const SITE = "http://127.0.0.1:9931";
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

/** A visitor of the desk's website, through the widget's own API (as its iframe calls it). */
async function visitor(deskId: string, name: string) {
  const context = await browser.newContext();
  const call = async <T>(method: string, p: string, data?: unknown, token?: string): Promise<T> => {
    const res = await context.request.fetch(base + p, {
      method,
      data: data ?? (method === "GET" ? undefined : {}),
      headers: { origin: new URL(base).origin, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    const text = await res.text();
    if (res.status() >= 300) throw new Error(`${method} ${p} → ${res.status()} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const s = await call<{ token: string }>("POST", `/api/widget/desks/${deskId}/visitors`, {
    name,
    context: { origin: SITE, pageUrl: `${SITE}/pricing`, language: "en", timeZone: "Asia/Bishkek" },
  });
  return {
    context,
    ask: (question: string) => call("POST", "/api/widget/ask", { question, language: "en" }, s.token),
    requestHuman: () => call("POST", "/api/widget/request-human", {}, s.token),
    history: () => call<HistoryPage>("GET", "/api/widget/history", undefined, s.token),
  };
}

describe("desk settings and the manager panel", () => {
  it("creates a desk in the UI, then a manager accepts a waiting visitor and answers them", async () => {
    const admin = await person(browser, base, "deskadmin");
    const { community } = await admin.api<{ community: { id: string } }>("POST", "/api/communities", { name: "Desk panel e2e" });
    const page = admin.page;
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));

    // Settings → Desks: create one.
    await page.goto(`${base}/c/${community.id}/settings/desks`);
    await page.getByRole("link", { name: "Support desks" }).waitFor();
    await page.getByText("No desks yet.").waitFor();
    await page.getByLabel("Desk name").fill("Acme help");
    await page.getByRole("button", { name: "Create desk" }).click();
    await page.waitForURL(/\/settings\/desks\/[^/]+$/);
    const deskId = new URL(page.url()).pathname.split("/").pop()!;
    await page.getByRole("heading", { name: "Acme help", level: 1 }).waitFor();

    // A website that is not an origin is refused next to its field; a good one saves.
    const origins = page.getByLabel("Allowed websites");
    await origins.fill(`${SITE}/shop`);
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Line 1: use an origin like https://example.org (no path).").waitFor();
    expect(await origins.getAttribute("aria-invalid")).toBe("true");
    await origins.fill(SITE);
    await page.getByLabel("Greeting").fill("Hello from Acme.");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Saved.").waitFor();
    const saved = await admin.api<Desk>("GET", `/api/desks/${deskId}`);
    expect(saved.allowedOrigins).toEqual([SITE]);
    expect(saved.greeting).toBe("Hello from Acme.");

    // The embed snippet names the desk.
    expect(await page.locator("pre.code").textContent()).toContain(`data-desk="${deskId}"`);

    // A knowledge-base entry, through the editor.
    await page.getByRole("button", { name: "Add entry" }).click();
    await page.getByLabel("Question").fill("How do I reset my password?");
    await page.getByLabel("Answer").fill("Open Settings, then Security, then Reset password.");
    await page.getByRole("button", { name: "Save entry" }).click();
    await page.getByText("How do I reset my password?").waitFor();

    // An API key is shown once.
    await page.getByLabel("New key name").fill("Shop backend");
    await page.getByRole("button", { name: "Create key" }).click();
    expect(await page.getByTestId("desk-new-key").textContent()).toMatch(/^wxk_/);
    await page.getByRole("button", { name: "I have stored it safely" }).click();
    expect(await page.getByTestId("desk-new-key").count()).toBe(0);
    await page.getByRole("cell", { name: "Shop backend", exact: true }).waitFor();

    // A visitor asks the assistant, then for a manager.
    const v = await visitor(deskId, "Aida");
    await v.ask("How do I reset my password?");
    await v.requestHuman();

    // The channel sidebar leads to the panel, which opens the only desk.
    await page.goto(`${base}/c/${community.id}`);
    await page.getByRole("link", { name: "Support desk", exact: true }).click();
    await page.waitForURL(new RegExp(`/desk/${deskId}`));
    const accept = page.getByRole("button", { name: "Accept Aida" });
    await accept.waitFor({ timeout: 15_000 });
    await accept.click();

    // The conversation: the assistant's part, the divider, then the manager's answer.
    const conversation = page.locator(".conversation");
    await conversation.getByText("Open Settings, then Security, then Reset password.").waitFor();
    await conversation.getByText("A manager has joined").waitFor();
    await page.getByLabel("Message to Aida").fill("Hi Aida, I can help with that.");
    await page.getByLabel("Message to Aida").press("Enter");
    await expect
      .poll(async () => (await v.history()).messages.map((m) => m.content), { timeout: 15_000 })
      .toContain("Hi Aida, I can help with that.");
    const open = await admin.api<TicketPage>("GET", `/api/desks/${deskId}/tickets?status=open`);
    expect(open.tickets.map((t) => t.assigneeId)).toEqual([admin.id]);

    // On a phone: one pane at a time, queue → conversation → back.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("button", { name: "Back", exact: true }).click();
    await page.getByRole("heading", { name: "Your conversations" }).waitFor();
    expect(await conversation.count()).toBe(0);
    await page.getByRole("button", { name: "Aida" }).click();
    await conversation.waitFor();
    expect(await page.getByRole("heading", { name: "Your conversations" }).isVisible()).toBe(false);

    expect(errors).toEqual([]);
    await v.context.close();
  });
});
