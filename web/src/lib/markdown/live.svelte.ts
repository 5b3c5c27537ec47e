/**
 * renderMarkdown for components: the same HTML, read through a rune that changes when a code
 * block's language has loaded (highlight.js loads on demand, ./highlight.ts), so a `$derived`
 * over it renders the block again, highlighted. render.ts itself stays rune-free (it is also
 * bundled bare for e2e/markdown-page.ts).
 */
import { highlightVersion, onHighlighterLoad } from "./highlight";
import { renderMarkdown, type MentionNames } from "./render";

let version = $state(highlightVersion());
onHighlighterLoad(() => {
  version = highlightVersion();
});

/** renderMarkdown, re-run by a `$derived` or template when highlighting becomes available. */
export function markdown(content: string, mentionNames?: MentionNames, roles?: readonly string[]): string {
  void version;
  return renderMarkdown(content, mentionNames, roles);
}
