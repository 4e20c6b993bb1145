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


// The todo plan creates, reads and deletes in its examples; validation runs them in a
// scratch world, so the hidden check "empty list" sees an empty live store.
const todoSpec = {
  name: "Todo CRUD",
  summary: "Todos in the key-value store.",
  routes: [
    { method: "POST", path: "/todos", summary: "Create", input: { type: "object", required: ["title"], properties: { title: { type: "string", minLength: 1, maxLength: 200 } } } },
    { method: "GET", path: "/todos", summary: "List in creation order" },
    { method: "GET", path: "/todos/:id", summary: "Read" },
    { method: "PATCH", path: "/todos/:id", summary: "Set done" },
    { method: "DELETE", path: "/todos/:id", summary: "Delete" },
  ],
  rules: ["a new todo has done = false", "GET /todos lists in creation order"],
  validationRules: ["title is a string of 1 to 200 characters", "done is a boolean"],
  failureBehavior: ["an unknown id answers 404"],
  externalHosts: [],
  secrets: [],
  storage: "todos under the key 'todos' as an array",
  schedule: null,
  examples: [
    { name: "create", request: { method: "POST", path: "/todos", body: { title: "Buy milk" } }, expect: { status: 201, assertions: [{ path: "done", equals: false }, { path: "id", type: "string" }] } },
    { name: "read", request: { method: "GET", path: "/todos/{{examples.create.body.id}}" }, expect: { status: 200, assertions: [{ path: "title", equals: "Buy milk" }] } },
    { name: "done", request: { method: "PATCH", path: "/todos/{{examples.create.body.id}}", body: { done: true } }, expect: { status: 200, assertions: [{ path: "done", equals: true }] } },
    { name: "list", request: { method: "GET", path: "/todos" }, expect: { status: 200, assertions: [{ path: "todos.0.id", equals: "{{examples.create.body.id}}" }] } },
    { name: "delete", request: { method: "DELETE", path: "/todos/{{examples.create.body.id}}" }, expect: { status: 200, assertions: [{ path: "deleted", equals: true }] } },
  ],
  invalidInputs: [{ name: "empty title", request: { method: "POST", path: "/todos", body: { title: "" } }, expectStatus: 400 }],
};

const todoCode = `
import { defineBackend, t, HttpError } from "cantrip";
type Todo = { id: string; title: string; done: boolean };
const all = async (kv: { get(k: string): Promise<unknown> }) => ((await kv.get("todos")) as Todo[] | undefined) ?? [];
const find = (todos: Todo[], id: string) => {
  const i = todos.findIndex((x) => x.id === id);
  if (i < 0) throw new HttpError(404, "no such todo");
  return i;
};
export default defineBackend({
  routes: {
    "POST /todos": {
      input: t.Object({ title: t.String({ minLength: 1, maxLength: 200 }) }),
      handle: async (input, ctx) => {
        const todo = { id: crypto.randomUUID(), title: input.title, done: false };
        await ctx.kv.set("todos", [...(await all(ctx.kv)), todo]);
        return Response.json(todo, { status: 201 });
      },
    },
    "GET /todos": { handle: async (_i, ctx) => ({ todos: await all(ctx.kv) }) },
    "GET /todos/:id": { handle: async (_i, ctx) => { const todos = await all(ctx.kv); return todos[find(todos, ctx.params.id)]; } },
    "PATCH /todos/:id": {
      input: t.Object({ done: t.Boolean() }),
      handle: async (input, ctx) => {
        const todos = await all(ctx.kv);
        const i = find(todos, ctx.params.id);
        todos[i] = { ...todos[i]!, done: input.done };
        await ctx.kv.set("todos", todos);
        return todos[i];
      },
    },
    "DELETE /todos/:id": {
      handle: async (_i, ctx) => {
        const todos = await all(ctx.kv);
        todos.splice(find(todos, ctx.params.id), 1);
        await ctx.kv.set("todos", todos);
        return { deleted: true };
      },
    },
  },
});
`;

// The weather plan declares upstream fixtures; validation needs no network, DNS or
// granted secret, and the code does not fake data when the upstream fails.
const weatherFixture = {
  host: "api.weather.example",
  request: { method: "GET", path: "/v1/current?city=Oslo", headers: { "x-api-key": "{{secret:WEATHER_KEY}}" } },
  response: { status: 200, body: { temp_c: 4.5, summary: "cloudy" } },
};
const weatherSpec = {
  name: "Weather Proxy",
  summary: "Current weather for a city from api.weather.example.",
  routes: [{ method: "GET", path: "/weather", summary: "Weather for a city", input: { type: "object", required: ["city"], properties: { city: { type: "string", minLength: 1 } } } }],
  rules: ["tempC is the upstream temp_c, summary is the upstream summary"],
  validationRules: ["city is required"],
  failureBehavior: ["upstream failure or unreachable → 502 {error: {code: 'upstream_failed'}}"],
  externalHosts: ["api.weather.example"],
  secrets: [{ name: "WEATHER_KEY", host: "api.weather.example", purpose: "X-Api-Key header" }],
  storage: null,
  schedule: null,
  examples: [
    { name: "oslo", request: { method: "GET", path: "/weather?city=Oslo" }, upstream: [weatherFixture], expect: { status: 200, assertions: [{ path: "tempC", equals: 4.5 }, { path: "summary", equals: "cloudy" }, { path: "city", equals: "Oslo" }] } },
    { name: "upstream down", request: { method: "GET", path: "/weather?city=Oslo" }, upstream: [{ ...weatherFixture, response: { status: 500, body: {} } }], expect: { status: 502, assertions: [{ path: "error.code", equals: "upstream_failed" }] } },
  ],
  invalidInputs: [{ name: "no city", request: { method: "GET", path: "/weather" }, expectStatus: 400 }],
};

const weatherCode = `
import { defineBackend, t, HttpError } from "cantrip";
export default defineBackend({
  routes: {
    "GET /weather": {
      input: t.Object({ city: t.String({ minLength: 1 }) }),
      output: t.Object({ city: t.String(), tempC: t.Number(), summary: t.String() }),
      handle: async (input, ctx) => {
        const fail = (why: string) => {
          ctx.log.warn("upstream failed: " + why);
          return new HttpError(502, "the weather service failed", { code: "upstream_failed" });
        };
        let res: Response;
        try {
          res = await ctx.fetch("https://api.weather.example/v1/current?city=" + encodeURIComponent(input.city), { headers: { "x-api-key": ctx.secrets.ref("WEATHER_KEY") } });
        } catch (e) {
          throw fail((e as Error).message);
        }
        if (!res.ok) throw fail("status " + res.status);
        const body = (await res.json()) as { temp_c: number; summary: string };
        return { city: input.city, tempC: body.temp_c, summary: body.summary };
      },
    },
  },
});
`;

export const scripted: Record<string, { spec: unknown; code: string }> = {
  "lead-qualification": { spec: leadSpec, code: leadCode },
  "email-validator": { spec: emailSpec, code: emailCode },
  counter: { spec: counterSpec, code: counterCode },
  "todo-crud": { spec: todoSpec, code: todoCode },
  "weather-proxy": { spec: weatherSpec, code: weatherCode },
};
