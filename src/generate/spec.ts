/**
 * The plan: what the model must pin down before writing code. It carries what good
 * requirements contain (input payload, output shape, external systems, validation rules,
 * failure behavior) plus worked examples the validator runs. TypeBox schema, so the LLM
 * provider can ask for it as structured output and check the answer.
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

export const Example = T.Object({
  name: T.String({ minLength: 1 }),
  request: T.Object({
    method: T.String(),
    path: T.String(),
    body: T.Optional(Json),
    headers: T.Optional(T.Record(T.String(), T.String())),
  }),
  expect: T.Object({
    status: T.Integer({ minimum: 100, maximum: 599 }),
    properties: T.Optional(T.Array(Expectation)),
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
  name: T.String(),
  summary: T.String(),
  routes: T.Array(RouteSpec, { minItems: 1 }),
  validationRules: T.Array(T.String()),
  failureBehavior: T.Array(T.String()),
  externalHosts: T.Array(T.String()),
  secrets: T.Array(T.Object({ name: T.String(), host: T.String(), purpose: T.String() })),
  storage: T.Union([T.String(), T.Null()]),
  schedule: T.Union([T.String(), T.Null()]),
  examples: T.Array(Example, { minItems: 1 }),
  invalidInputs: T.Array(T.Object({ name: T.String(), request: Example.properties.request, expectStatus: T.Integer() })),
});

export type Spec = Static<typeof Spec>;
export type Example = Static<typeof Example>;
export type Expectation = Static<typeof Expectation>;
