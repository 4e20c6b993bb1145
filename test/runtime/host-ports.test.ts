/**
 * Host patterns, `[scheme://]host[:port]`: declared hosts may carry a port and a scheme
 * (IPv6 literals must not be mistaken for host:port); a credential grant for a bare host
 * covers https on port 443 only, anything else must be named.
 */
import { expect, test } from "bun:test";
import { formatHostPattern, hostMatches, parseHostPattern, secretMayGo } from "../../src/runtime/host-patterns";

test.each([
  [["::1"], "::1", "8080", true],
  [["[::1]:8080"], "::1", "8080", true],
  [["[::1]:8080"], "::1", "80", false],
  [["127.0.0.1:9000"], "127.0.0.1", "9000", true],
  [["127.0.0.1:9000"], "127.0.0.1", "9001", false],
  [["api.example.com"], "api.example.com", "443", true],
  [["api.example.com"], "API.example.com", "443", true],
  [["*.example.com"], "a.example.com", "443", true],
  [["*.example.com"], "a.b.example.com", "443", true],
  [["*.example.com"], "example.com", "443", false],
  [["*.example.com"], "evilexample.com", "443", false],
  [["*.example.com:8443"], "a.example.com", "443", false],
  [["example.com"], "evil-example.com", "443", false],
  [["http://example.com:8080"], "example.com", "8080", true],
  [["http://example.com:8080"], "example.com", "8081", false],
  [["example.com/path"], "example.com", "443", false],
] as [string[], string, string, boolean][])("reach: %j allows %s port %s: %s", (patterns, host, port, want) => {
  expect(hostMatches(patterns, host, port)).toBe(want);
});

test("reach: a scheme in the pattern restricts the scheme", () => {
  expect(hostMatches(["http://example.com:8080"], "example.com", "8080", "http")).toBe(true);
  expect(hostMatches(["http://example.com:8080"], "example.com", "8080", "https")).toBe(false);
  expect(hostMatches(["example.com"], "example.com", "8080", "http")).toBe(true);
});

test.each([
  // a bare host: https on 443 only (the §7 example: not plain http, not another port)
  [["api.example.com"], "https", "api.example.com", "443", true],
  [["api.example.com"], "http", "api.example.com", "80", false],
  [["api.example.com"], "http", "api.example.com", "8080", false],
  [["api.example.com"], "https", "api.example.com", "8443", false],
  // a port alone keeps https
  [["api.example.com:8443"], "https", "api.example.com", "8443", true],
  [["api.example.com:8443"], "http", "api.example.com", "8443", false],
  // scheme and port named
  [["http://api.example.com:8080"], "http", "api.example.com", "8080", true],
  [["http://api.example.com:8080"], "http", "api.example.com", "80", false],
  [["http://api.example.com:8080"], "https", "api.example.com", "8080", false],
  [["http://api.example.com"], "http", "api.example.com", "80", true],
  [["http://api.example.com"], "http", "api.example.com", "8080", false],
  [["https://api.example.com:8443"], "https", "api.example.com", "8443", true],
  // wildcards follow the same rule
  [["*.example.com"], "https", "a.example.com", "443", true],
  [["*.example.com"], "http", "a.example.com", "80", false],
  [["http://*.example.com:8080"], "http", "a.example.com", "8080", true],
  [["[::1]:8443"], "https", "::1", "8443", true],
  [["::1"], "http", "::1", "80", false],
] as [string[], "http" | "https", string, string, boolean][])("secret: %j may go to %s://%s:%s: %s", (patterns, scheme, host, port, want) => {
  expect(secretMayGo(patterns, scheme, host, port)).toBe(want);
});

test("parse and format", () => {
  expect(parseHostPattern("HTTP://API.Example.com:08080")).toEqual({ scheme: "http", host: "api.example.com", wildcard: false, port: "8080" });
  expect(parseHostPattern("*.example.com")).toEqual({ scheme: undefined, host: "example.com", wildcard: true, port: undefined });
  expect(parseHostPattern("[::1]:8080")).toEqual({ scheme: undefined, host: "::1", wildcard: false, port: "8080" });
  for (const bad of ["ftp://x.com", "x.com:0", "x.com:70000", "x.com/", "http://::1", "a b", "", "[zz::1]:80", "user@x.com"]) expect([bad, parseHostPattern(bad)]).toEqual([bad, null]);
  expect(formatHostPattern(parseHostPattern("HTTP://API.Example.com:08080")!)).toBe("http://api.example.com:8080");
  expect(formatHostPattern(parseHostPattern("https://[::1]:8443")!)).toBe("https://[::1]:8443");
});
