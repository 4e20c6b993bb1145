/**
 * Model servers as they really answer (issue 16 §1–7): each case replays a response body
 * the way a real server sent it (R1-style reasoning, vLLM's reasoning_content, Ollama's
 * finish_reason "length", Azure's content filter, OpenRouter's 200-with-error, llama.cpp's
 * schema refusal) through the real `openai` client over real HTTP.
 */
import { expect, test } from "bun:test";
import { extractCode, extractJson } from "../../src/llm";
import { stripReasoning } from "../../src/llm/extract";
import { Spec } from "../../src/generate/spec";
import { rawCompletion } from "../fakes/fake-openai";
import { goodPlan, rejection, setup } from "./setup";

const planText = JSON.stringify(goodPlan);

test("reasoning: a sketch inside <think> never wins over the answer after it", async () => {
  const { fake, ask } = setup();
  fake.script({ content: `<think>The output might look like {"score": 80, "fit": "high"} — no, it needs routes.</think>\n${planText}` });
  expect(await ask()).toEqual(goodPlan);
  expect(fake.calls).toHaveLength(1);
});

test("reasoning: chat templates that open <think> in the prompt leave only the closing tag", async () => {
  const { fake, ask } = setup();
  fake.script({ content: `Let me draft {"name": "x"} first... fine.\n</think>\n\n${planText}` });
  expect(await ask()).toEqual(goodPlan);
});

test("JSON: the last schema-valid object wins over earlier fragments in prose", async () => {
  const { fake, ask } = setup();
  fake.script({ content: `A lead might be {"score": 80}. Here is the plan: ${planText}` });
  expect(await ask()).toEqual(goodPlan);
  expect(fake.calls).toHaveLength(1);
});

test("extractJson: reasoning only is not an answer; an accept predicate picks the last valid object", () => {
  expect(extractJson("<think>{\"a\":1}</think>")).toEqual({ ok: false, error: "the reply held only reasoning, no answer" });
  expect(extractJson("<think>still thinking {\"a\":1}")).toEqual({ ok: false, error: "the reply held only reasoning, no answer" });
  const isB = (v: unknown) => typeof v === "object" && v !== null && "b" in v;
  expect(extractJson('{"b":1} then {"a":2} then {"b":3} then {"a":4}', isB)).toEqual({ ok: true, value: { b: 3 } });
  // Nothing accepted: the largest candidate is returned so its schema errors can be quoted back.
  expect(extractJson('{"a":1} and {"a":1,"c":[1,2,3]}', () => false)).toEqual({ ok: true, value: { a: 1, c: [1, 2, 3] } });
  expect(stripReasoning("<thinking>x</thinking>answer")).toBe("answer");
});

test("code: a ```json sample in the reasoning and a usage snippet lose to the backend module", () => {
  const module = 'import { defineBackend } from "cantrip";\nexport default defineBackend({ routes: {} });';
  const reply = `<think>The response could be:\n\`\`\`json\n{"ok": true}\n\`\`\`\n</think>\nHere it is:\n\`\`\`ts\n${module}\n\`\`\`\nCall it like:\n\`\`\`ts\nawait fetch("/apps/x", { method: "POST", body: JSON.stringify({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7 }) });\n\`\`\``;
  expect(extractCode(reply)).toBe(module + "\n");
  // Without reasoning tags, a ```json fence before the module is not code either.
  expect(extractCode('```json\n{"a":1}\n```\n```ts\n' + module + "\n```")).toBe(module + "\n");
});

test("vLLM reasoning parser: content null and the JSON in reasoning_content is read", async () => {
  const { fake, ask } = setup();
  fake.script({ raw: rawCompletion({ content: null, reasoning_content: planText }) });
  expect(await ask()).toEqual(goodPlan);
  expect(fake.calls).toHaveLength(1);
});

test("an empty 200 reply on a structured call steps down a rung instead of failing", async () => {
  const { fake, ask } = setup();
  fake.script({ raw: rawCompletion({ content: null }) }, { json: goodPlan });
  expect(await ask()).toEqual(goodPlan);
  expect(fake.calls.map((c) => c.response_format?.type)).toEqual(["json_schema", "json_object"]);
});

test("an empty reply on every rung fails as unusable output, not as an unavailable model", async () => {
  const { fake, ask } = setup();
  fake.script({ raw: rawCompletion({ content: "" }) }, { raw: rawCompletion({ content: "" }) }, { raw: rawCompletion({ content: "" }) });
  const err = await rejection(ask());
  expect(err.code).toBe("model_output_invalid");
  expect(fake.calls.map((c) => c.response_format?.type)).toEqual(["json_schema", "json_object", undefined]);
});

test('finish_reason "length" fails with model_output_truncated naming the token counts and the fix', async () => {
  const { fake, ask, llm } = setup();
  fake.script({ raw: rawCompletion({ content: '{"name": "todo", "routes": [{"method": "PO' }, "length") });
  const err = await rejection(ask());
  expect(err.code).toBe("model_output_truncated");
  expect(err.message).toContain("50 tokens");
  expect(err.message).toMatch(/num_ctx|OLLAMA_CONTEXT_LENGTH/);
  expect(fake.calls).toHaveLength(1); // no corrective re-ask of a cut reply
  // The streamed code path too (finish_reason arrives in the last chunk).
  fake.script({ content: "```ts\nexport default defineBackend({ routes: { 'GET /': () => 'unterminated", finishReason: "length" });
  const err2 = await rejection(llm.text({ system: "s", messages: [], onDelta: () => {} }));
  expect(err2.code).toBe("model_output_truncated");
});

test('finish_reason "content_filter" fails with model_output_filtered', async () => {
  const { fake, llm } = setup();
  fake.script({ raw: rawCompletion({ content: null }, "content_filter") });
  const err = await rejection(llm.text({ system: "s", messages: [{ role: "user", content: "x" }] }));
  expect(err.code).toBe("model_output_filtered");
});

test("HTTP 200 with an error body: the provider's message reaches the failure; transient codes are retried", async () => {
  const overloaded = { raw: { body: JSON.stringify({ error: { message: "Provider returned error: upstream overloaded", code: 502 } }) } };
  const { fake, llm } = setup();
  fake.script(overloaded, { content: "fine" });
  expect(await llm.text({ system: "s", messages: [] })).toBe("fine");
  expect(fake.calls).toHaveLength(2);

  fake.script(overloaded, overloaded, overloaded);
  const err = await rejection(llm.text({ system: "s", messages: [] }));
  expect(err.code).toBe("model_unavailable");
  expect(err.message).toContain("upstream overloaded");

  // A non-transient code in the body is not retried.
  const before = fake.calls.length;
  fake.script({ raw: { body: JSON.stringify({ error: { message: "No auth credentials found", code: 401 } }) } });
  const err2 = await rejection(llm.text({ system: "s", messages: [] }));
  expect(err2.message).toContain("No auth credentials found");
  expect(fake.calls.length - before).toBe(1);
});

test("a body with no choices is a clear provider failure, not a TypeError", async () => {
  const { fake, llm } = setup();
  fake.script({ raw: { body: "{}" } }, { raw: { body: "{}" } }, { raw: { body: "{}" } });
  const err = await rejection(llm.text({ system: "s", messages: [] }));
  expect(err.code).toBe("model_unavailable");
  expect(err.message).toContain("no choices");
});

test("llama.cpp's refusal wording ('JSON schema conversion failed') still steps down a rung", async () => {
  const { fake, ask } = setup();
  const refusal = { raw: { status: 400, body: JSON.stringify({ error: { code: 400, message: "JSON schema conversion failed: Unrecognized schema: {\"not\":{}}", type: "invalid_request_error" } }) } };
  fake.script(refusal, { json: goodPlan });
  expect(await ask()).toEqual(goodPlan);
  expect(fake.calls.map((c) => c.response_format?.type)).toEqual(["json_schema", "json_object"]);
  // Remembered: the next call starts on the rung that worked.
  fake.script({ json: goodPlan });
  await ask();
  expect(fake.calls.at(-1)!.response_format?.type).toBe("json_object");
});

test("a 400 on a plain-text call is final (there is no weaker rung)", async () => {
  const { fake, llm } = setup();
  fake.script({ raw: { status: 400, body: JSON.stringify({ error: { message: "bad request" } }) } });
  const err = await rejection(llm.text({ system: "s", messages: [] }));
  expect(err.code).toBe("model_unavailable");
  expect(fake.calls).toHaveLength(1);
});

test('"any JSON value" in the plan schema is not {} (grammar converters read {} as "must be an object")', () => {
  const plain = JSON.parse(JSON.stringify(Spec));
  const emptySchemas: string[] = [];
  const walk = (node: unknown, path: string) => {
    if (!node || typeof node !== "object") return;
    for (const [k, v] of Object.entries(node)) {
      if ((k === "properties" || k === "$defs") && v && typeof v === "object") {
        for (const [name, sub] of Object.entries(v)) {
          if (sub && typeof sub === "object" && Object.keys(sub).length === 0) emptySchemas.push(`${path}.${name}`);
          walk(sub, `${path}.${name}`);
        }
      } else if (k === "items" && v && typeof v === "object" && Object.keys(v).length === 0) emptySchemas.push(`${path}[]`);
      else walk(v, path);
    }
  };
  walk(plain, "spec");
  expect(emptySchemas).toEqual([]);
  const equals = plain.properties.examples.items.properties.expect.properties;
  expect(JSON.stringify(equals)).toContain('"type":["string","number","boolean","null","object","array"]');
});

test("max_tokens is sent when asked (max_completion_tokens for OpenAI itself)", async () => {
  const { fake, llm } = setup();
  fake.script({ content: "ok" });
  await llm.text({ system: "s", messages: [], maxTokens: 1234 });
  expect(fake.calls[0]!.body.max_tokens).toBe(1234);
  expect(fake.calls[0]!.body.max_completion_tokens).toBeUndefined();
});
