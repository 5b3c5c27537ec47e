/**
 * Stands in for postcss in the server build. sanitize-html imports it only to parse `style`
 * attributes, which the first screen's allowlist never keeps (and `parseStyleAttributes` is
 * off): the Worker carries no CSS parser, and postcss's browser-field mappings (`fs`, `path`,
 * `source-map-js` → false) do not load in workerd's test runner. Reaching it is a bug.
 */
export function parse(): never {
  throw new Error("postcss is not part of the server build (sanitize-html's style parsing is off)");
}
export default { parse };
