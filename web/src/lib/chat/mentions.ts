/**
 * Mentions as typed and as sent: the composer shows `@username`, the room expects `<@id>`
 * (see parseMentions in workers/shared/chat.ts). Code spans and blocks are left alone.
 */
interface NamedMember {
  id: string;
  username: string;
}

const CODE_OR_TYPED = /(```[\s\S]*?```|`[^`\n]*`)|(^|[^\w<@])@([A-Za-z0-9_.-]{2,32})/g;
const CODE_OR_ENCODED = /(```[\s\S]*?```|`[^`\n]*`)|<@([0-9A-Za-z_-]{1,64})>/g;

/** `@username` of a member → `<@id>`; a trailing "." or "-" that is not part of a name stays text. */
export function encodeMentions(text: string, members: readonly NamedMember[]): string {
  const byName = new Map(members.map((m) => [m.username.toLowerCase(), m.id]));
  return text.replace(CODE_OR_TYPED, (all, code: string | undefined, lead: string, name: string) => {
    if (code) return all;
    const used = byName.has(name.toLowerCase()) ? name : name.replace(/[.-]+$/, "");
    const id = byName.get(used.toLowerCase());
    if (!id) return all;
    return `${lead}<@${id}>${name.slice(used.length)}`;
  });
}

/** `<@id>` of a known member → `@username`, for editing a sent message. */
export function decodeMentions(text: string, members: readonly NamedMember[]): string {
  const byId = new Map(members.map((m) => [m.id, m.username]));
  return text.replace(CODE_OR_ENCODED, (all, code: string | undefined, id: string) => {
    if (code) return all;
    const name = byId.get(id);
    return name ? `@${name}` : all;
  });
}
