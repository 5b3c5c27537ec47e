/**
 * Shared by the web app's typed API client (web/src/lib/api.ts) and the tests' (tests/helpers.ts).
 * Imports nothing.
 */

/**
 * Path parameters percent-encoded: `hc` puts them into the path as they are (honojs/hono#3933),
 * so an id taken from the address bar could otherwise reach another route ("../", "/").
 */
export function encodingParams<T extends object>(target: T): T {
  return new Proxy(target, {
    get(t, key) {
      const v: unknown = Reflect.get(t, key);
      return typeof v === "function" ? encodingParams(v) : v;
    },
    apply(t, self, args: unknown[]) {
      const first = args[0];
      if (first && typeof first === "object" && "param" in first && first.param && typeof first.param === "object") {
        const param = Object.fromEntries(Object.entries(first.param).map(([k, v]) => [k, encodeURIComponent(String(v))]));
        args = [{ ...first, param }, ...args.slice(1)];
      }
      return Reflect.apply(t as (...a: unknown[]) => unknown, self, args);
    },
  });
}
