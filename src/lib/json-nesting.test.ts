/** The nesting scans (text and bytes) agree, respect strings and escapes, and stop early. */
import { expect, test } from "bun:test";
import { bytesNestDeeperThan, nestsDeeperThan } from "./json-nesting";

const enc = (s: string) => new TextEncoder().encode(s);
/** Both scans, which must agree. */
const deeper = (s: string, max: number) => {
  const a = nestsDeeperThan(s, max);
  expect(bytesNestDeeperThan(enc(s), max)).toBe(a);
  return a;
};
const nest = (n: number) => "[".repeat(n) + "]".repeat(n);

test("counts arrays and objects", () => {
  expect(deeper('{"a":[1,{"b":[]}]}', 4)).toBe(false);
  expect(deeper('{"a":[1,{"b":[]}]}', 3)).toBe(true);
  expect(deeper("[[],[[]],[]]" + " ".repeat(20), 2)).toBe(true);
  expect(deeper(nest(64), 64)).toBe(false);
  expect(deeper(nest(65), 64)).toBe(true);
});

test("brackets inside strings do not count; escapes are respected", () => {
  const pad = " ".repeat(40);
  expect(deeper(`{"a":"[[[[{{{{"}${pad}`, 2)).toBe(false);
  expect(deeper(`["\\"[[[["]${pad}`, 2)).toBe(false); // an escaped quote does not end the string
  expect(deeper(`["\\\\",[[]]]${pad}`, 2)).toBe(true); // an escaped backslash does end it
  expect(deeper(`["\\\\\\"[[["]${pad}`, 2)).toBe(false);
  expect(deeper(`{"ü[":"€{","k":[["☃"]]}${pad}`, 3)).toBe(false);
  expect(deeper(`{"ü[":"€{","k":[[["☃"]]]}${pad}`, 3)).toBe(true);
});

test("unbalanced or truncated input is judged on depth only (the parser judges the rest)", () => {
  expect(deeper("[".repeat(500_000), 64)).toBe(true);
  expect(deeper('"' + "[".repeat(500), 2)).toBe(false);
});

test("a megabyte of nesting is refused early; a wide body is shallow", () => {
  expect(deeper(nest(500_000), 64)).toBe(true);
  expect(deeper("[" + "[],".repeat(300_000) + "[]]", 2)).toBe(false);
});
