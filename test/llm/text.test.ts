import { expect, test } from "bun:test";
import { describeProvider, extractCode, extractJson } from "../../src/llm";
import { setup } from "./setup";

test("text(): plain completion with no response_format", async () => {
  const { fake, llm } = setup();
  fake.script({ content: "```ts\nexport default 1;\n```" });
  const log: unknown[] = [];
  const out = await llm.text({ system: "CODE", messages: [{ role: "user", content: "write it" }], model: "other-model", onCall: (c) => log.push(c) });
  expect(extractCode(out)).toBe("export default 1;\n");
  expect(fake.calls[0]!.model).toBe("other-model");
  expect(fake.calls[0]!.response_format).toBeUndefined();
  expect(fake.calls[0]!.stream).toBe(false);
  expect(log).toHaveLength(1);
});

test("text() with onDelta streams SSE chunks and reports usage", async () => {
  const { fake, llm } = setup();
  const content = "export default defineBackend({ routes: {} });";
  fake.script({ content, usage: { prompt_tokens: 11, completion_tokens: 7 } });
  const deltas: string[] = [];
  const log: { tokensIn: number; tokensOut: number; ok: boolean }[] = [];
  const out = await llm.text({ system: "s", messages: [{ role: "user", content: "go" }], onDelta: (d) => deltas.push(d), onCall: (c) => log.push(c) });
  expect(out).toBe(content);
  expect(deltas.length).toBeGreaterThan(1);
  expect(deltas.join("")).toBe(content);
  expect(fake.calls[0]!.stream).toBe(true);
  expect(log[0]).toMatchObject({ ok: true, tokensIn: 11, tokensOut: 7 });
});

test("streaming retries a 500 before the stream starts", async () => {
  const { fake, llm } = setup();
  fake.script({ status: 500 }, { content: "ok" });
  expect(await llm.text({ system: "s", messages: [], onDelta: () => {} })).toBe("ok");
  expect(fake.calls).toHaveLength(2);
});

test("GET /v1/models on the fake answers like OpenAI", async () => {
  const { fake } = setup();
  const res = await fetch(`${fake.url}/models`);
  expect((await res.json()).data[0].id).toBe("fake-model");
});

test("extractJson: whole text, fences, prose, braces inside strings, truncation", () => {
  expect(extractJson('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
  expect(extractJson('```json\n{"a":"}{"}\n```')).toEqual({ ok: true, value: { a: "}{" } });
  expect(extractJson('Here: {"a":{"b":[1,2]}} and {"c":2}')).toEqual({ ok: true, value: { a: { b: [1, 2] } } });
  expect(extractJson('text {not json} then {"x":"\\"q"}')).toEqual({ ok: true, value: { x: '"q' } });
  expect(extractJson('{"a": [1, 2')).toEqual({ ok: false, error: expect.stringContaining("not closed") });
  expect(extractJson("")).toEqual({ ok: false, error: "the reply was empty" });
  expect(extractJson("no json here").ok).toBe(false);
});

test("extractCode: longest matching fence, unclosed fence, no fence", () => {
  expect(extractCode("intro\n```typescript\nconst a = 1;\n```\nuse:\n```ts\nx\n```")).toBe("const a = 1;\n");
  expect(extractCode("```json\n{}\n```\n```js\nlet b;\n```")).toBe("let b;\n");
  expect(extractCode("```ts\nconst truncated = 1;")).toBe("const truncated = 1;\n");
  expect(extractCode("  plain code  ")).toBe("plain code\n");
});

test("describeProvider heuristics", () => {
  expect(describeProvider("https://api.openai.com/v1")).toBe("openai");
  expect(describeProvider("http://localhost:11434/v1")).toBe("ollama");
  expect(describeProvider("http://ollama.internal:8080/v1")).toBe("ollama");
  expect(describeProvider("http://localhost:8000/v1")).toBe("compatible");
  expect(describeProvider("not a url")).toBe("compatible");
});

test("createLlm returns null without a base URL", async () => {
  const { createLlm } = await import("../../src/llm");
  expect(createLlm({ baseURL: "", model: "m" })).toBeNull();
  expect(createLlm({ baseURL: "http://localhost:11434/v1/", model: "m" })?.provider).toBe("ollama");
});
