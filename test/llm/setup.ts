/** Shared setup for LLM tests: a fake server, an Llm pointed at it, and a call log. */
import { afterEach } from "bun:test";
import { Type } from "@sinclair/typebox";
import { createLlm, type Llm, type LlmCall, type LlmOptions } from "../../src/llm";
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from "../fakes/fake-openai";

export const Plan = Type.Object({
  name: Type.String({ minLength: 1 }),
  routes: Type.Array(Type.Object({ method: Type.String(), path: Type.String() }), { minItems: 1 }),
});

export const goodPlan = { name: "todo", routes: [{ method: "POST", path: "/" }] };

const open: FakeOpenAI[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.stop();
});

export function setup(llmOpts: Partial<LlmOptions> = {}, fakeOpts: FakeOpenAIOptions = {}) {
  const fake = startFakeOpenAI(fakeOpts);
  open.push(fake);
  const llm = createLlm({ baseURL: fake.url, apiKey: "sk-test", model: "fake-model", timeoutMs: 2000, maxRetries: 2, retryBaseMs: 10, retryMaxMs: 50, ...llmOpts }) as Llm;
  const log: LlmCall[] = [];
  const ask = (extra: Partial<Parameters<Llm["json"]>[0]> = {}) =>
    llm.json({ system: "You plan backends.", messages: [{ role: "user", content: "a todo api" }], schema: Plan, schemaName: "plan", onCall: (c) => log.push(c), ...extra });
  return { fake, llm, log, ask };
}

/** The error a promise rejects with; fails the test when it resolves instead. */
export function rejection(p: Promise<unknown>): Promise<any> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
}
