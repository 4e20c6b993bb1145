import { expect, test } from "bun:test";
import { jsonDepth } from "./json-depth";

const enc = (s: string) => new TextEncoder().encode(s);

test("counts nesting of arrays and objects", () => {
  expect(jsonDepth(enc("1"))).toBe(0);
  expect(jsonDepth(enc("[]"))).toBe(1);
  expect(jsonDepth(enc('{"a":[1,{"b":[]}]}'))).toBe(4);
  expect(jsonDepth(enc("[[],[[]],[]]"))).toBe(3);
});

test("brackets inside strings do not count, escapes are respected", () => {
  expect(jsonDepth(enc('{"a":"[[[[{{{{"}'))).toBe(1);
  expect(jsonDepth(enc('["\\"[[[["]'))).toBe(1); // escaped quote does not end the string
  expect(jsonDepth(enc('["\\\\",[[]]]'))).toBe(3); // escaped backslash does end it
  expect(jsonDepth(enc('["\\\\\\"[["]'))).toBe(1);
  expect(jsonDepth(enc('{"ü[":"€{","k":[["☃"]]}'))).toBe(3);
});

test("stops at the first level past the limit", () => {
  expect(jsonDepth(enc("[".repeat(65) + "]".repeat(65)), 64)).toBe(Infinity);
  expect(jsonDepth(enc("[".repeat(64) + "]".repeat(64)), 64)).toBe(64);
  // Unbalanced or truncated input is left to the parser; only depth is judged here.
  expect(jsonDepth(enc("[".repeat(500_000)), 64)).toBe(Infinity);
  expect(jsonDepth(enc('"[[[['), 2)).toBe(0);
});

test("linear: a megabyte of nesting is refused without a deep walk", () => {
  const deep = enc("[".repeat(500_000) + "]".repeat(500_000));
  const wide = enc("[" + "[],".repeat(300_000) + "[]]");
  expect(jsonDepth(deep)).toBe(Infinity);
  expect(jsonDepth(wide)).toBe(2);
});
