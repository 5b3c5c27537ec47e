/**
 * Mentions as typed and as sent: the composer shows `@username` and `@Role name`, the room
 * expects `<@id>` and `<@&roleId>` (see parseMentions in workers/shared/chat.ts). Code spans
 * and blocks are left alone. A role is encoded only when the author may ping it (mentionable,
 * or MENTION_EVERYONE, as the policy's canPingRole says); any other `@Role` stays text.
 */
interface NamedMember {
  id: string;
  username: string;
}

/** A community role as the composer offers it for mentions. */
export interface MentionRole {
  id: string;
  name: string;
  /** 0xRRGGBB, or null. */
  color: number | null;
  mentionable: boolean;
  isEveryone: boolean;
}

const CODE_OR_TYPED = /(```[\s\S]*?```|`[^`\n]*`)|(^|[^\w<@])@([A-Za-z0-9_.-]{2,32})/g;
const CODE_OR_ENCODED = /(```[\s\S]*?```|`[^`\n]*`)|<@(&?)([0-9A-Za-z_-]{1,64})>/g;
const CODE = /```[\s\S]*?```|`[^`\n]*`/g;
/** What may not follow a role name for `@Name` to be that role (it would be a longer word). */
const WORD_CHAR = /[\p{L}\p{N}_]/u;

/** The roles this author may ping by name: not @everyone; mentionable, or any with MENTION_EVERYONE. */
export function pingableRoles<R extends MentionRole>(roles: readonly R[], mentionEveryone: boolean): R[] {
  return roles.filter((r) => !r.isEveryone && r.name.trim() !== "" && (r.mentionable || mentionEveryone));
}

/**
 * `@username` of a member → `<@id>`, then `@Role name` of a pingable role → `<@&id>` (longest
 * name first, case-insensitive, not followed by a letter or digit); a trailing "." or "-"
 * that is not part of a name stays text.
 */
export function encodeMentions(text: string, members: readonly NamedMember[], roles: readonly Pick<MentionRole, "id" | "name">[] = []): string {
  const byName = new Map(members.map((m) => [m.username.toLowerCase(), m.id]));
  const users = text.replace(CODE_OR_TYPED, (all, code: string | undefined, lead: string, name: string) => {
    if (code) return all;
    const used = byName.has(name.toLowerCase()) ? name : name.replace(/[.-]+$/, "");
    const id = byName.get(used.toLowerCase());
    if (!id) return all;
    return `${lead}<@${id}>${name.slice(used.length)}`;
  });
  return roles.length ? encodeRoles(users, roles) : users;
}

function encodeRoles(text: string, roles: readonly Pick<MentionRole, "id" | "name">[]): string {
  const sorted = [...roles].filter((r) => r.name).sort((a, b) => b.name.length - a.name.length);
  let out = "";
  let last = 0;
  // Walk the prose between code spans; code is copied as it is.
  const pieces: [string, boolean][] = [];
  for (const m of text.matchAll(CODE)) {
    pieces.push([text.slice(last, m.index), true], [m[0], false]);
    last = m.index + m[0].length;
  }
  pieces.push([text.slice(last), true]);
  for (const [piece, prose] of pieces) out += prose ? encodeRolesInProse(piece, sorted) : piece;
  return out;
}

function encodeRolesInProse(prose: string, sorted: readonly Pick<MentionRole, "id" | "name">[]): string {
  let out = "";
  let i = 0;
  while (i < prose.length) {
    const at = prose.indexOf("@", i);
    if (at < 0) break;
    const before = at > 0 ? prose[at - 1]! : "";
    out += prose.slice(i, at);
    i = at + 1;
    if (before && (WORD_CHAR.test(before) || before === "<" || before === "@")) {
      out += "@";
      continue;
    }
    const rest = prose.slice(at + 1);
    const lower = rest.toLowerCase();
    const role = sorted.find((r) => lower.startsWith(r.name.toLowerCase()) && !WORD_CHAR.test(rest.charAt(r.name.length)));
    if (!role) {
      out += "@";
      continue;
    }
    out += `<@&${role.id}>`;
    i = at + 1 + role.name.length;
  }
  return out + prose.slice(i);
}

/** `<@id>` of a known member → `@username` and `<@&id>` of a known role → `@Role name`, for editing a sent message. */
export function decodeMentions(text: string, members: readonly NamedMember[], roles: readonly Pick<MentionRole, "id" | "name">[] = []): string {
  const byId = new Map(members.map((m) => [m.id, m.username]));
  const roleById = new Map(roles.map((r) => [r.id, r.name]));
  return text.replace(CODE_OR_ENCODED, (all, code: string | undefined, amp: string, id: string) => {
    if (code) return all;
    const name = amp ? roleById.get(id) : byId.get(id);
    return name ? `@${name}` : all;
  });
}

/** Roles whose name starts with (then contains) `query`, case-insensitive, up to `limit`. */
export function matchRoles<R extends MentionRole>(roles: readonly R[], query: string, limit: number): R[] {
  const q = query.toLowerCase();
  const starts = roles.filter((r) => r.name.toLowerCase().startsWith(q));
  const contains = q ? roles.filter((r) => !r.name.toLowerCase().startsWith(q) && r.name.toLowerCase().includes(q)) : [];
  return [...starts, ...contains].slice(0, limit);
}
