/** Declared hosts may carry a port; IPv6 literals must not be mistaken for host:port. */
import { expect, test } from "bun:test";
import { hostMatches } from "../../src/runtime/ip-policy";

test.each([
  [["::1"], "::1", "8080", true],
  [["[::1]:8080"], "::1", "8080", true],
  [["[::1]:8080"], "::1", "80", false],
  [["127.0.0.1:9000"], "127.0.0.1", "9000", true],
  [["127.0.0.1:9000"], "127.0.0.1", "9001", false],
  [["api.example.com"], "api.example.com", "443", true],
  [["*.example.com"], "a.example.com", "443", true],
  [["*.example.com:8443"], "a.example.com", "443", false],
  [["example.com"], "evil-example.com", "443", false],
] as [string[], string, string, boolean][])("%j allows %s port %s: %s", (patterns, host, port, want) => {
  expect(hostMatches(patterns, host, port)).toBe(want);
});
