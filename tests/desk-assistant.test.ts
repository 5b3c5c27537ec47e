/**
 * The desk's knowledge base and assistant (docs/support-desk-assistant.md): retrieval with
 * FTS5 in a SupportDesk object's real SQLite (DeskKnowledge) in English, Russian and Kyrgyz,
 * and the assistant's answer from what was retrieved — built in, and through an
 * OpenAI-compatible provider played by a local stand-in (tests/stand-ins/openai-compatible.ts).
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { DeskKnowledge, MIN_RELATED, MIN_SCORE, queryStems, stem } from "../durable-objects/desk-knowledge";
import { answer, DONT_KNOW, type AssistantEnv, type AssistantHit } from "../workers/core/assistant";
import type { DeskLanguage, KbEntry, KbEntryBody } from "../workers/shared/desk";
import { MAX_KB_ENTRIES } from "../workers/shared/desk";
import { newId } from "../workers/shared/ids";
import type { RecordedRequest } from "./stand-ins/openai-compatible";
import { ok } from "./helpers";
import { createDesk, deskWorld } from "./desk-admin-fixtures";
import { SITE, startVisitor, vok } from "./desk-fixtures";

const ENTRIES: KbEntryBody[] = [
  { language: "en", question: "How do I reset my password?", answer: "Open Settings → Account → Reset password, and follow the link we email you." },
  { language: "en", question: "What are your opening hours?", answer: "We answer from 9:00 to 18:00, Monday to Friday." },
  { language: "en", question: "How can I delete my account?", answer: "Write to us from the address on your account and we delete it within a week." },
  { language: "en", question: "How much does shipping cost?", answer: "Shipping is free in the city; elsewhere it is 300 som." },
  { language: "ru", question: "Как сменить пароль?", answer: "Откройте Настройки → Аккаунт → Сменить пароль и перейдите по ссылке из письма." },
  { language: "ru", question: "Сколько стоит доставка?", answer: "Доставка по городу бесплатная, в другие города — 300 сомов." },
  { language: "ru", question: "Когда вы работаете?", answer: "Мы отвечаем с 9:00 до 18:00 с понедельника по пятницу." },
  { language: "ky", question: "Сырсөздү кантип алмаштырам?", answer: "Жөндөөлөр → Аккаунт → Сырсөздү алмаштыруу бөлүмүн ачып, каттагы шилтемеге өтүңүз." },
  { language: "ky", question: "Жеткирүү канча турат?", answer: "Шаар ичинде жеткирүү акысыз, башка шаарларга — 300 сом." },
];

let n = 0;
/** A fresh SupportDesk object (its own SQLite), with `fn` run against a DeskKnowledge on it. */
async function withKb<T>(fn: (kb: DeskKnowledge) => T | Promise<T>): Promise<T> {
  const stub = env.SupportDesk.get(env.SupportDesk.idFromName(`kb-test-${Date.now()}-${++n}`));
  return runInDurableObject(stub, (_i, state) => {
    const kb = new DeskKnowledge(state.storage.sql);
    kb.migrate();
    return fn(kb);
  });
}

function seed(kb: DeskKnowledge): KbEntry[] {
  return ENTRIES.map((e, i) => kb.put(null, e, 1_000 + i)!);
}

const best = (kb: DeskKnowledge, q: string, lang: DeskLanguage) => kb.search(q, lang, 3)[0]?.entry.question ?? null;

describe("the knowledge base (DeskKnowledge)", () => {
  it("stems inflected forms to a common prefix in the three languages", () => {
    expect(stem("пароля")).toBe(stem("пароль"));
    expect(stem("сырсөздү")).toBe(stem("сырсөз"));
    expect(stem("сырсөзүмдү")).toBe(stem("сырсөз"));
    expect(stem("passwords")).toBe(stem("password"));
    expect("reset".startsWith(stem("resetting"))).toBe(true);
    // Stop words are dropped; Cyrillic is case-folded and ё is е.
    expect(queryStems("How do I reset MY password?")).toEqual([stem("reset"), stem("password")]);
    expect(queryStems("ПАРОЛЬ Ёлка")).toEqual([stem("пароль"), stem("елка")]);
  });

  it("finds the right entry first for questions in English, Russian and Kyrgyz, in other word forms", async () => {
    const found = await withKb((kb) => {
      seed(kb);
      return {
        en1: best(kb, "I forgot my passwords, how can I reset them?", "en"),
        en2: best(kb, "When are you open? Opening hours please", "en"),
        en3: best(kb, "deleting accounts", "en"),
        ru1: best(kb, "Как поменять пароль", "ru"),
        ru2: best(kb, "Забыл пароля от аккаунта", "ru"),
        ru3: best(kb, "сколько стоит ДОСТАВКИ в Ош", "ru"),
        ky1: best(kb, "сырсөздү унутуп калдым", "ky"),
        ky2: best(kb, "Сырсөзүмдү кантип алмаштырсам болот?", "ky"),
        ky3: best(kb, "жеткирүүнүн баасы канча?", "ky"),
      };
    });
    expect(found).toEqual({
      en1: "How do I reset my password?",
      en2: "What are your opening hours?",
      en3: "How can I delete my account?",
      ru1: "Как сменить пароль?",
      ru2: "Как сменить пароль?",
      ru3: "Сколько стоит доставка?",
      ky1: "Сырсөздү кантип алмаштырам?",
      ky2: "Сырсөздү кантип алмаштырам?",
      ky3: "Жеткирүү канча турат?",
    });
  });

  it("returns nothing for an unrelated question; an answer scores MIN_SCORE, related entries MIN_RELATED", async () => {
    const r = await withKb((kb) => {
      seed(kb);
      return {
        weather: kb.search("What is the weather like in Bishkek tomorrow?", "en", 3),
        capital: kb.search("Какая столица Франции?", "ru", 3),
        ky: kb.search("Бүгүн аба ырайы кандай?", "ky", 3),
        stopWordsOnly: kb.search("how do I do it?", "en", 3),
        good: kb.search("reset password", "en", 3),
      };
    });
    expect(r.weather).toEqual([]);
    expect(r.capital).toEqual([]);
    expect(r.ky).toEqual([]);
    expect(r.stopWordsOnly).toEqual([]);
    expect(r.good[0]!.score).toBeGreaterThanOrEqual(MIN_SCORE);
    for (const h of r.good.slice(1)) expect(h.score).toBeGreaterThanOrEqual(MIN_RELATED);
  });

  it("prefers entries in the visitor's language and falls back to others", async () => {
    const r = await withKb((kb) => {
      kb.put(null, { language: "en", question: "Where is the office?", answer: "Chui avenue 1, Bishkek." }, 1);
      kb.put(null, { language: "ru", question: "Где находится офис?", answer: "Проспект Чуй, 1, Бишкек." }, 2);
      kb.put(null, { language: "ru", question: "Как удалить аккаунт?", answer: "Напишите нам с почты аккаунта." }, 3);
      kb.put(null, { language: "ky", question: "Аккаунтту кантип өчүрөм?", answer: "Аккаунттун почтасынан бизге жазыңыз." }, 4);
      return {
        ru: kb.search("Где офис?", "ru", 3).map((h) => h.entry.language),
        // "office" is only in an English entry: a Kyrgyz visitor still gets it.
        kyFallback: kb.search("office", "ky", 3).map((h) => h.entry.language),
        // A word both languages use: the visitor's language first.
        ruFirst: kb.search("аккаунт", "ru", 3).map((h) => h.entry.language),
        kyFirst: kb.search("аккаунт", "ky", 3).map((h) => h.entry.language),
      };
    });
    expect(r.ru[0]).toBe("ru");
    expect(r.kyFallback).toEqual(["en"]);
    expect(r.ruFirst).toEqual(["ru", "ky"]);
    expect(r.kyFirst).toEqual(["ky", "ru"]);
  });

  it("edits, deletes (the words leave the index) and caps the base", async () => {
    const r = await withKb((kb) => {
      const e = kb.put(null, { language: "en", question: "Do you ship abroad?", answer: "Yes, to Kazakhstan." }, 1)!;
      const before = best(kb, "shipping abroad", "en");
      const edited = kb.put(e.id, { language: "en", question: "Do you deliver to Uzbekistan?", answer: "Yes." }, 2);
      const afterEdit = { old: kb.search("abroad", "en", 3).length, fresh: best(kb, "Uzbekistan delivery", "en") };
      const missing = kb.put(newId(), { language: "en", question: "nope nope", answer: "x" }, 3);
      const deleted = kb.delete(e.id);
      const again = kb.delete(e.id);
      const afterDelete = kb.search("Uzbekistan", "en", 3).length;
      const rows = kb.list().length;
      return { before, edited, afterEdit, missing, deleted, again, afterDelete, rows };
    });
    expect(r.before).toBe("Do you ship abroad?");
    expect(r.edited).toMatchObject({ question: "Do you deliver to Uzbekistan?", updatedAt: 2 });
    expect(r.afterEdit).toEqual({ old: 0, fresh: "Do you deliver to Uzbekistan?" });
    expect(r.missing).toBeNull();
    expect([r.deleted, r.again, r.afterDelete, r.rows]).toEqual([true, false, 0, 0]);

    const full = await withKb((kb) => {
      for (let i = 0; i < MAX_KB_ENTRIES; i++) kb.put(null, { language: "en", question: `Question number ${i}`, answer: `Answer ${i}` }, i);
      return { over: kb.put(null, { language: "en", question: "One too many", answer: "x" }, 1), count: kb.list().length };
    });
    expect(full).toEqual({ over: null, count: MAX_KB_ENTRIES });
  });

  it("takes the visitor's words literally (no FTS5 syntax reaches the parser)", async () => {
    const r = await withKb((kb) => {
      seed(kb);
      return ['password" OR "a', "NEAR(password reset)", "password*", "(((", "-password", "question:password", '"'].map((q) => kb.search(q, "en", 3).length);
    });
    expect(r.every((x) => x >= 0)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------
// The assistant
// ---------------------------------------------------------------------------------------

const standIn = inject("openAiStandInUrl");

async function recorded(): Promise<RecordedRequest[]> {
  return (await (await fetch(`${standIn.replace(/\/v1$/, "")}/__requests`)).json()) as RecordedRequest[];
}

const provider = (model: string, extra: Partial<AssistantEnv> = {}): AssistantEnv => ({
  ASSISTANT_PROVIDER: "openai-compatible",
  ASSISTANT_OPENAI_URL: standIn,
  ASSISTANT_OPENAI_MODEL: model,
  ASSISTANT_OPENAI_KEY: "sk-stand-in",
  ASSISTANT_TIMEOUT_MS: "1000",
  ...extra,
});

async function hitsFor(question: string, language: DeskLanguage): Promise<AssistantHit[]> {
  return withKb((kb) => {
    seed(kb);
    return kb.search(question, language, 3);
  });
}

describe("the assistant (workers/core/assistant.ts)", () => {
  it("built in: the best entry's answer with its source and at most two suggestions", async () => {
    const hits = await withKb((kb) => {
      kb.put(null, { language: "en", question: "How do I change my password?", answer: "Settings → Account → Password." }, 1);
      kb.put(null, { language: "en", question: "How do I change my email?", answer: "Settings → Account → Email." }, 2);
      kb.put(null, { language: "en", question: "How do I change my username?", answer: "Settings → Profile → Username." }, 3);
      kb.put(null, { language: "en", question: "What are your opening hours?", answer: "9 to 6." }, 4);
      return kb.search("Changing passwords", "en", 3);
    });
    expect(hits.map((h) => h.entry.question).sort()).toEqual(["How do I change my email?", "How do I change my password?", "How do I change my username?"]);
    const a = await answer({ ASSISTANT_PROVIDER: "builtin" }, hits, "Changing passwords", "en");
    expect(a).toMatchObject({ known: true, provider: "builtin", answer: "Settings → Account → Password.", source: { entryId: hits[0]!.entry.id, question: "How do I change my password?" } });
    expect(a.suggestions.map((s) => s.question).sort()).toEqual(["How do I change my email?", "How do I change my username?"]);

    const many: AssistantHit[] = ENTRIES.slice(0, 4).map((e, i) => ({ entry: { ...e, id: `e${i}`, updatedAt: 0 }, score: 1 - i / 10 }));
    expect((await answer({}, many, "x", "en")).suggestions.map((s) => s.entryId)).toEqual(["e1", "e2"]);
  });

  it("says plainly it does not know, in the visitor's language, when nothing was retrieved", async () => {
    for (const [lang, q] of [["en", "What is the weather tomorrow?"], ["ru", "Какая завтра погода?"], ["ky", "Эртең аба ырайы кандай болот?"]] as const) {
      const hits = await hitsFor(q, lang);
      expect(hits).toEqual([]);
      const a = await answer({}, hits, q, lang);
      expect(a).toEqual({ known: false, answer: DONT_KNOW[lang], source: null, suggestions: [], provider: "builtin" });
    }
    expect(new Set(Object.values(DONT_KNOW)).size).toBe(3);
    // A generative provider is not even asked without entries to ground it.
    const before = (await recorded()).length;
    expect((await answer(provider("stand-in-echo"), [], "Unrelated 7f3a", "en")).provider).toBe("builtin");
    expect((await recorded()).length).toBe(before);
  });

  it("OpenAI-compatible: the provider's answer, grounded in the retrieved entries only", async () => {
    const marker = `q-${newId()}`;
    const question = `How do I reset my password? ${marker}`;
    const hits = await hitsFor(question, "en");
    expect(hits[0]!.entry.question).toBe("How do I reset my password?");
    const a = await answer(provider("stand-in-echo"), hits, question, "en");
    expect(a).toMatchObject({ known: true, provider: "openai-compatible", answer: "Stand-in answer from entry: How do I reset my password?" });
    expect(a.source?.entryId).toBe(hits[0]!.entry.id);

    const req = (await recorded()).find((r) => r.body?.messages?.some((m) => m.content.includes(marker)));
    expect(req, "the stand-in saw the request").toBeDefined();
    expect(req!.authorization).toBe("Bearer sk-stand-in");
    expect(req!.body!.model).toBe("stand-in-echo");
    const system = req!.body!.messages!.find((m) => m.role === "system")!.content;
    const user = req!.body!.messages!.filter((m) => m.role === "user").map((m) => m.content);
    expect(user).toEqual([question]);
    // Every retrieved entry is in the prompt; no entry that was not retrieved is.
    for (const h of hits) expect(system).toContain(h.entry.answer);
    const retrieved = new Set(hits.map((h) => h.entry.question));
    for (const e of ENTRIES.filter((e) => !retrieved.has(e.question))) {
      expect(system).not.toContain(e.question);
      expect(system).not.toContain(e.answer);
    }
    expect(system).toContain("NO_ANSWER");
  });

  it("OpenAI-compatible: the provider's 'no answer' is known:false in the visitor's language", async () => {
    const hits = await hitsFor("Сколько стоит доставка?", "ru");
    const a = await answer(provider("stand-in-no-answer"), hits, "Сколько стоит доставка?", "ru");
    expect(a).toMatchObject({ known: false, answer: DONT_KNOW.ru, source: null, provider: "openai-compatible" });
  });

  it("falls back to the built-in answer when the provider fails, answers garbage or is slow", async () => {
    const hits = await hitsFor("сырсөздү унутуп калдым", "ky");
    const builtin = await answer({}, hits, "сырсөздү унутуп калдым", "ky");
    expect(builtin).toMatchObject({ known: true, provider: "builtin" });
    for (const model of ["stand-in-fail", "stand-in-garbage"]) {
      expect(await answer(provider(model), hits, "сырсөздү унутуп калдым", "ky")).toEqual(builtin);
    }
    const t0 = Date.now();
    expect(await answer(provider("stand-in-slow", { ASSISTANT_TIMEOUT_MS: "300" }), hits, "сырсөздү унутуп калдым", "ky")).toEqual(builtin);
    expect(Date.now() - t0).toBeLessThan(3000);
    // Misconfigured: no URL, or a URL where there is no chat/completions (404): built in as well.
    expect(await answer(provider("stand-in-echo", { ASSISTANT_OPENAI_URL: "" }), hits, "q", "ky")).toEqual(builtin);
    expect(await answer(provider("stand-in-echo", { ASSISTANT_OPENAI_URL: `${standIn}/nothing-here` }), hits, "q", "ky")).toEqual(builtin);
  });

  it("Workers AI: the binding's answer, or built in when it throws or there is no binding", async () => {
    const hits = await hitsFor("opening hours", "en");
    const seen: unknown[] = [];
    const AI = {
      async run(model: string, input: unknown) {
        seen.push({ model, input });
        return { response: "We are open 9 to 6 on weekdays." };
      },
    };
    const a = await answer({ ASSISTANT_PROVIDER: "workers-ai", AI }, hits, "opening hours", "en");
    expect(a).toMatchObject({ known: true, provider: "workers-ai", answer: "We are open 9 to 6 on weekdays." });
    expect(JSON.stringify(seen)).toContain("We answer from 9:00 to 18:00");
    const failing = { run: async () => Promise.reject(new Error("down")) };
    expect((await answer({ ASSISTANT_PROVIDER: "workers-ai", AI: failing }, hits, "opening hours", "en")).provider).toBe("builtin");
    expect((await answer({ ASSISTANT_PROVIDER: "workers-ai" }, hits, "opening hours", "en")).provider).toBe("builtin");
  });
});

describe("the assistant behind the widget", () => {
  it("answers a visitor from the entries managers wrote, and says it does not know otherwise", async () => {
    const w = await deskWorld();
    const desk = await createDesk(w, { allowedOrigins: [SITE] });
    for (const e of ENTRIES) await ok(201, w.manager, "POST", `/api/desks/${desk.id}/kb`, e);
    const visitor = await startVisitor(desk.id, "Айгүл");
    const ky = await vok(200, visitor, "POST", "/api/widget/ask", { question: "Сырсөзүмдү унутуп калдым", language: "ky" });
    expect(ky).toMatchObject({ known: true, provider: "builtin", source: { question: "Сырсөздү кантип алмаштырам?" }, answer: ENTRIES[7]!.answer });
    const ru = await vok(200, visitor, "POST", "/api/widget/ask", { question: "Сколько стоит доставки?", language: "ru" });
    expect(ru).toMatchObject({ known: true, source: { question: "Сколько стоит доставка?" } });
    const none = await vok(200, visitor, "POST", "/api/widget/ask", { question: "Кто выиграл чемпионат мира?", language: "ru" });
    expect(none).toMatchObject({ known: false, answer: DONT_KNOW.ru, source: null, suggestions: [], provider: "builtin" });
    expect(none.ticket.id).toBe(ky.ticket.id);
  });
});
