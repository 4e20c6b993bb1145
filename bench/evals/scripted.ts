/**
 * Scripted fake-model answers (spec + code) for the eval subset that runs in CI with the
 * fake OpenAI-compatible server. The code is what a good model would write.
 */
import { leadSpec } from "../../test/fixtures/lead-spec";
import { leadCode } from "../../test/fixtures/lead-code";

const emailSpec = {
  name: "Email Checker",
  summary: "Validates an email address.",
  routes: [{ method: "POST", path: "/", summary: "Check an email", input: { type: "object", required: ["email"], properties: { email: { type: "string" } } }, output: { type: "object", required: ["valid", "reason", "domain"], properties: { valid: { type: "boolean" } } } }],
  rules: [],
  validationRules: ["email is a required string"],
  failureBehavior: ["400 on invalid input"],
  externalHosts: [],
  secrets: [],
  storage: null,
  schedule: null,
  examples: [
    { name: "valid", request: { method: "POST", path: "/", body: { email: "a@b.io" } }, expect: { status: 200, assertions: [{ path: "valid", equals: true }] } },
    { name: "invalid", request: { method: "POST", path: "/", body: { email: "nope" } }, expect: { status: 200, assertions: [{ path: "valid", equals: false }] } },
  ],
  invalidInputs: [{ name: "number", request: { method: "POST", path: "/", body: { email: 1 } }, expectStatus: 400 }],
};

const emailCode = `
import { defineBackend, t } from "cantrip";
export default defineBackend({
  routes: {
    "POST /": {
      input: t.Object({ email: t.String() }),
      output: t.Object({ valid: t.Boolean(), reason: t.Nullable(t.String()), domain: t.Nullable(t.String()) }),
      handle: async ({ email }) => {
        const parts = email.split("@");
        if (parts.length !== 2) return { valid: false, reason: "must contain exactly one @", domain: null };
        const [local, domain] = parts as [string, string];
        if (!local) return { valid: false, reason: "empty local part", domain: null };
        if (!domain.includes(".") || /\\s/.test(domain)) return { valid: false, reason: "invalid domain", domain: null };
        return { valid: true, reason: null, domain: domain.toLowerCase() };
      },
    },
  },
});
`;

const counterSpec = {
  name: "Counters",
  summary: "Named persistent counters.",
  routes: [
    { method: "POST", path: "/counters/:name/increment", summary: "Increment", input: { type: "object", properties: { by: { type: "integer", minimum: 1, maximum: 1000 } } }, output: { type: "object", required: ["name", "value"] } },
    { method: "GET", path: "/counters/:name", summary: "Read", output: { type: "object", required: ["name", "value"] } },
    { method: "DELETE", path: "/counters/:name", summary: "Reset", output: { type: "object", required: ["name", "value"] } },
  ],
  rules: [],
  validationRules: ["by is an integer from 1 to 1000"],
  failureBehavior: ["400 on invalid input"],
  externalHosts: [],
  secrets: [],
  storage: "counter:<name> → number",
  schedule: null,
  examples: [
    { name: "read unknown", request: { method: "GET", path: "/counters/eval-probe" }, expect: { status: 200, assertions: [{ path: "value", type: "integer" }] } },
    { name: "increment", request: { method: "POST", path: "/counters/eval-probe/increment", body: { by: 2 } }, expect: { status: 200, assertions: [{ path: "value", gte: 2 }] } },
  ],
  invalidInputs: [{ name: "by zero", request: { method: "POST", path: "/counters/x/increment", body: { by: 0 } }, expectStatus: 400 }],
};

const counterCode = `
import { defineBackend, t } from "cantrip";
const Counter = t.Object({ name: t.String(), value: t.Integer() });
const read = async (kv: { get(k: string): Promise<unknown> }, name: string) => ((await kv.get("counter:" + name)) as number | undefined) ?? 0;
export default defineBackend({
  routes: {
    "POST /counters/:name/increment": {
      input: t.Object({ by: t.Optional(t.Integer({ minimum: 1, maximum: 1000 })) }),
      output: Counter,
      handle: async (input, ctx) => {
        const value = (await read(ctx.kv, ctx.params.name)) + (input.by ?? 1);
        await ctx.kv.set("counter:" + ctx.params.name, value);
        return { name: ctx.params.name, value };
      },
    },
    "GET /counters/:name": { output: Counter, handle: async (_i, ctx) => ({ name: ctx.params.name, value: await read(ctx.kv, ctx.params.name) }) },
    "DELETE /counters/:name": {
      output: Counter,
      handle: async (_i, ctx) => {
        await ctx.kv.delete("counter:" + ctx.params.name);
        return { name: ctx.params.name, value: 0 };
      },
    },
  },
});
`;

export const scripted: Record<string, { spec: unknown; code: string }> = {
  "lead-qualification": { spec: leadSpec, code: leadCode },
  "email-validator": { spec: emailSpec, code: emailCode },
  counter: { spec: counterSpec, code: counterCode },
};
