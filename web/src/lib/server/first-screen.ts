/**
 * A channel's first screen as HTML, rendered on the server into the page the app boots from
 * (hooks.server.ts): the channel's header and its latest messages, read-only, so the first
 * message is visible before any of the app's JavaScript runs (issue 14 goal 1). The app
 * replaces it once its own channel view has rendered the same history (lib/first-screen.ts).
 *
 * Every piece of user text is either escaped here or, for message bodies, rendered by the
 * markdown core and sanitize-html with the browser's allowlist (./sanitize.ts). The markup
 * carries no inline script or style (the page's CSP): colours come from classes and from
 * data attributes that static/first-screen.js applies; times are `<time datetime>` that it
 * formats in the viewer's time zone and language (the server writes a UTC fallback).
 * Class names all start with `fs-` so nothing of the app (nor its e2e tests: `article.message`)
 * ever matches it.
 */
import type { FirstScreen } from "$shared/first-screen";
import type { Message } from "$shared/chat";
import { escapeHtml, type MentionNames } from "../markdown/render-core";
import { renderMarkdownOnServer } from "./sanitize";

/** Formats one of the app's strings in the page's language (svelte-i18n's `$_` with a locale). */
export type Translate = (id: string, values?: Record<string, string | number>) => string;

/** Same as the app (MessageList): a message follows its author's previous one within 7 minutes. */
const GROUP_MS = 7 * 60_000;

/** The app's avatar hue (lib/format.ts avatarHue): 0–359, from the id. */
function avatarHue(id: string): number {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return hash % 360;
}

function initial(name: string): string {
  const first = Array.from(name.trim())[0];
  return first ? first.toLocaleUpperCase() : "?";
}

const hex = (color: number | null | undefined) => (color == null ? null : `#${color.toString(16).padStart(6, "0")}`);

/** One clock format per language: building an Intl.DateTimeFormat costs far more than using one (issue 14 goal 5). */
const clocks = new Map<string, Intl.DateTimeFormat | null>();

/** UTC fallback for a time, until first-screen.js formats it in the viewer's zone. */
function utcClock(at: number, locale: string): string {
  let clock = clocks.get(locale);
  if (clock === undefined) {
    try {
      clock = new Intl.DateTimeFormat(locale, { hour: "numeric", minute: "2-digit", timeZone: "UTC" });
    } catch {
      clock = null;
    }
    clocks.set(locale, clock);
  }
  return (clock ? clock.format(at) : new Date(at).toISOString().slice(11, 16)) + " UTC";
}

function avatar(id: string, name: string, url: string | null, size: "l" | "s"): string {
  const img = url ? `<img src="${escapeHtml(url)}" alt="" loading="lazy" decoding="async">` : "";
  // The hue's 30° bucket is a class (no inline style: the CSP); first-screen.js sets the exact hue.
  const hue = avatarHue(id);
  return `<span class="fs-avatar fs-${size} fs-hue${Math.floor(hue / 30)}${url ? " fs-img" : ""}" data-hue="${hue}" data-initial="${escapeHtml(initial(name))}" aria-hidden="true">${img}</span>`;
}

function time(at: number, locale: string, cls: string, format: "header" | "clock"): string {
  const iso = new Date(at).toISOString();
  return `<time class="${cls}" datetime="${iso}" data-format="${format}">${escapeHtml(utcClock(at, locale))}</time>`;
}

/** The page's title while the first screen shows (the app's: "#channel · community · Woxly"). */
export function firstScreenTitle(s: FirstScreen): string {
  return escapeHtml(`#${s.channel.name} · ${s.channel.communityName} · Woxly`);
}

/** The first screen's HTML for `s`, in `locale`, with the app's strings through `t`. */
export function renderFirstScreen(s: FirstScreen, locale: string, t: Translate): string {
  const personName = (id: string, fallback: string) => s.people[id]?.name ?? fallback;
  const names: MentionNames = {
    user: (id) => s.people[id]?.name ?? null,
    role: (id) => s.roles[id]?.name ?? null,
    meId: s.me.id,
    holdsRole: (id) => s.me.roleIds.includes(id),
    unknownUser: t("chat.mention.unknownUser"),
    unknownRole: t("chat.mention.unknownRole"),
    key: `fs:${locale}`,
  };

  const rows: string[] = [];
  let prev: Message | null = null;
  for (const m of s.messages) {
    if (m.deleted) continue;
    rows.push(messageHtml(m, prev));
    prev = m;
  }

  function messageHtml(m: Message, before: Message | null): string {
    const at = m.createdAt;
    if (m.system) {
      const who = personName(m.system.userId, m.system.name ?? "");
      return `<li class="fs-system">${time(at, locale, "fs-time", "header")}<span>${escapeHtml(t(`chat.system.${m.system.kind.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())}`, { name: who }))}</span></li>`;
    }
    const authorId = m.author?.id ?? "";
    const name = personName(authorId, m.author?.displayName ?? "");
    const grouped =
      !!before && !before.system && !m.replyTo && before.author?.id === authorId && at - before.createdAt < GROUP_MS;
    const person = s.people[authorId];
    const color = hex(person?.color);
    const parts: string[] = [];
    if (m.replyTo) {
      const r = m.replyTo;
      const preview =
        r.author && r.content !== null
          ? `${avatar(r.author.id, personName(r.author.id, r.author.displayName), s.people[r.author.id]?.avatarUrl ?? null, "s")}<span class="fs-reply-author">${escapeHtml(personName(r.author.id, r.author.displayName))}</span><span class="fs-reply-text">${escapeHtml(r.content.replace(/\s+/g, " "))}</span>`
          : `<span class="fs-reply-text fs-deleted">${escapeHtml(t("chat.reply.deleted"))}</span>`;
      parts.push(`<div class="fs-reply"><span class="fs-spine" aria-hidden="true"></span>${preview}</div>`);
    }
    parts.push(
      grouped
        ? `<div class="fs-gutter">${time(at, locale, "fs-hover-time", "clock")}</div>`
        : `<div class="fs-gutter">${avatar(authorId, name, person?.avatarUrl ?? null, "l")}</div>`,
    );
    const body: string[] = [];
    if (!grouped) {
      body.push(
        `<div class="fs-meta"><span class="fs-author"${color ? ` data-color="${color}"` : ""}>${escapeHtml(name)}</span>${time(at, locale, "fs-time", "header")}</div>`,
      );
    }
    if (m.content) {
      const edited = m.editedAt ? `<span class="fs-edited">${escapeHtml(t("chat.message.edited"))}</span>` : "";
      body.push(`<div class="fs-text">${renderMarkdownOnServer(m.content, names, m.mentions.roles)}${edited}</div>`);
    }
    if (m.attachments.length) {
      body.push(
        `<ul class="fs-files">${m.attachments.map((a) => `<li class="fs-file">${escapeHtml(a.filename)}</li>`).join("")}</ul>`,
      );
    }
    if (m.reactions.length) {
      body.push(
        `<ul class="fs-reactions">${m.reactions
          .slice(0, 20)
          .map((r) => `<li class="fs-reaction">${escapeHtml(r.emoji.startsWith("custom:") ? "★" : r.emoji)} <b>${r.count}</b></li>`)
          .join("")}</ul>`,
      );
    }
    parts.push(`<div class="fs-body">${body.join("")}</div>`);
    const mentionsMe =
      authorId !== s.me.id &&
      (m.mentions.users.includes(s.me.id) || m.mentions.everyone || m.mentions.here || m.mentions.roles.some((r) => s.me.roleIds.includes(r)));
    return `<li class="fs-msg${grouped ? " fs-grouped" : ""}${mentionsMe ? " fs-mentioned" : ""}">${parts.join("")}</li>`;
  }

  const topic = s.channel.topic ? `<span class="fs-topic">${escapeHtml(s.channel.topic)}</span>` : "";
  const start = s.hasBefore
    ? ""
    : `<li class="fs-start"><h2>${escapeHtml(t("chat.list.startTitle", { channel: s.channel.name }))}</h2><p>${escapeHtml(t("chat.list.startBody", { channel: s.channel.name }))}</p></li>`;
  return (
    `<div id="first-screen" class="fs" data-path="/c/${escapeHtml(s.channel.communityId)}/${escapeHtml(s.channel.id)}" data-locale="${escapeHtml(locale)}">` +
    `<div class="fs-rail" aria-hidden="true"></div><div class="fs-sidebar" aria-hidden="true"><div class="fs-community">${escapeHtml(s.channel.communityName)}</div></div>` +
    `<div class="fs-main">` +
    `<header class="fs-head"><span class="fs-hash" aria-hidden="true">#</span><h1>${escapeHtml(s.channel.name)}</h1>${topic}</header>` +
    `<div class="fs-strip" aria-hidden="true"></div>` +
    `<div class="fs-scroller"><ol class="fs-log" aria-label="${escapeHtml(t("chat.list.label", { channel: s.channel.name }))}">${start}${rows.join("")}</ol></div>` +
    `<div class="fs-composer" aria-hidden="true"><span>${escapeHtml(t("chat.composer.placeholder", { channel: `#${s.channel.name}` }))}</span></div>` +
    `</div></div>`
  );
}
