import { expect, test } from "bun:test";
import { AppError } from "../../src/errors";
import { LlmOutputError } from "../../src/llm";
import { goodPlan, rejection, setup } from "./setup";

test("structured output happy path: json_schema request, validated value, call logged", async () => {
  const { fake, log, ask } = setup();
  fake.script({ json: goodPlan, usage: { prompt_tokens: 120, completion_tokens: 30 } });
  expect(await ask()).toEqual(goodPlan);
  expect(fake.calls).toHaveLength(1);
  const call = fake.calls[0]!;
  expect(call.model).toBe("fake-model");
  expect(call.authorization).toBe("Bearer sk-test");
  expect(call.response_format?.type).toBe("json_schema");
  expect(call.response_format?.json_schema?.name).toBe("plan");
  expect(call.response_format?.json_schema?.strict).toBe(false);
  expect((call.response_format?.json_schema?.schema as { required: string[] }).required).toEqual(["name", "routes"]);
  expect(call.system).toContain("You plan backends.");
  expect(call.lastUser).toBe("a todo api");
  expect(log).toHaveLength(1);
  expect(log[0]).toMatchObject({ model: "fake-model", tokensIn: 120, tokensOut: 30, attempt: 1, ok: true, format: "json_schema" });
  expect(log[0]!.promptHash).toMatch(/^[0-9a-f]{16}$/);
});

test("invalid JSON, then corrected after a re-ask that quotes the parse error", async () => {
  const { fake, ask } = setup();
  fake.script({ content: '{"name": "todo", "routes": [' }, { json: goodPlan });
  expect(await ask()).toEqual(goodPlan);
  expect(fake.calls).toHaveLength(2);
  const reask = fake.calls[1]!;
  expect(reask.messages.at(-2)).toEqual({ role: "assistant", content: '{"name": "todo", "routes": [' });
  expect(reask.lastUser).toContain("not closed");
});

test("JSON missing a required field, then corrected; the re-ask names the field", async () => {
  const { fake, ask } = setup();
  fake.script({ json: { name: "todo" } }, { json: goodPlan });
  expect(await ask()).toEqual(goodPlan);
  expect(fake.calls[1]!.lastUser).toContain("/routes");
  expect(fake.calls[1]!.lastUser).toContain("plan");
});

test("both attempts invalid: LlmOutputError with the errors, no third call", async () => {
  const { fake, ask } = setup();
  fake.script({ json: { name: "" , routes: [] } }, { content: "I cannot do that." });
  const err = await rejection(ask());
  expect(err).toBeInstanceOf(LlmOutputError);
  expect(err).toBeInstanceOf(AppError);
  // The model answered, so this is not "unavailable" (which tells users to wait): it is unusable output.
  expect(err.code).toBe("model_output_invalid");
  expect(err.status).toBe(502);
  expect(err.details.reason).toBe("invalid_output");
  expect(err.errors[0]).toContain("no JSON object");
  expect(fake.calls).toHaveLength(2);
});

test("fenced JSON with prose around it is extracted", async () => {
  const { fake, ask } = setup();
  fake.script({ content: "Sure! Here is the plan:\n```json\n" + JSON.stringify(goodPlan, null, 2) + "\n```\nLet me know {if} you need more." });
  expect(await ask()).toEqual(goodPlan);
  expect(fake.calls).toHaveLength(1);
});

test("server rejecting response_format: falls back json_schema → json_object → text and remembers it", async () => {
  const { fake, log, ask } = setup({}, { rejects: ["json_schema", "json_object"] });
  fake.script({ content: "```\n" + JSON.stringify(goodPlan) + "\n```" }, { json: goodPlan });
  expect(await ask()).toEqual(goodPlan);
  expect(fake.calls.map((c) => c.response_format?.type ?? "none")).toEqual(["json_schema", "json_object", "none"]);
  expect(fake.calls[2]!.system).toContain('"routes"'); // the schema travels in the prompt when the server cannot enforce it
  expect(log.map((c) => c.ok)).toEqual([false, false, true]);
  expect(log[0]!.error).toContain("rejected");
  // The next call goes straight to the rung that worked.
  expect(await ask()).toEqual(goodPlan);
  expect(fake.calls[3]!.response_format).toBeUndefined();
});

test("a one-off rejectResponseFormat step falls back to json_object", async () => {
  const { fake, ask } = setup();
  fake.script({ rejectResponseFormat: true }, { json: goodPlan });
  expect(await ask()).toEqual(goodPlan);
  expect(fake.calls.map((c) => c.response_format?.type)).toEqual(["json_schema", "json_object"]);
});

test("structuredOutput 'none' never sends response_format; responder answers by prompt", async () => {
  const { fake, ask } = setup({ structuredOutput: "none" });
  fake.respond((call) => (call.system.includes("You plan backends.") ? { json: goodPlan } : undefined));
  expect(await ask()).toEqual(goodPlan);
  expect(fake.calls[0]!.response_format).toBeUndefined();
});

test("the remembered rung per model is bounded: callers name any model, the memory keeps the last MAX_REMEMBERED", async () => {
  const OpenAI = (await import("openai")).default;
  const { Structured, MAX_REMEMBERED } = await import("../../src/llm/structured");
  const { startFakeOpenAI } = await import("../fakes/fake-openai");
  const { Plan, goodPlan } = await import("./setup");
  const fake = startFakeOpenAI();
  try {
    fake.respond(() => ({ json: goodPlan }));
    const client = new OpenAI({ baseURL: fake.url, apiKey: "k", maxRetries: 0 });
    const st = new Structured(client, { timeoutMs: 2000, maxRetries: 0, retryBaseMs: 1, retryMaxMs: 1, retryAfterMaxMs: 1 }, "json_schema");
    for (let i = 0; i < MAX_REMEMBERED + 20; i++) await st.json({ system: "s", messages: [{ role: "user", content: "u" }], schema: Plan, schemaName: "plan" }, `model-${i}`);
    expect(st.accepted.size).toBe(MAX_REMEMBERED);
    expect(st.accepted.has(`model-${MAX_REMEMBERED + 19}`)).toBe(true);
    expect(st.accepted.has("model-0")).toBe(false);
  } finally {
    await fake.stop();
  }
});
