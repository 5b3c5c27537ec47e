/**
 * The SSRF guard (workers/core/ssrf-guard.ts) against a corpus of addresses and URLs, inside
 * workerd (its URL parser is the one production uses). Two option sets: production (no
 * allowance, the stand-in DoH of tests/stand-ins/link-pages.ts) and the test allowance
 * (loopback hosts pass). Names are resolved by the stand-in DNS-over-HTTPS, so nothing
 * leaves loopback; no name is ever fetched.
 */
import { env } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { FetchRefused, checkTarget, checkUrl, classifyAddress, guardedFetch, parseIPv4, parseIPv6, resolvePublic, type GuardOptions } from "../workers/core/ssrf-guard";
import { guardOptions } from "../workers/core/link-previews";

const pages = inject("linkPagesUrl");
const PROD: GuardOptions = { allowLoopback: false, dohUrl: `${pages}/dns-query` };
const TESTS: GuardOptions = { allowLoopback: true, dohUrl: `${pages}/dns-query` };

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (e instanceof FetchRefused) return e.reason;
    throw e;
  }
  return "allowed";
}

describe("literal addresses", () => {
  const PRIVATE_V4 = [
    "127.0.0.1",
    "127.1",
    "0x7f.0.0.1",
    "0x7f000001",
    "2130706433",
    "0177.0.0.1",
    "017700000001",
    "127.0.0.1.",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.0.1",
    "192.168.255.255",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.255",
    "0.0.0.0",
    "0",
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "240.0.0.1",
    "192.0.2.1",
    "198.18.0.1",
    "192.0.0.8",
  ];
  it.each(PRIVATE_V4)("%s is not public", (ip) => {
    expect(classifyAddress(ip)).not.toBe("public");
  });

  it("the short and numeric forms are the addresses they spell", () => {
    const loop = parseIPv4("127.0.0.1");
    for (const form of ["127.1", "0x7f.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "127.0.1"]) expect(parseIPv4(form), form).toBe(loop);
    expect(parseIPv4("256.0.0.1")).toBe("invalid");
    expect(parseIPv4("1.2.3.4.5")).toBe("invalid");
    expect(parseIPv4("example.com")).toBeNull();
    expect(classifyAddress("4294967296")).toBe("private"); // out of range: refused, not guessed
  });

  const PUBLIC_V4 = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1", "192.169.0.1"];
  it.each(PUBLIC_V4)("%s is public", (ip) => {
    expect(classifyAddress(ip)).toBe("public");
  });

  const PRIVATE_V6 = [
    "::1",
    "[::1]",
    "::",
    "0:0:0:0:0:0:0:1",
    "fe80::",
    "fe80::1ff:fe23:4567:890a",
    "fc00::",
    "fd12:3456:789a::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",
    "64:ff9b::10.0.0.1",
    "64:ff9b:1::1",
    "::127.0.0.1",
    "::ffff:0:127.0.0.1",
    "2002:7f00:1::",
    "2002:c0a8:101::1",
    "2001:db8::1",
    "2001::1",
    "100::1",
    "fec0::1",
    "fe80::1%25eth0",
  ];
  it.each(PRIVATE_V6)("%s is not public", (ip) => {
    expect(classifyAddress(ip)).not.toBe("public");
  });

  const PUBLIC_V6 = ["2606:4700:4700::1111", "2a00:1450:4001:82b::200e", "::ffff:93.184.216.34", "64:ff9b::808:808", "2002:5db8:d822::1"];
  it.each(PUBLIC_V6)("%s is public", (ip) => {
    expect(classifyAddress(ip)).toBe("public");
  });

  it("parses compressed, full and embedded IPv6 alike", () => {
    expect(parseIPv6("::ffff:127.0.0.1")).toBe(parseIPv6("::ffff:7f00:1"));
    expect(parseIPv6("0:0:0:0:0:ffff:7f00:1")).toBe(parseIPv6("::ffff:7f00:1"));
    expect(parseIPv6("1::2::3")).toBeNull();
    expect(parseIPv6("12345::")).toBeNull();
  });
});

describe("URLs (production options)", () => {
  const REFUSED: [string, string][] = [
    ["http://127.0.0.1/", "private_address"],
    ["http://127.1/", "private_address"],
    ["http://0x7f.0.0.1/", "private_address"],
    ["http://2130706433/", "private_address"],
    ["http://0177.0.0.1/", "private_address"],
    ["http://10.1.2.3/", "private_address"],
    ["http://172.16.5.4/", "private_address"],
    ["http://192.168.1.1/", "private_address"],
    ["http://169.254.169.254/latest/meta-data/", "private_address"],
    ["http://100.64.0.1/", "private_address"],
    ["http://0.0.0.0/", "private_address"],
    ["http://[::1]/", "private_address"],
    ["http://[fe80::1]/", "private_address"],
    ["http://[fc00::1]/", "private_address"],
    ["http://[::ffff:127.0.0.1]/", "private_address"],
    ["http://[::ffff:7f00:1]/", "private_address"],
    ["http://[64:ff9b::7f00:1]/", "private_address"],
    ["file:///etc/passwd", "scheme"],
    ["ftp://example.com/file", "scheme"],
    ["javascript:alert(1)", "scheme"],
    ["data:text/html,hi", "scheme"],
    ["gopher://example.com/", "scheme"],
    ["http://evil@127.0.0.1/", "userinfo"],
    ["http://user:pass@example.com/", "userinfo"],
    ["http://example.com@127.0.0.1/", "userinfo"],
    ["http://example.com:8080/", "port"],
    ["https://example.com:22/", "port"],
    ["http://127.0.0.1:80/", "private_address"],
    ["http://localhost/", "host"],
    ["http://foo.localhost/", "host"],
    ["http://printer.local/", "host"],
    ["http://metadata.google.internal/", "host"],
    ["http://intranet/", "host"],
    ["not a url", "invalid_url"],
  ];
  it.each(REFUSED)("%s → %s", async (url, reason) => {
    expect(await refusal(checkTarget(url, PROD))).toBe(reason);
  });

  it("default ports are fine, explicit or not", () => {
    expect(checkUrl("https://example.com:443/x", PROD).url.port).toBe("");
    expect(checkUrl("http://example.com:80/x", PROD).url.port).toBe("");
  });

  it("the test allowance lets loopback through, on any port, and nothing else", async () => {
    for (const url of ["http://127.0.0.1:9/", "http://127.1:8080/", "http://localhost:3000/", "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/"]) {
      expect(await refusal(checkTarget(url, TESTS)), url).toBe("allowed");
    }
    for (const [url, reason] of [
      ["http://10.0.0.1/", "private_address"],
      ["http://169.254.169.254/", "private_address"],
      ["http://evil@127.0.0.1/", "userinfo"],
      ["file:///etc/passwd", "scheme"],
      ["http://example.com:8080/", "port"],
    ] as const) {
      expect(await refusal(checkTarget(url, TESTS)), url).toBe(reason);
    }
  });

  it("the test configuration switches the allowance on, and it is off without the variable", () => {
    expect(guardOptions(env).allowLoopback).toBe(true);
    expect(guardOptions({ PASSWORD_PEPPER: "x" }).allowLoopback).toBe(false);
    expect(guardOptions({ PASSWORD_PEPPER: "x" }).dohUrl).toBe("https://cloudflare-dns.com/dns-query");
  });
});

describe("names, resolved over DNS-over-HTTPS (the stand-in)", () => {
  it.each([
    ["private.example.com", "private_address"],
    ["metadata.example.com", "private_address"],
    ["mixed.example.com", "private_address"], // one private answer among public ones is enough
    ["v6private.example.com", "private_address"], // public A, private AAAA
    ["mapped.example.com", "private_address"],
    ["nat64.example.com", "private_address"],
    ["cname.example.com", "private_address"],
    ["loop.example.com", "private_address"], // a name to loopback, even with the allowance
    ["nowhere.example.com", "dns_failed"],
  ])("%s → %s", async (name, reason) => {
    expect(await refusal(resolvePublic(name, PROD))).toBe(reason);
    expect(await refusal(checkTarget(`https://${name}/page`, TESTS))).toBe(reason);
  });

  it("a name with only public addresses passes (it is not fetched here)", async () => {
    expect(await resolvePublic("public.example.com", PROD)).toEqual(["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]);
  });
});

describe("fetching through the guard (the stand-in on loopback, with the test allowance)", () => {
  const HTML = { accept: "text/html", contentType: (t: string) => t === "text/html", maxBytes: 512 * 1024, overflow: "truncate" as const, timeoutMs: 5000, maxRedirects: 3 };

  it("follows a redirect to an allowed page", async () => {
    const got = await guardedFetch(`${pages}/redirect-ok`, HTML, TESTS);
    expect(got.url).toBe(`${pages}/page`);
    expect(new TextDecoder().decode(got.body)).toContain("og:title");
  });

  it("re-checks every hop: a redirect to a private address, a private name or file: is refused", async () => {
    expect(await refusal(guardedFetch(`${pages}/redirect-private`, HTML, TESTS))).toBe("private_address");
    expect(await refusal(guardedFetch(`${pages}/redirect-private-name`, HTML, TESTS))).toBe("private_address");
    expect(await refusal(guardedFetch(`${pages}/redirect-file`, HTML, TESTS))).toBe("scheme");
  });

  it("follows at most 3 redirects", async () => {
    expect(await refusal(guardedFetch(`${pages}/r2`, HTML, TESTS))).toBe("allowed"); // r2 → r3 → r4 → page
    expect(await refusal(guardedFetch(`${pages}/r1`, HTML, TESTS))).toBe("too_many_redirects");
  });

  it("checks the content type", async () => {
    expect(await refusal(guardedFetch(`${pages}/json`, HTML, TESTS))).toBe("content_type");
  });

  it("stops reading at the byte cap: truncates a page, refuses an oversized image", async () => {
    const got = await guardedFetch(`${pages}/big-page`, HTML, TESTS);
    expect(got.truncated).toBe(true);
    expect(got.body.byteLength).toBe(512 * 1024);
    const img = { ...HTML, accept: "image/png", contentType: (t: string) => t === "image/png", maxBytes: 1024 * 1024, overflow: "refuse" as const };
    expect(await refusal(guardedFetch(`${pages}/huge.png`, img, TESTS))).toBe("too_large");
  });

  it("gives up after the time cap", async () => {
    expect(await refusal(guardedFetch(`${pages}/slow`, { ...HTML, timeoutMs: 500 }, TESTS))).toBe("timeout");
  });

  it("without the allowance the same stand-in is out of reach", async () => {
    expect(await refusal(guardedFetch(`${pages}/page`, HTML, PROD))).toBe("port");
  });
});
