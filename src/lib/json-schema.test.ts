import { expect, test } from "bun:test";
import { checkSchema } from "./json-schema";

const lead = {
  type: "object",
  required: ["score", "missingFields"],
  properties: {
    score: { type: "integer", minimum: 0, maximum: 100 },
    missingFields: { type: "array", items: { type: "string" } },
    tier: { enum: ["hot", "warm", "cold"] },
    note: { anyOf: [{ type: "string" }, { type: "null" }] },
  },
  additionalProperties: false,
};

test("accepts a matching value", () => {
  expect(checkSchema(lead, { score: 50, missingFields: ["email"], tier: "hot", note: null })).toEqual([]);
});

test("reports every issue with its path", () => {
  const issues = checkSchema(lead, { score: 150.5, missingFields: [1], tier: "lukewarm", extra: true });
  expect(issues.map((i) => i.path).sort()).toEqual(["/extra", "/missingFields/0", "/score", "/tier"]);
  expect(checkSchema(lead, {}).map((i) => i.message)).toEqual(["is required", "is required"]);
});

test("integers are numbers, not the other way round", () => {
  expect(checkSchema({ type: "number" }, 3)).toEqual([]);
  expect(checkSchema({ type: "integer" }, 3.5)[0]!.message).toBe("expected integer, got number");
});

test("hostile schemas are bounded: nested anyOf stops at the step budget with an issue, patterns are not run, big enums are sets", () => {
  let s: unknown = { type: "string" };
  for (let i = 0; i < 40; i++) s = { anyOf: [s, s] }; // 2^40 paths over a shared node
  const issues = checkSchema(s, 1);
  expect(issues.at(-1)!.message).toMatch(/too costly to check/);
  expect(checkSchema({ type: "string", pattern: "^(a*)*b$" }, "a".repeat(40))).toEqual([]);
  const big = { type: "array", items: { enum: Array.from({ length: 20_000 }, (_, i) => i) } };
  const many = checkSchema(big, Array.from({ length: 20_000 }, () => "x"));
  expect(many).toHaveLength(1000); // MAX_ISSUES
  expect(many[0]!.message.length).toBeLessThan(260);
  expect(checkSchema(big, [1, 19_999])).toEqual([]);
});
