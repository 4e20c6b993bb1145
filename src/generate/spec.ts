/**
 * The plan: what the model must pin down before writing code. It carries what good
 * requirements contain (input payload, output shape, business rules and constants,
 * external systems, validation rules, failure behavior) plus worked examples the validator
 * runs in a scratch world, with the upstream fixtures that stand in for external services.
 * TypeBox schema, so the LLM provider can ask for it as structured output and check the answer.
 */
import { Type as T, type Static } from "@sinclair/typebox";

/**
 * Any JSON value. Spelled as a list of types rather than `{}`: llama.cpp's and Ollama's
 * grammar converters turn an empty schema into "must be an object", which would stop a
 * plan from asserting a string or a number under structured output.
 */
const Json = T.Unknown({ type: ["string", "number", "boolean", "null", "object", "array"] });

export const Expectation = T.Object({
  path: T.String({ description: "dot path into the JSON response body, e.g. 'score' or 'items.0.id'; '' for the whole body" }),
  type: T.Optional(T.Union([T.Literal("string"), T.Literal("number"), T.Literal("integer"), T.Literal("boolean"), T.Literal("array"), T.Literal("object"), T.Literal("null")])),
  equals: T.Optional(Json),
  contains: T.Optional(Json),
  gte: T.Optional(T.Number()),
  lte: T.Optional(T.Number()),
  exists: T.Optional(T.Boolean()),
});

/** One upstream call an example's backend must make, and the answer it gets (see src/runtime/scratch.ts). */
export const Fixture = T.Object({
  host: T.String({ description: "one of externalHosts, e.g. 'api.weather.example'" }),
  request: T.Object({
    method: T.String(),
    path: T.String({ description: "URL path the backend requests, with the query string when it matters, e.g. '/v1/current?city=Oslo'" }),
    headers: T.Optional(T.Record(T.String(), T.String(), { description: "headers that must be sent with exactly this value; a secret as its placeholder, e.g. 'Bearer {{secret:WEATHER_KEY}}'" })),
  }),
  response: T.Object({
    status: T.Integer({ minimum: 100, maximum: 599 }),
    body: T.Optional(Json),
    headers: T.Optional(T.Record(T.String(), T.String())),
  }),
});

export const Example = T.Object({
  name: T.String({ minLength: 1, description: "unique; later examples refer to this one's response as {{examples.NAME.body.PATH}}" }),
  request: T.Object({
    method: T.String(),
    path: T.String(),
    body: T.Optional(Json),
    headers: T.Optional(T.Record(T.String(), T.String())),
    contentType: T.Optional(T.String({ description: "the Content-Type callers send when it is not JSON, e.g. 'application/x-www-form-urlencoded' for a webhook (default application/json)" })),
    rawBody: T.Optional(T.String({ description: "the exact body text as callers send it, for non-JSON formats, e.g. 'command=%2Fweather&text=94070' (instead of body)" })),
  }),
  /** Upstream fixtures: the only answers outbound requests get while this example runs. */
  upstream: T.Optional(T.Array(Fixture, { maxItems: 20 })),
  expect: T.Object({
    status: T.Integer({ minimum: 100, maximum: 599 }),
    assertions: T.Optional(T.Array(Expectation, { maxItems: 50, description: "checks on the JSON response body" })),
  }),
});

export const RouteSpec = T.Object({
  method: T.String(),
  path: T.String(),
  summary: T.String(),
  input: T.Optional(Json),
  output: T.Optional(Json),
});

export const Spec = T.Object({
  name: T.String({ maxLength: 200 }),
  // Served to the app's callers (OpenAPI description, MCP instructions): a paragraph, not a document.
  summary: T.String({ maxLength: 2000 }),
  routes: T.Array(RouteSpec, { minItems: 1 }),
  rules: T.Array(T.String(), { description: "business rules, constants and formulas the code must follow exactly (rates, thresholds, scoring)" }),
  validationRules: T.Array(T.String()),
  failureBehavior: T.Array(T.String()),
  // They become the agent's allowed hosts when the version is saved: the same bounds as a caller's allowedHosts (src/http/schemas.ts).
  externalHosts: T.Array(T.String({ minLength: 1, maxLength: 253 }), { maxItems: 50 }),
  secrets: T.Array(T.Object({ name: T.String(), host: T.String(), purpose: T.String() })),
  storage: T.Union([T.String(), T.Null()]),
  schedule: T.Union([T.String(), T.Null()]),
  // The bounds keep validation's work and report in proportion (each example is a sandbox
  // call whose response the report quotes): a plan needs a few per route, not thousands.
  examples: T.Array(Example, { minItems: 1, maxItems: 100 }),
  invalidInputs: T.Array(T.Object({ name: T.String(), request: Example.properties.request, expectStatus: T.Integer() }), { maxItems: 100 }),
});

export type Spec = Static<typeof Spec>;
export type Example = Static<typeof Example>;
export type Expectation = Static<typeof Expectation>;
export type Fixture = Static<typeof Fixture>;

/**
 * An example's assertions. Specs stored before the rename kept them in
 * `expect.properties`; those are still read.
 */
export function assertionsOf(ex: Pick<Example, "expect">): Expectation[] {
  return ex.expect.assertions ?? (ex.expect as { properties?: Expectation[] }).properties ?? [];
}
