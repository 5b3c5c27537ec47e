/**
 * The SSRF guard for every fetch Woxly makes on a member's behalf (link previews and their
 * image proxy; docs/link-previews.md): only http(s), no userinfo, default ports, public
 * addresses only — literal IPs in every form the URL parser accepts (decimal, octal, hex,
 * short forms, IPv6 with embedded IPv4) and names after resolving them over DNS-over-HTTPS
 * (a Worker cannot resolve names itself) — redirects followed by hand, each hop checked
 * again, a time cap over the whole chain, a byte cap on the body and a content-type check.
 *
 * Test allowance (`allowLoopback`): loopback hosts (127.0.0.0/8, ::1, `localhost`) pass, on
 * any port, without DNS. Only the test configurations switch it on (LINK_PREVIEW_ALLOW_LOOPBACK,
 * absent from wrangler.toml); everything else is checked as in production.
 */

export interface GuardOptions {
  /** Tests only: loopback hosts pass, on any port, and skip DNS. */
  allowLoopback: boolean;
  /** A DNS-over-HTTPS JSON endpoint (`?name=…&type=A`), e.g. https://cloudflare-dns.com/dns-query. */
  dohUrl: string;
}

export const DEFAULT_DOH_URL = "https://cloudflare-dns.com/dns-query";

export type RefusalReason =
  | "invalid_url"
  | "scheme"
  | "userinfo"
  | "port"
  | "host"
  | "private_address"
  | "dns_failed"
  | "too_many_redirects"
  | "status"
  | "content_type"
  | "too_large"
  | "timeout"
  | "network";

/** A fetch the guard would not make (or a response it would not read). */
export class FetchRefused extends Error {
  constructor(
    readonly reason: RefusalReason,
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = "FetchRefused";
  }
}

export type AddressClass = "public" | "loopback" | "private";

// ---------------------------------------------------------------------------------------
// Literal addresses
// ---------------------------------------------------------------------------------------

/**
 * An IPv4 address in any form the WHATWG URL parser reads (`127.1`, `0x7f.0.0.1`,
 * `2130706433`, `0177.0.0.1`, a trailing dot) as a 32-bit number; null when `host` is not
 * one (a name); "invalid" when it looks like one but is out of range.
 */
export function parseIPv4(host: string): number | null | "invalid" {
  const parts = host.split(".");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  if (!parts.length || parts.length > 4) return looksNumeric(parts[parts.length - 1] ?? "") ? "invalid" : null;
  const nums: number[] = [];
  for (const p of parts) {
    const n = ipv4Part(p);
    if (n === null) return looksNumeric(parts[parts.length - 1]!) ? "invalid" : null;
    nums.push(n);
  }
  const last = nums.pop()!;
  if (nums.some((n) => n > 255) || last >= 256 ** (4 - nums.length)) return "invalid";
  let value = last;
  nums.forEach((n, i) => (value += n * 256 ** (3 - i)));
  return value;
}

function looksNumeric(p: string): boolean {
  return /^(0x[0-9a-f]*|[0-9]+)$/i.test(p);
}

function ipv4Part(p: string): number | null {
  if (/^0x[0-9a-f]*$/i.test(p)) return p.length === 2 ? 0 : parseInt(p.slice(2), 16);
  if (/^0[0-7]+$/.test(p)) return parseInt(p.slice(1), 8);
  if (/^(0|[1-9][0-9]*)$/.test(p)) return Number(p);
  return null;
}

/** An IPv6 address (without brackets; no zone) as a 128-bit number, or null. */
export function parseIPv6(text: string): bigint | null {
  let s = text.toLowerCase();
  if (s.includes("%")) return null;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  const last = s.slice(lastColon + 1);
  if (last.includes(".")) {
    // An embedded IPv4 address in the last 32 bits (::ffff:127.0.0.1), dotted quad only.
    const n = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(last);
    if (!n || n.slice(1).some((x) => Number(x) > 255)) return null;
    const b = n.slice(1).map(Number);
    tail = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith("::")) s = s.slice(0, -1);
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const group = (g: string) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN);
  const head = halves[0] ? halves[0].split(":").map(group) : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(":").map(group) : [];
  if ([...head, ...rest].some((g) => Number.isNaN(g))) return null;
  const total = head.length + rest.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    if (total > 7) return null;
    groups = [...head, ...new Array<number>(8 - total).fill(0), ...rest, ...tail];
  } else {
    if (total !== 8) return null;
    groups = [...head, ...tail];
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** IPv4 ranges that are not public: [first address, prefix length]. */
const V4_BLOCKED: [string, number][] = [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.31.196.0", 24],
  ["192.52.193.0", 24],
  ["192.88.99.0", 24], // 6to4 relay anycast
  ["192.168.0.0", 16],
  ["192.175.48.0", 24],
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
];
const V4_RANGES = V4_BLOCKED.map(([a, len]) => [parseIPv4(a) as number, len] as const);

export function classifyIPv4(ip: number): AddressClass {
  if (ip >>> 24 === 127) return "loopback";
  for (const [base, len] of V4_RANGES) {
    const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
    if (((ip & mask) >>> 0) === base) return "private";
  }
  return "public";
}

const V6 = (s: string) => parseIPv6(s)!;
function inV6(ip: bigint, base: string, len: number): boolean {
  const shift = BigInt(128 - len);
  return ip >> shift === V6(base) >> shift;
}
/** IPv6 ranges that are never public, whatever they embed. */
const V6_BLOCKED: [string, number][] = [
  ["64:ff9b:1::", 48], // local-use NAT64
  ["100::", 64], // discard
  ["2001::", 23], // IETF protocol assignments (Teredo, ORCHID, ...)
  ["2001:db8::", 32], // documentation
  ["3fff::", 20], // documentation
  ["5f00::", 16], // SRv6 SIDs
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local
  ["ff00::", 8], // multicast
];

export function classifyIPv6(ip: bigint): AddressClass {
  if (ip === 1n) return "loopback";
  if (ip === 0n) return "private";
  const low32 = Number(ip & 0xffffffffn);
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) are the embedded address.
  if (inV6(ip, "::ffff:0:0", 96) || inV6(ip, "64:ff9b::", 96)) return classifyIPv4(low32);
  // IPv4-compatible (::a.b.c.d, deprecated) and SIIT (::ffff:0:a.b.c.d): never public.
  if (inV6(ip, "::", 96) || inV6(ip, "::ffff:0:0:0", 96)) return "private";
  // 6to4 (2002:AABB:CCDD::) carries an IPv4 address in bits 16-48.
  if (inV6(ip, "2002::", 16)) return classifyIPv4(Number((ip >> 80n) & 0xffffffffn)) === "public" ? "public" : "private";
  for (const [base, len] of V6_BLOCKED) if (inV6(ip, base, len)) return "private";
  // Only global unicast (2000::/3) is routed on the internet.
  return inV6(ip, "2000::", 3) ? "public" : "private";
}

/** Classifies a literal address (IPv4 in any form, IPv6 with or without brackets); null for a name. */
export function classifyAddress(text: string): AddressClass | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (bare.includes(":")) {
    const v6 = parseIPv6(bare);
    return v6 === null ? "private" : classifyIPv6(v6);
  }
  const v4 = parseIPv4(bare);
  if (v4 === "invalid") return "private";
  return v4 === null ? null : classifyIPv4(v4);
}

// ---------------------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------------------

/** Names that never point at the internet. */
const LOCAL_SUFFIXES = [".localhost", ".local", ".internal", ".intranet", ".lan", ".home", ".corp", ".home.arpa", ".arpa", ".onion", ".test", ".invalid"];

export interface CheckedUrl {
  url: URL;
  /** The host without brackets, lower-case, no trailing dot. */
  host: string;
  /** The address class of a literal IP host, or null for a name (resolve it). */
  literal: AddressClass | null;
  /** A loopback host let through by the test allowance (no DNS). */
  loopbackAllowed: boolean;
}

/** Checks everything about a URL that needs no DNS. Throws FetchRefused. */
export function checkUrl(raw: string, opts: GuardOptions): CheckedUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchRefused("invalid_url", "not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new FetchRefused("scheme", url.protocol);
  if (url.username || url.password) throw new FetchRefused("userinfo", "credentials in the URL");
  let host = url.hostname.toLowerCase();
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (!host) throw new FetchRefused("host", "no host");
  const literal = classifyAddress(host);
  const isLoopback = literal === "loopback" || (literal === null && host === "localhost");
  const loopbackAllowed = opts.allowLoopback && isLoopback;
  if (url.port !== "" && !loopbackAllowed) throw new FetchRefused("port", url.port);
  if (literal !== null) {
    if (literal !== "public" && !loopbackAllowed) throw new FetchRefused("private_address", host);
    return { url, host, literal, loopbackAllowed };
  }
  if (loopbackAllowed) return { url, host, literal, loopbackAllowed };
  // A name: a dotted, plausible internet name, not one of the local-only suffixes.
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(host) || !host.includes(".")) throw new FetchRefused("host", host);
  if (host === "localhost" || LOCAL_SUFFIXES.some((s) => host.endsWith(s))) throw new FetchRefused("host", host);
  return { url, host, literal, loopbackAllowed };
}

// ---------------------------------------------------------------------------------------
// DNS over HTTPS
// ---------------------------------------------------------------------------------------

interface DohAnswer {
  Status?: number;
  Answer?: { type?: number; data?: string }[];
}

/**
 * Resolves `host` over DNS-over-HTTPS (A and AAAA) and refuses it unless every address is
 * public: one private answer is enough to refuse (a name may list a public address to get
 * past a check and a private one for the fetch). Returns the addresses.
 */
export async function resolvePublic(host: string, opts: GuardOptions, signal?: AbortSignal): Promise<string[]> {
  const answers = await Promise.all(
    (["A", "AAAA"] as const).map(async (type) => {
      const q = new URL(opts.dohUrl);
      q.searchParams.set("name", host);
      q.searchParams.set("type", type);
      let body: DohAnswer;
      try {
        const res = await fetch(q, { headers: { accept: "application/dns-json" }, redirect: "manual", signal });
        if (!res.ok) throw new Error(`status ${res.status}`);
        body = (await res.json()) as DohAnswer;
      } catch (e) {
        if (signal?.aborted) throw new FetchRefused("timeout", "DNS");
        throw new FetchRefused("dns_failed", `${type} ${String(e)}`);
      }
      if (body.Status !== 0 && body.Status !== 3) throw new FetchRefused("dns_failed", `${type} status ${String(body.Status)}`);
      const want = type === "A" ? 1 : 28;
      return (body.Answer ?? []).filter((a) => a.type === want && typeof a.data === "string").map((a) => a.data!);
    }),
  );
  const addresses = answers.flat();
  if (!addresses.length) throw new FetchRefused("dns_failed", `${host} has no address`);
  for (const a of addresses) {
    const cls = classifyAddress(a);
    if (cls === null) throw new FetchRefused("dns_failed", `not an address: ${a}`);
    // A name is never let through to loopback, not even with the test allowance (only literal
    // loopback hosts and `localhost` are).
    if (cls !== "public") throw new FetchRefused("private_address", `${host} → ${a}`);
  }
  return addresses;
}

/** Checks a URL in full (no DNS for literal hosts and allowed loopback). Throws FetchRefused. */
export async function checkTarget(raw: string, opts: GuardOptions, signal?: AbortSignal): Promise<URL> {
  const c = checkUrl(raw, opts);
  if (c.literal === null && !c.loopbackAllowed) await resolvePublic(c.host, opts, signal);
  return c.url;
}

// ---------------------------------------------------------------------------------------
// Fetch
// ---------------------------------------------------------------------------------------

export interface GuardedFetch {
  /** Sent as Accept. */
  accept: string;
  /** Whether a response's media type (lower-case, no parameters) is wanted. */
  contentType: (mediaType: string) => boolean;
  /** The most of the body read, bytes. */
  maxBytes: number;
  /** "truncate": stop reading there and keep what came (a page's head is enough); "refuse": fail. */
  overflow: "truncate" | "refuse";
  /** For the whole chain (DNS, redirects, body), ms. */
  timeoutMs: number;
  maxRedirects: number;
}

export interface FetchedBody {
  /** The URL the body came from (after redirects). */
  url: string;
  /** The media type, lower-case without parameters. */
  mediaType: string;
  /** The charset parameter, if any. */
  charset: string | null;
  body: Uint8Array;
  truncated: boolean;
}

const USER_AGENT = "Mozilla/5.0 (compatible; WoxlyBot/0.1; link previews)";

/** Fetches `raw` through the guard. Throws FetchRefused for anything it will not do or read. */
export async function guardedFetch(raw: string, want: GuardedFetch, opts: GuardOptions): Promise<FetchedBody> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), want.timeoutMs);
  try {
    let current = raw;
    for (let hop = 0; ; hop++) {
      const url = await checkTarget(current, opts, controller.signal);
      let res: Response;
      try {
        res = await fetch(url, {
          method: "GET",
          redirect: "manual",
          signal: controller.signal,
          headers: { accept: want.accept, "user-agent": USER_AGENT, "accept-language": "en" },
        });
      } catch (e) {
        throw controller.signal.aborted ? new FetchRefused("timeout", "fetch") : new FetchRefused("network", String(e));
      }
      if (res.status >= 300 && res.status < 400 && res.status !== 304) {
        await res.body?.cancel();
        const location = res.headers.get("location");
        if (!location) throw new FetchRefused("status", `${res.status} without Location`);
        if (hop >= want.maxRedirects) throw new FetchRefused("too_many_redirects", String(hop + 1));
        current = new URL(location, url).toString();
        continue;
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new FetchRefused("status", String(res.status));
      }
      const ct = res.headers.get("content-type") ?? "";
      const mediaType = ct.split(";")[0]!.trim().toLowerCase();
      if (!want.contentType(mediaType)) {
        await res.body?.cancel();
        throw new FetchRefused("content_type", mediaType || "none");
      }
      const charset = /charset\s*=\s*"?([\w.:-]+)/i.exec(ct)?.[1]?.toLowerCase() ?? null;
      const declared = Number(res.headers.get("content-length") ?? NaN);
      if (want.overflow === "refuse" && declared > want.maxBytes) {
        await res.body?.cancel();
        throw new FetchRefused("too_large", String(declared));
      }
      const { body, truncated } = await readCapped(res, want.maxBytes, controller.signal);
      if (truncated && want.overflow === "refuse") throw new FetchRefused("too_large", `over ${want.maxBytes}`);
      return { url: url.toString(), mediaType, charset, body, truncated };
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Reads at most `max` bytes of a body and cancels the rest. */
async function readCapped(res: Response, max: number, signal: AbortSignal): Promise<{ body: Uint8Array; truncated: boolean }> {
  if (!res.body) return { body: new Uint8Array(), truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = max - size;
      if (value.byteLength > room) {
        chunks.push(value.subarray(0, room));
        size = max;
        truncated = true;
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } catch (e) {
    throw signal.aborted ? new FetchRefused("timeout", "body") : new FetchRefused("network", String(e));
  } finally {
    if (truncated) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return { body, truncated };
}
