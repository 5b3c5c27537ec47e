/**
 * Where to go after logging in: the `?next=` path when it is a same-site relative path
 * (one leading slash, no scheme, no `//host`, no backslash tricks), else home.
 */
export function safeNext(raw: string | null | undefined, origin: string = location.origin): string {
  if (!raw || !raw.startsWith("/") || raw.startsWith("//") || raw.includes("\\")) return "/";
  try {
    const url = new URL(raw, origin);
    if (url.origin !== origin) return "/";
    return url.pathname + url.search + url.hash;
  } catch {
    return "/";
  }
}

/** The login page's address for someone who was sent away from `url`. */
export function loginUrl(url: URL): string {
  const here = url.pathname + url.search;
  return here === "/" ? "/login" : `/login?next=${encodeURIComponent(here)}`;
}
