/**
 * Generation against model servers as they really answer (issue 16 §1–7), end to end over
 * real HTTP: a reasoning model's replies generate and deploy; a reply cut at the server's
 * context size fails the job with its own code and the fix; long model ids are accepted
 * by the API as by CANTRIP_MODEL.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rawCompletion, startFakeOpenAI, type FakeOpenAI, type RecordedCall, type Step } from "../fakes/fake-openai";
import { startServer, type TestServer } from "../harness";
import { leadSpec } from "../fixtures/lead-spec";
import { leadCode } from "../fixtures/lead-code";

const SEED = "Create an API that accepts a lead profile, scores fit, lists missing fields, and returns next actions.";
const stepOf = (c: RecordedCall) => /\[cantrip:(\w+)\]/.exec(c.system)?.[1] ?? "unknown";
const LONG_MODEL = "lmstudio-community/Qwen2.5-Coder-14B-Instruct-GGUF/Qwen2.5-Coder-14B-Instruct-Q4_K_M.gguf:" + "x".repeat(120);

let fake: FakeOpenAI;
let s: TestServer;

beforeAll(async () => {
  fake = startFakeOpenAI();
  s = await startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_MODEL: LONG_MODEL, CANTRIP_MODEL_TIMEOUT_MS: "2000" });
});
afterAll(async () => {
  await s.stop();
  await fake.stop();
});

function answer(by: Partial<Record<"plan" | "code" | "repair", Step>>) {
  fake.respond((call) => by[stepOf(call) as keyof typeof by]);
}

async function generate(body: Record<string, unknown>) {
  const r = await s.json("/v1/generate", { method: "POST", json: { prompt: SEED, autoDeploy: true, ...body } });
  expect(r.status).toBe(202);
  const jobId = r.body.data.job.id as string;
  for (const until = Date.now() + 30_000; Date.now() < until; await Bun.sleep(30)) {
    const j = await s.json(`/v1/generate/${jobId}`);
    if (["completed", "failed", "cancelled"].includes(j.body.data.status)) return { agent: r.body.data.agent, job: j.body.data };
  }
  throw new Error(`job ${jobId} did not finish`);
}

test("a reasoning model (think blocks with a sketch and a ```json sample) generates and deploys", async () => {
  answer({
    plan: { content: `<think>The output might look like {"score": 80, "fit": "high"}. Let me write the spec.</think>\n${JSON.stringify(leadSpec)}` },
    code: {
      content: `<think>A response sample:\n\`\`\`json\n{"score": 80, "fit": "high"}\n\`\`\`\nNow the module.</think>\nHere is the backend:\n\`\`\`ts\n${leadCode}\n\`\`\`\n`,
    },
  });
  const { agent, job } = await generate({ name: "Reasoning Lead API" });
  expect(job.failure ?? null).toBeNull();
  expect(job.status).toBe("completed");
  expect((await s.json(`/v1/agents/${agent.id}`)).body.data.status).toBe("deployed");
});

test("vLLM's content:null with the plan in reasoning_content generates", async () => {
  answer({ plan: { raw: rawCompletion({ content: null, reasoning_content: JSON.stringify(leadSpec) }) }, code: { content: "```ts\n" + leadCode + "\n```" } });
  const { job } = await generate({ name: "Reasoning Content API" });
  expect(job.status).toBe("completed");
});

test('a code reply cut at the context size fails with model_output_truncated and says what to change', async () => {
  answer({ plan: { json: leadSpec }, code: { content: "```ts\nimport { defineBackend } from \"cantrip\";\nexport default defineBackend({ routes: { 'POST /': () => ({ a: \"unterminated", finishReason: "length" } });
  const { agent, job } = await generate({ name: "Truncated API" });
  expect(job.status).toBe("failed");
  expect(job.failure.code).toBe("model_output_truncated");
  expect(job.failure.message).toMatch(/num_ctx|OLLAMA_CONTEXT_LENGTH/);
  const a = await s.json(`/v1/agents/${agent.id}`);
  expect(a.body.data.failure.code).toBe("model_output_truncated");
});

test("model ids: as long as CANTRIP_MODEL accepts (publisher/repo/file:tag), refused past 256 with a clear 400", async () => {
  answer({ plan: { json: leadSpec }, code: { content: "```ts\n" + leadCode + "\n```" } });
  const before = fake.calls.length;
  const { job } = await generate({ name: "Long Model Id" });
  expect(job.status).toBe("completed");
  expect(fake.calls[before]!.model).toBe(LONG_MODEL);
  const explicit = "hf.co/bartowski/" + "m".repeat(150) + ":Q4_K_M";
  const ok = await s.json("/v1/generate", { method: "POST", json: { name: "Explicit Model", prompt: SEED, model: explicit } });
  expect(ok.status).toBe(202);
  expect(ok.body.data.job.model).toBe(explicit);
  const tooLong = await s.json("/v1/generate", { method: "POST", json: { name: "Too Long Model", prompt: SEED, model: "m".repeat(257) } });
  expect(tooLong.status).toBe(400);
  expect(tooLong.body.error.details.map((d: { field: string }) => d.field)).toContain("model");
});
