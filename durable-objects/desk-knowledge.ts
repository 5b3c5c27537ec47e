/**
 * A desk's knowledge base, in the SupportDesk object's own SQLite: the entries and an FTS5
 * index over them, and the ranked retrieval the assistant answers from
 * (docs/support-desk-assistant.md).
 *
 * Retrieval in English, Russian and Kyrgyz without a dictionary:
 * - text is folded (lower case, `ё` → `е`) and cut into words; stop words of the three
 *   languages are dropped from questions;
 * - each word of a question is cut to a stem (common inflectional endings stripped, at most
 *   STEM_MAX letters) and looked up as an FTS5 prefix (`stem*`), so "пароля" finds "пароль",
 *   "сырсөздү" finds "сырсөз" and "passwords" finds "password";
 * - FTS5 bm25 ranks the candidates, with the entry's question weighted above its answer;
 * - each candidate's score is the weighted share of the question's stems it contains (a stem
 *   in the entry's question counts fully, one only in its answer half; a stem no entry at all
 *   contains weighs less than one the base knows); unless some entry reaches MIN_SCORE nothing
 *   is returned, so an unrelated question gets nothing rather than a wrong answer; entries
 *   reaching MIN_RELATED follow the best one, as suggestions;
 * - entries in the visitor's language come before entries in other languages.
 *
 * Every method is synchronous (SQLite calls in a Durable Object do not yield).
 */
import { MAX_KB_ENTRIES, type DeskLanguage, type KbEntry, type KbEntryBody } from "../workers/shared/desk";
import { newId } from "../workers/shared/ids";

/** Below this share of the question's words, an entry is not an answer: without one, search returns nothing. */
export const MIN_SCORE = 0.55;
/** Entries after the first (suggestions) need at least this share. */
export const MIN_RELATED = 0.3;
/** Weights of bm25 for the index's columns: question, answer. */
const BM25_WEIGHTS = "4.0, 1.0";
/** An entry whose stem matches only in its answer counts this much of a question-side match. */
const ANSWER_ONLY = 0.5;
/** How much a question's word that no entry contains weighs, against 1 for a word the base knows. */
const UNKNOWN_WORD = 0.4;
/** Stems are cut to at most this many letters (a prefix query covers the rest). */
const STEM_MAX = 7;
/** Stems keep at least this many letters. */
const STEM_MIN = 3;
/** The most words of a question that are looked up. */
const MAX_QUERY_WORDS = 16;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS kb_entries (
     n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, question TEXT NOT NULL, answer TEXT NOT NULL,
     language TEXT NOT NULL, updated_at INTEGER NOT NULL)`,
  // Folded text of each entry (rowid = kb_entries.n), written and deleted with the entry.
  `CREATE VIRTUAL TABLE IF NOT EXISTS kb_fts USING fts5(question, answer, tokenize='unicode61 remove_diacritics 0')`,
];

type EntryRow = { n: number; id: string; question: string; answer: string; language: string; updated_at: number };

// --- text -------------------------------------------------------------------------------

const STOP_WORDS = new Set(
  [
    // en
    "a an the and or but if of to in on at by for from with without about into over under as is are was were be been being am",
    "do does did doing have has had can could will would shall should may might must i me my mine we us our you your yours he him his",
    "she her it its they them their this that these those there here what which who whom whose when where why how not no yes",
    "please hi hello hey thanks thank so than then too very just also any some all get got",
    // ru
    "и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее её мне было вот от меня еще ещё нет о",
    "из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может",
    "они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж тогда кто этот того потому",
    "этого какой совсем ним здесь этом один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец два об",
    "другой хоть после над больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой перед иногда",
    "лучше чуть том нельзя такой им более всегда конечно всю между мне мой моего моей мою свой свои своего это как-то здравствуйте",
    "привет пожалуйста спасибо подскажите скажите",
    // ky
    "жана менен үчүн бул ал мен сен биз силер алар эмне кандай кантип качан кайда ким канча бир да дагы же бирок эгер ошол бу",
    "мага сага ага бизге силерге аларга менин сенин анын биздин силердин алардын болот болуп бар жок эмес ооба керек мүмкүн",
    "салам саламатсызбы рахмат сураныч",
  ]
    .join(" ")
    .split(/\s+/),
);

/**
 * Inflectional endings stripped from the end of a word, longest first. A crude light stemmer
 * for the three languages; the prefix query makes up for what it leaves.
 */
const ENDINGS = [
  // ru (adjective, noun and verb endings)
  "ившись", "ывшись", "ующими", "ающими", "ениями", "иями", "ями", "ами", "ого", "его", "ому", "ему", "ыми", "ими",
  "ешь", "ишь", "ете", "ите", "ают", "яют", "ует", "ить", "ать", "ять", "еть", "уть", "ться", "тся", "ия", "ие", "ий",
  "ой", "ей", "ый", "ая", "яя", "ое", "ее", "ые", "ие", "ом", "ем", "ах", "ях", "ую", "юю", "ов", "ев", "ь", "а", "я", "о", "е", "у", "ю", "ы", "и", "й",
  // ky (case, possessive and plural suffixes, four vowel harmonies)
  "лардын", "лердин", "лордун", "лөрдүн", "ларды", "лерди", "лорду", "лөрдү", "лар", "лер", "лор", "лөр", "дар", "дер", "дор", "дөр", "тар", "тер", "тор", "төр",
  "нын", "нин", "нун", "нүн", "дын", "дин", "дун", "дүн", "тын", "тин", "тун", "түн",
  "ны", "ни", "ну", "нү", "ды", "ди", "ду", "дү", "ты", "ти", "ту", "тү",
  "га", "ге", "го", "гө", "ка", "ке", "ко", "кө", "да", "де", "до", "дө", "та", "те", "то", "тө",
  "дан", "ден", "дон", "дөн", "тан", "тен", "тон", "төн", "нан", "нен", "нон", "нөн",
  "ым", "им", "ум", "үм", "ың", "иң", "уң", "үң", "сы", "си", "су", "сү",
  // en
  "ings", "ing", "edly", "ed", "es", "s", "ly", "e",
].sort((a, b) => b.length - a.length);

/** Unicode-normalised (NFKC), lower case, `ё` → `е`, words of letters, marks and digits. */
export function words(text: string): string[] {
  return text.normalize("NFKC").toLowerCase().replaceAll("ё", "е").match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
}

/**
 * The stem of one folded word: inflectional endings stripped (Cyrillic words may carry a
 * chain of Kyrgyz suffixes, so up to three; Latin ones one), at most STEM_MAX letters.
 */
export function stem(word: string): string {
  let base = word;
  const rounds = /\p{Script=Cyrillic}/u.test(word) ? 3 : 1;
  for (let round = 0; round < rounds; round++) {
    const len = [...base].length;
    const e = ENDINGS.find((e) => base.endsWith(e) && len - [...e].length >= STEM_MIN + 1);
    if (!e) break;
    base = base.slice(0, -e.length);
    // "resetting" → "resett" → "reset"
    if ((e === "ing" || e === "ed") && /([b-df-hj-np-tv-z])\1$/.test(base)) base = base.slice(0, -1);
  }
  return [...base].slice(0, STEM_MAX).join("");
}

/** The distinct stems of a question's meaningful words. */
export function queryStems(question: string): string[] {
  const out = new Set<string>();
  for (const w of words(question)) {
    if (STOP_WORDS.has(w)) continue;
    if ([...w].length < 2) continue;
    out.add(stem(w));
    if (out.size >= MAX_QUERY_WORDS) break;
  }
  return [...out];
}

/** The indexed form of a text: its folded words, space-separated. */
function folded(text: string): string {
  return words(text).join(" ");
}

// --- the store --------------------------------------------------------------------------

export class DeskKnowledge {
  constructor(private readonly sql: SqlStorage) {}

  migrate(): void {
    for (const s of SCHEMA) this.sql.exec(s);
    // Deleted entries' words leave the index at once (see ChannelStore.secureDeleteIndex).
    const on = this.sql.exec<{ v: number }>(`SELECT v FROM kb_fts_config WHERE k = 'secure-delete'`).toArray()[0]?.v === 1;
    if (!on) this.sql.exec(`INSERT INTO kb_fts (kb_fts, rank) VALUES ('secure-delete', 1)`);
  }

  list(): KbEntry[] {
    return this.sql
      .exec<EntryRow>(`SELECT n, id, question, answer, language, updated_at FROM kb_entries ORDER BY n`)
      .toArray()
      .map(toEntry);
  }

  /** Creates (id null) or replaces an entry. Null: the id does not exist, or the base is full. */
  put(id: string | null, body: KbEntryBody, now: number): KbEntry | null {
    if (id === null) {
      const count = this.sql.exec<{ c: number }>(`SELECT COUNT(*) AS c FROM kb_entries`).one().c;
      if (count >= MAX_KB_ENTRIES) return null;
      const entryId = newId(now);
      const n = this.sql
        .exec<{ n: number }>(
          `INSERT INTO kb_entries (id, question, answer, language, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING n`,
          entryId, body.question, body.answer, body.language, now,
        )
        .one().n;
      this.sql.exec(`INSERT INTO kb_fts (rowid, question, answer) VALUES (?, ?, ?)`, n, folded(body.question), folded(body.answer));
      return { id: entryId, ...body, updatedAt: now };
    }
    const row = this.sql.exec<{ n: number }>(`SELECT n FROM kb_entries WHERE id = ?`, id).toArray()[0];
    if (!row) return null;
    this.sql.exec(
      `UPDATE kb_entries SET question = ?, answer = ?, language = ?, updated_at = ? WHERE n = ?`,
      body.question, body.answer, body.language, now, row.n,
    );
    this.sql.exec(`DELETE FROM kb_fts WHERE rowid = ?`, row.n);
    this.sql.exec(`INSERT INTO kb_fts (rowid, question, answer) VALUES (?, ?, ?)`, row.n, folded(body.question), folded(body.answer));
    return { id, ...body, updatedAt: now };
  }

  delete(id: string): boolean {
    const row = this.sql.exec<{ n: number }>(`SELECT n FROM kb_entries WHERE id = ?`, id).toArray()[0];
    if (!row) return false;
    this.sql.exec(`DELETE FROM kb_entries WHERE n = ?`, row.n);
    this.sql.exec(`DELETE FROM kb_fts WHERE rowid = ?`, row.n);
    return true;
  }

  /**
   * The entries answering `question`, best first, at most `limit`: empty unless one scores at
   * least MIN_SCORE (0..1, the weighted share of the question's stems found); that one first
   * (in the visitor's `language` when one there does), then related entries scoring at least
   * MIN_RELATED, those in `language` before others.
   */
  search(question: string, language: DeskLanguage, limit: number): { entry: KbEntry; score: number }[] {
    const stems = queryStems(question);
    if (stems.length === 0 || limit < 1) return [];
    // Each stem a quoted prefix term: no FTS5 syntax from the visitor reaches the parser.
    const match = stems.map((s) => `"${s.replaceAll('"', "")}"*`).join(" OR ");
    const rows = this.sql
      .exec<EntryRow & { rank: number; fq: string; fa: string }>(
        `SELECT e.n, e.id, e.question, e.answer, e.language, e.updated_at, bm25(kb_fts, ${BM25_WEIGHTS}) AS rank,
                kb_fts.question AS fq, kb_fts.answer AS fa
           FROM kb_fts JOIN kb_entries e ON e.n = kb_fts.rowid
          WHERE kb_fts MATCH ? ORDER BY rank LIMIT ?`,
        match, Math.max(limit * 8, 40),
      )
      .toArray();
    // A word no entry contains says little about which entry is meant (a typo, a filler, a
    // synonym the base lacks): it weighs UNKNOWN_WORD in the share, a word the base knows 1.
    const known = new Set(stems.filter((s) => this.sql.exec(`SELECT 1 FROM kb_fts WHERE kb_fts MATCH ? LIMIT 1`, `"${s.replaceAll('"', "")}"*`).toArray().length));
    const total = stems.reduce((n, s) => n + (known.has(s) ? 1 : UNKNOWN_WORD), 0);
    const hits = rows
      .map((r, order) => {
        const q = words(r.fq);
        const a = words(r.fa);
        let got = 0;
        for (const s of stems) {
          if (q.some((w) => w.startsWith(s))) got += 1;
          else if (a.some((w) => w.startsWith(s))) got += ANSWER_ONLY;
        }
        return { entry: toEntry(r), score: got / total, order, same: r.language === language };
      })
      .filter((h) => h.score >= MIN_RELATED);
    hits.sort((x, y) => Number(y.same) - Number(x.same) || y.score - x.score || x.order - y.order);
    // The first is the best entry that answers (MIN_SCORE); related ones may follow it.
    const first = hits.findIndex((h) => h.score >= MIN_SCORE);
    if (first < 0) return [];
    const ordered = [hits[first]!, ...hits.filter((_, i) => i !== first)];
    return ordered.slice(0, limit).map(({ entry, score }) => ({ entry, score }));
  }
}

function toEntry(r: EntryRow): KbEntry {
  return { id: r.id, question: r.question, answer: r.answer, language: r.language as DeskLanguage, updatedAt: r.updated_at };
}
