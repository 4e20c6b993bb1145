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
